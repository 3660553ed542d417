"""Object stores that references point into: S3, Google Cloud Storage, Azure Blob Storage.

Each module fetches a reference's bytes (one request, or byte ranges at once through
:mod:`trackd.artifacts.ranged`) and lists what a prefix holds (for a directory reference
recorded without checksum); :mod:`gcs` and :mod:`azure` also resolve ``add_reference`` here,
in the user's process with the user's credentials. Each imports its client library only when
such a reference is used; a missing library is a :class:`~trackd.errors.ReferenceFailedError`
naming the extra to install.
"""

from __future__ import annotations

from dataclasses import dataclass

from trackd.errors import ReferenceFailedError


@dataclass(frozen=True)
class Listed:
    """One object under a prefix: its path below the prefix, its URI and size."""

    rel: str
    uri: str
    size: int | None


def failed(uri: str | None, why: str) -> ReferenceFailedError:
    return ReferenceFailedError(f"reference {uri}: {why}", reason="REFERENCE_FAILED")


def missing_library(uri: str | None, library: str, extra: str) -> ReferenceFailedError:
    return failed(uri, f"it needs the {library} library (pip install 'trackd[{extra}]')")
