"""Three daemons, one team: each with root, state and runtime directories of its own (three
machines), all on one PostgreSQL database and one bucket (an S3-compatible server on
loopback). Runs logged on each are listed by every daemon's ``Api()`` and dashboard; an artifact
logged on one machine is used and downloaded on another, its lineage recorded; runs and artifact
versions created on two daemons at once get distinct ids and version numbers; a shared run with
writers on three machines keeps every row of each; an offline run synced on one machine is read
on another."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import trackd
from tests.e2e.artifact_helpers import project, read_tree, write_tree
from tests.helpers import DaemonDirs, DaemonProcess
from tests.postgres import PostgresServer
from tests.postgres import postgres_server as _server
from tests.s3_server import S3Server
from tests.web.dash import Dashboard
from trackd import Api, Artifact
from trackd._init.sync import sync_dirs

_SDK_UNSET = ("WANDB_MODE", "TRACKD_MODE", "WANDB_PROJECT", "WANDB_RUN_ID", "WANDB_ENTITY")


#: Three daemons and up to eight training processes at once.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    yield from _server()


@pytest.fixture
def s3() -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    yield server
    server.stop()


@dataclass
class Team:
    daemons: list[DaemonProcess]
    tmp: Path
    monkeypatch: pytest.MonkeyPatch

    def sdk_env(self, d: DaemonProcess) -> dict[str, str]:
        """The settings of a training process on ``d``'s machine."""
        return {"TRACKD_CACHE_DIR": str(d.dirs.base / "cache"),
                "TRACKD_DATA_DIR": str(d.dirs.base / "data"), **d.dirs.env}

    def use(self, d: DaemonProcess) -> None:
        """This process's SDK talks to ``d`` from now on."""
        trackd.teardown()
        for k, v in self.sdk_env(d).items():
            self.monkeypatch.setenv(k, v)
        self.monkeypatch.chdir(self.tmp)


@pytest.fixture
def team(postgres_server: PostgresServer, s3: S3Server, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Team]:
    for k in _SDK_UNSET:
        monkeypatch.delenv(k, raising=False)
    for k, v in s3.env.items():
        monkeypatch.setenv(k, v)
    env = {**s3.env, "TRACKD_STORE_URL": postgres_server.create_database("team"),
           "TRACKD_BLOB_URL": f"s3://{s3.new_bucket()}/team"}
    daemons: list[DaemonProcess] = []
    try:
        for _ in range(3):
            dirs = DaemonDirs.make()
            dirs.env.update(env)
            d = DaemonProcess(dirs)
            daemons.append(d)
            d.start()
        yield Team(daemons, tmp_path, monkeypatch)
    finally:
        trackd.teardown()
        for d in daemons:
            d.stop()
            d.dirs.cleanup()


def test_every_daemon_lists_every_run_and_an_artifact_crosses_machines(team: Team) -> None:
    proj = project()
    paths = []
    for i, d in enumerate(team.daemons):
        team.use(d)
        with trackd.init(project=proj, config={"machine": i}) as run:
            for step in range(200):
                run.log({"loss": 1.0 / (step + 1 + i)})
            paths.append(run.path)
    files = {"model.bin": os.urandom(300_000), "meta/info.json": b'{"layers": 4}'}
    write_tree(team.tmp / "src", files)

    team.use(team.daemons[0])
    with trackd.init(project=proj, job_type="train") as producer:
        art = Artifact("model", "model")
        art.add_dir(str(team.tmp / "src"))
        producer.log_artifact(art)
        art.wait()
        assert art.state == "COMMITTED"
        paths.append(producer.path)

    team.use(team.daemons[2])
    with trackd.init(project=proj, job_type="eval") as consumer:
        used = consumer.use_artifact("model:latest")
        root = used.download(str(team.tmp / "downloaded"))
        paths.append(consumer.path)
    assert read_tree(root) == files

    entity = paths[0].split("/")[0]
    for i, d in enumerate(team.daemons):
        team.use(d)
        api = Api()
        assert sorted("/".join(r.path) for r in api.runs(proj)) == sorted(paths), i
        for n, path in enumerate(paths[:3]):
            run = api.run(path)
            assert run.config["machine"] == n
            assert len(list(run.scan_history(keys=["loss"]))) == 200
        version = api.artifact(f"{proj}/model:v0")
        assert "/".join(version.logged_by().path) == paths[3]
        assert ["/".join(r.path) for r in version.used_by()] == [paths[4]]
        dash = Dashboard.of(d)
        dash.login()
        listed = dash.json(f"/api/v1/projects/{entity}/{proj}/runs")
        assert sorted(f"{r['entity']}/{r['project']}/{r['id']}" for r in listed["runs"]) == (
            sorted(paths)), i
        assert listed["total_in_project"] == len(paths)


CREATOR = textwrap.dedent("""
    import json, os, sys
    import trackd
    project, tag = sys.argv[1], sys.argv[2]
    with trackd.init(project=project) as run:
        art = trackd.Artifact("shared", "dataset")
        with art.new_file("who.txt") as f:
            f.write(tag)
        run.log_artifact(art)
        art.wait()
        print(json.dumps({"id": run.id, "name": run.name, "version": art.version,
                          "tag": tag}), flush=True)
""")


def test_two_daemons_creating_runs_and_versions_at_once_number_them_apart(team: Team) -> None:
    proj = project()
    script = team.tmp / "creator.py"
    script.write_text(CREATOR)
    base = {k: v for k, v in os.environ.items() if k not in _SDK_UNSET}
    procs = []
    for i in range(8):  # four processes on each of two machines, all at once
        d = team.daemons[i % 2]
        procs.append(subprocess.Popen([sys.executable, str(script), proj, f"p{i}"],
                                      env={**base, **team.sdk_env(d)}, cwd=team.tmp,
                                      stdout=subprocess.PIPE, text=True))
    made = []
    for p in procs:
        out, _ = p.communicate(timeout=240)
        assert p.returncode == 0
        made.append(json.loads(out.strip().splitlines()[-1]))
    assert len({m["id"] for m in made}) == 8
    assert len({m["name"] for m in made}) == 8
    assert sorted(m["version"] for m in made) == sorted(f"v{i}" for i in range(8))
    team.use(team.daemons[2])  # a third machine reads what each version holds
    api = Api()
    for m in made:
        version = api.artifact(f"{proj}/shared:{m['version']}")
        assert version.logged_by().id == m["id"]
        got = Path(version.download(str(team.tmp / "dl" / m["version"])))
        assert (got / "who.txt").read_text() == m["tag"]


SHARED_WRITER = textwrap.dedent("""
    import os, signal, sys, trackd
    run_id, project, label, rows, die = sys.argv[1:6]
    run = trackd.init(id=run_id, project=project, settings=trackd.Settings(
        mode="shared", x_primary=False, x_label=label))
    run.define_metric(f"{label}_loss", summary="min")
    for i in range(int(rows)):
        run.log({"i": i, "from": label, f"{label}_loss": 1.0 / (i + 1)})
    if die == "die":
        run._sender.flush(60)
        os.kill(os.getpid(), signal.SIGKILL)
    run.finish()
""")


def test_a_shared_run_keeps_every_row_of_writers_on_three_machines(team: Team) -> None:
    """The primary writer on one machine, three writers on two others (one of them killed):
    every row of each is kept, in one order of steps, attributed; the summary and metric
    definitions hold every machine's keys; only the primary's finish ends the run."""
    proj, run_id = project(), "teamshared"
    team.use(team.daemons[0])
    primary = trackd.init(id=run_id, project=proj, config={"lr": 0.1}, settings=trackd.Settings(
        mode="shared", x_label="main", heartbeat_seconds=2))
    primary.define_metric("main_loss", summary="min")
    script = team.tmp / "shared_writer.py"
    script.write_text(SHARED_WRITER)
    base = {k: v for k, v in os.environ.items() if k not in _SDK_UNSET}
    writers = {"w1": (1, 3000, "live"), "w2": (1, 3000, "live"), "w3": (2, 3000, "live"),
               "doomed": (2, 500, "die")}
    procs = {label: subprocess.Popen(
        [sys.executable, str(script), run_id, proj, label, str(rows), die],
        env={**base, **team.sdk_env(team.daemons[d])}, cwd=team.tmp)
        for label, (d, rows, die) in writers.items()}
    for i in range(1000):  # the primary logs meanwhile
        primary.log({"i": i, "from": "main", "main_loss": 2.0 / (i + 1)})
    for label, p in procs.items():
        assert p.wait(240) == (-signal.SIGKILL if label == "doomed" else 0), label
    # The killed writer's machine lets go of the run after its grace; it does not end it.
    time.sleep(5)
    api = Api()
    assert api.run(primary.path).state == "running"
    primary.log({"i": 1000, "from": "main", "main_loss": 0.0})
    primary.finish()

    for d in team.daemons:  # every machine reads the same run
        team.use(d)
        stored = Api().run(primary.path)
        assert stored.state == "finished" and stored.config == {"lr": 0.1}
        rows = list(stored.scan_history())
        assert stored.history_rows == len(rows) == 1001 + 3 * 3000 + 500
        assert [r["_step"] for r in rows] == list(range(len(rows)))  # one order for all
        by_writer: dict[str, list[int]] = {}
        for r in rows:
            if r["from"] != "main":
                assert r["_writer"] == r["from"]  # attributed
            by_writer.setdefault(r["from"], []).append(r["i"])
        assert by_writer["main"] == list(range(1001))
        for label, (_, n, _) in writers.items():
            assert by_writer[label] == list(range(n)), label
        summary = stored.summary
        assert summary["main_loss"] == {"min": 0.0}
        for label in ("w1", "w2", "w3"):
            assert summary[f"{label}_loss"] == {"min": 1.0 / 3000}
        assert summary["_step"] == len(rows) - 1
        assert {m["name"] for m in stored.metrics} >= {
            "main_loss", "w1_loss", "w2_loss", "w3_loss", "doomed_loss"}


def test_an_offline_run_synced_on_one_machine_is_read_on_another(team: Team) -> None:
    """``trackd sync`` goes to the team store: a run logged offline (a node without the
    network), synced through one machine's daemon, is read through another's."""
    proj = project()
    team.use(team.daemons[0])
    run = trackd.init(project=proj, mode="offline", config={"lr": 0.1})
    for i in range(300):
        run.log({"loss": 1 / (i + 1)})
    run.finish()
    team.use(team.daemons[1])
    out: list[str] = []
    assert sync_dirs([str(Path(run.dir).parent)], echo=out.append) == 0
    assert "synced" in out[0] and "state finished" in out[0]
    team.use(team.daemons[2])
    stored = Api().run(run.path)
    assert stored.state == "finished" and stored.config == {"lr": 0.1}
    assert [r["loss"] for r in stored.scan_history()] == [1 / (i + 1) for i in range(300)]


def test_a_run_resumed_on_another_machine_goes_on_where_it_stopped(team: Team) -> None:
    """A preempted job restarts on another node: ``resume="must"`` through that machine's
    daemon continues the run's history, and its sequence of records, after what the first
    machine stored (that daemon has no log of the run: it goes on from the store's seqs)."""
    proj = project()
    team.use(team.daemons[0])
    with trackd.init(project=proj, config={"lr": 0.1}) as run:
        for i in range(100):
            run.log({"loss": float(i)})
        run_id = run.id
    team.use(team.daemons[1])
    resumed = trackd.init(project=proj, id=run_id, resume="must")
    assert resumed.step == 100
    for i in range(100, 200):
        resumed.log({"loss": float(i)})
    resumed.finish()
    for daemon in team.daemons:
        team.use(daemon)
        stored = Api().run(resumed.path)
        assert stored.state == "finished" and stored.config == {"lr": 0.1}
        assert [r["loss"] for r in stored.scan_history()] == [float(i) for i in range(200)]
        assert [r["_step"] for r in stored.scan_history()] == list(range(200))
