"""An S3-compatible server on loopback for tests (moto's server mode, in a thread of the test
process), which can be stopped and started again on the same port with its buckets kept (moto
keeps them in the process), to stand for a bucket that goes away and comes back."""

from __future__ import annotations

import secrets
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
               "AWS_DEFAULT_REGION": "us-east-1"}


class S3Server:
    """``start()``, then ``endpoint`` and ``env`` (the AWS variables a daemon reads)."""

    def __init__(self) -> None:
        self.port = 0
        self._server: ThreadedMotoServer | None = None

    def start(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint, **CREDENTIALS}

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")

    def new_bucket(self) -> str:
        name = f"trackd-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name)
        return name
