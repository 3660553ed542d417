// An evaluation loop: score each example, log per-example rows with an explicit step, log the
// predictions as a table (shown by the dashboard, read back by trackd.Api() as a Table), put
// the aggregate in the summary, and version the predictions as an artifact.
//
//   cd sdk/node && npm ci && npm run build && node examples/evaluate.mjs
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as trackd from "../dist/index.js";

const examples = Array.from({ length: 50 }, (_, i) => ({ id: i, question: `${i} + ${i}`, answer: 2 * i }));
const model = (q) => {
  const [a, b] = q.split(" + ").map(Number);
  return a + b + (a % 7 === 0 ? 1 : 0); // wrong on multiples of 7
};

const run = await trackd.init({ project: "node-demo", jobType: "eval", config: { model: "adder-v1" } });
const predictions = [];
const table = new trackd.Table({ columns: ["id", "question", "expected", "got", "ok"] });
let correct = 0;
for (const [step, ex] of examples.entries()) {
  const got = model(ex.question);
  const ok = got === ex.answer;
  correct += ok ? 1 : 0;
  predictions.push({ ...ex, got, ok });
  table.addData(BigInt(ex.id), ex.question, BigInt(ex.answer), BigInt(got), ok);
  run.log({ correct: ok, running_accuracy: correct / (step + 1) }, { step });
}
run.log({ predictions: table });
run.summary.update({ accuracy: correct / examples.length, examples: BigInt(examples.length) });

const dir = mkdtempSync(join(tmpdir(), "node-eval-"));
writeFileSync(join(dir, "predictions.json"), JSON.stringify(predictions, null, 1));
const version = await run.logArtifact(
  new trackd.Artifact("adder-predictions", "predictions").addFile(join(dir, "predictions.json")));
console.log(`predictions: ${version.name}:${version.version} (digest ${version.digest})`);
console.log(`accuracy ${(await run.summary.get("accuracy"))}`);
await run.finish();
