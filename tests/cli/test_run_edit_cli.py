"""``trackd runs rm|tag|mv|rename`` against a real daemon, read back through ``runs show``."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.cli.test_cli import CLI, ENTITY, Sandbox

MAKE_RUNS = f"""
import trackd
for project, run_id in (("p", "a"), ("p", "b"), ("p", "c"), ("q", "taken")):
    trackd.init(entity={ENTITY!r}, project=project, id=run_id, name=f"run-{{run_id}}",
                tags=["t1"]).finish()
trackd.init(entity={ENTITY!r}, project="other", id="c").finish()
"""


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    sandbox = Sandbox()
    try:
        assert "started" in sandbox.ok("daemon", "start")
        sandbox.python(MAKE_RUNS)
        yield sandbox
    finally:
        sandbox.close()


def _show(box: Sandbox, path: str) -> dict[str, str]:
    out = box.ok("runs", "show", path)
    fields = dict(line.split(":", 1) for line in out.splitlines() if line and line[0] != " ")
    return {k: v.strip() for k, v in fields.items()}


def _answering(box: Sandbox, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=box.env, input=answer, capture_output=True,
                          text=True, timeout=60, check=False)


def test_rename_and_tag(box: Sandbox) -> None:
    assert "renamed" in box.ok("runs", "rename", "p/a", "new name")
    out = box.ok("runs", "tag", "p/a", "--add", "t2", "--add", "t3", "--remove", "t1")
    assert "t2, t3" in out
    fields = _show(box, "p/a")
    assert (fields["name"], fields["tags"]) == ("new name", "t2, t3")
    nothing = box.cli("runs", "tag", "p/a")
    assert nothing.returncode == 1 and "--add or --remove" in nothing.stderr
    bad = box.cli("runs", "tag", "p/a", "--add", " ")
    assert bad.returncode == 1 and "tag" in bad.stderr
    assert _show(box, "p/a")["tags"] == "t2, t3"


def test_mv(box: Sandbox) -> None:
    assert f"to {ENTITY}/moved/b" in box.ok("runs", "mv", "p/b", "moved")
    assert _show(box, "moved/b")["name"] == "run-b"
    assert box.cli("runs", "show", "p/b").returncode == 1
    clash = box.cli("runs", "mv", "other/c", "p")  # p has a run c
    assert clash.returncode == 1 and "already exists" in clash.stderr
    assert _show(box, "other/c")["path"] == f"{ENTITY}/other/c"


def test_rm_asks_first(box: Sandbox) -> None:
    declined = _answering(box, "n\n", "runs", "rm", "p/c")
    assert declined.returncode == 1 and "nothing deleted" in declined.stderr
    assert _show(box, "p/c")["name"] == "run-c"
    no_answer = _answering(box, "", "runs", "rm", "p/c")  # no terminal, no --yes: kept
    assert no_answer.returncode == 1
    done = _answering(box, "y\n", "runs", "rm", "p/c", "other/c")
    assert done.returncode == 0, done.stderr
    assert f"deleted {ENTITY}/p/c" in done.stdout and f"deleted {ENTITY}/other/c" in done.stdout
    for path in ("p/c", "other/c"):
        assert box.cli("runs", "show", path).returncode == 1
    # A client that vanished: its run stays running for the crash grace period (30 s).
    box.python(f"import os, trackd; trackd.init(entity={ENTITY!r}, project='p', id='live');"
               " os._exit(0)")
    live = box.cli("runs", "rm", "--yes", "p/a", "p/live")
    assert live.returncode == 1 and "still running" in live.stderr
    assert _show(box, "p/a")["name"] == "new name"  # nothing deleted
    assert box.ok("runs", "rm", "--yes", "p/a").startswith(f"deleted {ENTITY}/p/a")
    missing = box.cli("runs", "rm", "--yes", "p/a")
    assert missing.returncode == 1 and "not found" in missing.stderr
