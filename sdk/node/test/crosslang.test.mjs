// The same calls logged from Node and from Python give identical stored rows and summaries
// (step/commit rules and value encoding), and a Node and a Python process share one run.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as trackd from "../dist/index.js";
import { TestDaemon, f64, python, readBackAll, untag } from "./helpers.mjs";

let daemon;
before(async () => {
  daemon = await new TestDaemon().start();
});
after(async () => {
  await daemon.cleanup();
});

const i = (n) => ({ int: String(n) });
const m = (o) => ({ map: o });

// Each case: log calls in readback.py's tagged form ({"int"}, {"float": bits}, {"map"}).
const CASES = {
  plain: [{ data: m({ a: i(1), b: f64(0.5) }) }, { data: m({ a: i(2), b: f64(1.5) }) }],
  explicit_steps: [
    { data: m({ a: i(1) }), step: 5 }, { data: m({ b: i(2) }), step: 5 }, { data: m({ c: i(3) }), step: 7 },
    { data: m({ d: i(4) }) },
  ],
  commit_false_merges: [
    { data: m({ a: i(1) }), commit: false }, { data: m({ b: i(2) }), commit: false }, { data: m({ a: i(9) }) },
    { data: m({ c: i(3) }) },
  ],
  step_backwards_dropped: [{ data: m({ a: i(1) }), step: 3 }, { data: m({ b: i(2) }), step: 1 }, { data: m({ c: i(3) }) }],
  step_with_commit: [
    { data: m({ a: i(1) }), step: 2, commit: false }, { data: m({ b: i(2) }), step: 2, commit: true },
    { data: m({ c: i(3) }), step: 3 }, { data: m({ d: i(4) }), step: 4, commit: false },
  ],
  values: [{
    data: m({
      int64_min: i("-9223372036854775808"), int64_max: i("9223372036854775807"), zero: i(0),
      nan: f64(NaN), inf: f64(Infinity), ninf: f64(-Infinity), nzero: f64(-0), tiny: f64(5e-324), big: f64(1.7976931348623157e308),
      t: true, f: false, none: null, text: "héllo ✓ 𝄞", empty_text: "",
      list: [i(1), f64(2.5), "x", null, [true], m({ k: i(2) })], empty_list: [], empty_map: m({}),
      nested: m({ a: m({ b: m({ c: f64(0.25), d: [f64(NaN), i(-1)] }) }) }),
    }),
  }, { data: m({ nan: f64(1), extra: m({ deep: i(7) }) }) }],
};

test("a cross-language table of step/commit and value cases stores identical rows", async () => {
  const specs = Object.entries(CASES).map(([name, calls]) => ({ entity: "tester", project: "xlang", id: `py-${name}`, calls }));
  await python(["log", JSON.stringify(specs)]);
  for (const [name, calls] of Object.entries(CASES)) {
    const run = await trackd.init({ project: "xlang", id: `node-${name}` });
    for (const c of calls) {
      const opts = {};
      if ("step" in c) opts.step = c.step;
      if ("commit" in c) opts.commit = c.commit;
      run.log(untag(c.data), opts);
    }
    await run.finish();
  }
  const names = Object.keys(CASES);
  const back = await readBackAll(names.flatMap((n) => [`tester/xlang/py-${n}`, `tester/xlang/node-${n}`]));
  const strip = (row) => {
    const { _runtime, _timestamp, ...rest } = row.map;
    assert.ok(_runtime && _timestamp, "rows have _runtime and _timestamp");
    return rest;
  };
  for (const [k, name] of names.entries()) {
    const py = back[2 * k];
    const nd = back[2 * k + 1];
    assert.ok(py.history.length > 0, name);
    assert.deepEqual(nd.history.map(strip), py.history.map(strip), `${name}: rows`);
    assert.deepEqual(strip(nd.summary), strip(py.summary), `${name}: summary`);
    assert.equal(nd.state, "finished");
  }
  // Spot checks that the table says what it means (not only "both agree").
  const values = back[2 * names.indexOf("values") + 1].history[0].map;
  assert.deepEqual(values.int64_min, i("-9223372036854775808"));
  assert.deepEqual(values.nzero, f64(-0));
  assert.deepEqual(values._step, i(0));
  const steps = back[2 * names.indexOf("explicit_steps") + 1].history.map((r) => [r.map._step.int, Object.keys(r.map).filter((x) => !x.startsWith("_")).sort()]);
  // log(step=7) keeps its row open; the next log() without a step merges into it and writes it.
  assert.deepEqual(steps, [["5", ["a", "b"]], ["7", ["c", "d"]]]);
});

test("a Node run and a Python run write one shared run: all rows kept", async () => {
  const run = await trackd.init({ project: "xlang", id: "shared1", mode: "shared", label: "nodewriter" });
  const calls = Array.from({ length: 50 }, (_, k) => ({ data: m({ py: i(k) }) }));
  const py = python(["log", JSON.stringify([{
    entity: "tester", project: "xlang", id: "shared1", calls, mode: "shared", primary: false, label: "pywriter", finish: true,
  }])]);
  for (let k = 0; k < 50; k++) {
    run.log({ node: BigInt(k) });
    if (k % 10 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await py;
  const done = await run.finish();
  assert.equal(done.state, "finished");
  const [back] = await readBackAll(["tester/xlang/shared1"]);
  const rows = back.history.map((r) => r.map);
  assert.equal(rows.length, 100);
  assert.deepEqual(rows.filter((r) => "node" in r).map((r) => Number(r.node.int)), Array.from({ length: 50 }, (_, k) => k));
  assert.deepEqual(rows.filter((r) => "py" in r).map((r) => Number(r.py.int)), Array.from({ length: 50 }, (_, k) => k));
  assert.deepEqual(new Set(rows.map((r) => r._writer)), new Set(["nodewriter", "pywriter"]));
});
