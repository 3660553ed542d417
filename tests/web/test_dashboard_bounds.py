"""The dashboard's bounded state without a daemon: sessions and used ticket nonces (their
limits, expiry and file), the connection guard's order of closing, and Host names."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import anyio
import pytest

from trackd._shared.ui_auth import Ticket, TicketError
from trackd_daemon.web import sessions as sessions_module
from trackd_daemon.web.connections import ConnectionGuard
from trackd_daemon.web.security import HostAllowlist, host_name
from trackd_daemon.web.sessions import SESSION_SECONDS, SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_are_bounded_expire_and_end_with_the_token(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sessions_module, "MAX_SESSIONS", 3)
    clock = Clock()
    store = SessionStore(tmp_path / "s.json", "token-a", clock)
    ids = []
    for _ in range(3):
        ids.append(store.create()[0])
        clock.now += 1
    assert store.check(ids[0])  # used just now: the least recently used is ids[1]
    ids.append(store.create()[0])
    assert len(store) == 3 and not store.check(ids[1])
    assert all(store.check(i) for i in (ids[0], ids[2], ids[3]))
    clock.now += SESSION_SECONDS
    assert not store.check(ids[3]) and len(store) == 2  # expired, and forgotten
    fresh = store.create()[0]
    assert not store.check("x" * 500) and not store.check(None)
    assert store.rotate("token-b") == 3 and not store.check(fresh)


def test_sessions_and_nonces_are_kept_in_an_owner_only_file(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    clock = Clock()

    async def main() -> None:
        store = SessionStore(path, "tok", clock)
        kept = store.create()[0]
        store.spend(Ticket(int(clock.now) + 60, "n1"))
        await store.save()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert kept not in path.read_text()  # hashes only
        again = SessionStore(path, "tok", clock)
        await again.load()
        assert again.check(kept)
        with pytest.raises(TicketError, match="used already"):
            again.spend(Ticket(int(clock.now) + 60, "n1"))
        other = SessionStore(path, "another token", clock)  # a rotated token: none match
        await other.load()
        assert not other.check(kept)
        path.write_text(json.dumps({"version": 1, "sessions": {"k": "not a pair"}}))
        broken = SessionStore(path, "tok", clock)
        await broken.load()
        assert len(broken) == 0

    anyio.run(main)


def test_used_nonces_are_bounded_by_refusing_not_forgetting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sessions_module, "MAX_NONCES", 2)
    clock = Clock()
    store = SessionStore(tmp_path / "s.json", "tok", clock)
    store.spend(Ticket(int(clock.now) + 10, "a"))
    store.spend(Ticket(int(clock.now) + 900, "b"))
    with pytest.raises(TicketError, match="more than 2 login links"):
        store.spend(Ticket(int(clock.now) + 900, "c"))
    clock.now += 11  # "a" expired: its room is free again
    store.spend(Ticket(int(clock.now) + 900, "c"))
    with pytest.raises(TicketError, match="used already"):
        store.spend(Ticket(int(clock.now) + 900, "b"))


class FakeTransport:
    def __init__(self, peer: str) -> None:
        self.peer = peer
        self.aborted = False

    def get_extra_info(self, name: str) -> Any:
        return (self.peer, 5000) if name == "peername" else None

    def abort(self) -> None:
        self.aborted = True


def test_the_guard_closes_the_connections_that_matter_least() -> None:
    clock = Clock()
    guard = ConnectionGuard(30.0, max_connections=4, max_per_peer=2, clock=clock)

    def admit(peer: str = "127.0.0.1") -> tuple[FakeTransport, Any]:
        t = FakeTransport(peer)
        clock.now += 1
        return t, guard.admit(t)  # type: ignore[arg-type]

    owner_t, owner = admit()
    owner.trusted = True  # the owner's keep-alive connection, idle
    busy_t, busy = admit()
    busy.trusted, busy.busy = True, 1  # the owner's live page
    spoke_t, spoke = admit()
    spoke.spoke = True  # an attacker's half-sent headers
    silent_t, _ = admit()  # an attacker's silent connection
    _, new = admit()  # full: the silent one goes first, though newer
    assert new is not None and silent_t.aborted and not spoke_t.aborted
    new.spoke = True  # it sent its request
    _, new = admit()  # then the oldest untrusted one that spoke
    assert spoke_t.aborted and not owner_t.aborted
    for conn in list(guard._conns.values()):  # the two new ones serve logged-in pages
        if not conn.trusted:
            conn.trusted, conn.busy = True, 1
    _, new = admit()  # only trusted ones left: the idle one goes, never the busy ones
    assert owner_t.aborted and not busy_t.aborted
    new.trusted, new.busy = True, 1
    assert admit()[1] is None and guard.refused == 1  # all busy and trusted: refused
    # A remote peer has its own limit; loopback shares only the total.
    remote = ConnectionGuard(30.0, max_connections=10, max_per_peer=2, clock=clock)
    ts = [FakeTransport("192.0.2.7") for _ in range(3)]
    assert all(remote.admit(t) is not None for t in ts)  # type: ignore[arg-type]
    assert ts[0].aborted and len(remote) == 2
    local = [FakeTransport("127.0.0.1") for _ in range(5)]
    assert all(remote.admit(t) is not None for t in local)  # type: ignore[arg-type]
    assert len(remote) == 7 and not any(t.aborted for t in local)


def test_the_guard_times_out_what_waits_without_an_authenticated_request() -> None:
    clock = Clock()
    guard = ConnectionGuard(30.0, clock=clock)
    conns = {name: guard.admit(FakeTransport("127.0.0.1")) for name in  # type: ignore[arg-type]
             ("silent", "idle", "stream", "unauthenticated busy")}
    conns["idle"].trusted = True
    conns["stream"].trusted, conns["stream"].busy = True, 1
    conns["unauthenticated busy"].busy = 1
    clock.now += 29
    assert guard.sweep() == 0
    clock.now += 2
    assert guard.sweep() == 3 and len(guard) == 1
    assert next(iter(guard._conns.values())) is conns["stream"]


def test_host_names_and_the_allowlist() -> None:
    assert [host_name(h) for h in ("127.0.0.1:8470", "[::1]:8470", "LocalHost.", "::1",
                                   "[fe80::1")] == ["127.0.0.1", "::1", "localhost", "::1",
                                                    "fe80::1"]
    loop = HostAllowlist("127.0.0.1", ["tracker.lan"])
    assert all(loop.allows(h) for h in ("localhost", "127.0.0.1", "127.9.9.9", "::1",
                                        "tracker.lan"))
    assert not any(loop.allows(h) for h in ("evil.example", "10.0.0.1", "", "localhost.evil"))
    wild = HostAllowlist("0.0.0.0")
    assert wild.allows("10.0.0.1") and not wild.allows("evil.example")
    bound = HostAllowlist("192.0.2.1")
    assert bound.allows("192.0.2.1") and not bound.allows("192.0.2.2")
