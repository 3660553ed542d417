"""``ListRuns`` in pages (see ``query_service.proto``): a project of 10,000 runs is listed page
by page — through the raw RPC, ``trackd.Api().runs()`` (a lazy list, read as far as it is used)
and ``trackd runs ls`` — and in full; runs at the field limits, or with a summary too large to
list, break nobody's listing. Before pages, such runs made every listing fail with "Sent
message larger than max"."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import anyio
import grpc
import pytest

import trackd
from tests.e2e.raw import raw_stub
from tests.helpers import DaemonDirs, DaemonProcess, wait_for
from trackd import Api
from trackd._shared.run_fields import (
    MAX_CONFIG_BYTES,
    MAX_NOTES_BYTES,
    MAX_TAG_LENGTH,
    MAX_TAGS,
)
from trackd._shared.values import fill_map
from trackd._transport.connection import make_stub
from trackd.v1 import query_service_pb2, record_service_pb2, run_pb2, run_service_pb2
from trackd_daemon.rpc.run_pages import MAX_LISTED_RUN_BYTES, PAGE_BYTES
from trackd_daemon.store.models import FINISHED, NewRun, RunChanges, RunKey
from trackd_daemon.store.sqlite import SqliteStore

N_RUNS = 10_000
CLIENT_OPTIONS = [("grpc.max_receive_message_length", 64 << 20),
                  ("grpc.max_send_message_length", 64 << 20)]


@pytest.fixture(scope="module")
def crowded() -> Iterator[DaemonProcess]:
    """A daemon whose store holds 10,000 runs of project ``big/crowd`` (made in the store
    before the daemon starts, several per creation time so that ties are paged too), and the
    SDK pointed at it."""
    dirs = DaemonDirs.make()

    async def fill() -> None:
        root = dirs.env["TRACKD_ROOT"]
        store = await SqliteStore.open(f"sqlite:///{root}/trackd.db")
        try:
            await store.create_run(NewRun(RunKey("big", "elsewhere", "other")))
            made: list[Any] = []

            async def make(i: int) -> None:
                made.append(await store.create_run(NewRun(
                    RunKey("big", "crowd", f"r{i:05d}"), created_at=1000.0 + i // 7,
                    config={"i": i}, tags=["t"])))

            for start in range(0, N_RUNS, 1000):
                async with anyio.create_task_group() as tg:
                    for i in range(start, start + 1000):
                        tg.start_soon(make, i)
            # Finished: a daemon starting recovers the runs still running.
            await store.apply([RunChanges(r.pk, 0, state=FINISHED, finished_at=2000.0)
                               for r in made])
        finally:
            await store.aclose()

    anyio.run(fill)
    daemon = DaemonProcess(dirs)
    daemon.start()
    with pytest.MonkeyPatch.context() as mp:
        trackd.teardown()
        for k, v in dirs.env.items():
            mp.setenv(k, v)
        yield daemon
        trackd.teardown()
    daemon.stop()
    dirs.cleanup()


#: Newest first: created_at descending, then creation order descending.
EXPECTED = [f"r{i:05d}" for i in range(N_RUNS - 1, -1, -1)]


def _queries(daemon: DaemonProcess) -> tuple[grpc.Channel, Any]:
    channel = grpc.insecure_channel(f"unix:{daemon.dirs.socket}", options=CLIENT_OPTIONS)
    return channel, make_stub(channel, query_service_pb2, "QueryService")


def _pages(stub: Any, **request: Any) -> list[list[Any]]:
    pages, token = [], ""
    while True:
        resp = stub.ListRuns(query_service_pb2.ListRunsRequest(page_token=token, **request))
        pages.append(list(resp.runs))
        token = resp.next_page_token
        if not token:
            return pages


def test_ten_thousand_runs_list_page_by_page_through_the_rpc(crowded):
    channel, stub = _queries(crowded)
    try:
        pages = _pages(stub, entity="big", project="crowd", page_size=1000)
        assert [len(p) for p in pages] == [1000] * 10 + [0]
        assert [r.ref.run_id for p in pages for r in p] == EXPECTED
        default = stub.ListRuns(query_service_pb2.ListRunsRequest(entity="big", project="crowd"))
        assert len(default.runs) == 100 and default.next_page_token
        huge = stub.ListRuns(query_service_pb2.ListRunsRequest(entity="big", page_size=10**9))
        assert len(huge.runs) == 1000
        # The entity's listing (both projects) pages through the same order.
        everything = [r.ref.run_id for p in _pages(stub, entity="big", page_size=777) for r in p]
        assert everything == ["other", *EXPECTED]  # made last: the newest
    finally:
        channel.close()


@pytest.mark.parametrize("token", ["garbage", "AAAA", base64.urlsafe_b64encode(b"\x02" + b"\0" * 16)
                                   .decode().rstrip("="), "é"])
def test_a_page_token_that_is_not_one_is_invalid_argument(crowded, token):
    channel, stub = _queries(crowded)
    try:
        with pytest.raises(grpc.RpcError) as exc:
            stub.ListRuns(query_service_pb2.ListRunsRequest(entity="big", page_token=token))
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "page_token" in exc.value.details()
        with pytest.raises(grpc.RpcError) as exc:
            stub.ListRuns(query_service_pb2.ListRunsRequest(entity="big", page_size=-1))
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        channel.close()


def test_ten_thousand_runs_through_the_api_a_page_at_a_time(crowded):
    runs = Api().runs("big/crowd", per_page=500)
    assert runs.per_page == 500
    assert runs[0].id == EXPECTED[0] and runs[499].id == EXPECTED[499]
    assert len(runs._objects) == 500 and runs.more  # one page read, no more
    assert runs[700].id == EXPECTED[700] and len(runs._objects) == 1000
    assert [r.id for r in runs] == EXPECTED  # iterating reads the rest, page by page
    assert not runs.more and len(runs) == N_RUNS
    assert runs[-1].id == EXPECTED[-1] and [r.id for r in runs[10:13]] == EXPECTED[10:13]
    # Filters apply to each page; other orders sort once everything is read.
    assert [r.config["i"] for r in Api().runs("big/crowd", {"config.i": {"$lt": 3}})] == [2, 1, 0]
    oldest = Api().runs("big/crowd", order="+created_at", per_page=1000)
    assert oldest[0].created_at <= oldest[N_RUNS - 1].created_at
    assert bool(Api().runs("big/crowd")) and not Api().runs("big/nothing-here")
    with pytest.raises(trackd.errors.UsageError):
        Api().runs("big/crowd", per_page=0)


def test_ten_thousand_runs_through_the_cli(crowded):
    out = subprocess.run([sys.executable, "-m", "trackd._cli.main", "runs", "ls", "big/crowd"],
                         check=False, capture_output=True, text=True, timeout=300, env=_cli_env(crowded))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:2] == ["ID", "NAME"]
    assert [line.split()[0] for line in lines[1:]] == EXPECTED


def _cli_env(daemon: DaemonProcess) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("TRACKD_", "WANDB_"))},
            **daemon.dirs.env}


# -- runs at the limits ----------------------------------------------------------------------


def _at_limits(run_id: str) -> run_service_pb2.CreateRunRequest:
    """A run with notes, tags and config at their limits (about 5.5 MiB encoded)."""
    req = run_service_pb2.CreateRunRequest(
        ref=run_pb2.RunRef(entity="fat", project="limits", run_id=run_id), start_time=1.0,
        notes="n" * MAX_NOTES_BYTES, tags=[f"{i:04d}" + "t" * (MAX_TAG_LENGTH - 4)
                                            for i in range(MAX_TAGS)])
    req.config.SetInParent()
    fill_map(req.config, {"blob": "c" * (MAX_CONFIG_BYTES - 100)})
    return req


def test_runs_at_the_limits_and_a_huge_summary_break_no_listing(clean_sdk):
    trackd.teardown()  # the SDK may still know the crowded daemon of the tests above
    channel = grpc.insecure_channel(f"unix:{clean_sdk.dirs.socket}", options=CLIENT_OPTIONS)
    try:
        runs = make_stub(channel, run_service_pb2, "RunService")
        for i in range(14):  # about 77 MiB together: more than one message may hold
            runs.CreateRun(_at_limits(f"fat{i:02d}"))
        runs.CreateRun(run_service_pb2.CreateRunRequest(
            ref=run_pb2.RunRef(entity="fat", project="limits", run_id="summary"), start_time=1.0))
    finally:
        channel.close()
    # A summary has no limit: two rows of 15 MiB values make it about 30 MiB.
    ref = {"entity": "fat", "project": "limits", "run_id": "summary"}
    channel, stream = raw_stub(clean_sdk)
    try:
        for seq in (1, 2):
            req = record_service_pb2.StreamRecordsRequest(run=run_pb2.RunRef(**ref))
            rec = req.records.add(seq=seq)
            rec.history.data.SetInParent()
            fill_map(rec.history.data, {f"big{seq}": str(seq) * (15 << 20)})
            assert [r.acked_seq for r in stream(iter([req.SerializeToString()]))][-1] == seq
    finally:
        channel.close()
    wait_for(lambda: Api().run("fat/limits/summary").history_rows == 2, timeout=60)

    channel, stub = _queries(clean_sdk)
    try:
        pages = _pages(stub, entity="fat", project="limits", page_size=1000)
        for page in pages:
            assert sum(r.ByteSize() for r in page) <= PAGE_BYTES or len(page) == 1
        listed = {r.ref.run_id: r for p in pages for r in p}
        assert len(listed) == 15
        big = listed["summary"]
        assert big.summary_omitted and not big.summary.keys
        assert big.ByteSize() < MAX_LISTED_RUN_BYTES
        assert listed["fat03"].notes == "n" * MAX_NOTES_BYTES and len(listed["fat03"].tags) == MAX_TAGS
        everyone = [r.ref.run_id for p in _pages(stub) for r in p]  # every entity's runs
        assert set(listed) <= set(everyone)
    finally:
        channel.close()
    found = {r.id: r for r in Api().runs("fat/limits")}
    assert len(found) == 15 and found["fat00"].config["blob"].startswith("ccc")
    assert len(found["summary"].summary["big1"]) == 15 << 20  # read whole, alone
    out = subprocess.run([sys.executable, "-m", "trackd._cli.main", "runs", "ls", "fat/limits"],
                         check=False, capture_output=True, text=True, timeout=120, env=_cli_env(clean_sdk))
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 16
