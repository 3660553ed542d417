// init(): find (or start) the daemon, create or resume the run, start its sender.
import { randomInt } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { Connection, unaryRetrying } from "./connection.js";
import { chooseAddress, defaultAddress, findOrStartDaemon, reachable, startDaemon } from "./discovery.js";
import { UsageError } from "./errors.js";
import { installExitHandlers } from "./exit.js";
import { ResumePolicy, RunService } from "./gen/trackd/v1/run_service_pb.js";
import { Run, rememberRun } from "./run.js";
import { Sender } from "./sender.js";
import { makeOfflineDir, OfflineSink } from "./offline.js";
import { encodeMap, mapToJs, normalize, type PlainMap } from "./values.js";
import { fromBinary } from "@bufbuild/protobuf";
import { MapValueSchema } from "./gen/trackd/v1/value_pb.js";

export interface InitOptions {
  /** Project (default: the git repository around the working directory, else "uncategorized"). */
  project?: string;
  /** Entity (default: $TRACKD_ENTITY, else this OS user's name, as the Python SDK and Api()). */
  entity?: string;
  /** Display name (the daemon picks an adjective-noun-N name when unset). */
  name?: string;
  notes?: string;
  tags?: string[];
  group?: string;
  jobType?: string;
  /** The initial config (plain values; see the value mapping in docs/protocol.md). */
  config?: Record<string, unknown>;
  /** Run id (8 random characters of [a-z0-9] when unset). */
  id?: string;
  /** Continue an existing run: "allow" when it exists, "must" (it has to), "never" (it must
   * not exist), or "auto" (true is its older name): without an id, the run this directory's
   * last run that did not finish cleanly (<dir>/wandb/wandb-resume.json), then as "allow".
   * Ignored, with a warning, offline. */
  resume?: "allow" | "must" | "never" | "auto" | boolean;
  /** "online" (default), "shared" (several processes write one run) or "disabled" (nothing
   * is sent anywhere: calls check their arguments and the run being open, and return; the
   * summary is kept in the Run object; logArtifact/useArtifact throw UsageError) or "offline"
   * (records are written to a directory for `trackd sync`; no daemon is asked). */
  mode?: "online" | "shared" | "disabled" | "offline";
  /** Offline mode: where the run's directory is made (default: the working directory); the
   * records go to <dir>/wandb/offline-run-<time>-<id>/ for `trackd sync`. */
  dir?: string;
  /** Shared mode: false for every process but the one that owns the run's finish. */
  primary?: boolean;
  /** Shared mode: this writer's label (default "<host>-<pid>"). */
  label?: string;
  /** Records buffered before log() returns a promise to await (default 10,000). */
  maxBufferedRecords?: number;
  /** Seconds finish() may take (default 120). */
  finishTimeout?: number;
  /** Seconds init() may take to find or start the daemon and create the run (default 90). */
  initTimeout?: number;
  /** Seconds without this process before the daemon marks the run crashed (default: the
   * daemon's TRACKD_CRASH_GRACE, 30 s); W&B's heartbeat_seconds. */
  heartbeatSeconds?: number;
  /** Finish open runs when the process ends, and on SIGINT/SIGTERM (default true). */
  exitHandlers?: boolean;
}

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const BAD_ID = /[/\\#?%:;,']/;

export function generateId(length = 8): string {
  let s = "";
  for (let i = 0; i < length; i++) s += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return s;
}

function validateId(id: string): string {
  if (typeof id !== "string" || id.length < 1 || id.length > 64 || id.trim() !== id || BAD_ID.test(id)) {
    throw new UsageError(`invalid run id ${JSON.stringify(id)}: 1-64 characters, none of / \\ # ? % : ; , ' ` +
      "and no whitespace");
  }
  return id;
}

export function defaultEntity(): string {
  if (process.env.TRACKD_ENTITY) return process.env.TRACKD_ENTITY;
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? "user");
  }
}

export function defaultProject(program: string | undefined = process.argv[1]): string {
  let dir = process.cwd();
  for (;;) {
    if (existsSync(join(dir, ".git"))) {
      let name = basename(dir);
      if (program) {
        const rel = relative(dir, dirname(resolve(program)));
        if (rel && !rel.startsWith("..")) name += "-" + rel.split(sep).join("_");
      }
      return name;
    }
    const up = dirname(dir);
    if (up === dir) return "uncategorized";
    dir = up;
  }
}

/** The resume option as one of "allow", "must", "never", "auto", or null (unset): true is
 * "auto" and false unset, as in the Python SDK. */
function resumeName(resume: InitOptions["resume"]): "allow" | "must" | "never" | "auto" | null {
  if (resume === undefined || resume === null || resume === false) return null;
  if (resume === true) {
    process.emitWarning(`resume=true is deprecated; use resume: "auto" or leave it unset`, "DeprecationWarning");
    return "auto";
  }
  if (resume === "allow" || resume === "must" || resume === "never" || resume === "auto") return resume;
  throw new UsageError(`resume must be one of "allow", "must", "never", "auto" (or a boolean), got ${JSON.stringify(resume)}`);
}

function policy(name: "allow" | "must" | "never" | null): ResumePolicy {
  if (name === null) return ResumePolicy.UNSPECIFIED;
  return { allow: ResumePolicy.ALLOW, must: ResumePolicy.MUST, never: ResumePolicy.NEVER }[name];
}

/** The id resume "auto" continues: the run_id of ``file`` (a missing or unreadable file: none). */
function resumeFileId(file: string): string | undefined {
  try {
    const id = (JSON.parse(readFileSync(file, "utf8")) as { run_id?: unknown }).run_id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Start a run. Finds the daemon (TRACKD_ADDRESS, the stored login, this user's socket),
 * starting `trackd daemon start` when none answers on the socket, and creates the run.
 *
 * @throws DaemonUnavailableError no daemon could be reached or started.
 * @throws UsageError bad options, or resume "must" of a run that does not exist.
 */
export async function init(opts: InitOptions = {}): Promise<Run> {
  const initTimeoutMs = (opts.initTimeout ?? 90) * 1000;
  const mode = opts.mode ?? "online";
  if (mode !== "online" && mode !== "shared" && mode !== "disabled" && mode !== "offline") {
    throw new UsageError(`mode must be "online", "shared", "offline" or "disabled", got ${JSON.stringify(mode)}`);
  }
  let resume = resumeName(opts.resume);
  const resumeIgnored = resume !== null && mode === "offline";
  if (resumeIgnored) resume = null; // as W&B: an offline run cannot look its run up
  // resume "auto": the file of this directory's run that has not finished cleanly.
  const resumeFile = resume === "auto" ? join(resolve(opts.dir ?? "."), "wandb", "wandb-resume.json") : null;
  const autoId = resumeFile !== null && opts.id === undefined ? resumeFileId(resumeFile) : undefined;
  const runId = opts.id !== undefined ? validateId(opts.id) : autoId !== undefined ? validateId(autoId) : generateId();
  if (resumeIgnored) {
    process.emitWarning(`trackd: \`resume\` will be ignored since trackd is set to \`offline\`. Starting a new run with run id ${runId}.`);
  }
  const entity = opts.entity || defaultEntity();
  const project = opts.project || defaultProject();
  const config = (normalize(opts.config ?? {}, "config") ?? {}) as PlainMap;
  if (typeof config !== "object" || Array.isArray(config)) throw new TypeError("config must be an object");
  const primary = mode !== "shared" || opts.primary !== false;
  const label = opts.label ?? `${hostname()}-${process.pid}`;
  const writer = primary ? "" : label;
  const startTime = Date.now() / 1000;
  const ref = { entity, project, runId };

  if (mode === "disabled") {
    return new Run({
      conn: null, ref, name: opts.name ?? "", mode, writer, label, config, startingStep: 0, sender: null,
      finishTimeoutMs: 0, resumed: false, tags: opts.tags ?? [], notes: opts.notes ?? "",
      group: opts.group ?? "", jobType: opts.jobType ?? "",
    });
  }
  if (mode === "offline") {
    const dir = makeOfflineDir(resolve(opts.dir ?? "."), runId, {
      entity, project, run_id: runId, name: opts.name ?? "", notes: opts.notes ?? "", tags: opts.tags ?? [],
      group: opts.group ?? "", job_type: opts.jobType ?? "", config: {}, start_time: startTime,
      host: hostname(), program: process.argv[1] ?? "", sweep_id: "",
    });
    const sink = new OfflineSink(dir, ref);
    // The initial config travels as the log's first record (run.json holds JSON, which cannot
    // tell Node's floats from ints).
    if (Object.keys(config).length) sink.put({ k: "c", update: config, remove: [] });
    const run = new Run({
      conn: null, ref, name: opts.name ?? "", mode, writer, label, config, startingStep: 0, sender: sink,
      finishTimeoutMs: (opts.finishTimeout ?? 120) * 1000, resumed: false, tags: opts.tags ?? [],
      notes: opts.notes ?? "", group: opts.group ?? "", jobType: opts.jobType ?? "",
    });
    rememberRun(run);
    if (opts.exitHandlers !== false) installExitHandlers();
    return run;
  }
  const address = await findOrStartDaemon(initTimeoutMs);
  let conn = new Connection(address);
  const req = {
    ref, name: opts.name ?? "", notes: opts.notes ?? "", tags: opts.tags ?? [], group: opts.group ?? "",
    jobType: opts.jobType ?? "", config: fromBinary(MapValueSchema, encodeMap(config)), startTime,
    host: hostname(), program: process.argv[1] ?? "", requestId: `${process.pid}-${runId}-${startTime}`,
    resume: policy(resume === "auto" ? "allow" : resume), shared: mode === "shared", writer, pid: process.pid,
    crashGraceSeconds: opts.heartbeatSeconds ?? 0,
  };
  // Retrying is harmless (request_id): a daemon that is restarting is waited out.
  const resp = await unaryRetrying(() => conn, RunService.method.createRun, req, initTimeoutMs);
  const stored = resp.run;
  if (!stored) throw new UsageError("the daemon returned no run");
  // The daemon's crash grace is at least 1 s; re-attach well inside it.
  const graceS = opts.heartbeatSeconds ?? Number(process.env.TRACKD_CRASH_GRACE ?? 30);
  const heartbeatMs = Math.max(100, Math.min(2000, (graceS * 1000) / 4));
  let run: Run | null = null;
  const sender = new Sender({
    conn, ref, writer, bound: opts.maxBufferedRecords ?? 10_000, startSeq: Number(stored.ackedSeq),
    heartbeatMs,
    reconnect: async () => {
      // The daemon went away: use the one that is there now, starting one on this user's
      // socket when that is where it was and nothing answers.
      const { address: now } = chooseAddress();
      if (!(await reachable(now)) && now === defaultAddress()) await startDaemon(initTimeoutMs);
      if (now !== conn.address) {
        conn = new Connection(now);
        if (run) run.conn = conn;
        return conn;
      }
      return undefined;
    },
    onStop: () => {
      process.emitWarning(`trackd: run ${runId} was asked to stop (trackd runs stop, or its sweep); ` +
        "interrupting the training");
      process.kill(process.pid, "SIGINT");
    },
  });
  run = new Run({
    conn, ref, name: stored.name, mode, writer, label, config: mapToJs(stored.config),
    startingStep: Number(resp.startingStep), sender, finishTimeoutMs: (opts.finishTimeout ?? 120) * 1000,
    resumed: resp.resumed, tags: stored.tags, notes: stored.notes, group: stored.group, jobType: stored.jobType,
    resumeFile,
  });
  if (resumeFile !== null) {
    mkdirSync(dirname(resumeFile), { recursive: true });
    writeFileSync(resumeFile, JSON.stringify({ run_id: runId }).replace(":", ": "));
  }
  rememberRun(run);
  if (opts.exitHandlers !== false) installExitHandlers();
  return run;
}
