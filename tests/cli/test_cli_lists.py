"""The listing commands (runs ls, artifact ls, sweep ls, alerts ls) take --json and --limit,
against a real daemon in a sandbox."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.cli.test_cli import ENTITY, Sandbox

MAKE = f"""
import trackd
for i in range(3):
    run = trackd.init(entity={ENTITY!r}, project="lists", id=f"run{{i}}", name=f"n{{i}}")
    run.log({{"loss": 1.0 / (i + 1)}})
    run.alert(title=f"alert {{i}}", text="look")
    run.finish()
"""

SWEEP = """
method: grid
program: train.py
parameters:
  lr:
    values: [0.5, 0.25]
"""


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    b = Sandbox()
    try:
        assert "started" in b.ok("daemon", "start")
        b.python(MAKE)
        (b.dir / "data.txt").write_text("one")
        b.ok("artifact", "put", str(b.dir / "data.txt"), "--name", "arts/data", "--type",
             "dataset")
        (b.dir / "data.txt").write_text("two")
        b.ok("artifact", "put", str(b.dir / "data.txt"), "--name", "arts/data", "--type",
             "dataset")
        (b.dir / "sweep.yaml").write_text(SWEEP)
        for name in ("s1", "s2"):
            proc = b.cli("sweep", str(b.dir / "sweep.yaml"), "--project", "lists",
                         "--name", name)
            assert proc.returncode == 0 and re.search(r"Created sweep with ID", proc.stderr), \
                proc.stderr
        yield b
    finally:
        b.close()


def _json(box: Sandbox, *args: str) -> list[dict]:
    rows = json.loads(box.ok(*args))
    assert isinstance(rows, list)
    return rows


def test_runs_ls_json_and_limit(box: Sandbox) -> None:
    rows = _json(box, "runs", "ls", "lists", "--json")
    assert [r["id"] for r in rows] == ["run2", "run1", "run0"]  # newest first
    assert rows[0] == {**rows[0], "entity": ENTITY, "project": "lists", "name": "n2",
                       "state": "finished", "history_rows": 1, "last_step": 0}
    assert [r["id"] for r in _json(box, "runs", "ls", "lists", "--json", "--limit", "2")] \
        == ["run2", "run1"]
    table = box.ok("runs", "ls", "lists", "--limit", "1").splitlines()
    assert len(table) == 2 and table[1].split()[0] == "run2"
    assert _json(box, "runs", "ls", "nowhere", "--json") == []


def test_artifact_ls_json_and_limit(box: Sandbox) -> None:
    rows = _json(box, "artifact", "ls", "arts", "--json")
    assert sorted(r["version"] for r in rows) == ["v0", "v1"]
    assert {r["type"] for r in rows} == {"dataset"}
    assert all(r["qualified_name"].startswith(f"{ENTITY}/arts/data:") for r in rows)
    assert len(_json(box, "artifact", "ls", "arts", "--json", "--limit", "1")) == 1
    assert len(box.ok("artifact", "ls", "arts", "--limit", "1").splitlines()) == 2


def test_sweep_ls_json_and_limit(box: Sandbox) -> None:
    rows = _json(box, "sweep", "ls", "lists", "--json")
    assert sorted(r["name"] for r in rows) == ["s1", "s2"]
    assert {(r["project"], r["method"]) for r in rows} == {("lists", "grid")}
    assert len(_json(box, "sweep", "ls", "lists", "--json", "--limit", "1")) == 1
    assert len(box.ok("sweep", "ls", "lists", "--limit", "1").splitlines()) == 2
    proc = box.cli("sweep", "show", rows[0]["id"], "--json")
    assert proc.returncode == 1 and "go with trackd sweep ls" in proc.stderr


def test_alerts_ls_json_and_limit(box: Sandbox) -> None:
    rows = _json(box, "alerts", "ls", "lists", "--json")
    assert sorted(r["title"] for r in rows) == ["alert 0", "alert 1", "alert 2"]
    assert {r["run"] for r in rows} == {f"{ENTITY}/lists/run{i}" for i in range(3)}
    assert len(_json(box, "alerts", "ls", "lists", "--json", "--limit", "2")) == 2


@pytest.mark.parametrize("command", [("runs", "ls"), ("artifact", "ls", "arts"),
                                     ("sweep", "ls"), ("alerts", "ls")])
def test_limit_must_be_positive(box: Sandbox, command: tuple[str, ...]) -> None:
    proc = box.cli(*command, "--limit", "0")
    assert proc.returncode == 2 and "at least 1" in proc.stderr
