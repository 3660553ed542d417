"""The media panels' index of a run's media values: bounded, evenly spread, the last value
always there; read once and then only the rows logged since."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from trackd_daemon.web import media_index
from trackd_daemon.web.media_index import KEEP, KeyValues, MediaIndex, media_paths


def image(step: int) -> dict[str, Any]:
    return {"_type": "image-file", "path": f"media/images/i_{step}.png"}


def test_values_stay_bounded_and_evenly_spread() -> None:
    kv = KeyValues()
    n = 10 * KEEP + 7
    for step in range(n):
        kv.add(step, step)
    assert len(kv.kept) <= KEEP
    steps = [s for s, _ in kv.kept]
    gaps = {b - a for a, b in zip(steps, steps[1:], strict=False)}
    assert gaps == {kv.stride} and steps[0] == 0  # even
    spread = kv.spread(500)
    assert len(spread) == 500 and spread[0] == (0, 0) and spread[-1] == (n - 1, n - 1)
    assert [s for s, _ in kv.spread(2)] == [0, n - 1]
    few = KeyValues()
    for step in (3, 9):
        few.add(step, "v")
    assert few.spread(500) == [(3, "v"), (9, "v")]


def test_media_paths_walk_nested_dicts_and_skip_other_values() -> None:
    row = {"_step": 1, "_private": image(0), "img": image(1), "loss": 0.5,
           "eval": {"pred": image(2), "deep": {"h": {"_type": "histogram", "values": []}}},
           "other": {"_type": "molecule-file", "path": "x"}}
    assert sorted(media_paths(row)) == [
        (("eval", "deep", "h"), "histogram"), (("eval", "pred"), "image-file"),
        (("img",), "image-file")]


@dataclass
class Run:
    pk: int = 1
    created_at: float = 1.0
    history_rows: int = 0
    last_step: int = -1


@dataclass
class Store:
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    reads: list[tuple[int | None, int]] = field(default_factory=list)

    async def scan_history(self, pk: int, min_step: int | None, max_step: int | None,
                           limit: int) -> list[tuple[int, dict[str, Any]]]:
        got = [(s, r) for s, r in self.rows if min_step is None or s >= min_step][:limit]
        self.reads.append((min_step, len(got)))
        return got


def test_a_run_is_read_once_then_only_its_new_rows(monkeypatch: Any) -> None:
    monkeypatch.setattr(media_index, "PAGE", 10)
    store = Store([(s, {"img": image(s), "loss": s}) for s in range(25)])
    index = MediaIndex(store)  # type: ignore[arg-type]
    run = Run(history_rows=25, last_step=24)

    async def main() -> None:
        got = await index.values(run, "img", 500)  # type: ignore[arg-type]
        assert got is not None and [s for s, _ in got] == list(range(25))
        assert store.reads == [(None, 10), (10, 10), (20, 5)]
        assert await index.values(run, "loss", 500) is None  # type: ignore[arg-type]
        assert store.reads[-1] == (25, 0)  # nothing new: one empty read
        store.rows += [(25, {"img": image(25)}), (26, {"loss": 1})]
        run.history_rows, run.last_step = 27, 26
        got = await index.values(run, "img", 3)  # type: ignore[arg-type]
        assert got is not None and [s for s, _ in got] == [0, 12, 25]
        assert store.reads[-1] == (25, 2)
        # Rewound: read again from the start.
        store.rows = [(0, {"img": image(0)}), (1, {"img": image(100)})]
        run.history_rows, run.last_step = 2, 1
        got = await index.values(run, "img", 500)  # type: ignore[arg-type]
        assert got is not None and [v["path"] for _, v in got] == [
            "media/images/i_0.png", "media/images/i_100.png"]

    asyncio.run(main())
