// What happens to runs the program leaves open (docs/protocol.md, "Finishing").
//
//  - the program's work ends ("beforeExit": the event loop is empty): each open run is
//    finished with process.exitCode (0 when unset), as Python's atexit does;
//  - process.exit(code), or an uncaught exception (exit code 1): "exit" handlers cannot wait,
//    so the records not yet acknowledged and an exit record are handed to a short-lived helper
//    process (dist/exit-helper.js) that delivers them and calls FinishRun; the run ends
//    finished (code 0) or failed;
//  - SIGINT or SIGTERM with no other listener for it: the runs are finished as failed (exit code
//    255 for SIGINT, as Python's KeyboardInterrupt; 143 for SIGTERM), then the signal is raised
//    again so the process ends as it would have; with listeners of the program's own, trackd
//    leaves the signal to them (a process.exit() they make is handled as above);
//  - SIGKILL, or a crash of Node itself: nothing can run; the daemon marks the run crashed when
//    its stream has been gone for the crash grace.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { openRuns, type Run } from "./run.js";

let installed = false;
let exceptionSeen = false;

export const SIGNAL_EXIT_CODES: Record<string, number> = { SIGINT: 255, SIGTERM: 143 };

/** What the exit helper needs to deliver one run's rest (JSON on its stdin). */
export interface HelperRun {
  address: string;
  ref: { entity: string; project: string; runId: string };
  writer: string;
  ackedSeq: number;
  /** (last seq, base64 StreamRecordsRequest bytes) */
  batches: [number, string][];
  lastSeq: number;
  exitCode: number;
  finishTimeoutMs: number;
}

function handOver(runs: Run[], code: number): void {
  const work: HelperRun[] = [];
  for (const run of runs) {
    const s = run.sender;
    if (run.offlineDir !== null) {
      // An offline run's log is written synchronously: end it here.
      if (!run.isFinished) s.put({ k: "x", code });
      s.abort();
      continue;
    }
    if (!run.isFinished && !s.error) {
      s.put({ k: "x", code });
    }
    s.abort();
    work.push({
      address: run.conn.address,
      ref: { entity: run.entity, project: run.project, runId: run.id },
      writer: run.writer,
      ackedSeq: s.ackedSeq,
      batches: s.undelivered().map(([last, bytes]) => [last, Buffer.from(bytes).toString("base64")]),
      lastSeq: s.lastSeq,
      exitCode: code,
      finishTimeoutMs: 60_000,
    });
  }
  if (!work.length) return;
  const helper = fileURLToPath(new URL("./exit-helper.js", import.meta.url));
  const res = spawnSync(process.execPath, [helper], {
    input: JSON.stringify(work), stdio: ["pipe", "inherit", "inherit"], timeout: 90_000,
  });
  if (res.status !== 0) {
    process.stderr.write(`trackd: the runs left open could not be finished at exit (${res.error ?? `status ${res.status}`}); ` +
      "the daemon marks them crashed\n");
  }
}

function onBeforeExit(): void {
  const runs = openRuns().filter((r) => !r.isFinished);
  if (!runs.length) return;
  const code = typeof process.exitCode === "number" ? process.exitCode : Number(process.exitCode ?? 0) || 0;
  for (const run of runs) {
    run.finish(code).catch((e: unknown) => {
      process.stderr.write(`trackd: finishing run ${run.id} at exit failed: ${e}\n`);
    });
  }
}

function onExit(code: number): void {
  const runs = openRuns();
  if (!runs.length) return;
  handOver(runs, exceptionSeen && code === 0 ? 1 : code);
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return; // the program handles it
  const runs = openRuns().filter((r) => !r.isFinished);
  const code = SIGNAL_EXIT_CODES[signal] ?? 1;
  const reraise = () => {
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  };
  if (!runs.length) {
    reraise();
    return;
  }
  // A second signal while finishing: stop waiting, the "exit" handler hands the rest over.
  process.removeListener(signal, onSignal);
  process.once(signal, () => process.exit(128 + (signal === "SIGINT" ? 2 : 15)));
  Promise.allSettled(runs.map((r) => r.finish(code))).then(() => {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  });
}

/** Install the process hooks once (init() calls it). */
export function installExitHandlers(): void {
  if (installed) return;
  installed = true;
  process.on("beforeExit", onBeforeExit);
  process.on("exit", onExit);
  process.on("uncaughtExceptionMonitor", () => {
    exceptionSeen = true;
  });
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
