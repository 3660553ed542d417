"""QueryService: reads for the public API, the CLI and (later) the dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import anyio.to_thread
import grpc

from trackd._shared.values import fill_map
from trackd.v1 import query_service_pb2 as pb
from trackd_daemon.actors.registry import Lookup, RunRegistry
from trackd_daemon.errors import InvalidArgumentError
from trackd_daemon.records import ALERT_LEVELS
from trackd_daemon.rpc.convert import key_from_pb, key_to_pb, page_limit, run_to_pb
from trackd_daemon.rpc.identity import Guard
from trackd_daemon.rpc.run_pages import MAX_SCANNED, PAGE_BYTES, Page, decode_token, page_size
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import RunInfo
from trackd_daemon.store.row_codec import unpack_plain

INT64_MAX = 2**63 - 1
ALERT_LEVEL_VALUES = {name: value for value, name in ALERT_LEVELS.items() if value}
DEFAULT_PAGE = 1000
MAX_PAGE = 10_000
#: How long GetRun waits for a live run's records to be ingested (min_ingested_seq).
READ_WAIT_SECONDS = 60.0


class QueryServicer:
    def __init__(self, registry: RunRegistry, store: MetadataStore, guard: Guard) -> None:
        self._registry = registry
        self._store = store
        self._guard = guard

    async def ListRuns(  # noqa: N802
        self, request: pb.ListRunsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRunsResponse:
        """A page of runs (see ``rpc/run_pages.py``): the store is read a bounded slice at a
        time, and the runs the caller may not read are skipped."""
        limit = page_size(request.page_size)
        after = decode_token(request.page_token)
        caller = self._guard.caller(context)
        page = Page(limit, lambda info: self._guard.policy.allows(caller, info, "read"))
        while True:
            runs, cursor = await self._store.list_runs_page(
                request.entity, request.project, after, page.wanted, PAGE_BYTES)
            await anyio.to_thread.run_sync(page.fill, runs)
            if cursor is None and not page.full:
                return page.response(more=False)
            if page.full or page.scanned >= MAX_SCANNED:
                return page.response(more=True)
            after = cursor

    async def GetRun(  # noqa: N802
        self, request: pb.GetRunRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetRunResponse:
        key = key_from_pb(request.ref)
        self._guard.require(context, await self._store.get_run(key), "read")
        session = await self._registry.ask(lambda r: Lookup(key, r))
        if session is not None and request.min_ingested_seq:
            with anyio.move_on_after(READ_WAIT_SECONDS):
                await session.wait_ingested(min(request.min_ingested_seq, session.acked_seq))
        info = await self._store.get_run(key)
        return pb.GetRunResponse(run=run_to_pb(info, session.acked_seq if session else 0, session))

    async def ListAlerts(  # noqa: N802
        self, request: pb.ListAlertsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAlertsResponse:
        alerts = await self._store.list_alerts(request.entity, request.project, request.run_id,
                                               page_limit(request.limit, 100, 10_000, "limit"))
        caller = self._guard.caller(context)
        if not self._guard.policy.may_administer(caller):
            readable = {r.key for r in self._guard.policy.visible(
                caller, await self._store.list_runs(request.entity, request.project))}
            alerts = [a for a in alerts if a.run in readable]
        return pb.ListAlertsResponse(alerts=[
            pb.Alert(run=key_to_pb(a.run), title=a.title, text=a.text,
                     level=ALERT_LEVEL_VALUES[a.level], timestamp=a.timestamp,
                     suppressed=a.suppressed, delivered_at=a.delivered_at)
            for a in alerts
        ])

    async def ListProjects(  # noqa: N802
        self, request: pb.ListProjectsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProjectsResponse:
        """The projects with runs the caller may read (a project it sees no run of is not
        listed, as the dashboard's project list), counting only those runs."""
        if request.project and not request.entity:
            raise InvalidArgumentError("a project needs its entity", field="entity")
        runs = await self._store.list_runs(request.entity, request.project)
        caller = self._guard.caller(context)
        return await anyio.to_thread.run_sync(lambda: _projects(
            self._guard.policy.visible(caller, runs)))

    async def ScanHistory(  # noqa: N802
        self, request: pb.ScanHistoryRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ScanHistoryResponse]:
        info = await self._store.get_run(key_from_pb(request.ref))
        self._guard.require(context, info, "read")
        page = page_limit(request.page_size, DEFAULT_PAGE, MAX_PAGE, "page_size")
        if request.stream not in ("", "default", "system"):
            raise InvalidArgumentError(
                f"unknown history stream {request.stream!r}: expected 'default' or 'system'",
                field="stream")
        if request.stream == "system":
            async for resp in self._scan_system(request, info, page):
                yield resp
            return
        lo = request.min_step if request.HasField("min_step") else None
        hi = request.max_step if request.HasField("max_step") else None
        keys = list(request.keys)
        if request.samples > 0:
            found = await self._store.sample_history(info.pk, max(2, request.samples), lo, hi,
                                                     keys)
            # Built off the loop: a sample of wide rows is milliseconds of decoding and filling.
            resp = await anyio.to_thread.run_sync(_sampled_page, found, keys)
            if resp.rows:
                yield resp
            return
        while True:
            rows = await self._store.scan_history(info.pk, lo, hi, page)
            if not rows:
                return
            resp = pb.ScanHistoryResponse()
            for step, row in rows:
                _add_row(resp, step, row, keys)
            if resp.rows:
                yield resp
            if len(rows) < page or rows[-1][0] >= INT64_MAX:
                return
            lo = rows[-1][0] + 1

    async def _scan_system(self, request: pb.ScanHistoryRequest, info: RunInfo,
                           page: int) -> AsyncIterator[pb.ScanHistoryResponse]:
        """The system-metrics samples as rows (``_timestamp``, ``_runtime``, ``_writer`` for
        another writer, ``system.*``); min_step/max_step count samples in time order."""
        lo = request.min_step if request.HasField("min_step") else 0
        hi = request.max_step if request.HasField("max_step") else None
        keys = list(request.keys)
        base = info.start_time or info.created_at
        if request.samples > 0:
            total = await self._store.count_system_metrics(info.pk)
            n = max(2, request.samples)
            if total > n:
                picks = sorted({(i * (total - 1)) // (n - 1) for i in range(n)})
            else:
                picks = list(range(total))
            picks = [i for i in picks if i >= lo and (hi is None or i < hi)]
            found = []
            for i in picks:
                found += await self._store.scan_system_metrics(info.pk, i, 1)
            chunks = [found]
        else:
            chunks = None
        offset = max(0, lo)
        while True:
            if chunks is not None:
                if not chunks:
                    return
                samples = chunks.pop()
            else:
                limit = page if hi is None else min(page, hi - offset)
                if limit <= 0:
                    return
                samples = await self._store.scan_system_metrics(info.pk, offset, limit)
                offset += len(samples)
            if not samples:
                return
            resp = pb.ScanHistoryResponse()
            for s in samples:
                row: dict[str, object] = {"_timestamp": s.timestamp, "_runtime": s.timestamp - base}
                if s.writer:
                    row["_writer"] = s.writer
                if keys:
                    if not all(k in s.values for k in keys):
                        continue
                    row.update((k, s.values[k]) for k in keys)
                else:
                    row.update(s.values)
                fill_map(resp.rows.add(), row)
            if resp.rows:
                yield resp
            if chunks is None and len(samples) < page:
                return


def _projects(runs: list[RunInfo]) -> pb.ListProjectsResponse:
    found: dict[tuple[str, str], pb.Project] = {}
    for r in runs:
        p = found.get((r.key.entity, r.key.project))
        if p is None:
            p = found[(r.key.entity, r.key.project)] = pb.Project(
                entity=r.key.entity, name=r.key.project, created_at=r.created_at)
        p.created_at = min(p.created_at, r.created_at)
        p.updated_at = max(p.updated_at, r.updated_at)
        p.run_count += 1
        p.running += r.state == "running"
    return pb.ListProjectsResponse(
        projects=sorted(found.values(), key=lambda p: (-p.updated_at, p.entity, p.name)))


def _sampled_page(found: Sequence[tuple[int, bytes]], keys: Sequence[str]
                  ) -> pb.ScanHistoryResponse:
    """The page of a sampled scan: each stored row decoded only as it is added (see
    ``sample_history``)."""
    resp = pb.ScanHistoryResponse()
    for step, blob in found:
        _add_row(resp, step, unpack_plain(blob), keys)
    return resp


def _add_row(resp: pb.ScanHistoryResponse, step: int, row: dict[str, Any],
              keys: Sequence[str]) -> None:
    """Add a history row to a page; with ``keys``, only a row holding all of them, and only
    them (with ``_step``)."""
    if keys:
        if not all(k in row for k in keys):
            return
        row = {"_step": step, **{k: row[k] for k in keys}}
    fill_map(resp.rows.add(), row)
