"""The workspace part of the store contract (``trackd_daemon/store/workspace_base.py``): a
project's saved dashboard views."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest

from trackd_daemon.errors import InvalidArgumentError, WorkspaceViewTooLargeError
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.models import NewRun, RunKey
from trackd_daemon.store.workspace_base import MAX_VIEW_BYTES, MAX_VIEWS


@pytest.mark.anyio
class WorkspaceContract:
    """Views are saved whole per project and name, replaced, listed, deleted and bounded."""

    async def test_put_get_replace(self, store: MetadataStore) -> None:
        await store.create_run(NewRun(key=RunKey("ent", "proj", "r1")))
        spec = json.dumps({"panels": [{"kind": "line", "key": "loss"}], "top": 20, "é": "ü"})
        saved = await store.put_workspace_view("ent", "proj", "default", spec, 10.0)
        assert (saved.entity, saved.project, saved.name, saved.spec, saved.updated_at) == (
            "ent", "proj", "default", spec, 10.0)
        assert await store.get_workspace_view("ent", "proj", "default") == saved
        again = await store.put_workspace_view("ent", "proj", "default", '{"top": 5}', 11.0)
        assert await store.get_workspace_view("ent", "proj", "default") == again
        assert again.spec == '{"top": 5}'
        assert [v.name for v in await store.list_workspace_views("ent", "proj")] == ["default"]

    async def test_views_are_per_project_and_listed_by_name(
            self, store: MetadataStore) -> None:
        await store.put_workspace_view("ent", "proj", "zeta", "{}", 1.0)
        await store.put_workspace_view("ent", "proj", "alpha", '{"a": 1}', 2.0)
        await store.put_workspace_view("ent", "other", "alpha", '{"b": 2}', 3.0)  # no runs yet
        assert [v.name for v in await store.list_workspace_views("ent", "proj")] == [
            "alpha", "zeta"]
        got = await store.get_workspace_view("ent", "other", "alpha")
        assert got is not None and got.spec == '{"b": 2}'
        assert await store.get_workspace_view("ent", "proj", "nope") is None
        assert await store.get_workspace_view("ent", "nope", "alpha") is None
        assert await store.list_workspace_views("nope", "proj") == []

    async def test_delete(self, store: MetadataStore) -> None:
        await store.put_workspace_view("ent", "proj", "v", "{}", 1.0)
        assert await store.delete_workspace_view("ent", "proj", "v") is True
        assert await store.get_workspace_view("ent", "proj", "v") is None
        assert await store.delete_workspace_view("ent", "proj", "v") is False
        assert await store.delete_workspace_view("ent", "nope", "v") is False

    async def test_views_survive_reopening(
            self, store: MetadataStore, open_store: Callable[[], Awaitable[MetadataStore]]
    ) -> None:
        await store.put_workspace_view("ent", "proj", "kept", '{"x": 1}', 5.0)
        again = await open_store()  # what a restarted daemon reads
        try:
            got = await again.get_workspace_view("ent", "proj", "kept")
        finally:
            await again.aclose()
        assert got is not None and got.spec == '{"x": 1}'

    @pytest.mark.parametrize("spec", ["not json", "[1, 2]", '"text"', "", "null"])
    async def test_a_view_is_a_json_object(self, store: MetadataStore, spec: str) -> None:
        with pytest.raises(InvalidArgumentError):
            await store.put_workspace_view("ent", "proj", "v", spec, 1.0)
        assert await store.get_workspace_view("ent", "proj", "v") is None

    @pytest.mark.parametrize("name", ["", "   ", "n" * 101])
    async def test_a_view_has_a_name(self, store: MetadataStore, name: str) -> None:
        with pytest.raises(InvalidArgumentError):
            await store.put_workspace_view("ent", "proj", name, "{}", 1.0)

    async def test_size_is_bounded(self, store: MetadataStore) -> None:
        fits = json.dumps({"x": "a" * (MAX_VIEW_BYTES - 20)})
        assert len(fits.encode()) <= MAX_VIEW_BYTES
        await store.put_workspace_view("ent", "proj", "big", fits, 1.0)
        too_big = json.dumps({"x": "é" * MAX_VIEW_BYTES})
        with pytest.raises(WorkspaceViewTooLargeError) as err:
            await store.put_workspace_view("ent", "proj", "big", too_big, 2.0)
        assert isinstance(err.value, InvalidArgumentError)
        assert err.value.limit == MAX_VIEW_BYTES and err.value.size == len(too_big.encode())
        got = await store.get_workspace_view("ent", "proj", "big")
        assert got is not None and got.spec == fits

    async def test_views_per_project_are_bounded(self, store: MetadataStore) -> None:
        for i in range(MAX_VIEWS):
            await store.put_workspace_view("ent", "proj", f"v{i:03d}", "{}", 1.0)
        with pytest.raises(InvalidArgumentError, match="delete one"):
            await store.put_workspace_view("ent", "proj", "one-more", "{}", 1.0)
        await store.put_workspace_view("ent", "proj", "v000", '{"replaced": true}', 2.0)
        await store.put_workspace_view("ent", "other", "v", "{}", 1.0)
        assert len(await store.list_workspace_views("ent", "proj")) == MAX_VIEWS
