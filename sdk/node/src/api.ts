// trackd.Api: reading runs, their history, files and alerts back (W&B's public API).
import { ArtifactVersion, useArtifact } from "./artifacts.js";
import { Connection } from "./connection.js";
import { chooseAddress, reachable } from "./discovery.js";
import { DaemonUnavailableError, UsageError } from "./errors.js";
import { FileService } from "./gen/trackd/v1/file_service_pb.js";
import { QueryService } from "./gen/trackd/v1/query_service_pb.js";
import { RunService } from "./gen/trackd/v1/run_service_pb.js";
import type { Run as RunMsg } from "./gen/trackd/v1/run_pb.js";
import { defaultEntity, defaultProject } from "./init.js";
import { STATE_NAMES, type RunState } from "./run.js";
import { mapToJs, type PlainMap } from "./values.js";

export interface ApiOptions {
  /** The entity paths without one use (default: $TRACKD_ENTITY, else this OS user). */
  entity?: string;
  /** The project paths without one use (default as init()'s). */
  project?: string;
}

export interface HistoryOptions {
  /** Only rows that have every one of these keys, and only these keys (plus _step). */
  keys?: string[];
  /** Lowest _step, inclusive. */
  minStep?: number;
  /** Highest _step, exclusive. */
  maxStep?: number;
  /** At most this many rows, spread evenly (0: all). */
  samples?: number;
  /** "default" (run.log rows) or "system" (system metrics). */
  stream?: "default" | "system";
}

export interface MetricInfo {
  name: string;
  stepMetric: string;
  stepSync: boolean;
  hidden: boolean;
  summary: string[];
  goal: "" | "minimize" | "maximize";
}

export interface AlertInfo {
  runId: string;
  title: string;
  text: string;
  level: "INFO" | "WARN" | "ERROR" | "";
  timestamp: number;
  suppressed: boolean;
}

export interface FileInfo {
  name: string;
  size: number;
  md5: string;
  version: number;
}

/** A stored run as the daemon returned it. */
export class ApiRun {
  readonly entity: string;
  readonly project: string;
  readonly id: string;
  readonly name: string;
  readonly notes: string;
  readonly tags: string[];
  readonly group: string;
  readonly jobType: string;
  readonly state: RunState | "unknown";
  readonly exitCode: number;
  readonly config: PlainMap;
  readonly summary: PlainMap;
  readonly historyRows: number;
  readonly lastStep: number;
  readonly startTime: number;
  readonly metrics: MetricInfo[];

  /** @internal */
  constructor(private readonly conn: Connection, msg: RunMsg) {
    const ref = msg.ref!;
    this.entity = ref.entity;
    this.project = ref.project;
    this.id = ref.runId;
    this.name = msg.name;
    this.notes = msg.notes;
    this.tags = [...msg.tags];
    this.group = msg.group;
    this.jobType = msg.jobType;
    this.state = STATE_NAMES[msg.state] ?? "unknown";
    this.exitCode = msg.exitCode;
    this.config = mapToJs(msg.config);
    this.summary = mapToJs(msg.summary);
    this.historyRows = Number(msg.historyRows);
    this.lastStep = Number(msg.lastStep);
    this.startTime = msg.startTime;
    this.metrics = msg.metrics.map((m) => ({
      name: m.name, stepMetric: m.stepMetric, stepSync: m.stepSync, hidden: m.hidden, summary: [...m.summary],
      goal: m.goal === 1 ? "minimize" : m.goal === 2 ? "maximize" : "",
    }));
  }

  get path(): string {
    return `${this.entity}/${this.project}/${this.id}`;
  }

  private get ref() {
    return { entity: this.entity, project: this.project, runId: this.id };
  }

  /** Every history row (W&B's scan_history), in step order. */
  async *scanHistory(opts: HistoryOptions = {}): AsyncGenerator<PlainMap> {
    for await (const page of this.conn.serverStream(QueryService.method.scanHistory, {
      ref: this.ref, keys: opts.keys ?? [],
      minStep: opts.minStep === undefined ? undefined : BigInt(opts.minStep),
      maxStep: opts.maxStep === undefined ? undefined : BigInt(opts.maxStep),
      samples: opts.samples ?? 0, stream: opts.stream ?? "",
    })) {
      for (const row of page.rows) yield mapToJs(row);
    }
  }

  /** The history rows as an array. */
  async history(opts: HistoryOptions = {}): Promise<PlainMap[]> {
    const rows: PlainMap[] = [];
    for await (const r of this.scanHistory(opts)) rows.push(r);
    return rows;
  }

  /** The run's alerts, newest first. */
  async alerts(limit = 0): Promise<AlertInfo[]> {
    const resp = await this.conn.unary(QueryService.method.listAlerts, {
      entity: this.entity, project: this.project, runId: this.id, limit,
    });
    const levels = ["", "INFO", "WARN", "ERROR"] as const;
    return resp.alerts.map((a) => ({
      runId: a.run?.runId ?? "", title: a.title, text: a.text, level: levels[a.level] ?? "",
      timestamp: a.timestamp, suppressed: a.suppressed,
    }));
  }

  /** The run's files, each with its latest version. */
  async files(): Promise<FileInfo[]> {
    const resp = await this.conn.unary(FileService.method.listFiles, { run: this.ref });
    return resp.files.map((f) => ({
      name: f.name, size: Number(f.latest?.size ?? 0n), md5: f.latest?.md5 ?? "", version: Number(f.latest?.version ?? 0n),
    }));
  }

  /** The bytes of one file (its latest version unless ``version`` is given). */
  async readFile(name: string, version = 0): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    for await (const m of this.conn.serverStream(FileService.method.readFile, { run: this.ref, name, version: BigInt(version) })) {
      chunks.push(m.chunk);
    }
    return Buffer.concat(chunks);
  }

  /** Change the name, notes or tags of the run (a running run too). */
  async update(fields: { name?: string; notes?: string; tags?: string[] }): Promise<void> {
    await this.conn.unary(RunService.method.updateRun, {
      ref: this.ref, name: fields.name, notes: fields.notes, setTags: fields.tags !== undefined, tags: fields.tags ?? [],
    });
  }
}

/** The public API: read what was logged. */
export class Api {
  readonly entity: string;
  readonly project: string;
  private connection: Connection | null = null;

  constructor(opts: ApiOptions = {}) {
    this.entity = opts.entity || defaultEntity();
    this.project = opts.project || defaultProject();
  }

  /** @internal The connection (never starts a daemon: reading needs one that has data). */
  async conn(): Promise<Connection> {
    if (this.connection) return this.connection;
    const { address } = chooseAddress();
    if (!(await reachable(address))) throw new DaemonUnavailableError(`no trackd daemon is running at ${address}`);
    this.connection = new Connection(address);
    return this.connection;
  }

  /** Close the connection. */
  close(): void {
    this.connection?.close();
    this.connection = null;
  }

  private split(path: string, parts: 2 | 3): string[] {
    const p = path.split("/").filter((x) => x !== "");
    if (parts === 3) {
      if (p.length === 1) return [this.entity, this.project, p[0]];
      if (p.length === 2) return [this.entity, p[0], p[1]];
      if (p.length === 3) return p;
    } else {
      if (p.length === 1) return [this.entity, p[0]];
      if (p.length === 2) return p;
    }
    throw new UsageError(`invalid path ${JSON.stringify(path)}`);
  }

  /** One run: "entity/project/id", "project/id" or "id". */
  async run(path: string): Promise<ApiRun> {
    const [entity, project, runId] = this.split(path, 3);
    const conn = await this.conn();
    const resp = await conn.unary(QueryService.method.getRun, { ref: { entity, project, runId } });
    return new ApiRun(conn, resp.run!);
  }

  /** An artifact version: "name[:alias|:vN]", optionally "project/" or "entity/project/" first. */
  async artifact(path: string): Promise<ArtifactVersion> {
    return useArtifact(await this.conn(), null, this.entity, this.project, path);
  }

  /** The runs of "entity/project" or "project", newest first. */
  async runs(path: string = this.project): Promise<ApiRun[]> {
    const [entity, project] = this.split(path, 2);
    const conn = await this.conn();
    const out: ApiRun[] = [];
    let pageToken = "";
    do {
      const resp = await conn.unary(QueryService.method.listRuns, { entity, project, pageToken });
      for (const r of resp.runs) out.push(new ApiRun(conn, r));
      pageToken = resp.nextPageToken;
    } while (pageToken);
    return out;
  }
}
