"""The symlink-swap race against a shared daemon: nothing outside what a caller may read is
ever stored, whichever way it asks the daemon to read a path.

The attack (``path_swap_as_user.py``): a user of a shared socket keeps swapping a symlink
between a file of their own and a file only the daemon may read (here a root-only secret and
the daemon's dashboard token, with a root daemon as a system-wide install could run), while
asking the daemon to read the link in many copies per request: saved run files, a ``file://``
reference with checksums, artifact entries by local path, and staging copies. A daemon that
checks a path as the caller and then opens it again by name stores the target within a second
or two. The daemon opens no path of another user than its own (and root), so every one of
those requests is refused untouched, and no byte of either target reaches the blob store.

Clients act as another uid (needs root; skipped elsewhere).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.shared import client_env, needs_root, run_as, shared_daemon
from tests.helpers import DaemonProcess

ATTACKER = Path(__file__).with_name("path_swap_as_user.py")
MALLORY = 61031
#: Seconds each attack runs: the race was won well within this against a daemon that opened
#: the path again after checking it.
SECONDS = 3.0

pytestmark = needs_root


@pytest.fixture
def shared() -> Iterator[tuple[DaemonProcess, Path]]:
    with shared_daemon({MALLORY: MALLORY}) as (d, homes):
        yield d, homes / str(MALLORY)


def secrets_of(d: DaemonProcess) -> dict[str, bytes]:
    """Files only the daemon (root) may read: a private secret and the dashboard's token."""
    secret = d.dirs.base / "secret"
    if not secret.exists():
        secret.write_bytes(b"root-only " + os.urandom(32).hex().encode())
        secret.chmod(0o600)
    out = {str(secret): secret.read_bytes()}
    token = Path(d.dirs.env["TRACKD_STATE_DIR"]) / "ui-token"
    if token.exists():
        out[str(token)] = token.read_bytes()
    return out


def stored_blobs(d: DaemonProcess) -> dict[Path, bytes]:
    """Every blob in the daemon's blob store (and its writes in progress), by path."""
    root = Path(d.dirs.env["TRACKD_ROOT"]) / "blobs"
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def run_attack(shared: tuple[DaemonProcess, Path], kind: str, target: str) -> dict[str, Any]:
    d, home = shared
    link, decoy = home / f"{kind}-link", home / "decoy"
    decoy.write_bytes(b"mallory's own decoy")
    os.chown(decoy, MALLORY, MALLORY)
    for p in (link, Path(f"{link}.target")):
        p.unlink(missing_ok=True)
    link.symlink_to(decoy)
    Path(f"{link}.target").symlink_to(target)
    return run_as(ATTACKER, MALLORY, kind, SECONDS, link,  # type: ignore[no-any-return]
                  decoy, env=client_env(d, home), timeout=120)


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


@pytest.mark.parametrize("kind", ["save", "reference", "artifact", "staged"])
def test_a_swapped_symlink_never_gets_another_users_file_stored(
        shared: tuple[DaemonProcess, Path], kind: str) -> None:
    d, _ = shared
    targets = secrets_of(d)
    for target, data in targets.items():
        result = run_attack(shared, kind, target)
        blobs = stored_blobs(d).values()
        leaked = [t for t, secret in targets.items() if any(secret in b for b in blobs)]
        assert not leaked, f"{kind}: the daemon stored {leaked} ({result})"
        assert md5_b64(data) not in result["digests"], f"{kind}: the MD5 of {target} ({result})"
        assert len(data) not in result["sizes"], f"{kind}: the size of {target} ({result})"
        # Every request was refused before the path was touched: nothing was stored or
        # resolved for this user, from the decoy either.
        assert set(result["answers"]) <= {"unreadable", "PERMISSION_DENIED"}, result
        assert result["answers"], result
    assert d.proc is not None and d.proc.poll() is None  # the daemon kept serving
