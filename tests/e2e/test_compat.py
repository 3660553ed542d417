"""The opt-in ``wandb`` package (``trackd compat install``): absent from a plain install, a
real ``wandb`` distribution once installed (into a ``--target`` directory on PYTHONPATH, or a
virtual environment's site-packages), W&B's module paths answered by trackd, never installed
over W&B's own ``wandb``, and removable (by trackd or by pip) without a trace."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from trackd.compat import WANDB_VERSION

SDK_DIR = Path(__file__).resolve().parents[2] / "sdk" / "python"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trackd._cli.main", *args], capture_output=True,
                          text=True, timeout=60, env=env or os.environ.copy(), check=False)


def _python(code: str, cwd: Path, pythonpath: Path | None,
            python: str = sys.executable, extra_path: str = "") -> subprocess.CompletedProcess[str]:
    env = os.environ.copy()
    env.pop("PYTHONPATH", None)
    paths = [str(p) for p in (pythonpath,) if p is not None] + ([extra_path] if extra_path else [])
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return subprocess.run([python, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=env, check=False)


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_plain_install_has_no_wandb(tmp_path: Path) -> None:
    out = _python("""
        import importlib.metadata as md, importlib.util
        import trackd, trackd.compat
        assert importlib.util.find_spec("wandb") is None
        try:
            md.version("wandb")
        except md.PackageNotFoundError:
            pass
        else:
            raise AssertionError("a wandb distribution is installed")
        try:
            import wandb  # noqa: F401
        except ModuleNotFoundError as exc:
            print("missing", exc.name)
        """, tmp_path, None)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "missing wandb"


def test_install_is_trackd_under_wandbs_names(clean_sdk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "site"
    done = _cli("compat", "install", "--target", str(target))
    assert done.returncode == 0, done.stderr
    assert "trackd compat uninstall" in done.stderr
    info = target / f"wandb-{WANDB_VERSION}.dist-info"
    assert (info / "INSTALLER").read_text().strip() == "trackd"
    assert (info / "top_level.txt").read_text().split() == ["wandb"]
    recorded = {line.split(",")[0] for line in (info / "RECORD").read_text().splitlines()}
    on_disk = {p for p in _tree(target) if (target / p).is_file()}
    assert recorded == on_disk  # every file is listed, so pip can remove them all

    work = tmp_path / "work"
    work.mkdir()
    out = _python("""
        import importlib.metadata as md
        import numpy as np
        import trackd
        import wandb
        assert md.version("wandb") == wandb.__version__ == "%(version)s"
        assert md.metadata("wandb")["Name"] == "wandb"
        assert wandb.run is None and wandb.init is trackd.init
        try:
            wandb.log({"x": 1})
        except wandb.Error as exc:
            assert "wandb.init()" in str(exc) and "trackd" not in str(exc), exc
        else:
            raise AssertionError("log before init")
        try:
            wandb.config.update({"x": 1})
        except wandb.errors.Error as exc:
            assert "wandb.init() before wandb.config" in str(exc), exc

        from wandb import Artifact
        from wandb.errors import AuthenticationError, CommError, Error, UsageError
        from wandb.errors.term import termwarn
        from wandb.wandb_run import Run as Run1
        from wandb.sdk.wandb_run import Run as Run2
        from wandb.sdk.lib import RunDisabled, telemetry
        from wandb.sdk.lib.disabled import RunDisabled as RunDisabled2
        from wandb.sdk.lib.config_util import ConfigError
        from wandb.sdk.data_types.base_types.wb_value import WBValue
        from wandb.util import json_dumps_safer, json_friendly
        from wandb.apis.public import Api
        import wandb.env
        assert Artifact is trackd.Artifact and Api is trackd.Api
        assert Run1 is Run2 is wandb.Run is trackd.Run and RunDisabled is RunDisabled2
        assert issubclass(AuthenticationError, CommError) and issubclass(UsageError, Error)
        assert Error is trackd.Error and ConfigError is trackd.errors.ConfigError
        assert termwarn is wandb.termwarn
        assert wandb.attach is wandb._attach and wandb.ensure_configured() is None
        assert wandb.plot_table is wandb.plot.plot_table
        dumped = json_dumps_safer({"a": np.float32(1.5), "b": np.arange(2)})
        assert dumped == '{"a": 1.5, "b": [0, 1]}', dumped
        assert json_friendly(np.int64(3)) == (3, True)
        assert json_friendly(object)[1] is False

        wandb.env.set_project("compat-e2e")
        run = wandb.init(config={"lr": 0.1})
        assert wandb.run is run and isinstance(run, (Run1, RunDisabled)), type(run)
        assert run.project == "compat-e2e"
        with telemetry.context(run=run) as tel:
            tel.feature.sb3 = True
        assert tel.as_dict() == {"feature": {"sb3": True}}
        wandb.config.update({"batch": 4})
        assert wandb.config["batch"] == 4 and wandb.config is run.config
        try:
            wandb.config.update({"lr": 0.2})
        except ConfigError:
            pass
        else:
            raise AssertionError("config change without allow_val_change")
        wandb.log({"loss": 0.5})
        wandb.log({"loss": 0.25})
        wandb.summary["best"] = 7
        assert wandb.summary is run.summary or dict(wandb.summary)["best"] == 7
        assert isinstance(wandb.Image(np.zeros((4, 4, 3), dtype=np.uint8)), WBValue)
        assert isinstance(wandb.Table(columns=["a"], data=[[1]]), WBValue)
        wandb.termlog("a line from termlog")
        wandb.termwarn("a warning once", repeat=False)
        wandb.termwarn("a warning once", repeat=False)
        print("RUN", run.path)
        wandb.finish()
        assert wandb.run is None

        quiet = wandb.init(mode="disabled")
        assert isinstance(quiet, Run1) and wandb.run is quiet
        quiet.log({"x": 1})
        quiet.finish()
        """ % {"version": WANDB_VERSION}, work, target)
    assert out.returncode == 0, out.stderr
    assert "a line from termlog" in out.stderr
    assert out.stderr.count("a warning once") == 1
    path = next(line.split()[1] for line in out.stdout.splitlines() if line.startswith("RUN "))

    import trackd

    stored = trackd.Api().run(path)
    assert stored.config["lr"] == 0.1 and stored.config["batch"] == 4
    assert stored.summary["best"] == 7 and stored.summary["loss"] == 0.25
    assert [row["loss"] for row in stored.scan_history()] == [0.5, 0.25]

    again = _cli("compat", "install", "--target", str(target))  # idempotent: same files
    assert again.returncode == 0, again.stderr
    assert {p for p in _tree(target) if (target / p).is_file()} - {
        p for p in _tree(target) if "__pycache__" in p} == on_disk

    # A file someone left in the package survives reinstalling, and is not recorded as ours.
    (target / "wandb" / "notes.txt").write_text("mine")
    kept = _cli("compat", "install", "--target", str(target))
    assert kept.returncode == 0, kept.stderr
    assert "wandb/notes.txt" not in (info / "RECORD").read_text()
    (target / "wandb" / "notes.txt").unlink()

    gone = _cli("compat", "uninstall", "--target", str(target))
    assert gone.returncode == 0, gone.stderr
    assert _tree(target) == []  # byte code Python wrote is removed too
    twice = _cli("compat", "uninstall", "--target", str(target))
    assert twice.returncode == 0 and "nothing to remove" in twice.stderr
    # (Not from ``work``: the run's ./wandb directory there imports as a namespace package.)
    after = _python("import wandb", tmp_path, target)
    assert after.returncode != 0 and "No module named 'wandb'" in after.stderr


def _fake_real_wandb(target: Path, version: str = "0.22.3") -> Path:
    info = target / f"wandb-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: wandb\nVersion: {version}\n")
    (info / "INSTALLER").write_text("pip\n")
    (target / "wandb").mkdir()
    (target / "wandb" / "__init__.py").write_text(f"__version__ = {version!r}\n")
    (info / "RECORD").write_text(f"wandb/__init__.py,,\n{info.name}/RECORD,,\n")
    return info


def test_refuses_the_real_wandb(tmp_path: Path) -> None:
    target = tmp_path / "site"
    _fake_real_wandb(target)
    before = _tree(target)
    for action in ("install", "uninstall"):
        out = _cli("compat", action, "--target", str(target))
        assert out.returncode == 1, out.stderr
        assert "real wandb 0.22.3" in out.stderr and "pip uninstall wandb" in out.stderr
        assert _tree(target) == before  # W&B's files untouched

    # A wandb directory with no metadata of trackd's is not trackd's either.
    bare = tmp_path / "bare"
    (bare / "wandb").mkdir(parents=True)
    out = _cli("compat", "install", "--target", str(bare))
    assert out.returncode == 1 and "trackd did not install" in out.stderr
    assert _tree(bare) == ["wandb"]

    from trackd.compat import CompatInstallError, install

    with pytest.raises(CompatInstallError, match="pip uninstall wandb"):
        install(target)


@pytest.mark.slow
def test_default_target_is_the_environment_and_pip_removes_it(tmp_path: Path) -> None:
    """Without --target the package goes into the running interpreter's site-packages (here a
    fresh virtual environment's), and ``pip uninstall wandb`` removes it by its RECORD."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages",
                    str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    purelib = Path(subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    # trackd and its dependencies come from this test's environment, through PYTHONPATH.
    deps = os.pathsep.join([str(SDK_DIR)] + [p for p in sys.path if p.endswith("site-packages")])
    before = _tree(purelib)
    out = _python("from trackd._cli.main import main; "
                  "raise SystemExit(main(['compat', 'install']))", tmp_path,
                  None, python=python, extra_path=deps)
    assert out.returncode == 0, out.stderr
    assert (purelib / "wandb" / "__init__.py").is_file()
    seen = _python("import importlib.metadata as md, wandb; "
                   "print(md.version('wandb'), wandb.__file__)", tmp_path,
                   None, python=python, extra_path=deps)
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.split() == [WANDB_VERSION, str(purelib / "wandb" / "__init__.py")]

    # A wandb earlier on the path would win over it: installing says so.
    shadow = tmp_path / "shadow" / "wandb"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    again = _python("from trackd._cli.main import main; "
                    "raise SystemExit(main(['compat', 'install']))", tmp_path, None,
                    python=python, extra_path=os.pathsep.join([str(shadow.parent), deps]))
    assert again.returncode == 0, again.stderr
    assert f"another wandb comes first on this Python's path: {shadow / '__init__.py'}" \
        in again.stderr

    pip = subprocess.run([python, "-m", "pip", "uninstall", "-y", "wandb"], capture_output=True,
                         text=True, timeout=120, check=False)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert "Successfully uninstalled wandb" in pip.stdout
    assert _tree(purelib) == before
