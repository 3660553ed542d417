"""A user's login ticket (bound to a uid under the token's MAC) and the sessions that remember
whom they act for."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from trackd._shared.ui_auth import TicketError, check_ticket, mint_ticket
from trackd_daemon.web.sessions import SessionStore

TOKEN = "t" * 43


def test_a_users_ticket_carries_its_uid_and_an_old_one_none() -> None:
    user = check_ticket(TOKEN, mint_ticket(TOKEN, uid=1234))
    assert user.uid == 1234
    assert check_ticket(TOKEN, mint_ticket(TOKEN)).uid is None
    assert len(mint_ticket(TOKEN, uid=7).split(".")) == 4


@pytest.mark.parametrize("change", ["uid", "drop", "add"])
def test_changing_the_uid_breaks_the_mac(change: str) -> None:
    expires, nonce, uid, mac = mint_ticket(TOKEN, uid=1234).split(".")
    full = mint_ticket(TOKEN).split(".")
    forged = {"uid": f"{expires}.{nonce}.0.{mac}",  # root's uid under nobody's MAC
              "drop": f"{expires}.{nonce}.{mac}",  # a full-access ticket from a user's
              "add": f"{full[0]}.{full[1]}.1234.{full[2]}"}[change]
    with pytest.raises(TicketError, match="not made with this dashboard"):
        check_ticket(TOKEN, forged)


@pytest.mark.parametrize("uid", ["-1", "²", "12345678901", ""])
def test_a_malformed_uid_is_refused(uid: str) -> None:
    expires, nonce, _, mac = mint_ticket(TOKEN, uid=5).split(".")
    with pytest.raises(TicketError, match="malformed"):
        check_ticket(TOKEN, f"{expires}.{nonce}.{uid}.{mac}")


def test_a_negative_uid_is_not_minted() -> None:
    with pytest.raises(ValueError):
        mint_ticket(TOKEN, uid=-1)


def test_sessions_remember_whom_they_act_for(tmp_path: Path) -> None:
    path = tmp_path / "ui-sessions.json"

    async def main() -> None:
        store = SessionStore(path, TOKEN)
        user, _ = store.create(65534)
        full, _ = store.create()
        await store.save()
        assert path.stat().st_mode & 0o077 == 0
        again = SessionStore(path, TOKEN)
        await again.load()
        assert again.check(user) and again.uid(user) == 65534
        assert again.check(full) and again.uid(full) is None

    anyio.run(main)


def test_a_sessions_file_of_before_users_gives_full_access(tmp_path: Path) -> None:
    path = tmp_path / "ui-sessions.json"

    async def main() -> None:
        store = SessionStore(path, TOKEN)
        session, _ = store.create()
        await store.save()
        data = json.loads(path.read_text())
        data["sessions"] = {k: v[:2] for k, v in data["sessions"].items()}  # no uid
        path.write_text(json.dumps(data))
        old = SessionStore(path, TOKEN)
        await old.load()
        assert old.check(session) and old.uid(session) is None

    anyio.run(main)
