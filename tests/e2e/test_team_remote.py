"""A laptop without a daemon of its own reads the team's runs through one daemon's TLS
listener: two daemons (two machines) on one PostgreSQL database and one shared blob
directory, each with runs; the laptop logs in to daemon B (token and certificate) and lists and
reads the runs of both with ``Api()`` and with the CLI, history and a file of an artifact logged
on daemon A included. No daemon starts on the laptop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.test_tcp_auth import _self_signed, _tcp_address
from tests.helpers import DaemonDirs, DaemonProcess
from tests.postgres import PostgresServer
from tests.postgres import postgres_server as _server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

TRACKD = str(Path(sys.executable).with_name("trackd"))
PROJECT = "remote-team"

#: On a machine of the team: a run of ``rows`` rows (and, with ``artifact``, a model file).
MACHINE = textwrap.dedent("""
    import json, sys
    import trackd
    rows, artifact = int(sys.argv[1]), sys.argv[2]
    with trackd.init(project=%r, settings=trackd.Settings(silent=True)) as run:
        for i in range(rows):
            run.log({"loss": 1.0 / (i + 1)})
        if artifact:
            art = trackd.Artifact("weights", "model")
            with art.new_file("weights.txt") as f:
                f.write(artifact)
            run.log_artifact(art).wait()
        print(json.dumps(f"{run.entity}/{run.project}/{run.id}"))
""" % PROJECT)

#: On the laptop: every run of the project with its rows, and the artifact's file.
LAPTOP = textwrap.dedent("""
    import json, sys
    import trackd
    api = trackd.Api()
    runs = {r.id: [r.host, r.user.username, len(r.history(pandas=False))]
            for r in api.runs(%r)}
    art = api.artifact(%r + "/weights:latest")
    root = art.download(sys.argv[1])
    print(json.dumps({"runs": runs, "file": open(root + "/weights.txt").read(),
                      "logged_by": art.logged_by().id}))
""" % (PROJECT, PROJECT))


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    yield from _server()


@pytest.fixture
def machines(postgres_server: PostgresServer,
             tmp_path: Path) -> Iterator[tuple[DaemonProcess, DaemonProcess, Path]]:
    """Daemon A (no TCP listener) and daemon B (TLS on loopback), and B's certificate."""
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    cert, key = _self_signed(tmp_path)
    team = {"TRACKD_STORE_URL": postgres_server.create_database("remote"),
            "TRACKD_BLOB_URL": f"file://{blobs}"}
    tls = {"TRACKD_TCP_ADDRESS": "127.0.0.1:0", "TRACKD_TLS_CERT": str(cert),
           "TRACKD_TLS_KEY": str(key)}
    started: list[DaemonProcess] = []
    try:
        for extra in ({}, tls):
            dirs = DaemonDirs.make()
            dirs.env.update(team, **extra)
            d = DaemonProcess(dirs)
            started.append(d)
            d.start(timeout=60)
        yield started[0], started[1], cert
    finally:
        for d in started:
            d.stop()
            d.dirs.cleanup()


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRACKD_", "WANDB_", "XDG_", "AWS_"))}
    env.update(extra)
    return env


def _on(d: DaemonProcess, tmp: Path, rows: int, artifact: str = "") -> str:
    env = _clean_env(**d.dirs.env, TRACKD_CACHE_DIR=str(d.dirs.base / "cache"),
                     TRACKD_DATA_DIR=str(d.dirs.base / "data"))
    out = subprocess.run([sys.executable, "-c", MACHINE, str(rows), artifact], env=env, cwd=tmp,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return str(json.loads(out.stdout.strip().splitlines()[-1]))


def test_a_laptop_reads_every_machines_runs_through_one_daemons_tls_listener(
        machines: tuple[DaemonProcess, DaemonProcess, Path], tmp_path: Path) -> None:
    a, b, cert = machines
    on_a = _on(a, tmp_path, 30, artifact="trained on machine A")
    on_b = _on(b, tmp_path, 12)
    host = f"https://localhost:{_tcp_address(b).rpartition(':')[2]}"
    token = (Path(b.dirs.env["TRACKD_STATE_DIR"]) / "token").read_text().strip()

    home = tmp_path / "laptop"
    runtime = home / "run"
    runtime.mkdir(parents=True)
    laptop = _clean_env(HOME=str(home), TRACKD_RUNTIME_DIR=str(runtime))

    def laptop_run(cmd: list[str], **extra: str) -> str:
        out = subprocess.run(cmd, env={**laptop, **extra}, cwd=home, capture_output=True,
                             text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert out.returncode == 0, out.stderr[-3000:]
        return out.stdout

    # trackd login (token and certificate stored), then Api() with nothing else set.
    laptop_run([TRACKD, "login", "--host", host, "--verify", token], TRACKD_TLS_CA=str(cert))
    read = json.loads(laptop_run([sys.executable, "-c", LAPTOP, str(home / "dl")]).strip()
                      .splitlines()[-1])
    a_id, b_id = on_a.rsplit("/", 1)[1], on_b.rsplit("/", 1)[1]
    assert {k: v[2] for k, v in read["runs"].items()} == {a_id: 30, b_id: 12}
    assert all(host_ and user for host_, user, _ in read["runs"].values())
    assert read["file"] == "trained on machine A" and read["logged_by"] == a_id

    # The CLI with the token and address in the environment (no stored login).
    (home / ".config" / "trackd" / "login.json").unlink()
    env = {"TRACKD_BASE_URL": host, "TRACKD_API_KEY": token, "TRACKD_TLS_CA": str(cert)}
    listing = laptop_run([TRACKD, "runs", "ls", on_a.rsplit("/", 1)[0]], **env)
    assert a_id in listing and b_id in listing
    history = laptop_run([TRACKD, "runs", "history", on_a, "--format", "jsonl"], **env)
    assert len(history.strip().splitlines()) == 30
    assert json.loads(history.splitlines()[-1])["loss"] == pytest.approx(1 / 30)
    got = laptop_run([TRACKD, "artifact", "get", f"{on_a.rsplit('/', 1)[0]}/weights:v0",
                      "--root", str(home / "cli-dl")], **env)
    assert (home / "cli-dl" / "weights.txt").read_text() == "trained on machine A", got
    # Nothing ran a daemon on the laptop.
    assert not any(runtime.rglob("*.sock"))
