// Offline runs: written to a directory in the daemon's log format, then `trackd sync` makes
// them runs like any other.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as trackd from "../dist/index.js";
import { PYTHON, TestDaemon, f64, node, readBack, tag } from "./helpers.mjs";

let daemon;
before(async () => {
  daemon = await new TestDaemon().start();
});
after(async () => {
  await daemon.cleanup();
});

const TRACKD = join(PYTHON, "..", "trackd");
const sync = (dir) => execFileSync(TRACKD, ["sync", dir], { env: process.env, encoding: "utf8" });

test("an offline run, synced, reads back as the same calls online", async () => {
  const root = mkdtempSync(join(tmpdir(), "trackd-node-offline-"));
  const run = await trackd.init({ mode: "offline", dir: root, project: "off", id: "o1", config: { lr: 0.5, n: 2n } });
  assert.ok(run.offlineDir.startsWith(join(root, "wandb", "offline-run-")));
  // A long run: its log spans several 32 KiB blocks (records split across them).
  for (let i = 0; i < 3000; i++) await run.log({ loss: 1 / (i + 1), i: BigInt(i), text: "x".repeat(i % 50) });
  run.summary.set("best", "m1");
  run.defineMetric("loss", { summary: "min" });
  await assert.rejects(run.summary.all(), trackd.UsageError);
  assert.equal((await run.finish()).state, "finished");
  assert.match(sync(run.offlineDir), /synced 300\d new of 300\d records/);
  const back = await readBack("tester/off/o1");
  assert.equal(back.state, "finished");
  assert.deepEqual(back.config, tag({ lr: 0.5, n: 2n }));
  assert.equal(back.history.length, 3000);
  assert.deepEqual(back.history[2999].map.i, { int: "2999" });
  assert.deepEqual(back.history[7].map.loss, f64(1 / 8));
  assert.equal(back.summary.map.best, "m1");
});

test("an offline run ended by process.exit(2) is complete in its log and syncs as failed", async () => {
  const root = mkdtempSync(join(tmpdir(), "trackd-node-offline-"));
  const script = join(root, "child.mjs");
  writeFileSync(script, `
    import * as trackd from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
    const run = await trackd.init({ mode: "offline", dir: ${JSON.stringify(root)}, project: "off", id: "o2" });
    for (let i = 0; i < 100; i++) run.log({ i: BigInt(i) });
    process.exit(2);
  `);
  const r = await node(script);
  assert.equal(r.code, 2, r.stderr);
  const dir = join(root, "wandb", readdirSync(join(root, "wandb"))[0]);
  assert.equal(JSON.parse(readFileSync(join(dir, "run.json"), "utf8")).run_id, "o2");
  sync(dir);
  const back = await readBack("tester/off/o2");
  assert.equal(back.state, "failed");
  assert.equal(back.exit_code, 2);
  assert.deepEqual(back.history.map((row) => Number(row.map.i.int)), Array.from({ length: 100 }, (_, i) => i));
});
