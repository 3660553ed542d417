"""The workspace API's cache of encoded series: least recently used out first, bounded by the
bytes of text it holds."""

from __future__ import annotations

from trackd_daemon.web.workspace_api import SeriesCache


def test_the_cache_keeps_the_recently_used_within_its_bound() -> None:
    cache = SeriesCache(limit=30)
    cache.put(("a",), "x" * 10)
    cache.put(("b",), "y" * 10)
    cache.put(("c",), "z" * 10)
    assert cache.get(("a",)) == "x" * 10  # a is now the most recently used
    cache.put(("d",), "w" * 10)  # over the bound: b, the least recently used, goes
    assert cache.get(("b",)) is None
    assert [cache.get((k,)) is not None for k in "acd"] == [True, True, True]
    cache.put(("a",), "v" * 5)  # replaced: its old size no longer counts
    cache.put(("e",), "u" * 5)
    assert all(cache.get((k,)) is not None for k in "acde")
    cache.put(("big",), "q" * 31)  # larger than the whole bound: nothing stays
    assert all(cache.get((k,)) is None for k in ("a", "c", "d", "e", "big"))
