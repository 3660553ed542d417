// init()'s resume option, as the Python SDK's: "auto" (and true), "allow", "never", offline.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as trackd from "../dist/index.js";
import { TestDaemon, readBackAll } from "./helpers.mjs";

let daemon;
let dir;
before(async () => {
  daemon = await new TestDaemon().start();
  dir = mkdtempSync(join(tmpdir(), "trackd-resume-"));
});
after(async () => {
  await daemon.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('resume "auto" continues the directory\'s run until it finishes cleanly', async () => {
  const where = join(dir, "auto");
  const file = join(where, "wandb", "wandb-resume.json");
  const a = await trackd.init({ project: "resume", resume: "auto", dir: where });
  assert.equal(a.resumed, false);
  assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { run_id: a.id });
  a.log({ x: 1n });
  assert.equal((await a.finish(1)).state, "failed");
  assert.ok(existsSync(file), "a failed run keeps the file");

  const b = await trackd.init({ project: "resume", resume: "auto", dir: where });
  assert.equal(b.id, a.id);
  assert.equal(b.resumed, true);
  assert.equal(b.currentStep, 1);
  b.log({ x: 2n });
  assert.equal((await b.finish()).state, "finished");
  assert.ok(!existsSync(file), "a run that finished cleanly removes the file");

  const c = await trackd.init({ project: "resume", resume: "auto", dir: where });
  assert.notEqual(c.id, a.id);
  assert.equal(c.resumed, false);
  await c.finish();
  const [back] = await readBackAll([`tester/resume/${a.id}`]);
  assert.deepEqual(back.history.map((r) => r.map.x.int), ["1", "2"]);

  // An unreadable file starts a new run; an id given wins over the file.
  mkdirSync(join(where, "wandb"), { recursive: true });
  writeFileSync(file, "{not json");
  const d = await trackd.init({ project: "resume", resume: "auto", dir: where });
  assert.equal(d.resumed, false);
  await d.finish(1);
  const e = await trackd.init({ project: "resume", resume: "auto", dir: where, id: "given1" });
  assert.equal(e.id, "given1");
  assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { run_id: "given1" });
  await e.finish();
});

test("resume true is \"auto\" (deprecated), and an unknown value is refused", async () => {
  const where = join(dir, "true");
  const warned = [];
  const onWarn = (w) => warned.push(w);
  process.on("warning", onWarn);
  try {
    const a = await trackd.init({ project: "resume", resume: true, dir: where });
    await a.finish(1);
    const b = await trackd.init({ project: "resume", resume: true, dir: where });
    assert.equal(b.id, a.id);
    assert.equal(b.resumed, true);
    await b.finish();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off("warning", onWarn);
  }
  assert.ok(warned.some((w) => w.name === "DeprecationWarning" && /resume=true is deprecated/.test(w.message)));
  await assert.rejects(trackd.init({ project: "resume", resume: "sometimes" }), trackd.UsageError);
});

test('resume "allow" creates or continues; "never" refuses an existing run', async () => {
  const a = await trackd.init({ project: "resume", id: "allow1", resume: "allow" });
  assert.equal(a.resumed, false);
  a.log({ y: 1n });
  await a.finish();
  const b = await trackd.init({ project: "resume", id: "allow1", resume: "allow" });
  assert.equal(b.resumed, true);
  assert.equal(b.currentStep, 1);
  await b.finish();
  await assert.rejects(trackd.init({ project: "resume", id: "allow1", resume: "never" }), trackd.RunAlreadyExistsError);
  const c = await trackd.init({ project: "resume", id: "never1", resume: "never" });
  assert.equal(c.resumed, false);
  await c.finish();
});

test("resume is ignored offline, with a warning", async () => {
  const where = join(dir, "offline");
  const warned = [];
  const onWarn = (w) => warned.push(w.message);
  process.on("warning", onWarn);
  try {
    const run = await trackd.init({ project: "resume", mode: "offline", resume: "must", id: "off1", dir: where });
    await run.finish();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off("warning", onWarn);
  }
  assert.ok(warned.some((m) => /`resume` will be ignored since trackd is set to `offline`\. Starting a new run with run id off1\./.test(m)));
  assert.ok(!existsSync(join(where, "wandb", "wandb-resume.json")));
});
