"""The run-data part of the store interface (:class:`RunDataStore`; ``MetadataStore`` includes
it): a run's saved files (versions naming blobs), its console log (lines written with the run's
records by ``apply``, through ``RunChanges.console``) and its system-metrics samples. Contract
tests: ``tests/daemon/store/contract_run_data.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from trackd_daemon.store.artifact_models import BlobRecord
from trackd_daemon.store.run_data_models import (
    ConsoleLine,
    ConsolePart,
    FileSpec,
    RunFileInfo,
    RunFileVersion,
    SamplerSpec,
    SystemSample,
)
from trackd_daemon.store.series import Series


class RunDataStore(Protocol):
    """Run files, console log and system metrics."""

    #: The console log is split into parts of about this many bytes (on line boundaries); the
    #: daemon sets it from its configuration. A line is in the part that was last when it was
    #: first written.
    console_part_bytes: int

    # -- files ---------------------------------------------------------------------------------

    async def add_run_file(self, pk: int, name: str, blob: BlobRecord, reason: str,
                           stored_at: float, skip_same: bool = False) -> RunFileVersion | None:
        """Record ``blob`` (recording the blob too) as the next version of file ``name`` of
        run ``pk``. With ``skip_same``, nothing is added when the latest version holds the
        same bytes (None is returned)."""
        ...

    async def list_run_files(self, pk: int, names: Sequence[str] = (),
                             versions: bool = False) -> list[RunFileInfo]:
        """The run's files by name (only ``names`` when given), each with its latest version
        and count, and with ``versions`` every version oldest first."""
        ...

    async def get_run_file(self, pk: int, name: str, version: int = 0) -> RunFileVersion | None:
        """A version of a file (0: the latest), or None."""
        ...

    async def delete_run_files(self, pk: int, names: Sequence[str]) -> int:
        """Forget files ``names`` of run ``pk`` (every version, and their registrations);
        returns how many versions were deleted. Their blobs stay recorded until the garbage
        collector finds nothing else holds them."""
        ...

    async def put_file_specs(self, pk: int, specs: Sequence[FileSpec]) -> None:
        """Remember saved files' registrations (a name saved again replaces its spec)."""
        ...

    async def file_specs(self, pk: int) -> list[FileSpec]:
        """The registrations of run ``pk``'s saved files, by name."""
        ...

    # -- console -------------------------------------------------------------------------------

    async def console_parts(self, pk: int) -> list[ConsolePart]:
        """The parts of the run's console log, in order (none when it has no line)."""
        ...

    async def read_console(self, pk: int, offset: int, limit: int,
                           part: int | None = None) -> list[ConsoleLine]:
        """Lines in output order (part, first-written time, writer, stream, line number),
        skipping ``offset``; only those of ``part`` when given."""
        ...

    # -- system metrics ------------------------------------------------------------------------

    async def put_sampler(self, pk: int, spec: SamplerSpec) -> None:
        """Remember which process a run's writer is sampled from (replacing the writer's)."""
        ...

    async def samplers(self, pk: int) -> list[SamplerSpec]:
        """The processes run ``pk`` is sampled from, by writer."""
        ...

    async def append_system_metrics(self, samples: Sequence[SystemSample]) -> None:
        """Store samples (a sample of the same run, writer and time again is ignored, and so
        is a sample of a run that is not stored: one deleted since it was taken)."""
        ...

    async def scan_system_metrics(self, pk: int, offset: int, limit: int) -> list[SystemSample]:
        """Samples in time order (then by writer), skipping ``offset``."""
        ...

    async def count_system_metrics(self, pk: int) -> int:
        """How many samples the run has."""
        ...

    async def system_metric_keys(self, pk: int) -> dict[str, int]:
        """Chart keys of the run's samples and their point counts: ``system.cpu`` for the
        primary writer, ``system.cpu@<writer>`` for another writer of a shared run."""
        ...

    async def system_series(self, pk: int, keys: Sequence[str], x_key: str,
                            x_min: float | None, x_max: float | None,
                            buckets: int) -> dict[str, Series]:
        """Chart keys (as :meth:`system_metric_keys` names them) against ``_runtime`` or
        ``_timestamp`` (any other ``x_key`` means ``_runtime``), bucketed as
        :func:`trackd_daemon.store.series.bucketize` does.

        :raises InvalidArgumentError: ``buckets`` outside [2, 10000].
        """
        ...
