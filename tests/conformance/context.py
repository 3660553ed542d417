"""What a conformance check gets: the test's directory, the real daemon, and shared objects
made once per session (a logged artifact) so the module stays fast."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import trackd

PROJECT = "conformance"

_shared: dict[str, Any] = {}


class Ctx:
    def __init__(self, tmp: Path, monkeypatch: Any = None) -> None:
        #: The test's own directory (also its working directory).
        self.tmp = tmp
        self.monkeypatch = monkeypatch
        self.project = PROJECT

    def write(self, rel: str, text: str = "x") -> str:
        path = self.tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return str(path)

    def init(self, **kwargs: Any) -> trackd.Run:
        kwargs.setdefault("project", PROJECT)
        kwargs.setdefault("reinit", "create_new")
        return trackd.init(**kwargs)

    def api(self) -> Any:
        return trackd.Api()

    def stored(self, run: Any) -> Any:
        """The run as the daemon holds it, read through ``Api()``."""
        return trackd.Api().run(run.path if isinstance(run.path, str) else "/".join(run.path))

    def logged(self) -> dict[str, Any]:
        """One artifact logged once per session: ``{"run": path, "artifact": Artifact read
        back through Api(), "draft": the Artifact logged}``. Version v0 of ``conf-data``
        (type dataset) holds ``a.txt`` ("alpha"), ``d/b.txt`` ("beta") and ``d/c.txt``
        ("gamma"), with a description, metadata, aliases ``latest`` and ``best``, tag ``t1``;
        the run logged history step 0 (``m=1``) before logging it."""
        if "logged" not in _shared:
            root = self.tmp / "shared-artifact"
            (root / "d").mkdir(parents=True)
            (root / "a.txt").write_text("alpha")
            (root / "d" / "b.txt").write_text("beta")
            (root / "d" / "c.txt").write_text("gamma")
            art = trackd.Artifact("conf-data", "dataset", description="desc",
                                  metadata={"k": 1})
            art.add_file(str(root / "a.txt"))
            art.add_dir(str(root / "d"), name="d")
            with self.init(job_type="producer") as run:
                run.log({"m": 1})
                run.log_artifact(art, aliases=["best"], tags=["t1"]).wait()
                path = run.path
            _shared["logged"] = {
                "run": path, "draft": art,
                "artifact": trackd.Api().artifact(f"{PROJECT}/conf-data:v0"),
            }
        return _shared["logged"]

    def artifact(self) -> Any:
        """The shared logged artifact, read back through ``Api()`` afresh."""
        self.logged()
        return trackd.Api().artifact(f"{PROJECT}/conf-data:v0")


def seed_path(repo_root: Path) -> Path:
    from tests.conformance.seed import default_path

    return default_path(repo_root)


def in_repo(*parts: str) -> Path:
    return Path(__file__).resolve().parents[2].joinpath(*parts)


os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
