"""The environment a run records once (wandb-metadata.json, requirements.txt, diff.patch,
code/ with save_code): readable through trackd.Api and shown by ``trackd runs show``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import trackd

SCRIPT = """
import trackd
run = trackd.init(project="env", save_code={save_code})
run.log({{"x": 1}})
run.finish()
print("PATH", run.path)
"""


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def _repo(tmp_path: Path, save_code: bool) -> Path:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "train.py").write_text(textwrap.dedent(SCRIPT.format(save_code=save_code)))
    (repo / "params.txt").write_text("lr = 0.1\n")
    _git(repo, "init", "-q")
    _git(repo, "remote", "add", "origin", "https://user:secret-token@example.com/team/repo.git")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    (repo / "params.txt").write_text("lr = 0.01\n")  # uncommitted
    return repo


def _run(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    proc = subprocess.run([sys.executable, "src/train.py", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1].split()[-1]


def test_environment_with_git_diff_is_recorded(clean_sdk, tmp_path: Path) -> None:
    repo = _repo(tmp_path, save_code=True)
    path = _run(repo, "--epochs", "3")
    run = trackd.Api().run(path)
    meta = run.metadata
    assert meta is not None
    assert meta["git"]["commit"] == _git(repo, "rev-parse", "HEAD")
    assert meta["git"]["remote"] == "https://example.com/team/repo.git"  # no credentials kept
    assert meta["git"]["dirty"] is True
    assert meta["args"] == ["--epochs", "3"]
    assert meta["program"].endswith("src/train.py") and meta["codePath"] == "src/train.py"
    assert meta["python"].split()[-1] == ".".join(map(str, sys.version_info[:3]))
    assert meta["host"] and meta["os"] and meta["cpu_count_logical"] >= 1
    files = {f.name: f for f in run.files()}
    diff = files["diff.patch"].read_bytes().decode()
    assert "-lr = 0.1" in diff and "+lr = 0.01" in diff
    reqs = files["requirements.txt"].read_bytes().decode().splitlines()
    assert any(r.lower().startswith("protobuf==") for r in reqs)
    assert files["code/src/train.py"].read_bytes() == (repo / "src/train.py").read_bytes()
    assert json.loads(files["wandb-metadata.json"].read_bytes()) == meta

    show = subprocess.run([sys.executable, "-m", "trackd._cli.main", "runs", "show", path],
                          capture_output=True, text=True, timeout=60, check=False)
    assert show.returncode == 0, show.stderr
    assert meta["git"]["commit"] in show.stdout
    assert "src/train.py --epochs 3" in show.stdout
    assert "diff.patch" in show.stdout and "yes (diff.patch)" in show.stdout


def test_clean_repo_and_disable_git(clean_sdk, tmp_path: Path, monkeypatch) -> None:
    repo = _repo(tmp_path, save_code=False)
    _git(repo, "commit", "-q", "-am", "second")
    path = _run(repo)
    files = {f.name for f in trackd.Api().run(path).files()}
    assert "diff.patch" not in files and not any(f.startswith("code/") for f in files)
    assert trackd.Api().run(path).metadata["git"]["dirty"] is False  # type: ignore[index]
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    env = {**os.environ}
    proc = subprocess.run([sys.executable, "src/train.py"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    meta = trackd.Api().run(proc.stdout.strip().splitlines()[-1].split()[-1]).metadata
    assert meta is not None and "git" not in meta
