// A run: what init() returns. log() never waits for the daemon: it validates, copies and
// queues; the Sender delivers in the background.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve, relative, basename } from "node:path";
import { unaryRetrying, type Connection } from "./connection.js";
import { Config, Summary, applySummary } from "./config.js";
import { FinishTimeoutError, UsageError } from "./errors.js";
import { AlertLevel } from "./gen/trackd/v1/record_pb.js";
import { MetricGoal } from "./gen/trackd/v1/run_pb.js";
import { RunService } from "./gen/trackd/v1/run_service_pb.js";
import { QueryService } from "./gen/trackd/v1/query_service_pb.js";
import { FilePolicy, FileService } from "./gen/trackd/v1/file_service_pb.js";
import { Artifact, ArtifactVersion, logArtifact, uploadFile, useArtifact } from "./artifacts.js";
import { OfflineSink } from "./offline.js";
import { type RecordSink, type Ref } from "./sender.js";
import { Image, encodeImage } from "./image.js";
import { Table, encodeTable, type EncodedTable } from "./table.js";
import { mapToJs, normalizeRow, type PlainMap } from "./values.js";

/** The state a finished run ended in. */
export type RunState = "running" | "finished" | "failed" | "crashed" | "killed" | "preempted";

export const STATE_NAMES: Record<number, RunState> = {
  1: "running", 2: "finished", 3: "failed", 4: "crashed", 5: "killed", 6: "preempted",
};

const SUMMARY_OPS = new Set(["min", "max", "mean", "last", "first", "best", "none", "copy"]);
/** Milliseconds a summary read waits for earlier records to be delivered and stored. */
const SUMMARY_READ_TIMEOUT_MS = 60_000;

export interface LogOptions {
  /** The step to log at (W&B's step rules: see docs/protocol.md, "History rows"). */
  step?: number | bigint;
  /** Write the row now (true), or keep merging into it (false). */
  commit?: boolean;
}

export interface MetricOptions {
  stepMetric?: string;
  stepSync?: boolean;
  hidden?: boolean;
  /** Summary aggregations: "min", "max", "mean", "last", "first", "best", "none", "copy"
   * (an array, or a comma-separated string as in W&B). */
  summary?: string | string[];
  goal?: "minimize" | "maximize";
  overwrite?: boolean;
}

export interface AlertOptions {
  title: string;
  text: string;
  level?: "INFO" | "WARN" | "ERROR";
  /** Seconds during which later alerts with this title are stored but not delivered (60). */
  waitDuration?: number;
}

export interface SaveOptions {
  /** "live" (now, on every change and at finish; the default), "now" or "end". */
  policy?: "live" | "now" | "end";
  /** The file's name in the run (default: its path relative to basePath, or its base name). */
  name?: string;
  /** The directory names are taken relative to (default: the file's own directory). */
  basePath?: string;
}

export interface FinishResult {
  state: RunState;
  summary: PlainMap;
  historyRows: number;
}

/** Settings a Run needs from init(). */
export interface RunParams {
  /** null for a disabled run (it talks to no daemon). */
  conn: Connection | null;
  ref: Ref;
  name: string;
  mode: "online" | "shared" | "disabled" | "offline";
  writer: string;
  /** Shared mode: this process's label, put in every row as _writer (as Python does). */
  label: string;
  config: PlainMap;
  startingStep: number;
  /** null for a disabled run; an OfflineSink for an offline one. */
  sender: RecordSink | null;
  finishTimeoutMs: number;
  resumed: boolean;
  tags: string[];
  notes: string;
  group: string;
  jobType: string;
  /** resume "auto": the file naming this run, removed once it finishes with exit code 0. */
  resumeFile?: string | null;
}

export class Run {
  readonly id: string;
  readonly entity: string;
  readonly project: string;
  readonly config: Config;
  readonly summary: Summary;
  /** True when init() continued an existing run. */
  readonly resumed: boolean;
  /** The writer this process streams as in a shared run ("" otherwise). */
  readonly writer: string;
  /** @internal */ readonly sender: RecordSink;
  /** @internal */ conn: Connection;
  /** mode "disabled": every call is checked for the run being open and does nothing else;
   * summary writes are kept here, in this object. */
  readonly disabled: boolean;
  private readonly localSummary: PlainMap = {};
  private _name: string;
  private _tags: string[];
  private _notes: string;
  private readonly mode: "online" | "shared" | "disabled" | "offline";
  /** An offline run's directory (for `trackd sync`); null otherwise. */
  readonly offlineDir: string | null;
  private readonly label: string;
  private step: number;
  private finished = false;
  private finishing: Promise<FinishResult> | null = null;
  private readonly finishTimeoutMs: number;
  private finalState: RunState | null = null;
  private warnedSharedStep = false;
  private readonly resumeFile: string | null;

  /** @internal */
  constructor(p: RunParams) {
    this.disabled = p.mode === "disabled";
    // A disabled run has neither: no method reaches them (each checks `disabled` first).
    this.conn = p.conn as Connection;
    this.id = p.ref.runId;
    this.entity = p.ref.entity;
    this.project = p.ref.project;
    this._name = p.name;
    this._tags = [...p.tags];
    this._notes = p.notes;
    this.mode = p.mode;
    this.writer = p.writer;
    this.label = p.label;
    this.sender = p.sender as RecordSink;
    this.offlineDir = p.sender instanceof OfflineSink ? p.sender.dir : null;
    this.step = p.startingStep;
    this.finishTimeoutMs = p.finishTimeoutMs;
    this.resumeFile = p.resumeFile ?? null;
    this.resumed = p.resumed;
    this.config = new Config(p.config, this);
    this.summary = new Summary(this);
  }

  /** entity/project/id. */
  get path(): string {
    return `${this.entity}/${this.project}/${this.id}`;
  }

  get name(): string {
    return this._name;
  }

  /** Rename the run (sent as a run update). */
  set name(value: string) {
    this.checkOpen("name");
    this._name = String(value);
    this.send({ k: "u", fields: { name: this._name } });
  }

  get tags(): readonly string[] {
    return this._tags;
  }

  set tags(value: readonly string[]) {
    this.checkOpen("tags");
    this._tags = value.map(String);
    this.send({ k: "u", fields: { tags: [...this._tags] } });
  }

  get notes(): string {
    return this._notes;
  }

  set notes(value: string) {
    this.checkOpen("notes");
    this._notes = String(value);
    this.send({ k: "u", fields: { notes: this._notes } });
  }

  /** The step the next committed row gets (W&B's run.step). */
  get currentStep(): number {
    return this.step;
  }

  /** Whether finish() has been called (or the run was finished at exit). */
  get isFinished(): boolean {
    return this.finished;
  }

  /** The final state once finished (null before). */
  get state(): RunState | null {
    return this.finalState;
  }

  /** True once the daemon said the run was asked to stop (trackd runs stop, a sweep). */
  get stopRequested(): boolean {
    return !this.disabled && this.sender.stopRequested;
  }

  /** @internal */
  checkOpen(what: string): void {
    if (this.finished) throw new UsageError(`run ${this.id} is finished; ${what} cannot be used after finish()`);
  }

  private checkEnabled(what: string): void {
    if (this.disabled) throw new UsageError(`${what} needs the daemon: not available in a disabled run`);
    if (this.offlineDir !== null) {
      throw new UsageError(`${what} needs the daemon: not available in an offline run`);
    }
  }

  /** @internal */
  send(item: Parameters<RecordSink["put"]>[0]): Promise<void> | undefined {
    if (!this.disabled) return this.sender.put(item);
    if (item.k === "s") applySummary(this.localSummary, item.update, item.remove);
    return undefined;
  }

  /**
   * Log a row of data (W&B's run.log): validated, copied and queued; never waits for the daemon.
   *
   * Returns undefined, or — when the sender's buffer is full (the `maxBufferedRecords` init
   * option) — a promise that resolves once it has room again. The row is taken either way;
   * a caller that logs in a loop should `await` what log() returns (awaiting undefined costs
   * nothing), which is what keeps memory bounded.
   *
   * @throws TypeError ``data`` is not an object or holds a value that cannot be logged.
   * @throws RangeError a bigint outside int64, a negative step, or a row over its limits.
   * @throws UsageError the run is finished.
   */
  log(data: Record<string, unknown>, opts: LogOptions = {}): Promise<void> | undefined {
    this.checkOpen("log()");
    if (this.disabled) return undefined; // as cheap as a call can be
    const media: [string, Table | Image][] = [];
    for (const key in data) {
      const v = Object.prototype.hasOwnProperty.call(data, key) ? data[key] : undefined;
      if (v instanceof Table || v instanceof Image) media.push([key, v]);
    }
    if (media.length > 0) {
      this.checkEnabled(`log() of a ${media[0][1] instanceof Table ? "Table" : "Image"}`);
      data = Object.fromEntries(Object.entries(data).filter(([, v]) => !(v instanceof Table || v instanceof Image)));
    }
    const row = normalizeRow(data);
    let step = opts.step;
    let commit = opts.commit;
    if (this.mode === "shared") {
      if (step !== undefined && !this.warnedSharedStep) {
        this.warnedSharedStep = true;
        process.emitWarning("trackd: step is ignored in shared mode: each log() call is its own row");
      }
      step = commit = undefined;
      row._writer = this.label;
    }
    if (step !== undefined) {
      if (typeof step === "number" && !Number.isSafeInteger(step)) {
        throw new TypeError(`step must be an integer, got ${step}`);
      }
      if (typeof step !== "number" && typeof step !== "bigint") {
        throw new TypeError(`step must be an integer, got ${typeof step}`);
      }
      if (step < 0) throw new RangeError(`step must be >= 0, got ${step}`);
      if (step < this.step) {
        process.emitWarning(`trackd: tried to log to step ${step} that is less than the current step ` +
          `${this.step}. Steps must be monotonically increasing, so this data will be ignored.`);
        return undefined;
      }
      this.step = Number(step);
    }
    for (const [key, item] of media) {
      if (item instanceof Image) {
        const { path, bytes, value } = encodeImage(item, key, this.step);
        row[key] = value;
        this.storeMedia(path, bytes);
      } else {
        const { encoded, value } = encodeTable(item, this.id, key, this.step);
        row[key] = value;
        if (encoded !== null) this.storeMedia(encoded.path, encoded.bytes, encoded);
      }
    }
    if (commit || (commit === undefined && step === undefined)) this.step += 1;
    if (commit !== undefined) commit = Boolean(commit);
    return this.sender.put({ k: "h", data: row, step, commit, ts: Date.now() / 1000 });
  }

  private mediaDir: string | null = null;
  /** Media files and their run_table artifacts still being delivered (finish() waits). */
  private readonly mediaWork = new Set<Promise<void>>();

  /** Write a logged media file (a table's, an image's), save it with the run (policy "now")
   * and, for a table, log it as the run's run_table artifact, in the background (finish()
   * waits for it). */
  private storeMedia(name: string, bytes: Buffer, table?: EncodedTable): void {
    this.mediaDir ??= mkdtempSync(join(tmpdir(), `trackd-media-${this.id}-`));
    const local = join(this.mediaDir, name);
    mkdirSync(dirname(local), { recursive: true });
    writeFileSync(local, bytes);
    const step = this.step;
    const work = (async () => {
      await this.saveFile(local, name, FilePolicy.NOW);
      if (table === undefined) return;
      const art = new Artifact(table.artifactName, "run_table").addFile(local, table.artifactEntry);
      await logArtifact(this.conn, { entity: this.entity, project: this.project, runId: this.id }, step, art, [], true);
    })().catch((e: unknown) => {
      process.emitWarning(`trackd: the media file ${name} of run ${this.id} was not stored: ${(e as Error).message}`);
    });
    this.mediaWork.add(work);
    void work.finally(() => this.mediaWork.delete(work));
  }

  /** Save one file with the run: by path when the daemon may read it, else by its bytes. */
  private async saveFile(full: string, name: string, policy: FilePolicy): Promise<void> {
    const run = { entity: this.entity, project: this.project, runId: this.id };
    const resp = await this.conn.unary(FileService.method.saveFiles, { run, files: [{ name, path: full, policy }] });
    if (resp.results[0]?.unreadable) {
      const blob = await uploadFile(this.conn, full, name);
      await this.conn.unary(FileService.method.saveFiles, { run, files: [{ name, blobKey: blob.blobKey, policy }] });
    }
  }

  /** Customise how a metric is summarised and plotted; ``name`` may end with "*". */
  defineMetric(name: string, opts: MetricOptions = {}): void {
    if (typeof name !== "string" || name === "") throw new TypeError("defineMetric() needs a non-empty name");
    if (name.slice(0, -1).includes("*")) throw new TypeError(`defineMetric(): a glob '*' only at the end: ${name}`);
    const ops = (typeof opts.summary === "string" ? opts.summary.split(",") : opts.summary ?? [])
      .map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
    for (const op of ops) {
      if (!SUMMARY_OPS.has(op)) throw new TypeError(`defineMetric(): unknown summary op ${JSON.stringify(op)}`);
    }
    let goal = MetricGoal.UNSPECIFIED;
    if (opts.goal !== undefined) {
      const g = String(opts.goal).toLowerCase();
      if (g !== "minimize" && g !== "maximize") {
        throw new TypeError(`defineMetric(): goal must be "minimize" or "maximize", got ${JSON.stringify(opts.goal)}`);
      }
      goal = g === "minimize" ? MetricGoal.MINIMIZE : MetricGoal.MAXIMIZE;
    }
    this.checkOpen("defineMetric()");
    const stepSync = opts.stepSync ?? Boolean(opts.stepMetric);
    this.send({
      k: "m",
      def: { name, stepMetric: opts.stepMetric ?? "", stepSync, hidden: Boolean(opts.hidden), summary: ops, goal },
      overwrite: Boolean(opts.overwrite),
    });
  }

  /** Raise an alert: stored with the run and posted by the daemon to its webhooks. */
  alert(opts: AlertOptions): void {
    this.checkOpen("alert()");
    const name = String(opts.level ?? "INFO").toUpperCase();
    const levels: Record<string, AlertLevel> = { INFO: AlertLevel.INFO, WARN: AlertLevel.WARN, ERROR: AlertLevel.ERROR };
    if (!(name in levels)) throw new RangeError(`alert level must be INFO, WARN or ERROR, got ${opts.level}`);
    const seconds = opts.waitDuration ?? 60;
    if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
      throw new TypeError(`waitDuration must be a number of seconds, got ${opts.waitDuration}`);
    }
    this.send({
      k: "a", title: String(opts.title), text: String(opts.text), level: levels[name],
      waitMs: BigInt(Math.round(seconds * 1000)), ts: Date.now() / 1000,
    });
  }

  /** Tell the daemon the run is about to be preempted: if the process then vanishes, the run
   * ends preempted, not crashed. Resolves once the daemon has it. */
  async markPreempting(): Promise<void> {
    this.checkOpen("markPreempting()");
    if (this.disabled) return;
    this.send({ k: "p" });
    await this.sender.flush();
  }

  /**
   * Save a file with the run (W&B's run.save). The daemon reads it by path when it may (it runs
   * as this user on this machine); otherwise its bytes are uploaded and saved by blob (then
   * "live" and "end" files are stored now, as the bytes are at this moment).
   *
   * @returns the file's name in the run.
   */
  async save(path: string, opts: SaveOptions = {}): Promise<string> {
    this.checkOpen("save()");
    const full = resolve(path);
    const name = opts.name ?? (opts.basePath !== undefined ? relative(resolve(opts.basePath), full) : basename(full));
    if (!name || name.startsWith("..") || isAbsolute(name)) {
      throw new RangeError(`save(): ${path} is not inside basePath ${opts.basePath}`);
    }
    const policy = { live: FilePolicy.LIVE, now: FilePolicy.NOW, end: FilePolicy.END }[opts.policy ?? "live"];
    if (policy === undefined) throw new RangeError(`save(): policy must be "live", "now" or "end", got ${opts.policy}`);
    if (this.disabled) return name;
    this.checkEnabled("save()");
    await this.saveFile(full, name, policy);
    return name;
  }

  /**
   * Log an artifact version for this run and wait until it is committed ("latest" is always
   * among its aliases).
   */
  async logArtifact(artifact: Artifact, opts: { aliases?: string[] } = {}): Promise<ArtifactVersion> {
    this.checkOpen("logArtifact()");
    this.checkEnabled("logArtifact()");
    return logArtifact(this.conn, { entity: this.entity, project: this.project, runId: this.id },
      Math.max(0, this.step - 1), artifact, opts.aliases ?? []);
  }

  /** Resolve "name[:alias|:vN]" (optionally "project/" or "entity/project/" first) and record
   * that this run used it; download() its files. */
  async useArtifact(path: string): Promise<ArtifactVersion> {
    this.checkOpen("useArtifact()");
    this.checkEnabled("useArtifact()");
    return useArtifact(this.conn, { entity: this.entity, project: this.project, runId: this.id },
      this.entity, this.project, path);
  }

  /** @internal The summary once the daemon has stored every record sent so far. */
  async readSummary(): Promise<PlainMap> {
    if (this.disabled) return structuredClone(this.localSummary);
    if (this.offlineDir !== null) {
      throw new UsageError("an offline run's summary is made by the daemon: read it after " +
        `\`trackd sync ${this.offlineDir}\``);
    }
    const seq = this.sender.lastSeq;
    if (this.finished && this.finalSummary) return structuredClone(this.finalSummary);
    await this.sender.flush();
    const resp = await this.conn.unary(QueryService.method.getRun, {
      ref: { entity: this.entity, project: this.project, runId: this.id }, minIngestedSeq: BigInt(seq),
    }, SUMMARY_READ_TIMEOUT_MS);
    return mapToJs(resp.run?.summary);
  }

  private finalSummary: PlainMap | null = null;

  /**
   * Finish the run: deliver everything, wait until the daemon has it durable, mark the run
   * finished (exit code 0) or failed. Idempotent: a second call returns the first's result.
   *
   * @throws FinishTimeoutError not done within the finishTimeout init option.
   */
  finish(exitCode = 0): Promise<FinishResult> {
    if (this.finishing) return this.finishing;
    this.finishing = this.doFinish(exitCode);
    return this.finishing;
  }

  private async doFinish(exitCode: number): Promise<FinishResult> {
    const code = Math.trunc(Number(exitCode)) | 0;
    if (this.disabled) {
      this.finished = true;
      this.finalState = code === 0 ? "finished" : "failed";
      return { state: this.finalState, summary: structuredClone(this.localSummary), historyRows: 0 };
    }
    this.sender.put({ k: "x", code });
    this.finished = true;
    if (this.offlineDir !== null) {
      try {
        await this.sender.close();
      } finally {
        forgetRun(this);
      }
      this.finalState = code === 0 ? "finished" : "failed";
      process.stderr.write(`trackd: run ${this.id} was saved offline; upload it with: trackd sync ${this.offlineDir}\n`);
      return { state: this.finalState, summary: {}, historyRows: 0 };
    }
    const ref = { entity: this.entity, project: this.project, runId: this.id };
    const work = (async () => {
      while (this.mediaWork.size > 0) await Promise.all([...this.mediaWork]);
      await this.sender.close();
      // The daemon may be restarting: the new one recovers the run from its log.
      return unaryRetrying(() => this.conn, RunService.method.finishRun, {
        ref, exitCode: code, lastSeq: BigInt(this.sender.lastSeq),
        timeoutSeconds: this.finishTimeoutMs / 1000, writer: this.writer,
      }, this.finishTimeoutMs);
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FinishTimeoutError(
        `finish() did not complete within ${this.finishTimeoutMs / 1000}s; ${this.sender.lastSeq - this.sender.ackedSeq} ` +
        "records were not acknowledged by the daemon")), this.finishTimeoutMs);
    });
    work.catch(() => undefined); // a timeout below reports it instead
    try {
      const resp = await Promise.race([work, timeout]).catch((e: unknown) => {
        // Given up (timeout) or failed for good: stop retrying, so the process may end.
        this.sender.abort();
        throw e;
      });
      const run = resp.run;
      this.finalState = STATE_NAMES[run?.state ?? 0] ?? "finished";
      this.finalSummary = mapToJs(run?.summary);
      if (code === 0 && this.resumeFile !== null) rmSync(this.resumeFile, { force: true });
      return { state: this.finalState, summary: structuredClone(this.finalSummary), historyRows: Number(run?.historyRows ?? 0n) };
    } finally {
      clearTimeout(timer);
      forgetRun(this);
      this.conn.close();
      if (this.mediaDir !== null) rmSync(this.mediaDir, { recursive: true, force: true });
    }
  }
}

// -- the runs of this process (for exit handling) -----------------------------------------------

const liveRuns = new Set<Run>();

/** @internal */
export function rememberRun(run: Run): void {
  liveRuns.add(run);
}

/** @internal */
export function forgetRun(run: Run): void {
  liveRuns.delete(run);
}

/** @internal The runs of this process that are not finished. */
export function openRuns(): Run[] {
  return [...liveRuns];
}
