"""A daemon on the PostgreSQL store (``TRACKD_STORE_URL=postgresql://...``), end to end: a run
logged through the SDK (history, config, summary, an artifact) is read back through
``trackd.Api()``, is in the database (not in a SQLite file beside the daemon), and is read back
again by a second daemon with directories of its own on the same database (another machine of
the team)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import grpc
import psycopg
import pytest

import trackd
from tests.helpers import own_daemon
from tests.postgres import PostgresServer
from tests.postgres import postgres_server as _server
from trackd import Api
from trackd._transport.connection import make_stub
from trackd.v1 import daemon_service_pb2


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    yield from _server()


def test_a_daemon_on_postgresql_stores_and_serves_a_run(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A password in the URL (the test server's trust authentication ignores it), which the
    # daemon must never show: not in its log, not to clients.
    url = postgres_server.create_database("e2e").replace("trackd@", "trackd:s3cret@")
    project = "pg-" + secrets.token_hex(4)
    monkeypatch.chdir(tmp_path)
    for k in ("WANDB_MODE", "TRACKD_MODE", "WANDB_PROJECT", "WANDB_RUN_ID", "WANDB_ENTITY"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("TRACKD_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "weights.bin"
    data.write_bytes(secrets.token_bytes(4096))

    with own_daemon(monkeypatch, env={"TRACKD_STORE_URL": url}) as daemon:
        run = trackd.init(project=project, config={"lr": 0.01, "layers": [64, 32]})
        for step in range(500):
            run.log({"loss": 1.0 / (step + 1), "acc": step / 500})
        run.summary["best"] = 0.99
        art = trackd.Artifact("model", type="model")
        art.add_file(str(data))
        run.log_artifact(art).wait()
        run.finish()
        path = run.path

        stored = Api().run(path)
        assert stored.state == "finished"
        assert stored.config["lr"] == 0.01 and stored.config["layers"] == [64, 32]
        assert stored.summary["best"] == 0.99
        rows = list(stored.scan_history())
        assert [r["_step"] for r in rows] == list(range(500))
        assert rows[499]["loss"] == 1.0 / 500
        assert [r["_step"] for r in stored.sample_history(samples=3)] == [0, 249, 499]
        got = Api().artifact(f"{project}/model:latest")
        assert got.version == "v0" and got.logged_by().id == run.id
        root = Path(got.download(root=str(tmp_path / "dl")))
        assert (root / "weights.bin").read_bytes() == data.read_bytes()
        assert "trackd.db" not in {p.name for p in Path(daemon.dirs.env["TRACKD_ROOT"]).glob("*")}
        with grpc.insecure_channel(f"unix:{daemon.dirs.socket}") as channel:
            info = make_stub(channel, daemon_service_pb2, "DaemonService").GetDaemonInfo(
                daemon_service_pb2.GetDaemonInfoRequest(), timeout=10)
        assert info.store_url.startswith("postgresql://trackd:***@/e2e_")
        assert "s3cret" not in daemon.log_text() and "postgresql://" in daemon.log_text()

    with psycopg.connect(url) as conn:  # the rows are in PostgreSQL
        count = conn.execute("SELECT r.history_rows FROM runs r JOIN projects p ON"
                             " p.id = r.project_id WHERE p.name = %s", (project,)).fetchall()
    assert count == [(500,)]

    # Another machine's daemon (directories of its own) on the same database sees the run.
    with own_daemon(monkeypatch, env={"TRACKD_STORE_URL": url}):
        again = Api().run(path)
        assert again.summary["best"] == 0.99 and again.config["lr"] == 0.01
        assert len(list(again.scan_history(keys=["loss"]))) == 500
        assert Api().artifact(f"{project}/model:v0").digest == got.digest
