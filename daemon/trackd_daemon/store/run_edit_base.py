"""The run-editing part of the store interface (:class:`RunEditStore`; ``MetadataStore``
includes it): what a user changes about a stored run after the fact. Contract tests:
``tests/daemon/store/contract_run_edits.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from trackd_daemon.store.models import RunInfo, RunKey


class RunEditStore(Protocol):
    """Renaming, annotating, tagging, moving and deleting runs."""

    async def update_run_fields(self, key: RunKey, name: str | None = None,
                                notes: str | None = None,
                                tags: Sequence[str] | None = None) -> RunInfo:
        """Set the fields given (None: unchanged; tags are kept once each, in order) and
        return the run.

        :raises RunNotFoundError: no such run.
        """
        ...

    async def move_run(self, key: RunKey, project: str) -> RunInfo:
        """Move a run to ``project`` of its entity (made on first use), with everything it
        holds; returns it under its new key. Moving it to its own project changes nothing.

        :raises RunNotFoundError: no such run.
        :raises RunAlreadyExistsError: the project has a run with the id.
        :raises FailedPreconditionError: the run is running, or belongs to a sweep.
        """
        ...

    async def delete_run(self, key: RunKey) -> int:
        """Delete a run and everything it holds: history, summary, config, alerts, files,
        console log and system metrics. Artifact versions it logged stay, owned by no run.
        The blobs its files named stay recorded until the garbage collector finds nothing
        else holds them. Returns how many distinct blobs its files named.

        :raises RunNotFoundError: no such run.
        :raises FailedPreconditionError: the run is running.
        """
        ...
