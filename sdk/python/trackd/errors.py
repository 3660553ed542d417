"""Public exceptions of the trackd SDK. Names match W&B's, so ``except wandb.Error`` code works.

    Error
    ├── UsageError            the API was called wrongly (bad argument, log after finish, ...)
    │   ├── UnsupportedError  a W&B feature trackd does not offer
    │   ├── ConfigError       changing a config value without allow_val_change
    │   └── FieldTooLargeError  a run field over its size limit (also a ValueError)
    ├── CommError             talking to the daemon failed
    │   ├── DaemonUnavailableError   no daemon could be reached or started
    │   └── RpcError          the daemon answered with an error (``.code``, ``.reason``)
    │       ├── InvalidArgumentError (INVALID_ARGUMENT)
    │       ├── RunNotFoundError     (NOT_FOUND)
    │       ├── RunAlreadyExistsError (ALREADY_EXISTS)
    │       ├── RunFinishedError     (FAILED_PRECONDITION, reason RUN_FINISHED)
    │       ├── FailedPreconditionError (FAILED_PRECONDITION)
    │       ├── PermissionDeniedError (PERMISSION_DENIED: another user's run)
    │       │   └── ArtifactPathUnreadableError  the daemon may not read a local file
    │       ├── AuthenticationError  (UNAUTHENTICATED: no valid token on a TCP address)
    │       ├── ArtifactNotFoundError (NOT_FOUND: no such artifact version, alias or link)
    │       ├── ArtifactHasAliasesError (FAILED_PRECONDITION: delete(delete_aliases=True))
    │       ├── BlobNotFoundError    (FAILED_PRECONDITION: bytes the daemon does not hold)
    │       ├── UploadMismatchError  (INVALID_ARGUMENT: uploaded bytes differ from their header)
    │       ├── ReferenceNotSupportedError (UNIMPLEMENTED: gs://, Azure)
    │       ├── ReferenceFailedError (FAILED_PRECONDITION: a reference could not be resolved)
    │       ├── RunFileNotFoundError (NOT_FOUND: the run has no file of that name)
    │       ├── SweepNotFoundError   (NOT_FOUND: no sweep has that id)
    │       └── SweepConfigError     (INVALID_ARGUMENT: ``.violations`` lists every one)
    ├── ArtifactStatusError   (also an AttributeError, as in W&B)
    │   ├── ArtifactNotLoggedError   used before the artifact was logged (or wait()ed for)
    │   └── ArtifactFinalizedError   changing an artifact that was logged
    ├── WaitTimeoutError      artifact.wait(timeout) ran out of time
    └── FinishTimeoutError    finish() did not complete within ``finish_timeout``

``TypeError``/``ValueError`` are raised, as in W&B, for data of the wrong type or value.
"""

from __future__ import annotations

import json
from typing import Any


class Error(Exception):
    """Base of every trackd error."""

    def __init__(self, message: str, context: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.context = context


class UsageError(Error):
    """The API was used wrongly."""


class UnsupportedError(UsageError):
    """Something the W&B API offers that this trackd does not (W&B's ``UnsupportedError``)."""


class ConfigError(UsageError):
    """A config value was changed without ``allow_val_change``."""


class FieldTooLargeError(UsageError, ValueError):
    """A run's name, notes, tags, group, job type or config is over its size limit
    (``trackd._shared.run_fields``); ``field`` names it. Nothing of the change was made.
    A ValueError too, as W&B raises for an over-long tag."""

    def __init__(self, message: str = "", field: str = "") -> None:
        super().__init__(message)
        self.field = field


class CommError(Error):
    """Communication with the daemon failed. ``retry_after`` is the daemon's hint (seconds)
    when it said when to try again (it is draining, or its disk is full)."""

    retry_after: float | None = None

    def __init__(self, message: str = "", exc: BaseException | None = None) -> None:
        super().__init__(message)
        self.exc = exc


class DaemonUnavailableError(CommError):
    """No daemon could be reached or started."""


class InitTimeoutError(CommError, TimeoutError):
    """``init()`` did not get its run from the daemon within the ``init_timeout`` setting."""


class RpcError(CommError):
    """The daemon rejected a call. ``code`` is the gRPC status name, ``reason`` the stable
    trackd reason (``trackd.v1.ErrorReason`` without its prefix)."""

    code: str = "UNKNOWN"

    def __init__(self, message: str, reason: str = "", code: str = "",
                 metadata: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        if code:
            self.code = code
        self.metadata = metadata or {}


class InvalidArgumentError(RpcError):
    code = "INVALID_ARGUMENT"


class RunNotFoundError(RpcError):
    code = "NOT_FOUND"


class RunAlreadyExistsError(RpcError):
    code = "ALREADY_EXISTS"


class FailedPreconditionError(RpcError):
    code = "FAILED_PRECONDITION"


class RunFinishedError(FailedPreconditionError):
    """The run is finished and takes no more data."""


class PermissionDeniedError(RpcError):
    """The run belongs to another user and no team policy grants this access."""

    code = "PERMISSION_DENIED"


class AuthenticationError(RpcError):
    """The daemon's TCP listener refused the call: no token, or a wrong one (``TRACKD_TOKEN``,
    ``TRACKD_API_KEY``/``WANDB_API_KEY``, the key of ``trackd.login()``); also raised by
    ``login(verify=True)`` for a key the daemon refuses."""

    code = "UNAUTHENTICATED"


class FinishTimeoutError(Error, TimeoutError):
    """finish() did not complete within the finish_timeout setting."""


class ArtifactNotFoundError(RpcError):
    """No artifact version (or link) matches the id, name, alias, version or digest."""

    code = "NOT_FOUND"


class ArtifactHasAliasesError(FailedPreconditionError):
    """The version has aliases: delete them too (``delete(delete_aliases=True)``) or first."""


class ArtifactPathUnreadableError(PermissionDeniedError):
    """The daemon may not read a local file for this caller (its bytes are uploaded instead)."""


class BlobNotFoundError(FailedPreconditionError):
    """A manifest entry names bytes the daemon does not hold (or the caller may not use)."""


class UploadMismatchError(InvalidArgumentError):
    """Uploaded bytes disagree with the size or MD5 their header announced."""


class ReferenceNotSupportedError(RpcError):
    """A reference the daemon does not resolve or the client cannot download (``gs://`` and
    Azure blob URLs sent to the daemon: the SDK resolves those itself; unknown schemes on
    download)."""

    code = "UNIMPLEMENTED"


class ReferenceFailedError(FailedPreconditionError):
    """A reference could not be resolved (unreachable, missing, denied, or its client library
    is not installed)."""


class RunFileNotFoundError(RpcError):
    """The run has no file of that name (``run.file(name)``, restore)."""

    code = "NOT_FOUND"


class SweepNotFoundError(RpcError):
    """No sweep has that id (``agent``, ``controller``, ``Api().sweep``)."""

    code = "NOT_FOUND"


class SweepConfigError(InvalidArgumentError):
    """A sweep configuration breaks the schema. ``violations`` lists every violation, each
    naming its field."""

    @property
    def violations(self) -> list[str]:
        try:
            return list(json.loads(self.metadata.get("violations", "[]")))
        except ValueError:
            return []


class ArtifactStatusError(Error, AttributeError):
    """An artifact is in the wrong state for what was asked (W&B makes this an
    AttributeError too, so ``hasattr(draft, "version")`` is False)."""

    def __init__(self, message: str = "Artifact is in an invalid state for the requested "
                 "operation.", name: str | None = None, obj: Any = None) -> None:
        super().__init__(message)
        self.name = name or ""
        self.obj = obj


class ArtifactNotLoggedError(ArtifactStatusError):
    """Used an attribute or method that needs a logged artifact on a draft."""

    def __init__(self, fullname: str, obj: Any) -> None:
        super().__init__(
            f"{fullname!r} used prior to logging artifact or while in offline mode. "
            "Call wait() before accessing logged artifact properties.",
            fullname.rsplit(".", 1)[-1], obj)


class ArtifactFinalizedError(ArtifactStatusError):
    """Tried to change an artifact that was logged (it is finalized)."""

    def __init__(self, fullname: str, obj: Any) -> None:
        super().__init__(f"{fullname!r} used on logged artifact. Can't modify finalized artifact.",
                         fullname.rsplit(".", 1)[-1], obj)


class WaitTimeoutError(Error):
    """``artifact.wait(timeout)`` ran out of time before the artifact was committed."""


_BY_REASON: dict[str, type[RpcError]] = {
    "INVALID_ARGUMENT": InvalidArgumentError,
    "RUN_NOT_FOUND": RunNotFoundError,
    "RUN_ALREADY_EXISTS": RunAlreadyExistsError,
    "RUN_FINISHED": RunFinishedError,
    "FAILED_PRECONDITION": FailedPreconditionError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "UNAUTHENTICATED": AuthenticationError,
    "ARTIFACT_NOT_FOUND": ArtifactNotFoundError,
    "ARTIFACT_HAS_ALIASES": ArtifactHasAliasesError,
    "ARTIFACT_PATH_UNREADABLE": ArtifactPathUnreadableError,
    "BLOB_NOT_FOUND": BlobNotFoundError,
    "UPLOAD_MISMATCH": UploadMismatchError,
    "REFERENCE_NOT_SUPPORTED": ReferenceNotSupportedError,
    "REFERENCE_FAILED": ReferenceFailedError,
    "RUN_FILE_NOT_FOUND": RunFileNotFoundError,
    "SWEEP_NOT_FOUND": SweepNotFoundError,
    "SWEEP_CONFIG_INVALID": SweepConfigError,
}
_BY_CODE: dict[str, type[RpcError]] = {
    "INVALID_ARGUMENT": InvalidArgumentError,
    "NOT_FOUND": RunNotFoundError,
    "ALREADY_EXISTS": RunAlreadyExistsError,
    "FAILED_PRECONDITION": FailedPreconditionError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "UNAUTHENTICATED": AuthenticationError,
}


def from_grpc(exc: Any) -> CommError:
    """Turn a ``grpc.RpcError`` into the matching trackd exception."""
    import grpc

    code = exc.code() if hasattr(exc, "code") else None
    code_name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
    details = exc.details() if hasattr(exc, "details") else str(exc)
    reason, metadata, retry_after = "", {}, None
    trailers = exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None
    for key, value in trailers or ():
        if key == "grpc-status-details-bin":
            from google.rpc import error_details_pb2, status_pb2

            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info, retry = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
                if detail.Unpack(info):
                    reason, metadata = info.reason, dict(info.metadata)
                elif detail.Unpack(retry):
                    retry_after = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    if code_name in ("UNAVAILABLE", "CANCELLED", "DEADLINE_EXCEEDED") and reason in (
            "", "SHUTTING_DOWN"):
        # The daemon is gone or going: worth retrying against the next one.
        err = CommError(f"daemon call failed ({code_name}): {details}", exc)
    else:
        cls = _BY_REASON.get(reason) or _BY_CODE.get(code_name) or RpcError
        err = cls(details or code_name, reason=reason, code=code_name, metadata=metadata)
    err.retry_after = retry_after
    return err


__all__ = [
    "ArtifactFinalizedError",
    "ArtifactHasAliasesError",
    "ArtifactNotFoundError",
    "ArtifactNotLoggedError",
    "ArtifactPathUnreadableError",
    "ArtifactStatusError",
    "AuthenticationError",
    "BlobNotFoundError",
    "CommError",
    "ConfigError",
    "DaemonUnavailableError",
    "Error",
    "FailedPreconditionError",
    "FieldTooLargeError",
    "FinishTimeoutError",
    "InitTimeoutError",
    "InvalidArgumentError",
    "PermissionDeniedError",
    "ReferenceFailedError",
    "ReferenceNotSupportedError",
    "RpcError",
    "RunAlreadyExistsError",
    "RunFileNotFoundError",
    "RunFinishedError",
    "RunNotFoundError",
    "UnsupportedError",
    "UploadMismatchError",
    "UsageError",
    "WaitTimeoutError",
    "from_grpc",
]
