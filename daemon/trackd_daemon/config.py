"""Daemon configuration: where it keeps data, where it listens, its timeouts. Pure: reads the
environment it is given, touches no files."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from trackd._shared.paths import default_paths
from trackd_daemon.blobs import check_blob_url


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number of seconds, got {raw!r}") from None


@dataclass(frozen=True)
class DaemonConfig:
    """Everything the daemon needs to start."""

    root: Path
    state_dir: Path
    runtime_dir: Path
    store_url: str
    #: Optional loopback TCP listener ("127.0.0.1:PORT"); off unless set.
    tcp_address: str | None = None
    #: A run whose client stream vanished without an exit record is marked crashed after this.
    crash_grace_seconds: float = 30.0
    #: Stop after this long with no run in flight and no client stream (0: never).
    idle_timeout_seconds: float = 0.0
    #: How long a daemon stays up after its last client when the process that started it on
    #: demand asks it to stop if idle (``Shutdown(if_idle)`` at that process's end), so that
    #: the links it printed keep opening (``TRACKD_LINGER``; 0: stop at once when idle).
    linger_seconds: float = 600.0
    #: How often the write-ahead logs are fsynced (group fsync); finish always fsyncs.
    fsync_interval_seconds: float = 1.0
    #: Seconds the drain on SIGTERM may take before what is left stays in the logs.
    drain_grace_seconds: float = 20.0
    log_level: str = "INFO"
    user: str = ""
    #: Alert sinks: generic JSON webhooks and Slack incoming webhooks (URLs).
    alert_webhooks: tuple[str, ...] = ()
    alert_slack_webhooks: tuple[str, ...] = ()
    #: The web dashboard (``trackd_daemon.web``): on unless ``TRACKD_UI=0``. It binds
    #: ``ui_host`` (loopback unless another address is asked for explicitly) on ``ui_port``,
    #: or on a free port when that one is taken. ``ui_port`` None (the default): the user's
    #: own port, remembered in the state directory (``web/port.py``); 0: any free port.
    ui: bool = True
    ui_host: str = "127.0.0.1"
    ui_port: int | None = None
    #: A dashboard connection without a request in progress (silent, sending its headers, or
    #: idle between requests) is closed after this long, and a request body must arrive
    #: within it (``TRACKD_UI_REQUEST_TIMEOUT``; see ``web/connections.py``).
    ui_request_timeout_seconds: float = 30.0
    #: Host names the dashboard answers to besides localhost and its addresses
    #: (``TRACKD_UI_ALLOWED_HOSTS``, comma-separated: a name it is reached by through a proxy
    #: or a DNS name of this machine). Any other Host header is refused (DNS rebinding).
    ui_allowed_hosts: tuple[str, ...] = ()
    #: The Unix socket's mode. 0600: only the daemon's user may connect. Anything wider (0660
    #: for a group, 0666 for everyone, as a system-wide daemon uses) makes the daemon check
    #: each connection's peer credentials and each run's owner (``trackd_daemon.access``).
    socket_mode: int = 0o600
    #: The team policy granting access to other users' runs (TOML; missing: no grants).
    policy_file: Path | None = None
    #: TLS for the TCP listener: PEM certificate chain and private key.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: The artifact garbage collector runs this often (expired TTLs, unreferenced blobs).
    artifact_gc_interval_seconds: float = 3600.0
    #: Blobs no manifest holds are kept this long (an upload waiting for its LogArtifact).
    blob_grace_seconds: float = 3600.0
    #: A run's console log is split into parts of about this many bytes (multipart logs).
    console_part_bytes: int = 10 << 20
    #: Where blobs (artifact files, run files) are kept (``TRACKD_BLOB_URL``):
    #: ``s3://bucket/prefix`` (an S3-compatible bucket: endpoint, region and credentials from
    #: the standard AWS variables, or ``s3_endpoint``/``s3_region``) or ``file:///path`` (a
    #: directory several daemons may share, such as an NFS mount). Empty: this machine's own
    #: store under ``root`` (``blob_dir``).
    blob_url: str = ""
    #: The bucket's endpoint and region (``TRACKD_S3_ENDPOINT``, ``TRACKD_S3_REGION``): when
    #: set, they win over ``AWS_ENDPOINT_URL`` and ``AWS_REGION``/``AWS_DEFAULT_REGION``.
    s3_endpoint: str | None = None
    s3_region: str | None = None
    #: How long a request to the bucket is retried while it is unreachable
    #: (``TRACKD_BLOB_RETRY``); an upload still failing then fails its artifact version.
    blob_retry_seconds: float = 300.0

    @property
    def socket_path(self) -> Path:
        return self.runtime_dir / "trackd.sock"

    @property
    def handoff_path(self) -> Path:
        """Where a shared daemon takes open files from other users (``rpc/handoff.py``)."""
        return self.runtime_dir / "trackd-handoff.sock"

    @property
    def lock_path(self) -> Path:
        return self.runtime_dir / "trackd.lock"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "daemon.log"

    @property
    def shared_socket(self) -> bool:
        """Whether users other than the daemon's own may open the socket."""
        return bool(self.socket_mode & 0o077)

    @property
    def private_dir(self) -> Path:
        """Owner-only: where the gRPC server listens when the public socket is shared."""
        return self.runtime_dir / "private"

    @property
    def wal_dir(self) -> Path:
        return self.root / "wal"

    @property
    def blob_dir(self) -> Path:
        """The content-addressed blob store (artifact files, run files)."""
        return self.root / "blobs"

    @property
    def blob_store_url(self) -> str:
        """The blob store's URL: ``blob_url``, or ``file://`` of ``blob_dir`` by default."""
        return self.blob_url or f"file://{self.blob_dir}"

    @property
    def blob_spool_dir(self) -> Path:
        """Local copies being hashed and uploaded to a bucket store."""
        return self.root / "blob-spool"

    @property
    def address(self) -> str:
        """The gRPC target clients use."""
        return f"unix:{self.socket_path}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> DaemonConfig:
        """Build from ``TRACKD_*`` variables; keyword overrides win (the CLI's flags)."""
        env = os.environ if env is None else env
        root, state, runtime = default_paths(env)
        store_url = env.get("TRACKD_STORE_URL") or f"sqlite:///{root / 'trackd.db'}"
        values: dict[str, object] = {
            "root": root,
            "state_dir": state,
            "runtime_dir": runtime,
            "store_url": store_url,
            "tcp_address": env.get("TRACKD_TCP_ADDRESS") or None,
            "crash_grace_seconds": _float(env, "TRACKD_CRASH_GRACE", 30.0),
            "idle_timeout_seconds": _float(env, "TRACKD_IDLE_TIMEOUT", 0.0),
            "linger_seconds": _float(env, "TRACKD_LINGER", 600.0),
            "fsync_interval_seconds": _float(env, "TRACKD_FSYNC_INTERVAL", 1.0),
            "drain_grace_seconds": _float(env, "TRACKD_DRAIN_GRACE", 20.0),
            "artifact_gc_interval_seconds": _float(env, "TRACKD_ARTIFACT_GC_INTERVAL", 3600.0),
            "blob_grace_seconds": _float(env, "TRACKD_BLOB_GRACE", 3600.0),
            "console_part_bytes": int(_float(env, "TRACKD_CONSOLE_PART_BYTES", 10 << 20)),
            "blob_url": _blob_url(env.get("TRACKD_BLOB_URL", "")),
            "s3_endpoint": env.get("TRACKD_S3_ENDPOINT") or None,
            "s3_region": env.get("TRACKD_S3_REGION") or None,
            "blob_retry_seconds": _positive(env, "TRACKD_BLOB_RETRY", 300.0),
            "log_level": env.get("TRACKD_LOG_LEVEL", "INFO").upper(),
            "alert_webhooks": _urls(env.get("TRACKD_ALERT_WEBHOOK", "")),
            "alert_slack_webhooks": _urls(env.get("TRACKD_ALERT_SLACK_WEBHOOK", "")),
            "user": env.get("USER") or _user(),
            "ui": _flag(env, "TRACKD_UI", True),
            "ui_host": env.get("TRACKD_UI_HOST") or "127.0.0.1",
            "ui_port": _port(env.get("TRACKD_UI_PORT", "")),
            "ui_request_timeout_seconds": _positive(env, "TRACKD_UI_REQUEST_TIMEOUT", 30.0),
            "ui_allowed_hosts": tuple(h.strip() for h in env.get(
                "TRACKD_UI_ALLOWED_HOSTS", "").split(",") if h.strip()),
            "socket_mode": _mode(env.get("TRACKD_SOCKET_MODE", "")),
            "policy_file": Path(env.get("TRACKD_POLICY") or state / "policy.toml"),
            "tls_cert": _path(env.get("TRACKD_TLS_CERT")),
            "tls_key": _path(env.get("TRACKD_TLS_KEY")),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _blob_url(raw: str) -> str:
    raw = raw.strip()
    if not raw:
        return ""
    try:
        return check_blob_url(raw)
    except ValueError as exc:
        raise SystemExit(f"TRACKD_BLOB_URL: {exc}") from None


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not 0 < value < float("inf"):
        raise SystemExit(f"{name} must be a positive number of seconds, got {value!r}")
    return value


def _mode(raw: str) -> int:
    if not raw:
        return 0o600
    try:
        mode = int(raw, 8)
    except ValueError:
        raise SystemExit(f"TRACKD_SOCKET_MODE must be an octal mode such as 0660, got {raw!r}") from None
    if mode & ~0o666 or not mode & 0o600 == 0o600:
        raise SystemExit(f"TRACKD_SOCKET_MODE {raw!r}: read and write bits only, owner rw included")
    return mode


def _path(raw: str | None) -> Path | None:
    return Path(raw) if raw else None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be 1 or 0 (true/false), got {raw!r}")


def _port(raw: str) -> int | None:
    if not raw:
        return None  # the user's own port (web/port.py)
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise SystemExit(f"TRACKD_UI_PORT must be a port number (0: any free port), got {raw!r}")
    return port


def _urls(raw: str) -> tuple[str, ...]:
    urls = tuple(u.strip() for u in raw.split(",") if u.strip())
    for u in urls:
        if not u.startswith(("http://", "https://")):
            raise SystemExit(f"alert webhook URLs must be http(s) URLs, got {u!r}")
    return urls


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return str(os.getuid())
