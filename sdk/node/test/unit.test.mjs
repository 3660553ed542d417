// Units without a daemon: value normalisation and encoding, error trailers, the sender's
// bounded buffer, and the freshness of the committed generated code.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { Connection } from "../dist/connection.js";
import { parseStatusDetails } from "../dist/errors.js";
import { RecordSchema } from "../dist/gen/trackd/v1/record_pb.js";
import { MapValueSchema } from "../dist/gen/trackd/v1/value_pb.js";
import { Sender, encodeRecord } from "../dist/sender.js";
import { encodeMap, mapToJs, normalize, normalizeRow } from "../dist/values.js";

const here = dirname(fileURLToPath(import.meta.url));

test("values: numbers are doubles, bigints ints, and a round trip keeps the kinds", () => {
  const row = normalizeRow({
    f: 1, g: -0, n: NaN, inf: -Infinity, i: -(2n ** 63n), j: 2n ** 63n - 1n, s: "x", b: true, z: null,
    list: [1n, 2.5, undefined], map: new Map([["k", new Set([1])]]), d: new Date(0), skip: undefined,
    typed: new Float32Array([0.5]),
  });
  assert.equal("skip" in row, false);
  const back = mapToJs(fromBinary(MapValueSchema, encodeMap(row)));
  assert.deepEqual(back, {
    f: 1, g: -0, n: NaN, inf: -Infinity, i: -(2n ** 63n), j: 2n ** 63n - 1n, s: "x", b: true, z: null,
    list: [1n, 2.5, null], map: { k: [1] }, d: "1970-01-01T00:00:00.000Z", typed: [0.5],
  });
  assert.ok(Object.is(back.g, -0));
  const mv = fromBinary(MapValueSchema, encodeMap({ f: 1, i: 1n }));
  assert.deepEqual(mv.keys, ["f", "i"]);
  assert.deepEqual(mv.doubles, [1]);
  assert.equal(mv.values[0].kind.case, "intValue");
});

test("values: what cannot be logged is refused in log() itself", () => {
  assert.throws(() => normalizeRow({ a: 2n ** 63n }), RangeError);
  assert.throws(() => normalizeRow({ a: () => 1 }), TypeError);
  assert.throws(() => normalizeRow({ a: Symbol("s") }), TypeError);
  assert.throws(() => normalizeRow({ a: new (class Foo {})() }), /Foo cannot be logged/);
  assert.throws(() => normalizeRow({ "": 1 }), /empty/);
  assert.throws(() => normalizeRow({ ["k".repeat(257)]: 1 }), /257 characters/);
  assert.throws(() => normalizeRow({ a: "\ud800" }), /Unicode/);
  assert.throws(() => normalizeRow([1]), TypeError);
  const cyclic = { a: 1 };
  cyclic.self = cyclic;
  assert.throws(() => normalize(cyclic), /cycle/);
  assert.deepEqual(normalize({ toJSON: undefined, x: { toJSON() { return "j"; } } }), { x: "j" });
});

test("records: the hand-written encoder agrees with the generated schema", () => {
  const h = fromBinary(RecordSchema, encodeRecord({ k: "h", data: { a: 1.5, b: 2n }, step: 7n, commit: false, ts: 12.5 }, 3));
  assert.equal(h.seq, 3n);
  assert.equal(h.kind.case, "history");
  assert.equal(h.kind.value.step, 7n);
  assert.equal(h.kind.value.commit, false);
  assert.equal(h.kind.value.timestamp, 12.5);
  assert.deepEqual(mapToJs(h.kind.value.data), { a: 1.5, b: 2n });
  const s = fromBinary(RecordSchema, encodeRecord({ k: "s", update: [[["a", "b"], 1n]], remove: [["c"]] }, 4));
  assert.deepEqual(s.kind.value.update[0].path, ["a", "b"]);
  assert.deepEqual(s.kind.value.remove[0].path, ["c"]);
  const x = fromBinary(RecordSchema, encodeRecord({ k: "x", code: 3 }, 5));
  assert.equal(x.kind.case, "exit");
  assert.equal(x.kind.value.exitCode, 3);
  const zero = fromBinary(RecordSchema, encodeRecord({ k: "x", code: 0 }, 6));
  assert.equal(zero.kind.case, "exit");
  const c = fromBinary(RecordSchema, encodeRecord({ k: "c", update: {}, remove: ["k"] }, 7));
  assert.equal(c.kind.case, "config");
  assert.deepEqual(c.kind.value.remove, ["k"]);
});

test("error trailers: reason, metadata and retry delay are read from google.rpc.Status", () => {
  // google.rpc.Status{details: [Any(ErrorInfo{reason, domain, metadata}), Any(RetryInfo{2.5 s})]}
  const enc = (fields) => Buffer.concat(fields);
  const ld = (field, bytes) => Buffer.concat([Buffer.from([(field << 3) | 2, bytes.length]), bytes]);
  const str = (field, s) => ld(field, Buffer.from(s));
  const info = enc([str(1, "RUN_FINISHED"), str(2, "trackd.dev"), ld(3, enc([str(1, "field"), str(2, "config")]))]);
  const retry = ld(1, enc([Buffer.from([1 << 3, 2]), Buffer.from([2 << 3]), Buffer.from([0x80, 0xca, 0xb5, 0xee, 0x01])]));
  const status = enc([Buffer.from([1 << 3, 9]), str(2, "finished"),
    ld(3, enc([str(1, "type.googleapis.com/google.rpc.ErrorInfo"), ld(2, info)])),
    ld(3, enc([str(1, "type.googleapis.com/google.rpc.RetryInfo"), ld(2, retry)]))]);
  assert.deepEqual(parseStatusDetails(status), { reason: "RUN_FINISHED", metadata: { field: "config" }, retryAfter: 2.5 });
});

test("the sender's buffer is bounded: log() returns a promise once it holds `bound` records", async () => {
  const conn = new Connection("unix:/nonexistent/trackd.sock");
  const s = new Sender({ conn, ref: { entity: "e", project: "p", runId: "r" }, writer: "", bound: 3, startSeq: 0, heartbeatMs: 1000 });
  assert.equal(s.put({ k: "p" }), undefined);
  assert.equal(s.put({ k: "p" }), undefined);
  const full = s.put({ k: "p" });
  assert.ok(full instanceof Promise);
  assert.equal(s.lastSeq, 3);
  // Nothing can be delivered (no daemon): the records are kept, encoded, for a resend.
  await new Promise((r) => setTimeout(r, 50));
  const pending = s.undelivered();
  assert.deepEqual(pending.map(([last]) => last), [3]);
  s.abort();
  conn.close();
});

test("the committed generated code is fresh", () => {
  const out = execFileSync(process.execPath, [join(here, "..", "scripts", "generate.mjs"), "--check"], { encoding: "utf8" });
  assert.match(out, /fresh/);
});

test("mode 'disabled': no daemon is asked; calls check the run is open; the summary is kept locally", async () => {
  const trackd = await import("../dist/index.js");
  process.env.TRACKD_ADDRESS = "unix:/nonexistent/trackd.sock";
  try {
    const run = await trackd.init({ mode: "disabled", project: "p", config: { lr: 0.1 } });
    assert.equal(run.log({ loss: 1 }), undefined);
    run.config.update({ batch: 8n });
    assert.throws(() => run.config.set("lr", 0.2), trackd.ConfigError);
    run.summary.set(["best", "acc"], 0.9);
    run.summary.update({ loss: 0.5 });
    run.summary.delete("loss");
    assert.deepEqual(await run.summary.all(), { best: { acc: 0.9 } });
    assert.equal(await run.save("whatever.txt", { policy: "now" }), "whatever.txt");
    await assert.rejects(run.useArtifact("x:latest"), trackd.UsageError);
    assert.deepEqual(await run.finish(), { state: "finished", summary: { best: { acc: 0.9 } }, historyRows: 0 });
    assert.throws(() => run.log({ a: 1 }), trackd.UsageError);
  } finally {
    delete process.env.TRACKD_ADDRESS;
  }
});
