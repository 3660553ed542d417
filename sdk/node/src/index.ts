// trackd for Node.js: W&B's run API over the local trackd daemon.
//
//   import * as trackd from "trackd";
//   const run = await trackd.init({ project: "demo", config: { lr: 0.01 } });
//   for (let step = 0; step < 100; step++) await run.log({ loss: 1 / (step + 1) });
//   await run.finish();
//
// The wire protocol (trackd.v1) and what every client must do are in docs/protocol.md.
export { init, generateId, type InitOptions } from "./init.js";
export { Config, Summary } from "./config.js";
export {
  Run, type LogOptions, type MetricOptions, type AlertOptions, type SaveOptions,
  type FinishResult, type RunState,
} from "./run.js";
export { Api, ApiRun, type ApiOptions, type HistoryOptions, type MetricInfo, type AlertInfo, type FileInfo } from "./api.js";
export {
  TrackdError, UsageError, ConfigError, FinishTimeoutError, CommError, DaemonUnavailableError, RpcError,
  InvalidArgumentError, RunNotFoundError, RunAlreadyExistsError, FailedPreconditionError, RunFinishedError,
  PermissionDeniedError, AuthenticationError, ArtifactNotFoundError, RunFileNotFoundError,
} from "./errors.js";
export { Artifact, ArtifactVersion, manifestDigest, type ArtifactOptions } from "./artifacts.js";
export { Table, type TableOptions, type TableLogMode } from "./table.js";
export { Image, type ImagePixels, type ImageOptions } from "./image.js";
export type { Plain, PlainMap } from "./values.js";
