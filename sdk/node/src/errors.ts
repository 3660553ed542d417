// Public errors of the trackd Node SDK (the same tree as the Python SDK's trackd.errors):
//
//   TrackdError
//   ├── UsageError               the API was called wrongly (log after finish, a bad argument)
//   │   └── ConfigError          changing a config value without allowValChange
//   ├── CommError                talking to the daemon failed
//   │   ├── DaemonUnavailableError  no daemon could be reached or started
//   │   └── RpcError             the daemon answered with an error (.code, .reason, .metadata)
//   │       ├── InvalidArgumentError, RunNotFoundError, RunAlreadyExistsError,
//   │       ├── FailedPreconditionError ── RunFinishedError
//   │       ├── PermissionDeniedError, AuthenticationError
//   │       └── ArtifactNotFoundError, RunFileNotFoundError
//   └── FinishTimeoutError       finish() did not complete in time
//
// TypeError and RangeError are thrown, as JavaScript does, for data of the wrong type or value.
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { status as Status, type ServiceError } from "@grpc/grpc-js";

export class TrackdError extends Error {
  override name = "TrackdError";
}

export class UsageError extends TrackdError {
  override name = "UsageError";
}

export class ConfigError extends UsageError {
  override name = "ConfigError";
}

export class FinishTimeoutError extends TrackdError {
  override name = "FinishTimeoutError";
}

export class CommError extends TrackdError {
  override name = "CommError";
  /** The daemon's hint (seconds) when it said when to try again. */
  retryAfter: number | undefined;
}

export class DaemonUnavailableError extends CommError {
  override name = "DaemonUnavailableError";
}

export class RpcError extends CommError {
  override name = "RpcError";
  constructor(message: string, readonly code: string, readonly reason: string,
    readonly metadata: Record<string, string>) {
    super(message);
  }
}

export class InvalidArgumentError extends RpcError { override name = "InvalidArgumentError"; }
export class RunNotFoundError extends RpcError { override name = "RunNotFoundError"; }
export class RunAlreadyExistsError extends RpcError { override name = "RunAlreadyExistsError"; }
export class FailedPreconditionError extends RpcError { override name = "FailedPreconditionError"; }
export class RunFinishedError extends FailedPreconditionError { override name = "RunFinishedError"; }
export class PermissionDeniedError extends RpcError { override name = "PermissionDeniedError"; }
export class AuthenticationError extends RpcError { override name = "AuthenticationError"; }
export class ArtifactNotFoundError extends RpcError { override name = "ArtifactNotFoundError"; }
export class RunFileNotFoundError extends RpcError { override name = "RunFileNotFoundError"; }

type RpcErrorClass = new (m: string, c: string, r: string, md: Record<string, string>) => RpcError;

const BY_REASON: Record<string, RpcErrorClass> = {
  INVALID_ARGUMENT: InvalidArgumentError,
  RUN_NOT_FOUND: RunNotFoundError,
  RUN_ALREADY_EXISTS: RunAlreadyExistsError,
  RUN_FINISHED: RunFinishedError,
  FAILED_PRECONDITION: FailedPreconditionError,
  PERMISSION_DENIED: PermissionDeniedError,
  UNAUTHENTICATED: AuthenticationError,
  ARTIFACT_NOT_FOUND: ArtifactNotFoundError,
  RUN_FILE_NOT_FOUND: RunFileNotFoundError,
};

const BY_CODE: Record<string, RpcErrorClass> = {
  INVALID_ARGUMENT: InvalidArgumentError,
  NOT_FOUND: RunNotFoundError,
  ALREADY_EXISTS: RunAlreadyExistsError,
  FAILED_PRECONDITION: FailedPreconditionError,
  PERMISSION_DENIED: PermissionDeniedError,
  UNAUTHENTICATED: AuthenticationError,
};

/** The name of a gRPC status code ("UNAVAILABLE"). */
export function codeName(code: number | undefined): string {
  return code === undefined ? "UNKNOWN" : (Status[code] ?? "UNKNOWN");
}

interface Details {
  reason: string;
  metadata: Record<string, string>;
  retryAfter: number | undefined;
}

/**
 * Read a google.rpc.Status from the grpc-status-details-bin trailer: its ErrorInfo (reason and
 * metadata) and RetryInfo. Decoded by hand so that no google.rpc code is needed.
 */
export function parseStatusDetails(bytes: Uint8Array): Details {
  const out: Details = { reason: "", metadata: {}, retryAfter: undefined };
  const status = new BinaryReader(bytes);
  while (status.pos < status.len) {
    const [field, wt] = status.tag();
    if (field !== 3 || wt !== WireType.LengthDelimited) {
      status.skip(wt);
      continue;
    }
    const any = new BinaryReader(status.bytes());
    let typeUrl = "";
    let value: Uint8Array = new Uint8Array();
    while (any.pos < any.len) {
      const [f, w] = any.tag();
      if (f === 1) typeUrl = any.string();
      else if (f === 2) value = any.bytes();
      else any.skip(w);
    }
    const r = new BinaryReader(value);
    if (typeUrl.endsWith("/google.rpc.ErrorInfo")) {
      while (r.pos < r.len) {
        const [f, w] = r.tag();
        if (f === 1) out.reason = r.string();
        else if (f === 3) {
          const entry = new BinaryReader(r.bytes());
          let k = "";
          let v = "";
          while (entry.pos < entry.len) {
            const [ef, ew] = entry.tag();
            if (ef === 1) k = entry.string();
            else if (ef === 2) v = entry.string();
            else entry.skip(ew);
          }
          out.metadata[k] = v;
        } else r.skip(w);
      }
    } else if (typeUrl.endsWith("/google.rpc.RetryInfo")) {
      while (r.pos < r.len) {
        const [f, w] = r.tag();
        if (f !== 1) {
          r.skip(w);
          continue;
        }
        const d = new BinaryReader(r.bytes());
        let secs = 0;
        let nanos = 0;
        while (d.pos < d.len) {
          const [df, dw] = d.tag();
          if (df === 1) secs = Number(d.int64());
          else if (df === 2) nanos = d.int32();
          else d.skip(dw);
        }
        out.retryAfter = secs + nanos / 1e9;
      }
    }
  }
  return out;
}

/** Turn a gRPC error into the matching trackd error. */
export function fromGrpc(err: Partial<ServiceError> & Error): CommError {
  const name = codeName(err.code);
  const detailsMsg = err.details ?? err.message;
  let d: Details = { reason: "", metadata: {}, retryAfter: undefined };
  const raw = err.metadata?.get("grpc-status-details-bin")?.[0];
  if (raw instanceof Uint8Array) {
    try {
      d = parseStatusDetails(raw);
    } catch {
      // a trailer we cannot read: keep the code alone
    }
  }
  let out: CommError;
  if (["UNAVAILABLE", "CANCELLED", "DEADLINE_EXCEEDED"].includes(name) &&
      (d.reason === "" || d.reason === "SHUTTING_DOWN")) {
    out = new CommError(`daemon call failed (${name}): ${detailsMsg}`);
  } else {
    const cls = BY_REASON[d.reason] ?? BY_CODE[name] ?? RpcError;
    out = new cls(detailsMsg || name, name, d.reason, d.metadata);
  }
  out.retryAfter = d.retryAfter;
  return out;
}
