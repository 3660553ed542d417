"""A process's first run has its environment files written by a process of their own, from
this process's facts, so that their reading and imports take nothing from the training loop's
interpreter; its later runs write them here from what that process read."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from trackd._run import environment as _environment


@pytest.fixture(autouse=True)
def _nothing_read_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_environment, "_shared", None)


def _refuse_here() -> str:
    raise AssertionError("the requirements were read in the training process")


def test_the_files_are_written_by_another_process_from_this_ones_facts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "site" / "onlyhere-4.5.6.dist-info"  # on this process's path only
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: onlyhere\nVersion: 4.5.6\n")
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path / "site")])
    monkeypatch.setattr(sys, "argv", ["train.py", "--epochs", "3", "--name=caf\u00e9"])
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(_environment, "requirements", _refuse_here)
    files = tmp_path / "files"
    files.mkdir()

    names = _environment.record_apart(files, "train.py", 1_700_000_000.5, git=False,
                                      save_code=False, overrides={"host": "node-7"})

    assert sorted(names) == ["requirements.txt", "wandb-metadata.json"]
    assert "onlyhere==4.5.6\n" in (files / "requirements.txt").read_text()
    meta = json.loads((files / "wandb-metadata.json").read_text())
    assert meta["args"] == ["--epochs", "3", "--name=caf\u00e9"]
    assert meta["cwd"] == str(work) and meta["executable"] == sys.executable
    assert meta["host"] == "node-7" and meta["program"] == "train.py"
    assert meta["startedAt"] == "2023-11-14T22:13:20.500000Z"


def test_an_interpreter_that_is_not_pythons_records_here(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An embedding application's executable (uwsgi, a 3D package...) is not started.
    app = tmp_path / "embedding-app"
    app.write_text(f"#!/bin/sh\ntouch {tmp_path / 'started'}\necho '[]'\n")
    app.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(app))
    monkeypatch.setattr(_environment, "requirements", lambda: "read==here\n")
    names = _environment.record_apart(tmp_path, "train.py", 0.0, git=False, save_code=False)
    assert "requirements.txt" in names and not (tmp_path / "started").exists()
    assert (tmp_path / "requirements.txt").read_text() == "read==here\n"


def test_a_failure_of_the_process_says_why(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-directory"
    with pytest.raises(RuntimeError, match="No such file or directory"):
        _environment.record_apart(missing, "train.py", 0.0, git=False, save_code=False)
    assert not missing.exists()


def test_the_process_starts_without_this_ones_python_variables(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # PYTHONSTARTUP-like variables of the training process do not run in the recording one.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "sitecustomize.py").write_text("raise SystemExit('imported')\n")
    monkeypatch.setenv("PYTHONPATH", str(bad))
    names = _environment.record_apart(tmp_path, "train.py", 0.0, git=False, save_code=False)
    assert "wandb-metadata.json" in names
    assert os.path.isfile(tmp_path / "wandb-metadata.json")


def test_a_later_run_writes_its_files_here_from_what_the_first_ones_process_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path / "site")])
    monkeypatch.setattr(_environment, "requirements", _refuse_here)
    monkeypatch.setattr(_environment, "machine", _refuse_here)
    first, second, third = (tmp_path / n for n in ("first", "second", "third"))
    for d in (first, second, third):
        d.mkdir()
    _environment.record_apart(first, "train.py", 0.0, git=False, save_code=False)
    started = []
    real_run = _environment.subprocess.run

    def counting_run(*args: object, **kwargs: object) -> object:
        started.append(args)
        return real_run(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(_environment.subprocess, "run", counting_run)
    _environment.record_apart(second, "train.py", 1.0, git=False, save_code=False)
    assert started == []  # written here, from the facts the first run's process sent back
    for name in ("requirements.txt", "wandb-metadata.json"):
        a, b = (json.loads(d.joinpath(name).read_text()) if name.endswith(".json")
                else d.joinpath(name).read_text() for d in (first, second))
        if isinstance(a, dict):
            assert a.pop("startedAt") != b.pop("startedAt")
        assert a == b
    (tmp_path / "site").mkdir()  # the import path changed: read again, by a process
    _environment.record_apart(third, "train.py", 2.0, git=False, save_code=False)
    assert len(started) == 1


def _count_starts(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    started: list[object] = []
    real_run = _environment.subprocess.run

    def counting_run(*args: object, **kwargs: object) -> object:
        started.append(args)
        return real_run(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(_environment.subprocess, "run", counting_run)
    return started


def test_another_process_on_the_machine_writes_its_files_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache" / "environment"
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    started = _count_starts(monkeypatch)
    _environment.record_apart(first, "train.py", 0.0, git=False, save_code=False, cache=cache)
    assert len(started) == 1
    [kept] = cache.iterdir()
    assert kept.stat().st_mode & 0o777 == 0o600 and cache.stat().st_mode & 0o777 == 0o700
    monkeypatch.setattr(_environment, "_shared", None)  # as a new process starts
    monkeypatch.setattr(_environment, "requirements", _refuse_here)
    monkeypatch.setattr(_environment, "machine", _refuse_here)
    _environment.record_apart(second, "train.py", 0.0, git=False, save_code=False, cache=cache)
    assert len(started) == 1  # nothing read again, nothing started
    for name in ("requirements.txt", "wandb-metadata.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_what_another_host_or_a_broken_file_kept_is_read_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "environment"
    started = _count_starts(monkeypatch)
    _environment.record_apart(tmp_path, "train.py", 0.0, git=False, save_code=False, cache=cache)
    [kept] = cache.iterdir()
    monkeypatch.setattr(_environment, "_shared", None)
    kept.write_text('{"requirements": 1}')  # not what it keeps: read again, kept anew
    _environment.record_apart(tmp_path, "train.py", 0.0, git=False, save_code=False, cache=cache)
    assert len(started) == 2
    assert "trackd==" in json.loads(kept.read_text())["requirements"]
    monkeypatch.setattr(_environment, "_shared", None)
    monkeypatch.setattr(_environment.socket, "gethostname", lambda: "another-node")
    _environment.record_apart(tmp_path, "train.py", 0.0, git=False, save_code=False, cache=cache)
    assert len(started) == 3 and len(list(cache.iterdir())) == 2


def test_the_cache_keeps_the_newest_environments(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "environment"
    cache.mkdir()
    monkeypatch.setattr(_environment, "CACHED_ENVIRONMENTS", 2)
    for i, name in enumerate(("old.json", "older.json")):
        (cache / name).write_text("{}")
        os.utime(cache / name, (1_000_000 - i, 1_000_000 - i))
    _environment.record_apart(tmp_path, "train.py", 0.0, git=False, save_code=False, cache=cache)
    assert sorted(f.name for f in cache.iterdir()) == sorted(
        ["old.json", _environment._cache_name(_environment._path_stamp())])


def test_a_cache_the_disk_cannot_take_leaves_no_part_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_environment.json, "dump", full)
    cache = tmp_path / "environment"
    _environment._cache_shared(cache, _environment._path_stamp(),
                               {"requirements": "", "machine": {}})
    assert list(cache.iterdir()) == []
