// A Node run read back through the Python SDK's trackd.Api(): rows, config, summary, metric
// definitions, alerts and files equal what the Node code logged.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as trackd from "../dist/index.js";
import { TestDaemon, f64, python, readBack, tag } from "./helpers.mjs";

let daemon;
before(async () => {
  daemon = await new TestDaemon().start();
});
after(async () => {
  await daemon.cleanup();
});

test("rows, config, summary, metrics, alerts and files read back through Python", async () => {
  const run = await trackd.init({
    project: "node-e2e", id: "n1", name: "first", tags: ["a", "b"], notes: "from node",
    group: "g", jobType: "train", config: { lr: 0.01, layers: 3n, opt: { name: "adam", betas: [0.9, 0.999] } },
  });
  assert.equal(run.entity, "tester");
  run.config.update({ batch: 32n });
  assert.throws(() => run.config.set("lr", 0.1), trackd.ConfigError);
  run.config.set("lr", 0.1, { allowValChange: true });
  run.defineMetric("acc", { summary: "max", goal: "maximize" });
  run.defineMetric("val/*", { stepMetric: "epoch" });
  for (let i = 0; i < 5; i++) await run.log({ loss: 1 / (i + 1), acc: i / 10, epoch: BigInt(i) });
  run.summary.set("best_model", "m4");
  run.summary.update({ note: { nested: true } });
  run.alert({ title: "done", text: "training done", level: "WARN" });
  const dir = mkdtempSync(join(tmpdir(), "trackd-node-save-"));
  writeFileSync(join(dir, "notes.txt"), "hello files");
  assert.equal(await run.save(join(dir, "notes.txt"), { policy: "now" }), "notes.txt");
  assert.deepEqual(await run.summary.get("best_model"), "m4");
  const done = await run.finish();
  assert.equal(done.state, "finished");
  assert.equal(done.historyRows, 5);

  const back = await readBack("tester/node-e2e/n1");
  assert.equal(back.state, "finished");
  assert.equal(back.name, "first");
  assert.deepEqual(back.tags, ["a", "b"]);
  assert.equal(back.notes, "from node");
  assert.equal(back.group, "g");
  assert.equal(back.job_type, "train");
  assert.deepEqual(back.config, tag({ lr: 0.1, layers: 3n, opt: { name: "adam", betas: [0.9, 0.999] }, batch: 32n }));
  assert.equal(back.history.length, 5);
  for (const [i, row] of back.history.entries()) {
    const m = row.map;
    assert.deepEqual(m._step, { int: String(i) });
    assert.deepEqual(m.loss, f64(1 / (i + 1)));
    assert.deepEqual(m.epoch, { int: String(i) });
    assert.ok(m._runtime && m._timestamp);
  }
  const s = back.summary.map;
  assert.deepEqual(s.acc, { map: { max: f64(0.4) } });
  assert.deepEqual(s.loss, f64(0.2));
  assert.equal(s.best_model, "m4");
  assert.deepEqual(s.note, { map: { nested: true } });
  assert.deepEqual(back.metrics.map((m) => [m.name, m.step_metric, m.summary]),
    [["acc", "", ["max"]], ["val/*", "epoch", []]]);
  assert.deepEqual(back.alerts, [{ title: "done", text: "training done", level: "WARN", suppressed: false }]);
  assert.deepEqual(back.files.map((f) => [f.name, Buffer.from(f.bytes, "hex").toString()]), [["notes.txt", "hello files"]]);

  // The Node Api reads the same.
  const api = new trackd.Api();
  const again = await api.run("tester/node-e2e/n1");
  assert.equal(again.state, "finished");
  assert.deepEqual((await again.history({ keys: ["loss"] })).map((r) => r.loss), [1, 0.5, 1 / 3, 0.25, 0.2]);
  assert.deepEqual(again.config.opt, { name: "adam", betas: [0.9, 0.999] });
  api.close();
  await assert.rejects(async () => run.log({ x: 1 }), trackd.UsageError);
});

test("artifacts: logged from Node, downloaded by Python and by Node with digests checked", async () => {
  const dir = mkdtempSync(join(tmpdir(), "trackd-node-art-"));
  mkdirSync(join(dir, "sub"));
  writeFileSync(join(dir, "model.bin"), "weights v1");
  writeFileSync(join(dir, "sub", "vocab.txt"), "a b c");
  const run = await trackd.init({ project: "node-e2e", id: "art1" });
  const art = await new trackd.Artifact("model", "model", { metadata: { acc: 0.9 } }).addDir(dir);
  const v = await run.logArtifact(art, { aliases: ["best"] });
  assert.equal(v.version, "v0");
  assert.equal(v.digest, trackd.manifestDigest(await v.manifest()));
  await run.finish();

  const back = await python(["artifact", "tester/node-e2e/model:best", join(dir, "py")]);
  assert.deepEqual(back.files, { "model.bin": "weights v1", "sub/vocab.txt": "a b c" });
  assert.equal(back.digest, v.digest);
  assert.equal(back.version, "v0");
  assert.deepEqual(back.aliases, ["best", "latest"]);
  assert.deepEqual(back.metadata, { acc: 0.9 });

  const reader = await trackd.init({ project: "node-e2e", id: "art2" });
  const used = await reader.useArtifact("model:latest");
  const out = await used.download(join(dir, "node"));
  assert.equal(readFileSync(join(out, "sub", "vocab.txt"), "utf8"), "a b c");
  await reader.finish();
});

test("resume continues the step; resume 'must' of an unknown id fails", async () => {
  const a = await trackd.init({ project: "node-e2e", id: "res1" });
  a.log({ x: 1n });
  a.log({ x: 2n });
  await a.finish();
  const b = await trackd.init({ project: "node-e2e", id: "res1", resume: "allow" });
  assert.equal(b.resumed, true);
  assert.equal(b.currentStep, 2);
  b.log({ x: 3n });
  await b.finish();
  const back = await readBack("tester/node-e2e/res1");
  assert.deepEqual(back.history.map((r) => [r.map._step.int, r.map.x.int]), [["0", "1"], ["1", "2"], ["2", "3"]]);
  await assert.rejects(trackd.init({ project: "node-e2e", id: "nope", resume: "must" }), trackd.RunNotFoundError);
});

test("a gap in the seqs (records lost before they were sent) fails at once, not a finish() that waits", { timeout: 30_000 }, async () => {
  const run = await trackd.init({ project: "node-e2e", id: "gap1" });
  await run.log({ i: 0n });
  await run.sender.flush();
  run.sender.nextSeq += 1; // a seq handed out and never queued: one record lost here
  await run.log({ i: 1n });
  const t0 = Date.now();
  await assert.rejects(run.finish(), (err) => err instanceof trackd.CommError &&
    /run gap1: the daemon holds this process's records up to seq \d+ and was sent a later one/.test(err.message));
  assert.ok(Date.now() - t0 < 10_000);
});
