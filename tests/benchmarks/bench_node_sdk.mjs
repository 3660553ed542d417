// One measurement of the Node SDK for bench_node_sdk.py (which starts the daemon and sets
// TRACKD_ADDRESS): log() of KEYS floats per call, ROWS rows, then finish(). Prints JSON.
//
//   node tests/benchmarks/bench_node_sdk.mjs ROWS KEYS [BOUND]
import { performance } from "node:perf_hooks";

const [rows, nkeys, bound] = process.argv.slice(2).map(Number);
const keys = Array.from({ length: nkeys }, (_, j) => `m${String(j).padStart(4, "0")}`);

// The same loop with a no-op: the cost of building the rows, subtracted below.
const noop = () => undefined;
async function loop(fn) {
  const t0 = performance.now();
  for (let i = 0; i < rows; i++) {
    const x = i * 1e-3;
    const row = {};
    for (let j = 0; j < nkeys; j++) row[keys[j]] = x + j;
    const wait = fn(row);
    if (wait) await wait;
  }
  return (performance.now() - t0) / 1000;
}
const baseline = await loop(noop);

const t0 = performance.now();
const trackd = await import("../../sdk/node/dist/index.js");
const run = await trackd.init({ project: "bench-node", exitHandlers: false, ...(bound ? { maxBufferedRecords: bound } : {}) });
const initS = (performance.now() - t0) / 1000;
const t1 = performance.now();
const loopS = await loop((row) => run.log(row));
const t2 = performance.now();
const done = await run.finish();
const t3 = performance.now();
console.log(JSON.stringify({
  sdk: "node", rows, keys: nkeys, path: run.path, init_s: initS, baseline_loop_s: baseline, log_loop_s: loopS,
  log_us: ((loopS - baseline) / rows) * 1e6, finish_s: (t3 - t2) / 1000, wall_s: (t3 - t1) / 1000,
  history_rows: done.historyRows, state: done.state, rss_mib: process.memoryUsage().rss / 2 ** 20,
}));
process.exit(0);
