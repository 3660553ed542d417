"""RecordService: the per-run bidirectional record stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import anyio
import anyio.to_thread
import grpc

from trackd.v1 import record_service_pb2 as pb
from trackd_daemon.actors.history import HistoryActor, Ingest
from trackd_daemon.actors.registry import Attach, Detach, RunRegistry
from trackd_daemon.actors.wal import Append
from trackd_daemon.errors import FailedPreconditionError, InvalidArgumentError
from trackd_daemon.records import (
    INLINE_BYTES,
    Config,
    Preempting,
    last_seq,
    parse_intake,
    with_writer,
)
from trackd_daemon.rpc.convert import key_from_pb
from trackd_daemon.rpc.identity import Guard
from trackd_daemon.run_limits import check_fields
from trackd_daemon.session import RunSession


class RecordServicer:
    """Each request is parsed and validated in a worker thread (run updates and the config's
    growth against the run field limits too), appended to the run's log,
    acknowledged (every request is answered, the first one — the handshake — and keepalives
    without records too), and handed to the history actor. Its bounds are the backpressure:
    while its mailbox is full, or the bytes decoded for it and not stored yet reach
    ``INFLIGHT_BYTES``, this stream stops reading, and the client's buffer fills."""

    #: Requests arrive as raw bytes: the same bytes are the log entry.
    raw_requests = frozenset({"StreamRecords"})

    def __init__(self, registry: RunRegistry, history: HistoryActor, guard: Guard) -> None:
        self._registry = registry
        self._history = history
        self._guard = guard

    async def StreamRecords(  # noqa: N802 - gRPC method name
        self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamRecordsResponse]:
        session: RunSession | None = None
        key = None
        writer = ""
        token = object()
        try:
            # Read with context.read(), not by iterating ``requests``: grpc's iterator holds
            # the request it gave until the next one has arrived (two requests' bytes at once).
            while (raw := await context.read()) is not grpc.aio.EOF:
                # Room for the decoded batch within the history actor's bound (see
                # INFLIGHT_BYTES), held until the Ingest that carries it is stored.
                reserved = len(raw)
                await self._history.room(reserved)
                try:
                    batch = (parse_intake(raw) if reserved <= INLINE_BYTES
                             else await anyio.to_thread.run_sync(parse_intake, raw))
                    records = batch.records
                    if session is None:
                        if batch.ref is None:
                            raise InvalidArgumentError(
                                "the first request of a stream must name the run")
                        key = key_from_pb(batch.ref)
                        writer = batch.writer
                        check_fields({"writer": writer})
                        caller = self._guard.caller(context)
                        session = await self._registry.ask(lambda r: Attach(
                            key, token, r, writer,
                            allow=lambda info, mode: self._guard.policy.require(caller, info,
                                                                                mode)))
                    if session.owners.get(writer) is not token:
                        raise FailedPreconditionError(
                            f"run {session.key} (writer {writer!r}) is now written by a newer "
                            "stream")
                    # The config's limits hold for what it grows to; measured before anything
                    # of the batch is accepted.
                    config = None
                    if Config in batch.kinds:
                        config = await anyio.to_thread.run_sync(
                            session.measure_config, records, session.acked_of(writer))
                    fresh = session.accept_from(writer, records, batch.kinds)
                    if fresh:
                        payload = raw if not writer else await anyio.to_thread.run_sync(
                            with_writer, raw, writer)
                        async with session.lock:
                            await session.wal.ask(lambda r: Append(payload, r))
                            del payload  # see below
                            session.mark_acked_of(writer, last_seq(fresh))
                            if Preempting in batch.kinds and not writer:
                                # Readers see it once acknowledged (the history actor sets
                                # it again when it applies the record, as recovery does).
                                session.preempting = session.preempting or any(
                                    type(r) is Preempting for r in fresh)
                            if config is not None:
                                config.commit()
                            await self._history.tell(Ingest(session, fresh, writer, reserved))
                            reserved = 0  # the Ingest holds it now
                finally:
                    self._history.give_back(reserved)
                # The request is in the log and with the history actor: let go of its bytes and
                # records before the next request arrives (held while it was read, two
                # requests' worth were in memory at once).
                del raw, batch, records, fresh
                yield pb.StreamRecordsResponse(acked_seq=session.acked_of(writer),
                                               stop_requested=session.stop_requested)
        finally:
            if key is not None:
                # No await here: grpc cancels this task when the client vanishes, and a
                # cancelled await would lose the detach (and the run would never be marked
                # crashed).
                detach = Detach(key, token)
                try:
                    self._registry.tell_nowait(detach)
                except anyio.WouldBlock:
                    asyncio.get_running_loop().create_task(self._registry.tell(detach))
