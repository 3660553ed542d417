"""trackd: self-hosted experiment tracking with the W&B Actions API.

    import trackd as wandb

    with wandb.init(project="mnist", config={"lr": 1e-3}) as run:
        for step in range(1000):
            run.log({"loss": loss, "acc": acc})

Importing trackd starts nothing: no thread, socket or daemon until ``init()``/``setup()``.
Module attributes ``trackd.run``, ``trackd.config`` and ``trackd.summary`` follow the current
run (``run`` is None before ``init()``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from trackd import errors
from trackd import media as _media
from trackd._base import api_name as _api_name
from trackd._run.files import restore as _restore
from trackd._run.metric import Metric
from trackd._run.run import AlertLevel, Run
from trackd._run.termlog import termerror, termlog, termwarn
from trackd._settings import Settings
from trackd._transport.setup import current_run as _current_run
from trackd._transport.setup import setup as _setup
from trackd._transport.setup import teardown as _teardown
from trackd._version import __version__
from trackd.artifacts import operations as _artifact_operations
from trackd.artifacts.artifact import Artifact, ArtifactTTL
from trackd.errors import CommError, Error, UsageError

if TYPE_CHECKING:
    from trackd import data_types, plot
    from trackd._api.api import Api
    from trackd._run.config import Config
    from trackd._run.summary import Summary
    from trackd.media import (
        Audio,
        BoundingBoxes2D,
        Classes,
        Graph,
        Histogram,
        Html,
        Image,
        ImageMask,
        Object3D,
        Plotly,
        Table,
        Video,
        box3d,
    )

__all__ = [
    "AlertLevel",
    "Api",
    "Artifact",
    "ArtifactTTL",
    "Audio",
    "BoundingBoxes2D",
    "Classes",
    "CommError",
    "Error",
    "Graph",
    "Histogram",
    "Html",
    "Image",
    "ImageMask",
    "Metric",
    "Object3D",
    "Plotly",
    "Run",
    "Settings",
    "Table",
    "UsageError",
    "Video",
    "__version__",
    "agent",
    "attach",
    "box3d",
    "config",
    "controller",
    "data_types",
    "define_metric",
    "ensure_configured",
    "errors",
    "finish",
    "init",
    "join",
    "link_model",
    "log",
    "log_artifact",
    "log_model",
    "login",
    "plot",
    "plot_table",
    "require",
    "restore",
    "run",
    "save",
    "setup",
    "summary",
    "sweep",
    "teardown",
    "termerror",
    "termlog",
    "termwarn",
    "unwatch",
    "use_artifact",
    "use_model",
    "watch",
]


def init(
    entity: str | None = None,
    project: str | None = None,
    dir: str | os.PathLike[str] | None = None,  # noqa: A002 - W&B's argument name
    id: str | None = None,  # noqa: A002
    name: str | None = None,
    notes: str | None = None,
    tags: Sequence[str] | None = None,
    config: Any = None,
    config_exclude_keys: list[str] | None = None,
    config_include_keys: list[str] | None = None,
    allow_val_change: bool | None = None,
    group: str | None = None,
    job_type: str | None = None,
    mode: str | None = None,
    force: bool | None = None,
    anonymous: str | None = None,
    reinit: bool | str | None = None,
    resume: bool | str | None = None,
    resume_from: str | None = None,
    fork_from: str | None = None,
    save_code: bool | None = None,
    tensorboard: bool | None = None,
    sync_tensorboard: bool | None = None,
    monitor_gym: bool | None = None,
    settings: Settings | dict[str, Any] | None = None,
) -> Run:
    """Start a run and return it (W&B's ``wandb.init``); :func:`trackd._init.init.init` describes
    the arguments."""
    # init()'s module loads on the first init(), not with `import trackd`
    from trackd._init.init import init as _init

    return _init(entity, project, dir, id, name, notes, tags, config, config_exclude_keys,
                 config_include_keys, allow_val_change, group, job_type, mode, force, anonymous,
                 reinit, resume, resume_from, fork_from, save_code, tensorboard,
                 sync_tensorboard, monitor_gym, settings)


def setup(settings: Settings | dict[str, Any] | None = None) -> Any:
    """Find or start the daemon and export its address to child processes."""
    return _setup(settings)


def teardown(exit_code: int | None = None) -> None:
    """Finish this process's runs; stop the daemon if this process started it."""
    _teardown(exit_code)


def sweep(sweep: Any, entity: str | None = None, project: str | None = None,
          prior_runs: list[str] | None = None) -> str:
    """Store a hyperparameter sweep in the daemon and return its id (W&B's ``wandb.sweep``);
    :func:`trackd.sweeps.sweep.sweep` describes the arguments."""
    # sweeps load PyYAML: not at `import trackd`
    from trackd.sweeps.sweep import sweep as _sweep

    return _sweep(sweep, entity, project, prior_runs)


def agent(sweep_id: str, function: Any = None, entity: str | None = None,
          project: str | None = None, count: int | None = None) -> None:
    """Run a sweep's runs until it is done (W&B's ``wandb.agent``);
    :func:`trackd.sweeps.agent.agent` describes the arguments."""
    # sweeps load PyYAML: not at `import trackd`
    from trackd.sweeps.agent import agent as _agent

    _agent(sweep_id, function, entity, project, count)


def controller(sweep_id_or_config: str | dict[str, Any] | None = None,
               entity: str | None = None, project: str | None = None) -> Any:
    """A sweep controller (W&B's ``wandb.controller``); see :mod:`trackd.sweeps.controller`."""
    # sweeps load PyYAML: not at `import trackd`
    from trackd.sweeps.controller import controller as _controller

    return _controller(sweep_id_or_config, entity, project)


def _current() -> Run | None:
    return _current_run()


def _require_run(what: str) -> Run:
    run = _current()
    if run is None:
        name = _api_name.api_name()
        raise Error(f"You must call {name}.init() before {name}.{what}()")
    return run


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None,
        sync: bool | None = None) -> None:
    """Log to the current run (``run.log``)."""
    _require_run("log").log(data, step=step, commit=commit)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run, if any (``run.finish``)."""
    run = _current()
    if run is not None:
        run.finish(exit_code=exit_code)


def join(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Legacy alias of :func:`finish` (W&B keeps it for old scripts)."""
    finish(exit_code=exit_code, quiet=quiet)


def _attach(attach_id: str | None = None, run_id: str | None = None) -> Run:
    """Write to an existing run from another process (W&B's private ``wandb._attach``, used by
    Lightning for spawned workers); ``attach_id`` is ``run._attach_id``."""
    # init()'s module loads on the first init(), not with `import trackd`
    from trackd._init.init import attach

    target = attach_id or run_id
    if not target:
        raise UsageError("_attach needs the attach id of a run (run._attach_id)")
    return attach(target)


attach = _attach  # W&B's public spelling of ``_attach``


def ensure_configured() -> None:
    """Accepted for W&B compatibility (``wandb.ensure_configured()``, which older libraries
    call before ``init``): trackd reads its settings when a run starts, so there is nothing
    to load ahead."""


def require(requirement: str | list[str] | None = None, experiment: Any = None) -> None:
    """Accepted for W&B compatibility (``wandb.require("service")``, ``"core"``): trackd always
    uses its daemon, so there is nothing to switch on."""


def define_metric(name: str, step_metric: str | Metric | None = None, step_sync: bool | None = None,
                  hidden: bool | None = None, summary: str | None = None, goal: str | None = None,
                  overwrite: bool | None = None) -> Metric:
    """``run.define_metric`` on the current run."""
    return _require_run("define_metric").define_metric(
        name, step_metric, step_sync, hidden, summary, goal, overwrite
    )


def log_artifact(artifact_or_path: Any, name: str | None = None, type: str | None = None,
                 aliases: list[str] | None = None, tags: list[str] | None = None) -> Artifact:
    """``run.log_artifact`` on the current run."""
    return _require_run("log_artifact").log_artifact(artifact_or_path, name, type, aliases, tags)


def use_artifact(artifact_or_name: Any, type: str | None = None,
                 aliases: list[str] | None = None, use_as: str | None = None) -> Artifact:
    """``run.use_artifact`` on the current run."""
    return _require_run("use_artifact").use_artifact(artifact_or_name, type, aliases, use_as)


def log_model(path: Any, name: str | None = None, aliases: list[str] | None = None) -> None:
    """``run.log_model`` on the current run."""
    _require_run("log_model").log_model(path, name, aliases)


def use_model(name: str) -> str:
    """``run.use_model`` on the current run."""
    return _require_run("use_model").use_model(name)


def save(glob_str: Any, base_path: Any = None, policy: str = "live") -> bool | list[str]:
    """``run.save`` on the current run: sync files matching ``glob_str`` with it."""
    return _require_run("save").save(glob_str, base_path, policy)


def restore(name: str, run_path: str | None = None, replace: bool = False,
            root: str | None = None) -> Any:
    """Fetch a file of the current run (or of ``run_path``) and return it open for reading;
    None when the run has no such file (W&B's ``wandb.restore``).

    :raises ValueError: no run and no ``run_path``, the run does not exist, or ``name`` would
        leave ``root``.
    """
    run = _current()
    if run is not None:
        return run.restore(name, run_path, replace, root)
    return _restore(name, run_path, replace, root)


def link_model(path: Any, registered_model_name: str, name: str | None = None,
               aliases: list[str] | None = None) -> Artifact | None:
    """``run.link_model`` on the current run."""
    return _require_run("link_model").link_model(path, registered_model_name, name, aliases)


def login(anonymous: str | None = None, key: str | None = None, relogin: bool | None = None,
          host: str | None = None, force: bool | None = None, timeout: float | None = None,
          verify: bool = False, referrer: str | None = None) -> bool:
    """Set the daemon (``host``: its TCP listener) and its token (``key``) for this user's later
    runs, stored owner-only; see :func:`trackd._init.login.login`. True when a key is configured
    (or none is needed: the own daemon's socket).

    :raises trackd.errors.AuthenticationError: ``verify=True`` and the daemon refused the key.
    :raises UsageError: a key must be asked for and there is no terminal.
    """
    # login()'s module loads on the first login(), not with `import trackd`
    from trackd._init.login import login as _login

    return _login(anonymous, key, relogin, host, force, timeout, verify, referrer)


def watch(models: Any, criterion: Any = None, log: str | None = "gradients", log_freq: int = 1000,
          idx: int | None = None, log_graph: bool = False) -> None:
    """``run.watch`` on the current run: histograms of a PyTorch model's gradients and
    parameters, and its graph.

    :raises ValueError: no run (``init()`` not called), or what ``run.watch`` refuses.
    """
    run = _current()
    if run is None:
        raise ValueError("You must call trackd.init() before trackd.watch()")
    run.watch(models, criterion, log, log_freq, idx, log_graph)


def unwatch(models: Any = None) -> None:
    """``run.unwatch`` on the current run: remove the hooks of ``models`` (all when None)."""
    _require_run("unwatch").unwatch(models)


class _PreInit:
    """What ``trackd.config``/``trackd.summary`` are before ``init()``: any use raises."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def _fail(self, *_: Any, **__: Any) -> Any:
        name = _api_name.api_name()
        raise Error(f"You must call {name}.init() before {name}.{self._name}")

    __getitem__ = __setitem__ = __delitem__ = __iter__ = __len__ = __contains__ = _fail

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        self._fail()

    def __setattr__(self, key: str, value: Any) -> None:
        self._fail()

    def __repr__(self) -> str:
        return f"<{_api_name.api_name()}.{self._name} before init()>"


def __getattr__(name: str) -> Any:
    if name == "run":
        return _current()
    if name in ("config", "summary"):
        run = _current()
        return getattr(run, name) if run is not None else _PreInit(name)
    if name == "Api":
        # the read API loads on first use, not with `import trackd`
        from trackd._api.api import Api

        return Api
    if name in _media.__all__:  # the data types: trackd.Image, trackd.Table...
        return getattr(_media, name)
    if name == "plot_table":  # W&B's top-level wandb.plot_table (a custom chart)
        # the chart presets load on first use, not with `import trackd`
        from trackd.plot import plot_table

        return plot_table
    # W&B's wandb.plot.line(...), ...; trackd.sweeps as before (PyYAML: loaded on first use)
    if name in ("data_types", "plot", "sweeps", "tensorboard"):
        import importlib

        return importlib.import_module(f"trackd.{name}")
    raise AttributeError(f"module 'trackd' has no attribute {name!r}")


if TYPE_CHECKING:
    run: Run | None
    config: Config
    summary: Summary


# The artifacts layer logs a draft saved with no current run through init(), and answers
# logged_by/used_by with the read API's runs: both stand above it, so they are handed in here.
def _read_run(path: str) -> Any:
    # the read API loads on first use, not with `import trackd`
    from trackd._api.api import Api

    return Api().run(path)


_artifact_operations.set_runs(auto=lambda **kwargs: init(**kwargs), read=_read_run)
