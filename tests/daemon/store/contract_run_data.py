"""The run-data part of the store contract: run files, console logs, system metrics
(``trackd_daemon/store/run_data_base.py``)."""

from __future__ import annotations

import pytest

from trackd_daemon.store.artifact_models import BlobRecord
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import NewRun, RunChanges, RunKey
from trackd_daemon.store.run_data_models import (
    STDERR,
    STDOUT,
    ConsoleLine,
    FileSpec,
    SamplerSpec,
    SystemSample,
)

A = BlobRecord("a" * 64, "md5a==", 3)
B = BlobRecord("b" * 64, "md5b==", 5)


async def _run(store: MetadataStore, run_id: str = "r1", start: float = 1000.0) -> int:
    info = await store.create_run(NewRun(key=RunKey("ent", "proj", run_id), start_time=start))
    return info.pk


@pytest.mark.anyio
class RunDataContract:
    """Run files are versioned, console lines are replaced by number, samples read back."""

    async def test_file_versions_count_up_and_keep_every_store(self, store: MetadataStore) -> None:
        pk = await _run(store)
        v1 = await store.add_run_file(pk, "model.pt", A, "live", 1.0)
        v2 = await store.add_run_file(pk, "model.pt", B, "change", 2.0)
        v3 = await store.add_run_file(pk, "model.pt", B, "finish", 3.0)
        assert v1 is not None and v2 is not None and v3 is not None
        assert (v1.version, v2.version, v3.version) == (1, 2, 3)
        assert await store.add_run_file(pk, "model.pt", B, "change", 4.0, skip_same=True) is None
        assert (await store.add_run_file(pk, "other.txt", A, "now", 5.0)).version == 1  # type: ignore[union-attr]
        files = await store.list_run_files(pk, versions=True)
        assert [f.latest.name for f in files] == ["model.pt", "other.txt"]
        model = files[0]
        assert (model.versions, model.latest.key, model.latest.reason) == (3, B.key, "finish")
        assert [v.reason for v in model.history] == ["live", "change", "finish"]
        assert (await store.list_run_files(pk, ["other.txt"]))[0].history == []
        got = await store.get_run_file(pk, "model.pt", 1)
        assert got is not None and (got.key, got.size, got.md5) == (A.key, 3, "md5a==")
        assert (await store.get_run_file(pk, "model.pt")).version == 3  # type: ignore[union-attr]
        assert await store.get_run_file(pk, "missing") is None
        assert await store.get_run_file(pk, "model.pt", 9) is None
        assert await store.get_blob(A.key) == A  # the blob is recorded with the version

    async def test_run_files_hold_their_blobs(self, store: MetadataStore) -> None:
        pk = await _run(store)
        await store.add_run_file(pk, "f", A, "now", 1.0)
        assert await store.referenced_blobs([A.key, B.key]) == {A.key}
        assert A.key not in {b.key for b in await store.unreferenced_blobs(2e9)}
        assert await store.forget_blobs([A.key]) == []

    async def test_deleted_files_let_go_of_their_blobs(self, store: MetadataStore) -> None:
        pk, other = await _run(store), await _run(store, "r2")
        await store.add_run_file(pk, "f", A, "now", 1.0)
        await store.add_run_file(pk, "f", B, "change", 2.0)
        await store.add_run_file(pk, "g", B, "now", 3.0)
        await store.add_run_file(other, "f", B, "now", 4.0)
        await store.put_file_specs(pk, [FileSpec("f", "/x/f", "live", 1, 2)])
        assert await store.delete_run_files(pk, ["f", "f", "missing"]) == 2  # every version
        assert [f.latest.name for f in await store.list_run_files(pk)] == ["g"]
        assert await store.file_specs(pk) == []
        assert {b.key for b in await store.unreferenced_blobs(2e9)} == {A.key}
        assert await store.delete_run_files(pk, ["g"]) == 1
        assert await store.referenced_blobs([A.key, B.key]) == {B.key}  # the other run's
        assert await store.forget_blobs([A.key, B.key]) == [A.key]

    async def test_file_specs_replace_by_name(self, store: MetadataStore) -> None:
        pk = await _run(store)
        await store.put_file_specs(pk, [FileSpec("b", "/x/b", "end", 1, 2),
                                        FileSpec("a", "/x/a", "live", 1, 2)])
        await store.put_file_specs(pk, [FileSpec("b", "/y/b", "live", 1, 2)])
        assert await store.file_specs(pk) == [FileSpec("a", "/x/a", "live", 1, 2),
                                              FileSpec("b", "/y/b", "live", 1, 2)]
        assert await store.file_specs(await _run(store, "r2")) == []

    async def test_console_lines_are_replaced_and_ordered(self, store: MetadataStore) -> None:
        pk = await _run(store)
        await store.apply([RunChanges(pk, 1, console=[
            ConsoleLine(STDOUT, 0, 10.0, "epoch 1"),
            ConsoleLine(STDERR, 0, 10.5, "  0%|"),
            ConsoleLine(STDOUT, 1, 11.0, "epoch 2"),
        ])])
        # A progress bar redrawn: the same line again replaces it (its time stays the first).
        await store.apply([RunChanges(pk, 2, console=[ConsoleLine(STDERR, 0, 12.0, "100%|###|")])])
        await store.apply([RunChanges(pk, 2, console=[ConsoleLine(STDERR, 0, 12.0, "100%|###|")])])
        lines = await store.read_console(pk, 0, 100)
        assert [(ln.stream, ln.text, ln.timestamp) for ln in lines] == [
            (STDOUT, "epoch 1", 10.0), (STDERR, "100%|###|", 10.5), (STDOUT, "epoch 2", 11.0)]
        assert [ln.text for ln in await store.read_console(pk, 1, 1)] == ["100%|###|"]
        parts = await store.console_parts(pk)
        assert [(p.part, p.lines) for p in parts] == [(0, 3)]
        assert parts[0].bytes == sum(len(t.encode()) + 1 for t in ("epoch 1", "100%|###|",
                                                                    "epoch 2"))
        assert await store.console_parts(await _run(store, "r2")) == []

    async def test_console_log_splits_into_parts(self, store: MetadataStore) -> None:
        pk = await _run(store)
        store.console_part_bytes = 100
        try:
            await store.apply([RunChanges(pk, 1, console=[
                ConsoleLine(STDOUT, i, 10.0 + i, "x" * 39) for i in range(7)])])
        finally:
            store.console_part_bytes = 10 << 20
        parts = await store.console_parts(pk)
        assert [(p.part, p.lines, p.bytes) for p in parts] == [(0, 2, 80), (1, 2, 80), (2, 2, 80),
                                                               (3, 1, 40)]
        assert [ln.line for ln in await store.read_console(pk, 0, 10, part=1)] == [2, 3]

    async def test_system_metrics_read_back_as_samples_and_series(
            self, store: MetadataStore) -> None:
        pk = await _run(store, start=1000.0)
        await store.append_system_metrics([
            SystemSample(pk, "", 1001.0, {"system.cpu": 10.0, "system.memory": 50}),
            SystemSample(pk, "w2", 1001.5, {"system.cpu": 30.0}),
            SystemSample(pk, "", 1002.0, {"system.cpu": 20.0, "system.memory": 51}),
        ])
        await store.append_system_metrics([SystemSample(pk, "", 1002.0, {"system.cpu": 99.0})])
        assert await store.count_system_metrics(pk) == 3
        got = await store.scan_system_metrics(pk, 0, 10)
        assert [(s.writer, s.timestamp, s.values["system.cpu"]) for s in got] == [
            ("", 1001.0, 10.0), ("w2", 1001.5, 30.0), ("", 1002.0, 20.0)]
        assert [s.timestamp for s in await store.scan_system_metrics(pk, 1, 1)] == [1001.5]
        assert await store.system_metric_keys(pk) == {
            "system.cpu": 2, "system.cpu@w2": 1, "system.memory": 2}
        series = await store.system_series(pk, ["system.cpu", "system.cpu@w2", "nope"],
                                           "_runtime", None, None, 100)
        assert series["system.cpu"].x == [1.0, 2.0]
        assert series["system.cpu"].last == [10.0, 20.0]
        assert series["system.cpu@w2"].x == [1.5]
        assert series["nope"].total == 0
        by_time = await store.system_series(pk, ["system.cpu"], "_timestamp", 1001.5, None, 100)
        assert by_time["system.cpu"].x == [1002.0]

    async def test_samplers_replace_by_writer(self, store: MetadataStore) -> None:
        pk = await _run(store)
        await store.put_sampler(pk, SamplerSpec("", 100, 15.0, 1000, False))
        await store.put_sampler(pk, SamplerSpec("w2", 200, 1.0, 1000, True))
        await store.put_sampler(pk, SamplerSpec("", 101, 5.0, 1000, False))
        assert await store.samplers(pk) == [SamplerSpec("", 101, 5.0, 1000, False),
                                            SamplerSpec("w2", 200, 1.0, 1000, True)]
        assert await store.samplers(await _run(store, "r2")) == []
