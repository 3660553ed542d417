"""``trackd.init()``: resolve settings, build the config, handle reinit, start the run."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import string
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trackd._base import messages
from trackd._base.limits import check_fields
from trackd._base.names import default_entity, default_project
from trackd._base.names import validate_name as _validate_name
from trackd._init.sweep_init import apply as apply_sweep
from trackd._init.sweep_init import override_config, sweep_run
from trackd._init.sweep_init import parameters as sweep_parameters
from trackd._run.run import Run, set_revivers
from trackd._settings import REINIT, Settings, apply
from trackd._shared.ids import id_problem
from trackd._shared.values import map_to_python
from trackd._transport.setup import state
from trackd.errors import ConfigError, UsageError

_ID_ALPHABET = string.ascii_lowercase + string.digits


def generate_id(length: int = 8) -> str:
    """A random run id of ``length`` characters from [a-z0-9]."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def validate_id(run_id: str) -> str:
    """:raises UsageError: the id is empty, padded with whitespace, too long or has one of
    / \\ # ? % : ; , '."""
    problem = id_problem(run_id) if isinstance(run_id, str) else "it must be a string"
    if problem:
        raise UsageError(f"Invalid run ID {run_id!r}: {problem}")
    return run_id


def _in_notebook() -> bool:
    """Whether this process is a notebook kernel: IPython's ZMQ shell (Jupyter) or Colab's."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = getattr(ipython, "get_ipython", lambda: None)()
    if shell is None:
        return False
    cls = type(shell)
    return "ZMQ" in cls.__name__ or cls.__module__.startswith("google.colab")


_SETTINGS_FIELDS = frozenset(f.name for f in dataclasses.fields(Settings))
ANONYMOUS = ("never", "allow", "must")


def _check_login_args(s: Settings, force: Any, anonymous: Any,
                      ) -> tuple[bool | None, str | None]:
    """Validate ``force`` and ``anonymous`` (see :func:`init`).

    :raises UsageError: force is not a bool, or anonymous not one of ANONYMOUS.
    """
    if force is not None and not isinstance(force, bool):
        raise UsageError(f"force must be True, False or None, got {force!r}")
    if anonymous is not None and anonymous not in ANONYMOUS:
        raise UsageError(f"anonymous must be one of {list(ANONYMOUS)} or None, got {anonymous!r}")
    if anonymous == "must":
        messages.warn(s,
            "init(anonymous='must'): a trackd daemon has no anonymous account; the run "
            "belongs to your user as always", UserWarning, stacklevel=3)
    return force, anonymous


def _check_unsupported(s: Settings, tensorboard: Any, sync_tensorboard: Any,
                       monitor_gym: Any) -> bool | None:
    """Warn for the capture arguments trackd accepts but does not act on yet (monitor_gym);
    returns the effective ``sync_tensorboard`` (``tensorboard`` is its deprecated alias)."""
    if tensorboard is not None:
        messages.warn(s, "init(tensorboard=...) is deprecated; use sync_tensorboard",
                      DeprecationWarning, stacklevel=3)
        if sync_tensorboard is None:
            sync_tensorboard = tensorboard
    if monitor_gym:
        messages.warn(s, "init(monitor_gym=True): trackd does not record Gym environment videos "
                      "yet; no video is logged", UserWarning, stacklevel=3)
    return None if sync_tensorboard is None else bool(sync_tensorboard)


def load_config(
    config: Any, include: Sequence[str] | None, exclude: Sequence[str] | None,
    config_paths: Sequence[str] | None,
) -> dict[str, Any]:
    """Merge config sources in W&B's order: ``config-defaults.yaml`` in the working directory,
    ``config_paths`` files, then ``config=`` (a dict, Namespace, ``absl.flags.FLAGS``, object
    or YAML path)."""
    if include and exclude:
        raise UsageError("config_include_keys and config_exclude_keys are mutually exclusive")
    merged: dict[str, Any] = {}
    defaults = Path("config-defaults.yaml")
    if defaults.is_file():
        merged.update(_read_yaml(defaults))
    for p in config_paths or ():
        merged.update(_read_yaml(Path(p)))
    if isinstance(config, (str, os.PathLike)):
        path = Path(config)
        if not path.is_file():
            raise UsageError(f"config file {str(path)!r} does not exist")
        data = _read_yaml(path)
    elif config is None:
        data = {}
    elif isinstance(config, dict):
        data = dict(config)
    elif callable(getattr(config, "flag_values_dict", None)):  # absl.flags.FLAGS
        data = dict(config.flag_values_dict())
    elif hasattr(config, "__dict__"):
        data = {k: v for k, v in vars(config).items() if not k.startswith("__")}
    elif hasattr(config, "keys"):
        data = {k: config[k] for k in config.keys()}  # noqa: SIM118 - a mapping by keys()
    else:
        raise TypeError(f"config must be a dict, a YAML path or an object with __dict__, got {type(config).__name__}")
    if include:
        data = {k: v for k, v in data.items() if k in include}
    if exclude:
        data = {k: v for k, v in data.items() if k not in exclude}
    merged.update(data)
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml


    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read config file {str(path)!r}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"config file {str(path)!r} must hold a mapping")
    version = data.pop("wandb_version", None)
    if version is not None and version != 1:
        raise ConfigError(f"Unknown config version {version!r} in {str(path)!r}")
    data.pop("_wandb", None)
    if version == 1 or (data and all(isinstance(v, dict) and "value" in v for v in data.values())):
        data = {k: v["value"] if isinstance(v, dict) and "value" in v else v for k, v in data.items()}
    return data


RESUME = ("allow", "must", "never", "auto")
_MOMENT = re.compile(r"^(?P<run>[^?]+)\?(?P<metric>[^=]+)=(?P<value>.+)$")


def parse_moment(kind: str, text: str) -> tuple[str, int]:
    """Parse ``"{run_id}?_step={N}"``. :raises UsageError: another form or metric."""
    m = _MOMENT.match(text) if isinstance(text, str) else None
    if m is None:
        raise UsageError(f"{kind} must look like '{{run_id}}?_step={{N}}', got {text!r}")
    if m["metric"] != "_step":
        raise UsageError(f"{kind}: only the metric _step is supported, got {m['metric']!r}")
    try:
        value = float(m["value"])
    except ValueError:
        raise UsageError(f"{kind}: the step must be a number, got {m['value']!r}") from None
    if value < 0 or value != int(value):
        raise UsageError(f"{kind}: the step must be a whole number >= 0, got {m['value']!r}")
    return validate_id(m["run"]), int(value)


def _normalize_resume(value: Any) -> str | None:
    if value is True:
        return "auto"
    if value is False or value is None:
        return None
    if value not in RESUME:
        raise UsageError(f"resume must be one of {list(RESUME)} (or True/False), got {value!r}")
    return str(value)


def _resume_policy(s: Settings) -> tuple[str | None, Path]:
    """The resume policy of these settings and where resume="auto" keeps its file."""
    if isinstance(s.resume, bool):
        messages.warn(s, f"resume={s.resume} is deprecated; use resume='auto' or leave it unset",
                      DeprecationWarning, stacklevel=3)
    policy = _normalize_resume(s.resume)
    root = Path(s.root_dir or os.getcwd()) / "wandb"
    return policy, root / "wandb-resume.json"


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
    """Start a run and return it. The arguments are W&B's, in its order; the seed reference
    describes each. Where trackd differs:

    - ``allow_val_change``: unset, it is True in a notebook (a Jupyter/IPython kernel) and
      False in a script.
    - ``config``: a dict, an ``argparse.Namespace``, ``absl.flags.FLAGS`` (its flags' values),
      any object with ``__dict__``, or the path of a YAML file.
    - ``force``: trackd's counterpart of being logged in is reaching the daemon. As W&B goes
      on offline without a login, an online run whose daemon cannot be reached or started goes
      on offline (a warning names ``trackd sync`` to store it later); with ``force=True``
      init raises :class:`~trackd.errors.DaemonUnavailableError` instead. (Shared writers,
      resume, resume_from and fork_from need the daemon and raise either way.) With
      ``force=True`` the run also never continues offline later: a daemon that goes away
      mid-run is retried until it is back (``log()`` blocks once ``max_buffered_records`` are
      waiting) instead of the records being kept in an offline log for ``trackd sync``.
      Offline and disabled runs do not use the daemon, and ``force`` does not apply to them
      (as W&B skips its login there).
    - ``anonymous``: "never", "allow" or "must" (validated). A local daemon has no accounts:
      every run belongs to the OS user who creates it, so "never" and "allow" change nothing,
      and "must" warns that no anonymous account exists to log to.
    - ``sync_tensorboard`` (``tensorboard`` is its deprecated alias): what TensorBoard
      writers opened during the run write is logged as history rows and their event files
      are stored (see :mod:`trackd.tensorboard`; needs the ``tensorboard`` package).
      ``monitor_gym``: accepted; trackd does not record Gym videos, so True warns.

    :raises UsageError: an invalid argument.
    :raises DaemonUnavailableError: an online run and no daemon can be reached or started.
    """
    st = state()
    s = apply(st.settings, settings)
    # Their warnings follow the settings given so far (show_warnings, silent).
    force, anonymous = _check_login_args(s, force, anonymous)
    sync_tensorboard = _check_unsupported(s, tensorboard, sync_tensorboard, monitor_gym)
    explicit = {
        "entity": entity, "project": project, "root_dir": os.fspath(dir) if dir is not None else None,
        "run_id": id, "run_name": name, "run_notes": notes,
        "run_tags": tuple(tags) if tags is not None else None, "run_group": group,
        "run_job_type": job_type, "mode": mode, "reinit": reinit,
        "allow_val_change": allow_val_change, "resume": resume, "save_code": save_code,
        "anonymous": anonymous,
    }
    # Fields another part of the SDK may not have yet are set only when Settings has them.
    explicit.update({k: v for k, v in (("force", force), ("sync_tensorboard", sync_tensorboard))
                     if k in _SETTINGS_FIELDS})
    s = s.merged({k: v for k, v in explicit.items() if v is not None})
    sweep = sweep_run(s)
    if sweep is not None:  # started by a sweep agent: its run id, project and entity win
        s = apply_sweep(s, sweep, {"project": project, "entity": entity, "run_id": id})
    if s.allow_val_change is None and _in_notebook():
        s = s.merged({"allow_val_change": True})  # W&B's notebook default

    active = [r for r in st.runs if not r._finished]
    policy = s.get("reinit")
    if policy is True:
        policy = "finish_previous"
    elif policy is False:
        messages.warn(s, "reinit=False is deprecated; use reinit='return_previous'",
                      DeprecationWarning, stacklevel=2)
        policy = "return_previous"
    if policy not in REINIT:
        raise UsageError(f"reinit must be one of {list(REINIT)} or a bool, got {policy!r}")
    if policy == "default":
        policy = "finish_previous" if _in_notebook() else "return_previous"
    if active and policy == "return_previous":
        return active[-1]
    if active and policy == "finish_previous":
        for r in reversed(active):
            r.finish()

    # The settings' resume_from/fork_from work as the arguments (which win).
    if resume_from is None and s.resume_from is not None:
        resume_from = str(s.resume_from)
    if fork_from is None and s.fork_from is not None:
        fork_from = str(s.fork_from)
    if sum(x is not None and x is not False for x in (s.resume, resume_from, fork_from)) > 1:
        raise UsageError("resume, resume_from and fork_from cannot be used together")
    moment: tuple[str, str, int] | None = None
    if resume_from is not None or fork_from is not None:
        kind = "resume_from" if resume_from is not None else "fork_from"
        source, step = parse_moment(kind, resume_from if resume_from is not None else fork_from)
        if kind == "resume_from":
            if s.run_id is not None and s.run_id != source:
                raise UsageError(f"resume_from names run {source!r} but id={s.run_id!r} was given")
            s = s.merged({"run_id": source})
        elif s.run_id == source:
            raise UsageError("fork_from needs a new run id: id is the same as the source run's")
        moment = (kind, source, step)
    policy_name, resume_file = _resume_policy(s)
    if policy_name is not None and s.get("mode") == "offline":
        # As W&B: an offline run cannot look its run up, so resume is ignored with a warning
        # (Lightning's WandbLogger always passes resume="allow").
        resume_ignored = True
        policy_name = None
    else:
        resume_ignored = False
    if policy_name == "auto":
        if s.run_id is None and resume_file.is_file():
            try:
                s = s.merged({"run_id": json.loads(resume_file.read_text())["run_id"]})
            except (ValueError, KeyError, TypeError):
                pass  # an unreadable resume file: start a new run
        policy_name = "allow"
    if moment is not None and s.get("mode") == "offline":
        raise UsageError("resume_from and fork_from need the daemon to look the run up; "
                         "they cannot be used offline")
    run_id = validate_id(s.run_id) if s.run_id is not None else generate_id()
    if resume_ignored:
        messages.warning(s, "`resume` will be ignored since trackd is set to `offline`. "
                            f"Starting a new run with run id {run_id}.")
    program = sys.modules["__main__"].__dict__.get("__file__") if "__main__" in sys.modules else None
    resolved = s.merged({
        "run_id": run_id,
        "project": _validate_name("project", s.project) if s.project else default_project(program),
        "entity": _validate_name("entity", s.entity) if s.entity else default_entity(),
    })
    # The run field limits, before anything starts (the config's in Run: it measures it).
    check_fields({field: [str(t) for t in value] if field == "tags" else str(value)
                  for field, value in (("name", resolved.run_name), ("notes", resolved.run_notes),
                                       ("tags", resolved.run_tags), ("group", resolved.run_group),
                                       ("job_type", resolved.run_job_type))
                  if value is not None})
    cfg = load_config(config, config_include_keys, config_exclude_keys, s.config_paths)
    params = sweep_parameters(resolved, sweep) if sweep is not None else {}
    if params:
        cfg = override_config(resolved, cfg, params)
    run = Run(resolved, config=cfg, sweep_config=params or None)
    run._resume_policy = policy_name
    run._moment = moment
    if (resolved.resume is not None and _normalize_resume(resolved.resume) == "auto"
            and policy_name is not None):
        run._resume_file = resume_file
    run._start()
    st.runs.append(run)
    if st.current is None or policy != "create_new":
        st.current = run
    return run


def attach(attach_id: str) -> Run:
    """Write to an existing run from this process (``run._attach_id`` from the process that
    has it): the run is joined as another writer of a shared run, so both may log."""
    try:
        entity, project, run_id = attach_id.split("/")
    except ValueError:
        raise UsageError(f"invalid attach id {attach_id!r}: expected entity/project/run_id") from None
    label = f"attach-{os.getpid()}"
    run = init(entity=entity, project=project, id=run_id, reinit="create_new",
               settings=Settings(mode="shared", x_primary=False, x_label=label))
    # The other process's run: its config as stored, and this process's updates sent too
    # (Lightning's spawned rank 0 logs the hyperparameters).
    run._config._reset({**map_to_python(run._backend.stored.config), **run._config.as_dict()})
    run._attached = True
    return run


def disabled_copy(run_id: str) -> Run:
    """A disabled run with the id ``run_id``: what a disabled run pickled into another process
    becomes there."""
    run: Run = init(mode="disabled", id=run_id, reinit="create_new")
    return run


set_revivers(attach=attach, disabled=disabled_copy)
