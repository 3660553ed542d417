"""What never leaves the daemon: the team store's password and the bucket's secret key reach
neither the training processes (nor the children they start) nor the browser nor the CLI nor
the daemon's log; a command line and a blob URL cannot carry them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import DaemonDirs, DaemonProcess
from tests.postgres import PostgresServer
from tests.postgres import postgres_server as _server
from tests.s3_server import S3Server
from tests.web.dash import Dashboard

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PASSWORD = "pg-Pa55-never-shown"
SECRET_KEY = "aws-S3cret-never-shown"
KEY_ID = "AKIA-team-key-id"
SECRETS = (PASSWORD, SECRET_KEY)
#: The CLI as installed beside this interpreter.
TRACKD = str(Path(sys.executable).with_name("trackd"))

#: A training process: logs a run and an artifact, then starts a child and reports its
#: environment and the run's path.
TRAINING = textwrap.dedent("""
    import json, os, subprocess, sys
    import trackd
    trackd.setup(trackd.Settings(silent=True))
    with trackd.init(project="secrets", config={"lr": 0.1}) as run:
        run.log({"loss": 1.0})
        art = trackd.Artifact("data", "dataset")
        with art.new_file("a.txt") as f:
            f.write("payload")
        run.log_artifact(art).wait()
        child = subprocess.run([sys.executable, "-c",
                                "import json, os; print(json.dumps(dict(os.environ)))"],
                               capture_output=True, text=True, check=True)
        print(json.dumps({"path": run.path, "own": dict(os.environ),
                          "child": json.loads(child.stdout)}))
""")


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    yield from _server()


@pytest.fixture
def daemon(postgres_server: PostgresServer) -> Iterator[DaemonProcess]:
    s3 = S3Server()
    s3.start()
    # Trust authentication takes any password: the one given stands for the team's.
    url = postgres_server.create_database("secrets").replace("@/", f":{PASSWORD}@/", 1)
    dirs = DaemonDirs.make()
    dirs.env.update({"AWS_ENDPOINT_URL": s3.endpoint, "AWS_DEFAULT_REGION": "us-east-1",
                     "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                     "TRACKD_STORE_URL": url, "TRACKD_BLOB_URL": f"s3://{s3.new_bucket()}/t"})
    d = DaemonProcess(dirs)
    d.start()
    try:
        yield d
    finally:
        d.stop()
        dirs.cleanup()
        s3.stop()


def _client_env(d: DaemonProcess, tmp: Path) -> dict[str, str]:
    """A training process's environment: where the daemon is, none of its team settings."""
    team = ("TRACKD_STORE_URL", "TRACKD_BLOB_URL", "AWS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKD_", "WANDB_", "AWS_"))}
    env.update({k: v for k, v in d.dirs.env.items() if not k.startswith(team)})
    env.update(TRACKD_CACHE_DIR=str(tmp / "cache"), TRACKD_DATA_DIR=str(tmp / "data"))
    return env


def _no_secret(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{where} shows a secret"


def test_no_secret_reaches_training_processes_the_cli_the_dashboard_or_the_log(
        daemon: DaemonProcess, tmp_path: Path) -> None:
    env = _client_env(daemon, tmp_path)
    out = subprocess.run([sys.executable, "-c", TRAINING], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    _no_secret("the training process's environment", json.dumps(report["own"]))
    _no_secret("its child's environment", json.dumps(report["child"]))
    assert "TRACKD_SETUP_SETTINGS" in report["child"]  # setup() did export to children
    assert not {"AWS_SECRET_ACCESS_KEY", "TRACKD_STORE_URL"} & set(report["child"])

    status = subprocess.run([TRACKD, "daemon", "status"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    _no_secret("`trackd daemon status`", status.stdout + status.stderr)
    assert ":***@" in status.stdout  # the store is named, its password hidden

    entity, project, run_id = report["path"].split("/")
    dash = Dashboard.of(daemon)
    dash.login()
    for path in ("/", f"/{entity}", f"/{entity}/{project}", f"/{entity}/{project}/runs/{run_id}",
                 f"/{entity}/{project}/artifacts", "/api/v1/projects",
                 f"/api/v1/projects/{entity}/{project}/runs",
                 f"/api/v1/runs/{entity}/{project}/{run_id}", "/api/v1/openapi.yaml"):
        code, _, body = dash.request(path)
        assert code in (200, 404), (path, code)
        _no_secret(f"the dashboard's {path}", body.decode(errors="replace"))
    _no_secret("the daemon's log", daemon.log_text())


def test_a_password_on_the_command_line_or_in_a_blob_url_is_refused_unechoed(
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKD_")}
    env.update(TRACKD_ROOT=str(tmp_path / "root"), TRACKD_STATE_DIR=str(tmp_path / "state"),
               TRACKD_RUNTIME_DIR=str(tmp_path / "rt"))
    cli = subprocess.run([sys.executable, "-m", "trackd_daemon", "--store",
                          f"postgresql://team:{PASSWORD}@db.example/team"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode != 0 and "--store holds a password" in cli.stderr
    _no_secret("the refusal", cli.stderr)
    blob = subprocess.run([sys.executable, "-m", "trackd_daemon"], capture_output=True,
                          text=True, timeout=60,
                          env={**env, "TRACKD_BLOB_URL": f"s3://{KEY_ID}:{SECRET_KEY}@b/p"})
    assert blob.returncode != 0 and "holds no user or password" in blob.stderr + blob.stdout
    _no_secret("the refusal", blob.stderr + blob.stdout)
