"""Run ArtifactService calls as another user, for the artifact isolation tests.

    python artifacts_as_user.py UID GID JSON_CALLS     (started as root)

Imports everything as root, drops to ``UID``/``GID`` (no supplementary groups), then makes
each call of JSON_CALLS (a list of ``[method, request fields]``; a ``"bytes"`` field of an
UploadFile call is the file's text) in order and prints one JSON line: a list of
``{"ok": response as a dict}`` or ``{"code": gRPC code name, "reason": ..., "message": ...}``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import grpc
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2

from trackd._transport.connection import make_stub
from trackd.v1 import artifact_service_pb2 as pb


def _reason(exc: grpc.RpcError) -> str:
    for key, value in exc.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            info = error_details_pb2.ErrorInfo()
            status_pb2.Status.FromString(value).details[0].Unpack(info)
            return info.reason
    return ""


def call(stub: Any, method: str, fields: dict[str, Any]) -> dict[str, Any]:
    try:
        if method == "UploadFile":
            data = fields["bytes"].encode()
            msgs = [pb.UploadFileRequest(header=pb.UploadFileHeader(size=len(data))),
                    pb.UploadFileRequest(chunk=data)]
            resp = stub.UploadFile(iter(msgs))
        else:
            request = getattr(pb, f"{method}Request")()
            json_format.ParseDict(fields, request)
            resp = getattr(stub, method)(request)
            if method in ("GetManifest", "WatchArtifact", "ReadArtifactFile"):
                resp = list(resp)[-1]
        return {"ok": json_format.MessageToDict(resp, preserving_proto_field_name=True)}
    except grpc.RpcError as exc:
        return {"code": exc.code().name, "reason": _reason(exc), "message": exc.details()}


def main() -> None:
    uid, gid, calls = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    channel = grpc.insecure_channel(os.environ["TRACKD_ADDRESS"])
    stub = make_stub(channel, pb, "ArtifactService")
    print(json.dumps([call(stub, m, f) for m, f in calls]), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
