// Test helpers: a real daemon in private directories (as tests/helpers.py's DaemonDirs), and
// the Python SDK (the repository's virtual environment) to read runs back and to log the same
// calls from Python.
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, rmSync, closeSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, "..", "..", "..");
/** The Python of the repository's venv (CI makes it), or $TRACKD_TEST_PYTHON. */
export const PYTHON = process.env.TRACKD_TEST_PYTHON ?? join(REPO, ".venv", "bin", "python");
export const READBACK = join(here, "readback.py");

if (!existsSync(PYTHON)) {
  throw new Error(`the node tests need the Python SDK and daemon: no ${PYTHON} (make the venv: ` +
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]', or set TRACKD_TEST_PYTHON)");
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function reachable(path) {
  return new Promise((res) => {
    const s = connect({ path });
    s.once("connect", () => { s.destroy(); res(true); });
    s.once("error", () => res(false));
  });
}

/**
 * A daemon of the test's own. Its environment (TRACKD_ROOT, TRACKD_STATE_DIR,
 * TRACKD_RUNTIME_DIR, TRACKD_ADDRESS, TRACKD_CRASH_GRACE, TRACKD_UI_PORT=0, TRACKD_LINGER=0) is
 * also put into process.env, so the SDK in this test process and every child finds it.
 */
export class TestDaemon {
  constructor({ crashGrace = 3, env = {} } = {}) {
    this.base = mkdtempSync(join(tmpdir(), "trackd-node-test-"));
    this.runtime = mkdtempSync("/tmp/tdn");
    this.socket = join(this.runtime, "trackd.sock");
    this.env = {
      TRACKD_ROOT: join(this.base, "root"),
      TRACKD_STATE_DIR: join(this.base, "state"),
      TRACKD_RUNTIME_DIR: this.runtime,
      TRACKD_ADDRESS: `unix:${this.socket}`,
      TRACKD_CRASH_GRACE: String(crashGrace),
      TRACKD_UI_PORT: "0",
      TRACKD_LINGER: "0",
      TRACKD_ENTITY: "tester",
      ...env,
    };
    Object.assign(process.env, this.env);
    this.proc = null;
  }

  async start(timeoutMs = 30_000) {
    const env = { ...process.env, ...this.env };
    delete env.TRACKD_ADDRESS;
    const out = openSync(join(this.base, "daemon.out"), "a");
    this.proc = spawn(PYTHON, ["-m", "trackd_daemon", "--no-ui"], { env, stdio: ["ignore", out, out], detached: true });
    closeSync(out);
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.exited = exited;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await reachable(this.socket)) return this;
      if (this.proc.exitCode !== null) throw new Error("the daemon exited at start");
      await sleep(20);
    }
    throw new Error("the daemon did not start");
  }

  /** SIGKILL: no drain. */
  async kill() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill("SIGKILL");
      await this.exited;
    }
  }

  /** SIGTERM and wait: the daemon drains and exits. */
  async stop() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill("SIGTERM");
      const t = setTimeout(() => this.proc.kill("SIGKILL"), 30_000);
      await this.exited;
      clearTimeout(t);
    }
  }

  async cleanup() {
    await this.stop();
    rmSync(this.base, { recursive: true, force: true });
    rmSync(this.runtime, { recursive: true, force: true });
  }
}

/** Run the read-back script: ``python readback.py ...args``, parsed JSON of its output. */
export function python(args, { timeoutMs = 120_000 } = {}) {
  return new Promise((res, rej) => {
    execFile(PYTHON, [READBACK, ...args], { env: process.env, timeout: timeoutMs, maxBuffer: 256 << 20 },
      (err, stdout, stderr) => {
        if (err) rej(new Error(`readback.py ${args[0]} failed: ${err.message}\n${stderr}`));
        else res(JSON.parse(stdout));
      });
  });
}

/** A run read back through the Python SDK's trackd.Api(). */
export async function readBack(path) {
  return (await python(["read", path]))[0];
}

/** Several runs read back in one Python process. */
export function readBackAll(paths) {
  return python(["read", ...paths]);
}

/** Tagged value (readback.py's form) -> the Node value logging the same. */
export function untag(v) {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(untag);
  if ("int" in v) return BigInt(v.int);
  if ("float" in v) return Buffer.from(v.float, "hex").readDoubleBE();
  return Object.fromEntries(Object.entries(v.map).map(([k, x]) => [k, untag(x)]));
}

/** The same value tagging as readback.py, for values the Node SDK logged. */
export function tag(v) {
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "bigint") return { int: v.toString() };
  if (typeof v === "number") {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return { float: b.toString("hex") };
  }
  if (Array.isArray(v)) return v.map(tag);
  return { map: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tag(x)])) };
}

/** A float as readback.py tags it. */
export function f64(v) {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return { float: b.toString("hex") };
}

/** Run a Node script file (a child process) with the test's environment. */
export function node(script, args = [], { timeoutMs = 120_000 } = {}) {
  return new Promise((res) => {
    const child = spawn(process.execPath, [script, ...args], { env: process.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b) => { out += b; });
    child.stderr.on("data", (b) => { err += b; });
    const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(t);
      res({ code, signal, stdout: out, stderr: err, pid: child.pid });
    });
    child.proc = child;
  });
}
