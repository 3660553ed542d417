"""Install and remove the opt-in ``wandb`` distribution (see :mod:`trackd.compat`).

What is written, into site-packages or ``target``::

    wandb/...                       a copy of trackd/compat/wandb_package
    wandb-<WANDB_VERSION>.dist-info/
        METADATA  Name: wandb, the W&B version trackd follows, Requires-Dist: trackd
        INSTALLER trackd (how this module tells its own installation from W&B's)
        top_level.txt, WHEEL
        RECORD    every file with its hash and size, so ``pip uninstall wandb`` removes it too

The real ``wandb`` is never touched: with it (or any ``wandb`` this module did not write) in
the target, both commands refuse and say how to remove it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import sysconfig
from pathlib import Path

from trackd._version import __version__
from trackd.errors import UsageError

#: The W&B release whose API trackd follows: the version the package reports, in its metadata
#: and as ``wandb.__version__`` (Lightning and accelerate check the former, YOLOv5 the latter).
WANDB_VERSION = "0.31.0"

#: The INSTALLER of a distribution this module wrote.
INSTALLER = "trackd"

#: The package's source, installed as ``wandb`` (the directory has another name here, so that
#: nothing mistakes it for a run directory ``wandb/``).
_SOURCE = Path(__file__).resolve().parent / "wandb_package"


class CompatInstallError(UsageError):
    """The target holds a ``wandb`` that trackd did not install (the real one), or cannot be
    written."""


def _site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def _target(target: str | os.PathLike[str] | None) -> Path:
    return Path(target).expanduser().resolve() if target is not None else _site_packages()


def _dist_infos(root: Path) -> list[Path]:
    """Every ``wandb`` distribution's metadata directory in ``root`` (any version)."""
    if not root.is_dir():
        return []
    found = []
    for entry in root.iterdir():
        name = entry.name.lower()
        if not entry.is_dir():
            continue
        if name.endswith((".dist-info", ".egg-info")) and \
                name.split("-", 1)[0].replace("_", "-") == "wandb":
            found.append(entry)
    return sorted(found)


def _ours(dist_info: Path) -> bool:
    try:
        return (dist_info / "INSTALLER").read_text().strip() == INSTALLER
    except OSError:
        return False


def _version_of(dist_info: Path) -> str:
    try:
        for line in (dist_info / "METADATA").read_text(errors="replace").splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    stem = dist_info.name.removesuffix(".dist-info").removesuffix(".egg-info")
    return stem.split("-")[1] if "-" in stem else "(unknown version)"


def _refuse_foreign(root: Path, doing: str) -> list[Path]:
    """Our dist-info directories in ``root``; raises when a ``wandb`` of anyone else is there."""
    infos = _dist_infos(root)
    foreign = [d for d in infos if not _ours(d)]
    if foreign:
        version = _version_of(foreign[0])
        raise CompatInstallError(
            f"the real wandb {version} is installed in {root} ({foreign[0].name}); trackd will "
            f"not {doing} it. To use trackd's wandb package there, first remove W&B's with: "
            f"pip uninstall wandb")
    ours = [d for d in infos if _ours(d)]
    if not ours and (root / "wandb").exists():
        raise CompatInstallError(
            f"{root / 'wandb'} is a wandb package trackd did not install (it has no "
            f"distribution metadata of trackd's); trackd will not {doing} it. Remove it first "
            f"(pip uninstall wandb, or delete that directory)")
    return ours


def installed(target: str | os.PathLike[str] | None = None) -> Path | None:
    """The dist-info directory of trackd's ``wandb`` package in site-packages (or ``target``);
    None when it is not installed there."""
    ours = [d for d in _dist_infos(_target(target)) if _ours(d)]
    return ours[0] if ours else None


def _record_line(root: Path, path: Path) -> str:
    data = path.read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path.relative_to(root).as_posix()},sha256={digest},{len(data)}"


def _metadata() -> str:
    return (
        "Metadata-Version: 2.1\n"
        "Name: wandb\n"
        f"Version: {WANDB_VERSION}\n"
        "Summary: W&B's wandb module paths, answered by trackd (installed by "
        "`trackd compat install`; remove with `trackd compat uninstall`)\n"
        "License: Apache-2.0\n"
        f"Requires-Dist: trackd>={__version__}\n"
        "\n"
        f"This is not W&B's SDK: `import wandb` runs trackd {__version__}, a self-hosted "
        "tracker with W&B's API.\n"
    )


def install(target: str | os.PathLike[str] | None = None) -> Path:
    """Install trackd's ``wandb`` package into this Python environment's site-packages (or into
    the directory ``target``, which is created if needed); returns the package's directory.
    Installing again replaces it (the same files: idempotent).

    :raises CompatInstallError: a ``wandb`` trackd did not install is there (the way out is
        in the message), or the directory cannot be written.
    """
    root = _target(target)
    for old in _refuse_foreign(root, "replace"):
        _remove(root, old)
    try:
        root.mkdir(parents=True, exist_ok=True)
        package = root / "wandb"
        shutil.copytree(_SOURCE, package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                        dirs_exist_ok=True)
        info = root / f"wandb-{WANDB_VERSION}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(_metadata())
        (info / "INSTALLER").write_text(INSTALLER + "\n")
        (info / "top_level.txt").write_text("wandb\n")
        (info / "WHEEL").write_text(
            f"Wheel-Version: 1.0\nGenerator: trackd {__version__}\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n")
        files = sorted(package / p.relative_to(_SOURCE) for p in _SOURCE.rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
        files += sorted(p for p in info.iterdir() if p.is_file())
        lines = [_record_line(root, p) for p in files]
        lines.append(f"{info.name}/RECORD,,")
        (info / "RECORD").write_text("\n".join(lines) + "\n")
    except OSError as exc:
        raise CompatInstallError(
            f"cannot install the wandb package into {root}: {exc.strerror or exc}. Run it with "
            "the Python environment you own (a virtual environment), or choose a directory "
            "with --target") from None
    return package


def _remove(root: Path, info: Path) -> None:
    """Delete what ``info``'s RECORD lists (and the byte code Python made of it)."""
    listed: list[Path] = []
    try:
        record = (info / "RECORD").read_text().splitlines()
    except OSError:
        record = []
    for line in record:
        rel = line.rsplit(",", 2)[0] if line.count(",") >= 2 else line
        if rel:
            listed.append((root / rel).resolve())
    for path in listed:
        if root not in path.parents:  # a RECORD never reaches out of its root
            continue
        path.unlink(missing_ok=True)
        if path.suffix == ".py":
            for cached in path.parent.glob(f"__pycache__/{path.stem}.*.pyc"):
                cached.unlink(missing_ok=True)
    dirs = {p.parent for p in listed} | {root / "wandb"}
    for directory in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        _rmdir_up(directory, root)
    shutil.rmtree(info, ignore_errors=True)


def _rmdir_up(directory: Path, root: Path) -> None:
    """Remove ``directory`` and its parents below ``root`` while they are empty."""
    while directory != root and root in directory.parents:
        pycache = directory / "__pycache__"
        if pycache.is_dir() and not any(pycache.iterdir()):
            pycache.rmdir()
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def uninstall(target: str | os.PathLike[str] | None = None) -> bool:
    """Remove trackd's ``wandb`` package from site-packages (or ``target``); returns whether it
    was there (removing it twice is not an error).

    :raises CompatInstallError: the ``wandb`` there is not trackd's (the message says how to
        remove it).
    """
    root = _target(target)
    ours = _refuse_foreign(root, "remove")
    try:
        for info in ours:
            _remove(root, info)
    except OSError as exc:
        raise CompatInstallError(
            f"cannot remove the wandb package from {root}: {exc.strerror or exc}") from None
    return bool(ours)
