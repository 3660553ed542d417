"""Pages of ``ListRuns``: their bounds, their tokens, and how one is filled.

A page is bounded by count and by encoded size, so a reply stays far below the 64 MiB message
limit however many and however large the runs are: one user's runs cannot make another's
listing fail (see ``query_service.proto`` for the protocol).
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Callable

from trackd.v1 import query_service_pb2 as pb
from trackd.v1 import run_pb2
from trackd_daemon.errors import InvalidArgumentError
from trackd_daemon.rpc.convert import page_limit, run_to_pb
from trackd_daemon.store.models import RunCursor, RunInfo

#: Runs per page when the request says 0 (W&B's Api lists 50 per page), and at most.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
#: Encoded runs per page: a page holds at most this much (or one larger run alone). Runs at
#: the field limits (``trackd._shared.run_fields``) are near 6 MiB; most are a few KiB.
PAGE_BYTES = 4 << 20
#: A run larger than this encoded (its summary and metric definitions have no limit) is listed
#: without them (``Run.summary_omitted``): a page always fits a client's 64 MiB.
MAX_LISTED_RUN_BYTES = 16 << 20
#: Runs one call reads at most, those the caller may not read included: bounds the work of a
#: call that skips many runs (the page then comes back short, with a token to go on).
MAX_SCANNED = 10_000
_TOKEN = struct.Struct(">Bdq")  # version, created_at, pk
_TOKEN_VERSION = 1


def page_size(requested: int) -> int:
    """:raises InvalidArgumentError: a negative page size."""
    return page_limit(requested, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size")


def encode_token(cursor: RunCursor) -> str:
    raw = _TOKEN.pack(_TOKEN_VERSION, cursor.created_at, cursor.pk)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_token(token: str) -> RunCursor | None:
    """The cursor a page token stands for (None for the first page).

    :raises InvalidArgumentError: not a token this daemon made.
    """
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
        version, created_at, pk = _TOKEN.unpack(raw)
    except (UnicodeEncodeError, binascii.Error, struct.error, ValueError):
        version, created_at, pk = 0, 0.0, -1
    if version != _TOKEN_VERSION or not math.isfinite(created_at) or pk < 0:
        raise InvalidArgumentError("page_token is not a token from a previous ListRuns page; "
                                   "give it back unchanged", field="page_token")
    return RunCursor(created_at, pk)


def listed(info: RunInfo) -> run_pb2.Run:
    """A run as a page lists it: whole, or without its summary and metric definitions when
    it is over ``MAX_LISTED_RUN_BYTES`` encoded."""
    run = run_to_pb(info)
    if run.ByteSize() > MAX_LISTED_RUN_BYTES:
        run.ClearField("summary")
        run.summary.SetInParent()
        del run.metrics[:]
        run.summary_omitted = True
    return run


class Page:
    """A page being filled from the store's runs, in order (blocking: encoding large runs
    takes a while, so :meth:`fill` runs in a worker thread)."""

    def __init__(self, limit: int, may_read: Callable[[RunInfo], bool]) -> None:
        self._limit = limit
        self._may_read = may_read
        self.runs: list[run_pb2.Run] = []
        self.bytes = 0
        self.scanned = 0
        #: After the last run taken or skipped: where the next page starts.
        self.cursor: RunCursor | None = None
        self.full = False

    @property
    def wanted(self) -> int:
        return self._limit - len(self.runs)

    def fill(self, runs: list[RunInfo]) -> None:
        """Take (or skip, when the caller may not read them) ``runs`` until the page is full."""
        for info in runs:
            if self._may_read(info):
                run = listed(info)
                size = run.ByteSize()
                if self.runs and self.bytes + size > PAGE_BYTES:
                    self.full = True  # this run starts the next page
                    return
                self.runs.append(run)
                self.bytes += size
            self.scanned += 1
            self.cursor = RunCursor(info.created_at, info.pk)
            if len(self.runs) >= self._limit:
                self.full = True
                return

    def response(self, more: bool) -> pb.ListRunsResponse:
        token = encode_token(self.cursor) if more and self.cursor is not None else ""
        return pb.ListRunsResponse(runs=self.runs, next_page_token=token)
