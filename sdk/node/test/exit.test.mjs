// How a Node process that ends without (or before) finish() leaves its run.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { TestDaemon, node, readBack, sleep } from "./helpers.mjs";

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "scripts", "child.mjs");
let daemon;
before(async () => {
  daemon = await new TestDaemon({ crashGrace: 2 }).start();
});
after(async () => {
  await daemon.cleanup();
});

async function rowsOf(id) {
  const back = await readBack(`tester/node-exit/${id}`);
  return { state: back.state, exitCode: back.exit_code, is: back.history.map((r) => Number(r.map.i.int)) };
}

const range = (n) => Array.from({ length: n }, (_, i) => i);

test("finish() and a program that just ends: finished, every row kept", async () => {
  for (const how of ["finish", "natural"]) {
    const r = await node(CHILD, [`e-${how}`, how]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await rowsOf(`e-${how}`), { state: "finished", exitCode: 0, is: range(20) });
  }
});

test("process.exit(3) and an uncaught exception: failed, every row kept", async () => {
  const r = await node(CHILD, ["e-exit3", "exit3", "500"]);
  assert.equal(r.code, 3, r.stderr);
  assert.deepEqual(await rowsOf("e-exit3"), { state: "failed", exitCode: 3, is: range(500) });
  const t = await node(CHILD, ["e-throw", "throw"]);
  assert.equal(t.code, 1);
  assert.match(t.stderr, /training blew up/);
  assert.deepEqual(await rowsOf("e-throw"), { state: "failed", exitCode: 1, is: range(20) });
});

function startChild(args) {
  const child = spawn(process.execPath, [CHILD, ...args], { env: process.env, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (b) => { err += b; });
  const ready = new Promise((res) => child.stdout.on("data", (b) => String(b).includes("ready") && res()));
  const exited = new Promise((res) => child.once("exit", (code, signal) => res({ code, signal, stderr: err })));
  return { child, ready, exited };
}

test("SIGKILL: the run ends crashed after the crash grace; SIGTERM and SIGINT: failed", async () => {
  const k = startChild(["e-kill", "sigkill-wait"]);
  await k.ready;
  k.child.kill("SIGKILL");
  await k.exited;
  let got;
  for (let i = 0; i < 100; i++) {
    got = await rowsOf("e-kill");
    if (got.state !== "running") break;
    await sleep(200);
  }
  assert.deepEqual(got, { state: "crashed", exitCode: 0, is: range(20) });

  const t = startChild(["e-term", "sigterm-wait"]);
  await t.ready;
  t.child.kill("SIGTERM");
  const res = await t.exited;
  assert.equal(res.signal, "SIGTERM", res.stderr);
  assert.deepEqual(await rowsOf("e-term"), { state: "failed", exitCode: 143, is: range(20) });

  const n = startChild(["e-int", "sigint-wait"]);
  await n.ready;
  n.child.kill("SIGINT");
  const res2 = await n.exited;
  assert.equal(res2.signal, "SIGINT", res2.stderr);
  assert.deepEqual(await rowsOf("e-int"), { state: "failed", exitCode: 255, is: range(20) });
});

test("the daemon SIGKILLed while a Node process logs: it reconnects, resends, nothing is lost", async () => {
  const c = startChild(["e-daemon", "stream", "10"]);
  let out = "";
  c.child.stdout.on("data", (b) => { out += b; });
  await c.ready;
  await sleep(300);
  await daemon.kill();
  await sleep(500);
  await daemon.start();
  const res = await c.exited;
  assert.equal(res.code, 0, res.stderr);
  const summary = JSON.parse(out.trim().split("\n").pop());
  assert.equal(summary.state, "finished");
  assert.ok(summary.reconnects >= 1, `reconnected (${JSON.stringify(summary)})`);
  assert.deepEqual(await rowsOf("e-daemon"), { state: "finished", exitCode: 0, is: range(3010) });
});

test("finish() with the daemon gone for good: FinishTimeoutError, and the process still ends", async () => {
  const c = startChild(["e-gone", "gone", "5"]);
  let out = "";
  c.child.stdout.on("data", (b) => { out += b; });
  await c.ready;
  await daemon.kill();
  const t0 = Date.now();
  const res = await c.exited;
  assert.equal(res.code, 0, res.stderr);
  assert.match(out, /FinishTimeoutError/);
  assert.ok(Date.now() - t0 < 30_000, "ended soon after giving up");
  await daemon.start();
});
