"""Credentials for a daemon reached over TCP: what ``trackd.login()`` stores, and which daemon
address and token a process uses.

A *host* is a daemon's TCP listener written as a URL: ``https://host:port`` (TLS: the CA in
``$TRACKD_TLS_CA``, or the one stored at login, else the system's roots), ``http://host:port``
(plaintext, loopback only) or a bare gRPC target ``host:port`` (TLS when ``$TRACKD_TLS_CA`` is
set). A *key* is that daemon's token (``<state dir>/token`` on the daemon's machine).

``login()`` keeps them in ``<config dir>/login.json`` (``$TRACKD_CONFIG_DIR``, else
``$XDG_CONFIG_HOME/trackd``, else ``~/.config/trackd``), mode 0600, one per user. They are the
lowest layer: the address in use is ``$TRACKD_ADDRESS`` or ``Settings.daemon_address``, else
``Settings.base_url`` (``TRACKD_BASE_URL``/``WANDB_BASE_URL``), else the stored host, else the
own daemon's socket; the token is ``$TRACKD_TOKEN``, else ``Settings.api_key``
(``TRACKD_API_KEY``/``WANDB_API_KEY``), else the key stored for that host, else the own
daemon's token file, else a key stored without a host, else a key that only
``$WANDB_API_KEY`` gives (a W&B cloud key there never shadows the own daemon's token). A
``base_url`` naming W&B's own service
(``api.wandb.ai``) is not a daemon and is skipped. Nothing here imports grpc.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from trackd._settings.files import user_config_dir
from trackd.errors import UsageError

LOGIN_FILE = "login.json"
FILE_MODE = 0o600
DIR_MODE = 0o700
#: W&B's own service: a ``WANDB_BASE_URL`` naming it is left to W&B (no trackd daemon there).
WANDB_CLOUD_HOSTS = ("api.wandb.ai",)
_DEFAULT_PORTS = {"https": 443, "http": 80}


def login_file(env: Mapping[str, str] | None = None) -> Path:
    """Where login() stores this user's credentials."""
    return Path(user_config_dir(os.environ if env is None else env)) / LOGIN_FILE


def normalize_host(host: str) -> str:
    """``host`` as stored and used: ``https://h:port``, ``http://h:port`` or ``h:port``.

    :raises UsageError: not a daemon address (no host, a path, an unknown scheme, a bad port).
    """
    if not isinstance(host, str) or not host.strip():
        raise UsageError(f"host must be a daemon address such as https://host:7070, got {host!r}")
    text = host.strip().rstrip("/")
    if text.startswith("unix:"):
        return text
    parsed = urlsplit(text if "://" in text else "//" + text)
    scheme = parsed.scheme
    if scheme not in ("", "https", "http"):
        raise UsageError(f"host must start with https:// or http://, got {host!r}")
    try:
        port = parsed.port
    except ValueError:
        raise UsageError(f"host {host!r} has an invalid port") from None
    if not parsed.hostname or parsed.path or parsed.query or parsed.username:
        raise UsageError(f"host must be a daemon address such as https://host:7070 (no path, "
                         f"no user), got {host!r}")
    if port is None:
        if not scheme:
            raise UsageError(f"host {host!r} needs a port (host:port) or a scheme (https://)")
        port = _DEFAULT_PORTS[scheme]
    name = f"[{parsed.hostname}]" if ":" in parsed.hostname else parsed.hostname
    return f"{scheme}://{name}:{port}" if scheme else f"{name}:{port}"


def split_address(address: str) -> tuple[str, str]:
    """``(scheme, gRPC target)`` of an address: scheme "https", "http", "unix" or "" (a bare
    ``host:port``)."""
    for scheme in ("https", "http"):
        if address.startswith(scheme + "://"):
            return scheme, address[len(scheme) + 3:]
    return ("unix" if address.startswith("unix:") else ""), address


def daemon_url(base_url: str | None) -> str | None:
    """The daemon address a ``base_url`` setting names (None for W&B's own service)."""
    if not base_url:
        return None
    if urlsplit(base_url if "://" in base_url else "//" + base_url).hostname in WANDB_CLOUD_HOSTS:
        return None
    return normalize_host(base_url)


@dataclass(frozen=True)
class Stored:
    """What ``login()`` stored: the host (None: whatever TCP address is in use) and its key,
    and the CA certificate to trust for it when one was set at login."""

    host: str | None
    key: str | None
    tls_ca: str | None = None

    def key_for(self, address: str) -> str | None:
        if self.host is None:
            return self.key if split_address(address)[0] != "unix" else None
        return self.key if split_address(self.host)[1] == split_address(address)[1] else None


def read(env: Mapping[str, str] | None = None) -> Stored | None:
    """The stored credentials, or None when there are none.

    :raises UsageError: the file belongs to another user or is not what login() writes.
    """
    path = login_file(env)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read the stored login {path} (a symlink is refused): "
                         f"{exc.strerror}; remove it with: trackd logout") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            raise UsageError(f"the stored login {path} is not a file of this user: remove it")
        if stat.S_IMODE(st.st_mode) != FILE_MODE:
            os.fchmod(f.fileno(), FILE_MODE)  # a key others could read: make it owner-only
        raw = f.read()
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or not all(data.get(k) is None or isinstance(
                data.get(k), str) for k in ("host", "key", "tls_ca")):
            raise ValueError("not an object of strings")
    except ValueError as exc:
        raise UsageError(f"the stored login {path} is not what trackd login writes ({exc}); "
                         "log in again or run: trackd logout") from None
    return Stored(data.get("host"), data.get("key"), data.get("tls_ca"))


def write(stored: Stored, env: Mapping[str, str] | None = None) -> Path:
    """Store ``stored`` in the owner-only login file (replaced atomically); returns its path."""
    path = login_file(env)
    path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    tmp = path.with_name(f".{LOGIN_FILE}.{os.getpid()}.tmp")
    data = {k: v for k, v in (("host", stored.host), ("key", stored.key),
                              ("tls_ca", stored.tls_ca)) if v is not None}
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                 FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # whatever the umask
        os.write(fd, json.dumps(data).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def remove(env: Mapping[str, str] | None = None) -> Path | None:
    """Delete the stored login; returns its path, or None when there was none."""
    path = login_file(env)
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return path


def stored_host() -> str | None:
    """The host login() stored (None: none stored, or a key without a host)."""
    s = read()
    return s.host if s is not None else None


# -- the token of this process ------------------------------------------------------------------

TOKEN_ENV = "TRACKD_TOKEN"
#: The ``api_key`` setting in effect in this process (set by setup()): above the stored key.
_api_key: str | None = None


def use_api_key(key: str | None) -> None:
    global _api_key
    _api_key = key or None


def token_for(address: str) -> str:
    """The token to send to the TCP daemon at ``address`` ("" when there is none):
    ``$TRACKD_TOKEN``, the ``api_key`` setting, the key stored for that host, the own daemon's
    token file, a key stored without a host, then a key set only by ``$WANDB_API_KEY``."""
    # A key only in $WANDB_API_KEY is most often a W&B cloud key left in the environment: it
    # comes after every trackd source, so it never shadows the own daemon's token.
    wandb_only = _api_key is not None and not os.environ.get("TRACKD_API_KEY") \
        and _api_key == os.environ.get("WANDB_API_KEY")
    token = os.environ.get(TOKEN_ENV) or (None if wandb_only else _api_key)
    if token:
        return token
    try:
        s = read()
    except UsageError:
        s = None
    stored = s.key_for(address) if s is not None else None
    if stored and s is not None and s.host is not None:
        return stored
    return _own_daemon_token() or stored or (_api_key if wandb_only else None) or ""


def tls_ca_for(address: str) -> str | None:
    """The CA certificate to trust for ``address``: ``$TRACKD_TLS_CA``, else the one stored at
    login for that host (None: the system's roots for https, plaintext otherwise)."""
    ca = os.environ.get("TRACKD_TLS_CA")
    if ca:
        return ca
    try:
        s = read()
    except UsageError:
        return None
    if s is not None and s.host is not None and s.tls_ca and (
            split_address(s.host)[1] == split_address(address)[1]):
        return s.tls_ca
    return None


def _own_daemon_token() -> str:
    # loaded on first use, not by `import trackd`
    from trackd._shared.paths import default_paths

    try:
        return (default_paths(os.environ)[1] / "token").read_text().strip()
    except OSError:
        return ""
