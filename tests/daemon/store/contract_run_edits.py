"""The run-editing part of the store contract (``trackd_daemon/store/run_edit_base.py``):
renaming, tagging, moving and deleting runs. Part of
:class:`tests.daemon.store.contract.MetadataStoreContract`.
"""

from __future__ import annotations

import pytest

from tests.daemon.store.contract_artifacts import blob, new, put, stored
from trackd_daemon.errors import (
    FailedPreconditionError,
    RunAlreadyExistsError,
    RunNotFoundError,
)
from trackd_daemon.store.artifact_models import USED
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import FINISHED, NewAlert, NewRun, RunChanges, RunInfo, RunKey
from trackd_daemon.store.run_data_models import ConsoleLine, FileSpec, SamplerSpec, SystemSample


async def _finished(store: MetadataStore, run_id: str = "r1", project: str = "proj",
                    **kw: object) -> RunInfo:
    info = await store.create_run(NewRun(key=RunKey("ent", project, run_id), **kw))  # type: ignore[arg-type]
    await store.apply([RunChanges(info.pk, 1, state=FINISHED, finished_at=5.0)])
    return info


@pytest.mark.anyio
class RunEditContract:
    """A stored run's fields change; it moves between projects; it goes with what it holds."""

    async def test_fields_change_and_read_back(self, store: MetadataStore) -> None:
        info = await _finished(store, name="first", notes="n", tags=["a"])
        got = await store.update_run_fields(info.key, name="second", tags=["b", "c", "b"])
        assert (got.name, got.notes, got.tags) == ("second", "n", ["b", "c"])
        got = await store.update_run_fields(info.key, notes="", tags=[])
        assert (got.name, got.notes, got.tags) == ("second", "", [])
        assert (await store.get_run(info.key)).name == "second"
        with pytest.raises(RunNotFoundError):
            await store.update_run_fields(RunKey("ent", "proj", "nope"), name="x")

    async def test_a_running_run_can_be_renamed(self, store: MetadataStore) -> None:
        info = await store.create_run(NewRun(key=RunKey("ent", "proj", "live")))
        assert (await store.update_run_fields(info.key, name="renamed")).name == "renamed"

    async def test_a_moved_run_keeps_its_data_under_the_new_key(
            self, store: MetadataStore) -> None:
        info = await _finished(store, config={"lr": 0.1})
        await store.apply([RunChanges(info.pk, 2, rows=[(0, {"x": 1.0})], summary={"x": 1.0})])
        await store.add_run_file(info.pk, "f", blob(b"f"), "now", 1.0)
        moved = await store.move_run(info.key, "other")
        assert moved.key == RunKey("ent", "other", "r1") and moved.pk == info.pk
        assert (moved.config, moved.summary) == ({"lr": 0.1}, {"x": 1.0})
        assert await store.scan_history(moved.pk, None, None, 10) == [(0, {"x": 1.0})]
        assert [f.latest.name for f in await store.list_run_files(moved.pk)] == ["f"]
        with pytest.raises(RunNotFoundError):
            await store.get_run(info.key)
        assert [r.key for r in await store.list_runs("ent", "other")] == [moved.key]
        assert await store.list_runs("ent", "proj") == []
        assert (await store.move_run(moved.key, "other")).key == moved.key  # no change

    async def test_a_move_is_refused_onto_an_id_a_running_run_or_a_sweep_run(
            self, store: MetadataStore) -> None:
        info = await _finished(store)
        await _finished(store, project="other")
        with pytest.raises(RunAlreadyExistsError):
            await store.move_run(info.key, "other")
        live = await store.create_run(NewRun(key=RunKey("ent", "proj", "live")))
        with pytest.raises(FailedPreconditionError, match="running"):
            await store.move_run(live.key, "third")
        swept = await _finished(store, "swept", sweep_id="s1")
        with pytest.raises(FailedPreconditionError, match="sweep"):
            await store.move_run(swept.key, "third")
        with pytest.raises(RunNotFoundError):
            await store.move_run(RunKey("ent", "proj", "nope"), "third")
        assert (await store.get_run(info.key)).key == info.key  # nothing moved

    async def test_a_deleted_run_goes_with_everything_it_holds(
            self, store: MetadataStore) -> None:
        info = await _finished(store)
        pk = info.pk
        await store.apply([RunChanges(
            pk, 2, rows=[(0, {"x": 1.0}), (1, {"x": 2.0})], summary={"x": 2.0},
            alerts=[NewAlert(1, "t", "text", "INFO", 1.0, 0, False)],
            console=[ConsoleLine(1, 0, 1.0, "hello", "w")])])
        await store.add_run_file(pk, "f", blob(b"mine"), "now", 1.0)
        await store.put_file_specs(pk, [FileSpec("f", "/x/f", "live", 1, 2)])
        await store.put_sampler(pk, SamplerSpec("w", 1, 2.0, 1, True))
        await store.append_system_metrics([SystemSample(pk, "w", 1.0, {"cpu": 5.0})])
        assert await store.history_keys(pk) == {"x": 2}
        assert await store.delete_run(info.key) == 1
        with pytest.raises(RunNotFoundError):
            await store.get_run(info.key)
        assert await store.scan_history(pk, None, None, 10) == []
        assert await store.list_run_files(pk) == []
        assert await store.file_specs(pk) == []
        assert await store.read_console(pk, 0, 10) == []
        assert await store.console_parts(pk) == []
        assert await store.samplers(pk) == []
        assert await store.count_system_metrics(pk) == 0
        assert await store.list_alerts("ent", "proj") == []
        assert await store.history_keys(pk) == {}
        # A sample taken just before the delete, stored after it, is dropped.
        await store.append_system_metrics([SystemSample(pk, "w", 2.0, {"cpu": 6.0})])
        assert await store.count_system_metrics(pk) == 0
        with pytest.raises(RunNotFoundError):
            await store.delete_run(info.key)

    async def test_a_deleted_run_lets_go_of_blobs_nothing_else_holds(
            self, store: MetadataStore) -> None:
        info = await _finished(store)
        other = await _finished(store, "r2")
        mine, shared, archived = blob(b"mine"), blob(b"shared"), blob(b"archived")
        await store.add_run_file(info.pk, "a", mine, "now", 1.0)
        await store.add_run_file(info.pk, "b", shared, "now", 1.0)
        await store.add_run_file(info.pk, "c", archived, "now", 1.0)
        await store.add_run_file(other.pk, "b", shared, "now", 1.0)
        await put(store, b"archived")
        logged = (await store.log_version(new(run=info.key), [stored("c", b"archived")])).version
        await store.record_use(logged.id, other.key, USED)
        assert await store.delete_run(info.key) == 3
        assert {b.key for b in await store.unreferenced_blobs(2e9)} == {mine.key}
        assert await store.forget_blobs([mine.key, shared.key, archived.key]) == [mine.key]
        kept = await store.get_version(logged.id)  # the artifact stays, owned by no run
        assert kept.logged_by is None and kept.id == logged.id
        assert await store.lineage(logged.id) == (None, [other.key])

    async def test_a_running_run_cannot_be_deleted(self, store: MetadataStore) -> None:
        live = await store.create_run(NewRun(key=RunKey("ent", "proj", "live")))
        with pytest.raises(FailedPreconditionError, match="running"):
            await store.delete_run(live.key)
        assert (await store.get_run(live.key)).pk == live.pk
