"""Fixtures for the integration tests: the opt-in ``wandb`` package installed into a folder of
the session's own (``trackd compat install --target``), and a runner that starts a training
script in a subprocess with that folder on PYTHONPATH, against the session's daemon, with
nothing reaching the network."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DaemonProcess


def trackd_cli() -> list[str]:
    """The trackd command of this environment."""
    script = Path(sys.executable).with_name("trackd")
    return [str(script)] if script.exists() else [sys.executable, "-m", "trackd._cli.main"]


@pytest.fixture(scope="session")
def compat_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the opt-in ``wandb`` distribution (dist-info and package)."""
    target = tmp_path_factory.mktemp("compat")
    proc = subprocess.run([*trackd_cli(), "compat", "install", "--target", str(target)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(target.glob("wandb-*.dist-info")), sorted(p.name for p in target.iterdir())
    return target


class Integration:
    """Runs a training script the way its user would (``python train.py``), with the opt-in
    package importable, and reads back what reached the daemon."""

    def __init__(self, daemon: DaemonProcess, compat: Path, workdir: Path) -> None:
        self.daemon = daemon
        self.compat = compat
        self.workdir = workdir
        self.project = f"integ-{uuid.uuid4().hex[:10]}"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        # ultralytics and others switch themselves off under pytest: the script is not a test.
        env.pop("PYTEST_CURRENT_TEST", None)
        for key in ("WANDB_MODE", "TRACKD_MODE", "WANDB_RUN_ID", "WANDB_LOG_MODEL",
                    "WANDB_WATCH", "WANDB_DISABLED"):
            env.pop(key, None)
        env.update(self.daemon.dirs.env)
        env.update({
            "PYTHONPATH": os.pathsep.join([str(self.compat), *filter(None, [
                env.get("PYTHONPATH")])]),
            "WANDB_PROJECT": self.project,
            # Nothing from the network: models and tokenizers are built from local configs.
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "HF_HOME": str(self.workdir / "hf-home"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "DISABLE_MLFLOW_INTEGRATION": "TRUE",
            "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": "1",
            "YOLO_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
            # Whatever still tries the network (over HTTP) meets a closed port at once.
            "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
            "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
            "NO_PROXY": "localhost,127.0.0.1,::1", "no_proxy": "localhost,127.0.0.1,::1",
        })
        env.update(extra)
        return env

    def run(self, script: str, *args: str, timeout: float = 300, name: str = "train.py",
            **extra_env: str) -> subprocess.CompletedProcess[str]:
        """Write ``script`` into the work folder and run it there; it must exit 0."""
        path = self.workdir / name
        path.write_text(textwrap.dedent(script))
        proc = subprocess.run([sys.executable, str(path), *args], cwd=self.workdir,
                              env=self.env(**extra_env), capture_output=True, text=True,
                              timeout=timeout)
        assert proc.returncode == 0, (
            f"{name} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
            f"\n--- stderr\n{proc.stderr[-8000:]}")
        assert "Traceback" not in proc.stderr, proc.stderr[-8000:]
        return proc

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*trackd_cli(), *args], cwd=self.workdir, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def runs(self) -> list[Any]:
        """The project's runs, oldest first."""
        import trackd

        return list(reversed(list(trackd.Api().runs(self.project))))

    def only_run(self) -> Any:
        runs = self.runs()
        assert len(runs) == 1, [r.id for r in runs]
        return runs[0]


@pytest.fixture
def integ(clean_sdk: DaemonProcess, compat_dir: Path, tmp_path: Path) -> Iterator[Integration]:
    yield Integration(clean_sdk, compat_dir, tmp_path)
    shutil.rmtree(tmp_path / "hf-home", ignore_errors=True)


def history(run: Any, *keys: str) -> list[dict[str, Any]]:
    """The run's rows that hold every one of ``keys`` (all rows without keys)."""
    rows = list(run.scan_history())
    return [r for r in rows if all(k in r and r[k] is not None for k in keys)]
