"""The contract's chart part: ``history_keys`` and ``downsample_history``.

Part of :class:`tests.daemon.store.contract.MetadataStoreContract` (a backend runs it by running
the contract); kept in its own module to keep each file readable.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from trackd_daemon.errors import InvalidArgumentError
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import NewRun, RunChanges, RunKey
from trackd_daemon.store.series import Series


def _new(run_id: str) -> NewRun:
    return NewRun(key=RunKey("ent", "proj", run_id))


def _row(step: int, **values: Any) -> tuple[int, dict[str, Any]]:
    return step, {**values, "_step": step, "_runtime": step * 0.5, "_timestamp": 1000.0 + step}


async def _one(store: MetadataStore, pk: int, key: str, **kw: Any) -> Series:
    return (await store.downsample_history(pk, [key], **kw))[key]


@pytest.mark.anyio
class SeriesContract:
    """Charts: which values are series, and downsampling them (see ``store/series.py``)."""

    async def test_history_keys_are_the_numeric_values(self, store: MetadataStore) -> None:
        info = await store.create_run(_new("r1"))
        await store.apply([RunChanges(info.pk, 1, rows=[
            _row(0, loss=1.0, epoch=0, text="a", flag=True, none=None,
                 nested={"a": 1.5, "deep": {"b": 2}}, img={"_type": "image-file", "w": 3}),
            _row(1, loss=0.5, **{"val/acc": 0.25}),
        ])])
        assert await store.history_keys(info.pk) == {
            "loss": 2, "epoch": 1, "nested.a": 1, "nested.deep.b": 1, "val/acc": 1,
            "_runtime": 2, "_timestamp": 2,
        }
        empty = await store.create_run(_new("r2"))
        assert await store.history_keys(empty.pk) == {}

    async def test_few_points_come_back_whole(self, store: MetadataStore) -> None:
        info = await store.create_run(_new("r1"))
        await store.apply([RunChanges(info.pk, 1, rows=[_row(s, loss=10.0 - s) for s in range(10)])])
        s = await _one(store, info.pk, "loss")
        assert (s.key, s.total, s.sampled) == ("loss", 10, False)
        assert s.x == [float(i) for i in range(10)]
        assert s.last == s.min == s.max == [10.0 - i for i in range(10)]
        assert s.count == [1] * 10
        by_runtime = await _one(store, info.pk, "loss", x_key="_runtime")
        assert by_runtime.x == [i * 0.5 for i in range(10)]
        assert by_runtime.last == s.last
        zoomed = await _one(store, info.pk, "loss", x_min=2, x_max=4)
        assert (zoomed.x, zoomed.last) == ([2.0, 3.0, 4.0], [8.0, 7.0, 6.0])

    async def test_a_million_points_keep_their_spikes(self, store: MetadataStore) -> None:
        n = 200_000
        info = await store.create_run(_new("r1"))
        for start in range(0, n, 50_000):
            await store.apply([RunChanges(info.pk, start + 1, rows=[
                _row(s, loss=1.0 + (s % 7) * 1e-3, spike=(1e6 if s == 123_457 else 0.0)
                     if s % 2 else -1e6 if s == 4_242 else 0.0)
                for s in range(start, start + 50_000)])])
        got = await store.downsample_history(info.pk, ["loss", "spike"], buckets=1500)
        loss, spike = got["loss"], got["spike"]
        assert loss.sampled and loss.total == n and len(loss.x) <= 1500
        assert sum(loss.count) == n
        assert loss.x == sorted(loss.x) and loss.x[-1] == n - 1
        assert loss.last[-1] == 1.0 + ((n - 1) % 7) * 1e-3
        assert min(v for v in loss.min if v is not None) == 1.0
        assert max(v for v in loss.max if v is not None) == pytest.approx(1.006)
        assert max(v for v in spike.max if v is not None) == 1e6
        assert min(v for v in spike.min if v is not None) == -1e6
        # Zooming in on a spike gives every point of the range.
        near = await _one(store, info.pk, "spike", x_min=123_400, x_max=123_500, buckets=1500)
        assert not near.sampled and near.total == 101
        assert near.x == [float(s) for s in range(123_400, 123_501)]
        assert near.last[57] == 1e6 and near.last.count(1e6) == 1

    async def test_step_metric_axis_and_missing_points(self, store: MetadataStore) -> None:
        info = await store.create_run(_new("r1"))
        await store.apply([RunChanges(info.pk, 1, rows=[
            _row(0, loss=3.0), _row(1, loss=2.0, epoch=1), _row(2, loss=1.0, epoch=2),
            _row(3, acc=0.5, epoch=3),
        ])])
        s = await _one(store, info.pk, "loss", x_key="epoch")
        assert (s.x, s.last) == ([1.0, 2.0], [2.0, 1.0])  # only where both were logged
        assert (await _one(store, info.pk, "loss", x_key="never")).total == 0
        assert (await _one(store, info.pk, "unknown")).total == 0

    async def test_an_x_axis_that_goes_back_is_ordered(self, store: MetadataStore) -> None:
        info = await store.create_run(_new("r1"))
        await store.apply([RunChanges(info.pk, 1, rows=[
            _row(s, x=float(s % 5), y=float(s)) for s in range(10)])])
        s = await _one(store, info.pk, "y", x_key="x")
        assert s.x == sorted(s.x) and sorted(s.last) == [float(i) for i in range(10)]

    async def test_non_finite_values_are_none(self, store: MetadataStore) -> None:
        info = await store.create_run(_new("r1"))
        await store.apply([RunChanges(info.pk, 1, rows=[
            _row(0, v=math.nan), _row(1, v=math.inf), _row(2, v=-math.inf), _row(3, v=1.0)])])
        s = await _one(store, info.pk, "v")
        assert s.last == [None, None, None, 1.0]
        many = await store.create_run(_new("r2"))
        await store.apply([RunChanges(many.pk, 1, rows=[
            _row(i, v=math.nan if i % 2 else float(i)) for i in range(100)])])
        b = await _one(store, many.pk, "v", buckets=10)
        assert b.sampled and all(v is not None for v in b.min) and max(b.max) == 98.0  # type: ignore[type-var]

    async def test_new_rows_and_rewinds_are_followed(self, store: MetadataStore) -> None:
        info = await store.create_run(_new("r1"))
        await store.apply([RunChanges(info.pk, 1, rows=[_row(s, v=float(s)) for s in range(5)])])
        assert (await _one(store, info.pk, "v")).last == [0.0, 1.0, 2.0, 3.0, 4.0]
        await store.apply([RunChanges(info.pk, 2, rows=[_row(s, v=float(s)) for s in range(5, 8)])])
        assert (await _one(store, info.pk, "v")).total == 8
        assert (await store.history_keys(info.pk))["v"] == 8
        # Rewind to step 2, then log steps 3..7 again with other values.
        await store.apply([RunChanges(info.pk, 3, rewind_after=2,
                                      rows=[_row(s, v=-float(s)) for s in range(3, 8)])])
        assert (await _one(store, info.pk, "v")).last == [0.0, 1.0, 2.0, -3.0, -4.0, -5.0,
                                                          -6.0, -7.0]

    async def test_series_survive_reopening(
        self, open_store: Callable[[], Awaitable[MetadataStore]]
    ) -> None:
        first = await open_store()
        try:
            info = await first.create_run(_new("r1"))
            await first.apply([RunChanges(info.pk, 1, rows=[_row(s, v=float(s)) for s in range(3)])])
            assert (await _one(first, info.pk, "v")).total == 3
        finally:
            await first.aclose()
        second = await open_store()
        try:
            await second.apply([RunChanges(info.pk, 2, rows=[_row(3, v=3.0)])])
            assert (await _one(second, info.pk, "v")).last == [0.0, 1.0, 2.0, 3.0]
        finally:
            await second.aclose()

    async def test_bad_requests_are_refused(self, store: MetadataStore) -> None:
        info = await store.create_run(_new("r1"))
        for buckets in (0, 1, 10_001):
            with pytest.raises(InvalidArgumentError, match="buckets"):
                await store.downsample_history(info.pk, ["v"], buckets=buckets)
        with pytest.raises(InvalidArgumentError, match="non-empty"):
            await store.downsample_history(info.pk, [""])
        with pytest.raises(InvalidArgumentError, match="non-empty"):
            await store.downsample_history(info.pk, ["v"], x_key="")
