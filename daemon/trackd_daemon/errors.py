"""Domain errors of the daemon. Each carries its gRPC status code and a stable reason (the
names of ``trackd.v1.ErrorReason``); ``trackd_daemon.rpc.errors`` is the one place that turns
them into gRPC statuses.

    TrackdError
    ├── InvalidArgumentError      INVALID_ARGUMENT   INVALID_ARGUMENT
    │   └── InvalidRecordError    INVALID_ARGUMENT   INVALID_ARGUMENT
    ├── RunNotFoundError          NOT_FOUND          RUN_NOT_FOUND
    ├── RunAlreadyExistsError     ALREADY_EXISTS     RUN_ALREADY_EXISTS
    ├── RunFinishedError          FAILED_PRECONDITION RUN_FINISHED
    ├── FailedPreconditionError   FAILED_PRECONDITION FAILED_PRECONDITION
    ├── SequenceGapError          ABORTED            SEQUENCE_GAP
    ├── ShuttingDownError         UNAVAILABLE        SHUTTING_DOWN
    ├── StoreUnavailableError     UNAVAILABLE        INTERNAL
    ├── ResourceExhaustedError    RESOURCE_EXHAUSTED RESOURCE_EXHAUSTED
    ├── BlobStoreUnavailableError UNAVAILABLE        INTERNAL
    ├── PermissionDeniedError     PERMISSION_DENIED  PERMISSION_DENIED
    │   └── PathUnreadableError   PERMISSION_DENIED  ARTIFACT_PATH_UNREADABLE
    ├── UnauthenticatedError      UNAUTHENTICATED    UNAUTHENTICATED
    ├── ArtifactNotFoundError     NOT_FOUND          ARTIFACT_NOT_FOUND
    ├── ArtifactHasAliasesError   FAILED_PRECONDITION ARTIFACT_HAS_ALIASES
    ├── BlobNotFoundError         FAILED_PRECONDITION BLOB_NOT_FOUND
    ├── UploadMismatchError       INVALID_ARGUMENT   UPLOAD_MISMATCH
    ├── ReferenceNotSupportedError UNIMPLEMENTED     REFERENCE_NOT_SUPPORTED
    ├── ReferenceFailedError      FAILED_PRECONDITION REFERENCE_FAILED
    ├── RunFileNotFoundError      NOT_FOUND          RUN_FILE_NOT_FOUND
    ├── SweepNotFoundError        NOT_FOUND          SWEEP_NOT_FOUND
    ├── SweepConfigError          INVALID_ARGUMENT   SWEEP_CONFIG_INVALID
    └── WorkspaceViewTooLargeError INVALID_ARGUMENT  INVALID_ARGUMENT (an InvalidArgumentError)
"""

from __future__ import annotations

import json

import grpc


class TrackdError(Exception):
    """Base of the daemon's domain errors."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    reason: str = "INTERNAL"

    def __init__(self, message: str, **metadata: str) -> None:
        super().__init__(message)
        self.message = message
        self.metadata = {k: str(v) for k, v in metadata.items()}


class InvalidArgumentError(TrackdError):
    """A request is malformed."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "INVALID_ARGUMENT"


class InvalidRecordError(InvalidArgumentError):
    """A streamed record is malformed or of an unknown kind."""


class RunNotFoundError(TrackdError):
    """No run has this (entity, project, run_id)."""

    code = grpc.StatusCode.NOT_FOUND
    reason = "RUN_NOT_FOUND"


class RunAlreadyExistsError(TrackdError):
    """A run with this id exists already."""

    code = grpc.StatusCode.ALREADY_EXISTS
    reason = "RUN_ALREADY_EXISTS"


class RunFinishedError(TrackdError):
    """The run is finished and accepts no more records."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "RUN_FINISHED"


class FailedPreconditionError(TrackdError):
    """The request conflicts with the current state."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "FAILED_PRECONDITION"


class SequenceGapError(TrackdError):
    """Records skip a sequence number; the client must resend from acked_seq + 1."""

    code = grpc.StatusCode.ABORTED
    reason = "SEQUENCE_GAP"


class ShuttingDownError(TrackdError):
    """The daemon is draining; retry against the next daemon."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "SHUTTING_DOWN"


class StoreUnavailableError(TrackdError):
    """A shared store (PostgreSQL) cannot be reached: the call may succeed later. Its reason
    is INTERNAL, not one of a daemon going away, so clients do not switch daemons over it."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "INTERNAL"


class ResourceExhaustedError(TrackdError):
    """A bounded queue or the disk is full."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "RESOURCE_EXHAUSTED"


class BlobStoreUnavailableError(TrackdError):
    """The blob store (a bucket) did not answer for the store's whole retry time. (Its reason
    is the generic one until ``trackd.v1.ErrorReason`` has a name for it.)"""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "INTERNAL"


class RunEndingError(TrackdError):
    """A stream attached to a run at the moment the daemon marks it crashed (no stream for its
    grace period): the client retries, and re-attaching runs the run again. (Its reason is the
    generic one: a client treats it as any passing unavailability.)"""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "INTERNAL"


class PermissionDeniedError(TrackdError):
    """The caller's uid may not read or write what it asked for."""

    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "PERMISSION_DENIED"


class UnauthenticatedError(TrackdError):
    """A request over TCP without a valid bearer token."""

    code = grpc.StatusCode.UNAUTHENTICATED
    reason = "UNAUTHENTICATED"


class PathUnreadableError(PermissionDeniedError):
    """The caller may not read a local path it asked the daemon to read; it uploads the bytes
    (ArtifactService.UploadFile) instead."""

    reason = "ARTIFACT_PATH_UNREADABLE"


class ArtifactNotFoundError(TrackdError):
    """No artifact version (or link) matches."""

    code = grpc.StatusCode.NOT_FOUND
    reason = "ARTIFACT_NOT_FOUND"


class ArtifactHasAliasesError(TrackdError):
    """Deleting a version that has aliases without delete_aliases."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "ARTIFACT_HAS_ALIASES"


class BlobNotFoundError(TrackdError):
    """A manifest entry names bytes the daemon does not hold or the caller may not use."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "BLOB_NOT_FOUND"


class UploadMismatchError(TrackdError):
    """Uploaded bytes disagree with the size or MD5 their header announced."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "UPLOAD_MISMATCH"


class ReferenceNotSupportedError(TrackdError):
    """A reference scheme the daemon cannot resolve yet."""

    code = grpc.StatusCode.UNIMPLEMENTED
    reason = "REFERENCE_NOT_SUPPORTED"


class ReferenceFailedError(TrackdError):
    """A reference could not be resolved (unreachable, missing, denied, no client library)."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "REFERENCE_FAILED"


class RunFileNotFoundError(TrackdError):
    """The run has no file of that name (or no such version of it)."""

    code = grpc.StatusCode.NOT_FOUND
    reason = "RUN_FILE_NOT_FOUND"


class SweepNotFoundError(TrackdError):
    """No sweep has this id."""

    code = grpc.StatusCode.NOT_FOUND
    reason = "SWEEP_NOT_FOUND"


class SweepConfigError(InvalidArgumentError):
    """A sweep configuration breaks the schema. ``violations`` lists every one, each naming
    its field (sent as JSON in the metadata "violations")."""

    reason = "SWEEP_CONFIG_INVALID"

    def __init__(self, violations: list[str]) -> None:
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(f"invalid sweep configuration ({len(violations)} "
                         f"violation{'s' if len(violations) != 1 else ''}):\n{lines}",
                         violations=json.dumps(violations))
        self.violations = list(violations)


class WorkspaceViewTooLargeError(InvalidArgumentError):
    """A dashboard workspace view (saved layout) over the store's size limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"a workspace view holds at most {limit} bytes, got {size}",
                         size=str(size), limit=str(limit))
        self.size = size
        self.limit = limit
