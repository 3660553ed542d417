"""Three daemons, one team: each with root, state and runtime directories of its own (three
machines), all on one PostgreSQL database and one bucket (an S3-compatible server on
loopback). Runs logged on each are listed by every daemon's ``Api()`` and dashboard; an artifact
logged on one machine is used and downloaded on another, its lineage recorded; runs and artifact
versions created on two daemons at once get distinct ids and version numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
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
