// trackd.Table: the same table logged from Node and from Python stores the same file, the same
// row value and the same run_table artifact, and trackd.Table.from_json reads it back.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as trackd from "../dist/index.js";
import { pythonFloat, pythonJson } from "../dist/table.js";
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

const COLUMNS = ["id", "text", "score", "ok", "tags", "meta", "when"];
// Tagged rows (readback.py's form); "when" is milliseconds since the epoch, what both SDKs
// store for a date (Node: a Date, Python: a datetime).
const ROWS = [
  [i(1), "héllo ✓ 𝄞 \"q\"\n", f64(0.1), true, ["a", "b"], m({ k: i(2), x: f64(3) }), i(1_700_000_000_123)],
  [i(2), "", f64(1e16), false, [], m({}), i(0)],
  [i(-9223372036854775808n), null, f64(NaN), null, [f64(-0), f64(Infinity)], null, null],
  [i(4), "x", f64(1e-5), true, [i(7)], m({ deep: m({ y: null }) }), i(-1)],
];
const nodeCell = (v, col) => (col === "when" && v !== null ? new Date(Number(v.int)) : untag(v));

test("the same table logged from Node and from Python stores identical files and rows", async () => {
  const calls = [
    { data: m({ samples: { table: { columns: COLUMNS, data: ROWS } }, acc: f64(0.5) }) },
    { data: m({ samples: { table: { columns: COLUMNS, data: ROWS } } }), step: 3 },
  ];
  await python(["log", JSON.stringify([{ entity: "tester", project: "xtable", id: "py-t1", calls }])]);

  const run = await trackd.init({ project: "xtable", id: "node-t1" });
  const rows = ROWS.map((r) => r.map((v, k) => nodeCell(v, COLUMNS[k])));
  run.log({ samples: new trackd.Table({ columns: COLUMNS, data: rows }), acc: 0.5 });
  const again = new trackd.Table({ columns: COLUMNS });
  for (const r of rows) again.addData(...r);
  run.log({ samples: again }, { step: 3 });
  assert.equal((await run.finish()).state, "finished");

  const [py, nd] = await readBackAll(["tester/xtable/py-t1", "tester/xtable/node-t1"]);
  const strip = (row) => {
    const { _runtime, _timestamp, ...rest } = row.map;
    const { artifact_path, _latest_artifact_path, ...table } = rest.samples.map;
    assert.match(artifact_path, /^wandb-client-artifact:\/\/[0-9a-f]{32}\/samples\.table\.json$/);
    assert.match(_latest_artifact_path, /^wandb-client-artifact:\/\/[0-9a-f]{32}:latest\/samples\.table\.json$/);
    return { ...rest, samples: table };
  };
  assert.equal(nd.history.length, 2);
  assert.deepEqual(nd.history.map(strip), py.history.map(strip));
  const media = (r) => r.files.filter((f) => f.name.startsWith("media/")).sort((a, b) => (a.name < b.name ? -1 : 1));
  assert.deepEqual(media(nd), media(py));
  const value = nd.history[0].map.samples.map;
  assert.equal(value._type, "table-file");
  assert.match(value.path, /^media\/table\/samples_0_[0-9a-f]{20}\.table\.json$/);
  assert.deepEqual(value.nrows, i(4));
  // Two Table objects with the same rows: one file each, named by step, with the same digest.
  const second = nd.history[1].map.samples.map;
  assert.equal(second.path, value.path.replace("samples_0_", "samples_3_"));
  assert.deepEqual(media(nd).map((f) => f.name), [value.path, second.path]);
  assert.equal(media(nd)[0].bytes, media(nd)[1].bytes);
  assert.deepEqual(nd.summary.map.samples.map.path, second.path);

  // trackd.Table.from_json reads back what was logged.
  const back = nd.tables[value.path];
  assert.deepEqual(back.columns, COLUMNS);
  assert.deepEqual(back.data, ROWS);
  assert.deepEqual(nd.tables, py.tables);
  const file = JSON.parse(Buffer.from(media(nd)[0].bytes, "hex").toString().replace(/\b(NaN|-?Infinity)\b/g, "null"));
  assert.deepEqual(file.column_types.params.type_map.score,
    { wb_type: "union", params: { allowed_types: [{ wb_type: "number" }, { wb_type: "none" }] } });

  // The run_table artifact holds the same file, from both SDKs.
  const dir = mkdtempSync(join(tmpdir(), "trackd-table-art-"));
  try {
    const [pyArt, ndArt] = await Promise.all([
      python(["artifact", "tester/xtable/run-py-t1-samples:latest", join(dir, "py")]),
      python(["artifact", "tester/xtable/run-node-t1-samples:latest", join(dir, "node")]),
    ]);
    assert.equal(ndArt.type, "run_table");
    assert.deepEqual(Object.keys(ndArt.files), ["samples.table.json"]);
    assert.deepEqual(ndArt.files, pyArt.files);
    assert.equal(ndArt.digest, pyArt.digest);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a MUTABLE table is stored again after a change, an IMMUTABLE one is not", async () => {
  const run = await trackd.init({ project: "xtable", id: "node-modes" });
  const mutable = new trackd.Table({ columns: ["a"], data: [[1n]], logMode: "MUTABLE" });
  const immutable = new trackd.Table({ columns: ["a"], data: [[1n]] });
  run.log({ m: mutable, i: immutable });
  run.log({ m: mutable, i: immutable }); // unchanged: the same files
  mutable.addData(2n);
  immutable.addData(2n);
  run.log({ m: mutable, i: immutable });
  await run.finish();
  const [nd] = await readBackAll(["tester/xtable/node-modes"]);
  const paths = (key) => nd.history.map((r) => r.map[key].map.path);
  const [m0, m1, m2] = paths("m");
  assert.equal(m0, m1);
  assert.notEqual(m1, m2);
  assert.match(m2, /^media\/table\/m_2_/);
  assert.deepEqual(nd.tables[m2].data, [[i(1)], [i(2)]]);
  assert.deepEqual(new Set(paths("i")).size, 1);
  assert.deepEqual(nd.tables[paths("i")[0]].data, [[i(1)]]);
  assert.deepEqual(nd.history[2].map.m.map.nrows, i(2));
});

test("Table checks its rows and the kinds of its columns", () => {
  assert.throws(() => new trackd.Table({ columns: ["a", "b"], data: [[1]] }), RangeError);
  assert.throws(() => new trackd.Table({ columns: ["a", "a"] }), RangeError);
  assert.throws(() => new trackd.Table({ logMode: "INCREMENTAL" }), RangeError);
  const t = new trackd.Table({ columns: ["a"], data: [[1]] });
  assert.throws(() => t.addData("text"), TypeError);
  assert.throws(() => t.addData(() => 1), TypeError);
  t.addData(null);
  assert.throws(() => new trackd.Table({ columns: ["a"], optional: false, data: [[null]] }), TypeError);
  const mixed = new trackd.Table({ columns: ["a"], allowMixedTypes: true, data: [[1], ["x"]] });
  assert.deepEqual(mixed.getColumn("a"), [1, "x"]);
  assert.deepEqual(new trackd.Table().columns, ["Input", "Output", "Expected"]);
});

test("table files are written as Python's json.dumps writes the same values", () => {
  // Python: repr() of each float, and json.dumps(..., separators=(",", ":")) of the rest.
  const floats = [
    [1, "1.0"], [0.1, "0.1"], [-0, "-0.0"], [1e16, "1e+16"], [1.5e16, "1.5e+16"], [123456789012345.6, "123456789012345.6"],
    [1e-4, "0.0001"], [1e-5, "1e-05"], [5e-324, "5e-324"], [1.7976931348623157e308, "1.7976931348623157e+308"],
    [NaN, "NaN"], [-Infinity, "-Infinity"], [2.5e-7, "2.5e-07"], [100, "100.0"], [-12.75, "-12.75"],
  ];
  for (const [x, want] of floats) assert.equal(pythonFloat(x), want, String(x));
  assert.equal(pythonJson({ a: [1n, "é\u007f𝄞\t", null, true], b: {} }), '{"a":[1,"\\u00e9\\u007f\\ud834\\udd1e\\t",null,true],"b":{}}');
});

test("a table is refused in an offline run's log() (its file needs the daemon)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "trackd-table-off-"));
  try {
    const run = await trackd.init({ project: "xtable", mode: "offline", dir });
    assert.throws(() => run.log({ t: new trackd.Table({ columns: ["a"] }) }), trackd.UsageError);
    await run.finish();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
