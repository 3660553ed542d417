"""The :class:`Settings` class: its fields (each documented with what trackd does with it),
its copies and merges, and the values computed from it (directories, log files, URLs)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from trackd._base import messages
from trackd._settings.fields import ENV_NAMES, RunMoment, catch_private_settings, validate
from trackd.errors import UsageError


class FrozenSettingsError(UsageError, AttributeError):
    """A frozen :class:`Settings` (``run.settings``) was changed; also an ``AttributeError``."""


@dataclass(init=False, eq=True)
class Settings:
    """Settings for the SDK; pass to ``trackd.init(settings=...)`` or ``trackd.setup(...)``.

    Build one with keyword arguments (``Settings(project="p", show_info=False)``) or a dict;
    every value is checked when given (and when assigned): a bad one raises
    :class:`trackd.errors.UsageError` naming the field and the value; an unknown name raises
    ``TypeError``. A field left ``None`` falls through to the layer below (settings files,
    ``WANDB_*``/``TRACKD_*`` environment, setup, init: see :mod:`trackd._settings`), and
    :meth:`get` gives its default. ``run.settings`` is a frozen copy: changing it raises
    :class:`FrozenSettingsError`.

    Fields marked *cloud-only* are W&B service features with no counterpart in a self-hosted
    daemon: they are accepted and checked, so scripts keep working, and trackd does nothing
    with them, as their documentation says.
    """

    # -- the run -------------------------------------------------------------------------------
    #: "online" (alias "run"), "offline" (alias "dryrun"), "disabled" or "shared".
    mode: str | None = None
    project: str | None = None
    #: The run's entity (default: the OS user name).
    entity: str | None = None
    run_id: str | None = None
    run_name: str | None = None
    run_notes: str | None = None
    run_tags: tuple[str, ...] | None = None
    run_group: str | None = None
    run_job_type: str | None = None
    #: The base of the run directories: ``<root_dir>/wandb/run-...`` (default: the working
    #: directory).
    root_dir: str | None = None
    #: YAML files whose values are loaded into the config (before ``init(config=...)``).
    config_paths: tuple[str, ...] | None = None
    allow_val_change: bool | None = None
    #: "default", "return_previous", "finish_previous", "create_new", or a bool.
    reinit: str | bool | None = None
    #: "allow", "must", "never" or "auto" (True means "auto"); see init(resume=...).
    resume: str | bool | None = None
    #: Continue run ``resume_from.run`` from that step (a :class:`RunMoment` or
    #: ``"{run_id}?_step={N}"``), exactly as ``init(resume_from=...)``.
    resume_from: RunMoment | None = None
    #: Start a new run from another's history up to that step (a :class:`RunMoment` or
    #: ``"{run_id}?_step={N}"``), exactly as ``init(fork_from=...)``.
    fork_from: RunMoment | None = None
    #: Read-only indication: in ``run.settings`` it says whether the run continued an existing
    #: run. A value given to ``init()`` or ``setup()`` is not used (use ``resume`` to ask).
    resumed: bool | None = None
    #: Shared mode (mode="shared", several processes write one run): this writer's label, kept
    #: in each of its rows as ``_writer`` (default: "<host>-<pid>").
    x_label: str | None = None
    #: Shared mode: whether this process is the run's primary writer, which owns its config and
    #: its finish (default True; set False on the other processes).
    x_primary: bool | None = None
    sweep_id: str | None = None
    #: The path of the sweep parameters file an agent writes for the run (kept as given; the
    #: sweep agent's own settings decide where it writes).
    sweep_param_path: str | None = None

    # -- console messages ----------------------------------------------------------------------
    #: Print only the essential lines: no header at init, a one-line footer at finish.
    quiet: bool | None = None
    #: Print nothing at all (header, footer, warnings, errors).
    silent: bool | None = None
    #: Print the informational lines (the header at init, the footer at finish); default True.
    show_info: bool | None = None
    #: Print the SDK's warnings: its ``trackd: WARNING ...`` lines and the Python warnings it
    #: issues (deprecations, arguments with no effect; these also follow Python's ``warnings``
    #: filters); default True.
    show_warnings: bool | None = None
    #: Print the SDK's error lines (``trackd: ERROR ...``: a run that could not be finished,
    #: files or artifacts that could not be stored); default True. Errors that stop a call are
    #: raised either way.
    show_errors: bool | None = None
    #: Colour the SDK's lines (default: only on a terminal).
    show_colors: bool | None = None
    #: Put emoji before the header's links (default: only on a UTF-8 terminal).
    show_emoji: bool | None = None

    # -- the daemon and its timeouts -----------------------------------------------------------
    #: gRPC target of a running daemon ("unix:/path" or "127.0.0.1:PORT"); setup() exports it.
    daemon_address: str | None = None
    #: Seconds setup() waits for a daemon it starts to serve.
    daemon_start_timeout: float | None = None
    #: Seconds init() waits for the daemon to create the run.
    init_timeout: float | None = None
    #: Seconds finish() may take (0: no limit); on expiry FinishTimeoutError is raised.
    finish_timeout: float | None = None
    #: Seconds a summary read (``run.summary[...]``) waits for the daemon before
    #: ``TimeoutError``; default 60.
    summary_timeout: int | None = None
    #: Seconds the daemon waits for a run's process to come back once its connection is gone
    #: before it marks the run ``crashed`` (default 30, the daemon's ``TRACKD_CRASH_GRACE``
    #: when unset); kept with the run, so it holds after a daemon restart too.
    heartbeat_seconds: int | None = None
    #: Records log() may buffer before it blocks the caller (the memory bound of the SDK).
    max_buffered_records: int | None = None
    #: Seconds the SDK keeps trying to reach a daemon that went away before the run continues
    #: offline (records already buffered go to the offline log; nothing is dropped).
    reconnect_timeout: float | None = None

    # -- files, code and environment -----------------------------------------------------------
    #: Artifacts: the download cache lives in ``<cache_dir>/artifacts`` (default ~/.cache/trackd).
    cache_dir: str | None = None
    #: Artifacts: staging copies of files being logged go to ``<data_dir>/staging``.
    data_dir: str | None = None
    #: Artifacts: where ``download()`` puts files without a root (default ./artifacts).
    artifact_dir: str | None = None
    #: Artifacts: the download cache's size bound: bytes, "20GB", "500MiB" or "10%" of the free
    #: disk (default 10% of the free disk); least recently used files are evicted past it.
    artifact_cache_max_size: str | None = None
    #: Console capture into the run's output.log: "auto" (= "wrap"), "off", "wrap" (= "wrap_raw"),
    #: "redirect" (the process's file descriptors 1 and 2, through a pipe: output of C code and
    #: child processes too), "wrap_raw" (sys.stdout/sys.stderr writes; a line rewritten with
    #: "\r" keeps its last state), "wrap_emu" (writes through a small terminal emulator: cursor
    #: moves and erases too, for multi-line progress bars).
    console: str | None = None
    #: The daemon always keeps a long console log in parts (``logs/output.NNNN.log``, each of
    #: the daemon's ``TRACKD_CONSOLE_PART_BYTES``, 10 MiB by default); ``True`` keeps that,
    #: ``False`` is accepted but does not make the daemon keep one unbounded file.
    console_multipart: bool | None = None
    #: Store the main script (in the run's files, code/...).
    save_code: bool | None = None
    #: Never store code (wins over save_code).
    disable_code: bool | None = None
    #: With save_code, the code under this directory is also logged as a ``code`` artifact
    #: (``run.log_code(code_dir)``; not offline), and the main script's path in ``code/<path>``
    #: is relative to it (default: the git root, else the working directory).
    code_dir: str | None = None
    #: Do not record the git state (commit, remote, diff.patch).
    disable_git: bool | None = None
    #: Do not record the environment at all (metadata, requirements, git).
    disable_meta: bool | None = None
    #: Recorded in wandb-metadata.json instead of what git says: the commit, the remote's name
    #: (default "origin", the remote whose URL is recorded), its URL, the repository root.
    git_commit: str | None = None
    git_remote: str | None = None
    git_remote_url: str | None = None
    git_root: str | None = None
    #: Recorded instead of what the process says: the program (also the run's ``program``
    #: field), its absolute path, its path relative to the repository root.
    program: str | None = None
    program_abspath: str | None = None
    program_relpath: str | None = None
    #: Recorded instead of the machine's: the host name (also the run's ``host`` field: system
    #: metrics are only sampled when it is this machine's name), the user name, the e-mail, the
    #: Docker image the script runs in.
    host: str | None = None
    username: str | None = None
    email: str | None = None
    docker: str | None = None
    #: The notebook's name, recorded in wandb-metadata.json (``notebook``); ``fileId=...``
    #: (Colab's form) also gives :attr:`colab_url`.
    notebook_name: str | None = None
    #: Glob patterns (relative to the run's files directory) of files run.save() leaves out.
    ignore_globs: tuple[str, ...] | None = None
    #: Link ``<wandb_dir>/latest-run``, ``debug.log`` and ``debug-internal.log`` to the newest
    #: run's directory and logs (default True).
    symlink: bool | None = None
    #: The path of the system settings file (the lowest settings layer; default
    #: ``/etc/trackd/settings``): given to setup() or init(), that file is read in its place.
    settings_system: str | None = None
    #: Sync TensorBoard: the event files writers write during the run become history rows
    #: and are stored with it (:mod:`trackd.tensorboard`; needs the ``tensorboard`` package).
    sync_tensorboard: bool | None = None
    #: Seconds between system-metric samples of the run's process tree (default 15; at least 1).
    x_stats_sampling_interval: float | None = None
    #: Do not sample system metrics.
    x_disable_stats: bool | None = None
    #: W&B's strict validation: trackd's checks are always strict (a value that cannot be
    #: stored raises at once), so there is nothing to switch; accepted, no effect.
    strict: bool | None = None
    #: The number of summary warnings W&B prints: trackd prints none (a summary value it cannot
    #: store raises at once); accepted, no effect.
    summary_warnings: int | None = None
    #: For ``Table`` row limits: trackd has no ``Table`` data type yet (media types are their
    #: own work); accepted, no effect until it has.
    table_raise_on_max_row_limit_exceeded: bool | None = None
    #: Offline runs log artifacts into their offline log either way (they are stored by
    #: ``trackd sync``); accepted for compatibility, no effect.
    allow_offline_artifacts: bool | None = None
    #: W&B's automatic labels (telemetry of integrations): trackd sends no telemetry, so there
    #: is nothing to label; accepted, no effect.
    label_disable: bool | None = None

    # -- login (a local daemon needs none) -----------------------------------------------------
    #: The login settings: ``trackd.login()`` stores a daemon's TCP address and token; init()
    #: itself never asks for a key, so ``login_timeout``, ``relogin`` and ``anonymous`` are
    #: accepted and checked but change nothing in init(): seconds a login may take,
    login_timeout: float | None = None
    #: the run must reach its daemon (W&B's "must be logged in"): init() fails when no daemon
    #: can be reached (without it the run goes on offline), and a run whose daemon stays
    #: unreachable past ``reconnect_timeout`` keeps retrying instead of going on in an offline
    #: log,
    force: bool | None = None
    #: ask for a key again (W&B's ``login(relogin=...)``),
    relogin: bool | None = None
    #: "allow", "must" or "never" (a daemon has no anonymous accounts).
    anonymous: str | None = None
    #: The token of a daemon reached over TCP (``TRACKD_API_KEY``/``WANDB_API_KEY``): below
    #: ``$TRACKD_TOKEN``, above the key stored by ``trackd.login()`` and the own daemon's token
    #: file. A daemon on a Unix socket needs none (it knows the OS user).
    api_key: str | None = None
    #: A daemon's TCP listener, ``https://host:port`` or ``http://host:port``
    #: (``TRACKD_BASE_URL``/``WANDB_BASE_URL``): used when ``daemon_address`` is unset, above the
    #: host stored by ``trackd.login()``; W&B's own service (``api.wandb.ai``) is skipped.
    base_url: str | None = None
    #: Proxies (``http://[user:password@]host:port``; ``host:port`` means ``http://``) for the
    #: HTTP requests trackd makes for the run: ``http_proxy`` for ``http://`` URLs,
    #: ``https_proxy`` for ``https://`` ones. The daemon posts the run's alert webhooks
    #: (``TRACKD_ALERT_WEBHOOK``, ``TRACKD_ALERT_SLACK_WEBHOOK``) through them, also when it
    #: retries after the run ended or the daemon restarted (they are kept with the run), and
    #: HEADs ``http(s)://`` artifact references through them; the SDK downloads such references
    #: through them (the current run's settings, else setup()'s). Unset, the standard
    #: ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` environment applies (the daemon's for its
    #: requests, this process's for downloads). The daemon itself is reached over a local
    #: socket or loopback TCP, never through a proxy. Credentials never appear in messages.
    http_proxy: str | None = None
    https_proxy: str | None = None

    # -- cloud-only, accepted for compatibility --------------------------------------------------
    #: Cloud-only: W&B writes short-lived access tokens there; trackd has none, no effect.
    credentials_file: str | None = None
    #: Cloud-only: a JWT for W&B's identity federation; the daemon uses OS users, no effect.
    identity_token_file: str | None = None
    #: Cloud-only: TLS verification of W&B's server; the daemon is reached over a local
    #: socket or its own token-checked TCP port, no effect.
    insecure_disable_ssl: bool | None = None
    #: Cloud-only: the W&B organization; a daemon has users, no organizations; no effect.
    organization: str | None = None
    #: Azure references (``https://<account>.blob.core.windows.net/...`` in artifacts): account
    #: URL -> access key, used to list and download such references before the environment's
    #: own credentials (checked to be a str -> str mapping).
    azure_account_url_to_access_key: dict[str, str] | None = None
    #: Cloud-only (W&B Launch): trackd has no Launch; these are recorded nowhere, no effect.
    launch: bool | None = None
    launch_config_path: str | None = None
    job_name: str | None = None
    #: Cloud-only (W&B Launch): "repo", "artifact" or "image"; no effect.
    job_source: str | None = None
    #: Cloud-only (W&B Launch): trackd creates no job artifacts, so there is nothing to disable.
    disable_job_creation: bool | None = None
    #: Cloud-only: SageMaker's config and secrets are never read by trackd; no effect.
    sagemaker_disable: bool | None = None
    #: trackd runs no process per run (every run talks to the one daemon): warns, no effect.
    start_method: str | None = None

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "mode": "online",
        "allow_val_change": False,
        "reinit": "default",
        "quiet": False,
        "silent": False,
        "show_info": True,
        "show_warnings": True,
        "show_errors": True,
        "summary_warnings": 5,
        "daemon_start_timeout": 30.0,
        "init_timeout": 90.0,
        "finish_timeout": 0.0,
        "summary_timeout": 60,
        "heartbeat_seconds": 30,
        "max_buffered_records": 100_000,
        "reconnect_timeout": 60.0,
        "console": "auto",
        "console_multipart": True,
        "save_code": False,
        "disable_code": False,
        "disable_git": False,
        "disable_meta": False,
        "git_remote": "origin",
        "ignore_globs": (),
        "symlink": True,
        "x_stats_sampling_interval": 15.0,
        "x_disable_stats": False,
        "strict": False,
        "table_raise_on_max_row_limit_exceeded": False,
        "allow_offline_artifacts": True,
        "label_disable": False,
        "force": False,
        "relogin": False,
        "resumed": False,
        "sync_tensorboard": False,
        "insecure_disable_ssl": False,
        "launch": False,
        "disable_job_creation": False,
        "sagemaker_disable": False,
    }

    def __init__(self, **values: Any) -> None:
        d = self.__dict__
        d["_frozen"] = False
        d["_set"] = set()
        values = catch_private_settings(values)
        unknown = [k for k in values if k not in FIELD_NAMES]
        if unknown:
            raise TypeError(f"Settings() got an unexpected keyword argument {unknown[0]!r}")
        for name in FIELD_NAMES:
            d[name] = None
        for name, value in values.items():
            d[name] = validate(name, value)
            d["_set"].add(name)
        if d.get("start_method") is not None:
            messages.warn(self,
                "Settings(start_method=...) has no effect: trackd runs no process per "
                "run (every run talks to the one daemon)", UserWarning, stacklevel=2)

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get("_frozen"):
            raise FrozenSettingsError(
                f"cannot set Settings.{name}: these settings are frozen (run.settings is a "
                "read-only copy; pass changed settings to trackd.init or trackd.setup)")
        if name in FIELD_NAMES:
            self.__dict__[name] = validate(name, value)
            self._set.add(name)
            return
        if not name.startswith("_") and not hasattr(type(self), name):
            raise AttributeError(f"Settings has no field {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self.__dict__.get("_frozen"):
            raise FrozenSettingsError(f"cannot delete Settings.{name}: these settings are frozen")
        raise AttributeError(f"Settings fields cannot be deleted ({name!r}); set it to None")

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``WANDB_*`` then ``TRACKD_*`` variables (TRACKD wins); an internal
        ``x_name`` field is also read from ``WANDB__NAME``/``TRACKD__NAME``."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name in FIELD_NAMES:
            suffixes = [ENV_NAMES.get(name, name.upper())]
            if name.startswith("x_"):
                suffixes.insert(0, "_" + name[2:].upper())
            for prefix in ("WANDB_", "TRACKD_"):
                for suffix in suffixes:
                    raw = env.get(prefix + suffix)
                    if raw is not None and raw != "":
                        try:
                            values[name] = validate(name, raw)
                        except UsageError as exc:
                            raise UsageError(f"environment variable {prefix + suffix}: "
                                             f"{exc.message}") from None
        return cls(**values)

    @classmethod
    def catch_private_settings(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with W&B's old private names (``_stats_sampling_interval``) renamed to
        their public ``x_`` fields (``x_stats_sampling_interval``); the constructor and
        :meth:`update_from_dict` apply it."""
        return catch_private_settings(values)

    def _copy(self) -> Settings:
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__["_set"] = set(self._set)
        new.__dict__["_frozen"] = False
        return new

    def merged(self, other: Settings | Mapping[str, Any] | None) -> Settings:
        """A copy where every non-None field of ``other`` replaces this one's."""
        new = self._copy()
        if other is None:
            return new
        if isinstance(other, Mapping):
            other = Settings(**dict(other))
        for name in FIELD_NAMES:
            value = other.__dict__[name]
            if value is not None:
                new.__dict__[name] = value
                new._set.add(name)
        return new

    def update_from_dict(self, settings: Mapping[str, Any]) -> None:
        """Set fields from a dict (``None`` values are skipped).

        :raises TypeError: an unknown name. :raises UsageError: a bad value (nothing changes).
        """
        if self._frozen:
            raise FrozenSettingsError("cannot update these settings: they are frozen")
        new = self.merged(settings)
        self.__dict__.update({n: new.__dict__[n] for n in FIELD_NAMES})
        self._set.update(new._set)

    def get(self, name: str) -> Any:
        """The field's value, or its default when unset."""
        value = getattr(self, name)
        return self.DEFAULTS.get(name) if value is None else value

    def to_dict(self) -> dict[str, Any]:
        return {name: self.__dict__[name] for name in FIELD_NAMES}

    @property
    def model_fields_set(self) -> set[str]:
        """The fields given explicitly (to the constructor, by assignment or a merge), as
        opposed to those left to their defaults."""
        return set(self._set)

    @property
    def model_extra(self) -> None:
        """Extra fields: always None, since unknown names are refused."""
        return None

    # -- computed, read-only -------------------------------------------------------------------

    @property
    def wandb_dir(self) -> str:
        """The directory runs are kept in: ``<root_dir or cwd>/wandb``."""
        return os.path.join(self.root_dir or os.getcwd(), "wandb")

    @property
    def settings_workspace(self) -> str:
        """The workspace settings file trackd reads: ``<cwd>/trackd/settings``."""
        return os.path.join(os.getcwd(), "trackd", "settings")

    @property
    def resume_fname(self) -> str:
        """The file ``resume="auto"`` keeps the id of the run to continue in."""
        return os.path.join(self.wandb_dir, "wandb-resume.json")

    @property
    def run_mode(self) -> str:
        """``"offline-run"`` or ``"run"`` (the prefix of the run directory's name)."""
        return "offline-run" if self.get("mode") == "offline" else "run"

    @property
    def is_local(self) -> bool:
        """Always True: a trackd daemon is self-hosted."""
        return True

    @property
    def deployment(self) -> str:
        """Always ``"local"`` (a self-hosted daemon, never W&B's cloud)."""
        return "local"

    @property
    def colab_url(self) -> str | None:
        """The Colab notebook's URL, when ``notebook_name`` is Colab's ``fileId=...`` form."""
        from urllib.parse import unquote

        name = self.notebook_name or ""
        if name.startswith("fileId=") and "google.colab" in sys.modules:
            return "https://colab.research.google.com/notebook#" + unquote(name)
        return None

    def _run_value(self, key: str) -> Any:
        return self.__dict__.get("_run", {}).get(key)

    @property
    def sync_dir(self) -> str | None:
        """The run's directory (None outside a run)."""
        return self._run_value("sync_dir")

    @property
    def files_dir(self) -> str | None:
        """The run's files directory, ``run.dir``."""
        return None if self.sync_dir is None else os.path.join(self.sync_dir, "files")

    @property
    def log_dir(self) -> str | None:
        """The run's log directory, ``<sync_dir>/logs``."""
        return None if self.sync_dir is None else os.path.join(self.sync_dir, "logs")

    @property
    def log_user(self) -> str | None:
        """The run's SDK log (``logs/debug.log``): what the SDK printed and did for the run."""
        return None if self.log_dir is None else os.path.join(self.log_dir, "debug.log")

    @property
    def log_internal(self) -> str | None:
        """The run's connection log (``logs/debug-internal.log``): the daemon it used, the
        SDK's connection events (reconnects, records the daemon refused), the finish."""
        return None if self.log_dir is None else os.path.join(self.log_dir, "debug-internal.log")

    @property
    def log_symlink_user(self) -> str | None:
        """``<wandb_dir>/debug.log``, linked to the newest run's :attr:`log_user`."""
        return None if self.sync_dir is None else os.path.join(self.wandb_dir, "debug.log")

    @property
    def log_symlink_internal(self) -> str | None:
        """``<wandb_dir>/debug-internal.log``, linked to the newest run's :attr:`log_internal`."""
        return (None if self.sync_dir is None
                else os.path.join(self.wandb_dir, "debug-internal.log"))

    @property
    def sync_file(self) -> str | None:
        """The run's append-only record log (``run-<id>.wal``): written in offline mode, or
        when the daemon was lost; empty while the daemon takes every record."""
        if self.sync_dir is None or not self.run_id:
            return None
        return os.path.join(self.sync_dir, f"run-{self.run_id}.wal")

    @property
    def sync_symlink_latest(self) -> str | None:
        """``<wandb_dir>/latest-run``, linked to the newest run's directory."""
        return None if self.sync_dir is None else os.path.join(self.wandb_dir, "latest-run")

    @property
    def timespec(self) -> str | None:
        """The run's start as ``YYYYmmdd_HHMMSS`` (local time), as in its directory's name."""
        start = self._run_value("start_time")
        return None if start is None else time.strftime("%Y%m%d_%H%M%S", time.localtime(start))

    @property
    def run_url(self) -> str | None:
        """The run's page in the daemon's dashboard (None outside a run, offline, or without
        a dashboard); no credential in it."""
        return self._run_value("run_url")

    @property
    def project_url(self) -> str | None:
        """The project's page in the daemon's dashboard (as :attr:`run_url`)."""
        return self._run_value("project_url")

    @property
    def sweep_url(self) -> str | None:
        """The sweep's page in the daemon's dashboard (None without a sweep; as :attr:`run_url`)."""
        return self._run_value("sweep_url")

    def _for_run(self, sync_dir: str | None, start_time: float, *, resumed: bool = False,
                 urls: Mapping[str, str | None] | None = None) -> Settings:
        """A frozen copy that knows a run's directory, start and URLs (``run.settings``)."""
        copy = self._copy()
        copy.__dict__["resumed"] = resumed
        copy.__dict__["_run"] = {"sync_dir": sync_dir, "start_time": start_time, **(urls or {})}
        copy.__dict__["_frozen"] = True
        return copy


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Settings))
