"""Where a user's daemon keeps its data, its log and its socket (shared by SDK and daemon)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

SOCKET_NAME = "trackd.sock"


def default_paths(env: Mapping[str, str]) -> tuple[Path, Path, Path]:
    """Return ``(data root, state dir, runtime dir)`` for this user.

    * data root (store, write-ahead logs): ``$TRACKD_ROOT``, else ``$XDG_DATA_HOME/trackd``
      (``~/.local/share/trackd``);
    * state dir (the daemon's log file): ``$TRACKD_STATE_DIR``, else ``$XDG_STATE_HOME/trackd``
      (``~/.local/state/trackd``);
    * runtime dir (socket, lock file): ``$TRACKD_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/trackd``,
      else the state dir.
    """
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    root = env.get("TRACKD_ROOT") or os.path.join(
        env.get("XDG_DATA_HOME") or home / ".local" / "share", "trackd"
    )
    state = env.get("TRACKD_STATE_DIR") or os.path.join(
        env.get("XDG_STATE_HOME") or home / ".local" / "state", "trackd"
    )
    runtime = env.get("TRACKD_RUNTIME_DIR") or (
        os.path.join(env["XDG_RUNTIME_DIR"], "trackd") if env.get("XDG_RUNTIME_DIR") else state
    )
    return Path(root), Path(state), Path(runtime)


def default_address(env: Mapping[str, str]) -> str:
    """The gRPC target of this user's daemon on its default socket."""
    return f"unix:{default_paths(env)[2] / SOCKET_NAME}"
