// A training-style loop: config, a metric with a best-so-far summary, one row per step, an
// alert, and a model file saved with the run.
//
//   cd sdk/node && npm ci && npm run build && node examples/train.mjs
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as trackd from "../dist/index.js";

const run = await trackd.init({
  project: "node-demo",
  jobType: "train",
  config: { lr: 0.05, epochs: 5n, stepsPerEpoch: 200n },
});
run.defineMetric("val/acc", { summary: "max", goal: "maximize" });

let w = 0;
for (let epoch = 0; epoch < 5; epoch++) {
  for (let i = 0; i < 200; i++) {
    // A toy model: w moves towards 3; the loss is its squared error plus noise.
    w += run.config.get("lr") * (3 - w);
    // Await what log() returns: a promise only when the sender's buffer is full.
    await run.log({ "train/loss": (3 - w) ** 2 + Math.random() * 0.01, epoch: BigInt(epoch) });
  }
  const acc = 1 - Math.abs(3 - w) / 3;
  await run.log({ "val/acc": acc, epoch: BigInt(epoch) });
  if (acc > 0.99) run.alert({ title: "converged", text: `val/acc ${acc.toFixed(4)} at epoch ${epoch}` });
}

const dir = mkdtempSync(join(tmpdir(), "node-demo-"));
writeFileSync(join(dir, "model.json"), JSON.stringify({ w }));
await run.save(join(dir, "model.json"), { policy: "now" });

const done = await run.finish();
console.log(`run ${run.path}: ${done.state}, ${done.historyRows} rows, best val/acc`, done.summary["val/acc"]);
