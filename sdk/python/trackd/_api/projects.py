"""``Api().projects()`` and ``Api().project(name)``: the projects the daemon holds runs of
(W&B's public ``Project``)."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from trackd._base.terminal import visible
from trackd._transport.dashboard import link
from trackd._transport.setup import connect

if TYPE_CHECKING:
    from trackd._api.api import Api
    from trackd._api.runs import Runs
    from trackd._api.sweeps import Sweep
    from trackd.artifacts.api import ArtifactType


class Project:
    """A project: ``entity/name`` and the runs in it that the caller may read.

    ``run_count``, ``running``, ``created_at`` and ``updated_at`` count only those runs; a
    project with none of them (or none at all) reads as empty, as W&B's ``api.project(name)``
    is not checked for existence.
    """

    def __init__(self, api: Api, entity: str, name: str, pb: Any = None) -> None:
        self._api = api
        self.entity: str = entity
        self.name: str = name
        #: Runs in it the caller may read, and how many of them are running.
        self.run_count: int = int(pb.run_count) if pb is not None else 0
        self.running: int = int(pb.running) if pb is not None else 0
        #: ISO 8601 (UTC) times of its first run and of its latest update; None without runs.
        self.created_at: str | None = _iso(pb.created_at) if pb is not None else None
        self.updated_at: str | None = _iso(pb.updated_at) if pb is not None else None

    @property
    def id(self) -> str:
        """``entity/name`` (a local daemon has no other project id)."""
        return f"{self.entity}/{self.name}"

    @property
    def path(self) -> list[str]:
        """``[entity, name]``."""
        return [self.entity, self.name]

    @property
    def url(self) -> str | None:
        """The project's runs table in the daemon's dashboard, a URL with no credential in it
        (None when the daemon serves no dashboard)."""
        return link(connect(), self.entity, self.name)

    def runs(self, filters: dict[str, Any] | None = None, order: str = "-created_at",
             per_page: int = 50) -> Runs:
        """The project's runs, as :meth:`trackd.Api.runs` gives them."""
        return self._api.runs(f"{self.entity}/{self.name}", filters, order, per_page)

    def sweeps(self) -> list[Sweep]:
        """The project's sweeps, newest first (W&B's ``Project.sweeps()``)."""
        return self._api._project_sweeps(self.entity, self.name)

    def artifacts_types(self, per_page: int = 50) -> list[ArtifactType]:
        """The artifact types logged in this project (``per_page``: accepted; all are read)."""
        return self._api.artifact_types(f"{self.entity}/{self.name}")

    def __repr__(self) -> str:
        return visible(f"<Project {self.entity}/{self.name} ({self.run_count} runs)>")


def list_projects(api: Api, entity: str, project: str = "") -> list[Project]:
    """The projects of ``entity`` (empty: every entity) holding runs the caller may read,
    most recently updated first; with ``project``, that one only."""
    # not loaded by `import trackd`: protobuf messages
    from trackd.v1 import query_service_pb2

    conn = connect()
    resp = conn.unary(conn.queries.ListProjects, query_service_pb2.ListProjectsRequest(
        entity=entity, project=project), timeout=api._timeout)
    return [Project(api, p.entity, p.name, p) for p in resp.projects]


def _iso(ts: float) -> str | None:
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None
