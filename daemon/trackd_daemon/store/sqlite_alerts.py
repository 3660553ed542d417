"""SQLite alerts: the alerts runs raised, listed, and their delivery to the notification
targets recorded (a mixin of :class:`~trackd_daemon.store.sqlite.SqliteStore`)."""

from __future__ import annotations

from typing import Any

from trackd_daemon.store.models import AlertInfo, RunKey


class SqliteAlerts:
    """Alert reads and the delivery mark (mixed into ``SqliteStore``)."""

    _read: Any
    _write: Any

    _ALERT_SELECT = (
        "SELECT a.id, p.entity, p.name, r.run_id, r.name, a.title, a.text, a.level, a.timestamp,"
        " a.suppressed, a.delivered_at, r.http_proxy, r.https_proxy"
        " FROM alerts a JOIN runs r ON r.id = a.run"
        " JOIN projects p ON p.id = r.project_id"
    )

    @staticmethod
    def _alert(r: tuple[Any, ...]) -> AlertInfo:
        return AlertInfo(id=r[0], run=RunKey(r[1], r[2], r[3]), run_name=r[4], title=r[5],
                         text=r[6], level=r[7], timestamp=r[8], suppressed=bool(r[9]),
                         delivered_at=r[10], http_proxy=r[11], https_proxy=r[12])

    async def list_alerts(
        self, entity: str = "", project: str = "", run_id: str = "", limit: int = 100
    ) -> list[AlertInfo]:
        clauses, args = [], []
        for column, value in (("p.entity", entity), ("p.name", project), ("r.run_id", run_id)):
            if value:
                clauses.append(f"{column} = ?")
                args.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._read(lambda c: c.execute(
            f"{self._ALERT_SELECT}{where} ORDER BY a.timestamp DESC, a.id DESC LIMIT ?",
            [*args, limit]).fetchall())
        return [self._alert(r) for r in rows]

    async def pending_alerts(self) -> list[AlertInfo]:
        rows = await self._read(lambda c: c.execute(
            f"{self._ALERT_SELECT} WHERE a.delivered_at = 0 AND a.suppressed = 0 ORDER BY a.id"
        ).fetchall())
        return [self._alert(r) for r in rows]

    async def mark_alert_delivered(self, alert_id: int, at: float) -> None:
        await self._write(lambda c: c.execute(
            "UPDATE alerts SET delivered_at = ? WHERE id = ?", (at, alert_id)))
