// run.save() with the "live" and "end" policies, and a run over a TLS connection.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import * as trackd from "../dist/index.js";
import { Connection } from "../dist/connection.js";
import { DaemonService } from "../dist/gen/trackd/v1/daemon_service_pb.js";
import { TestDaemon, python, readBack } from "./helpers.mjs";

const text = (back, name) => {
  const f = back.files.find((x) => x.name === name);
  return f === undefined ? undefined : Buffer.from(f.bytes, "hex").toString();
};

test('save(): "live" stores the file as it is at the end, "end" stores it at finish', async () => {
  const d = await new TestDaemon().start();
  const dir = mkdtempSync(join(tmpdir(), "trackd-node-save2-"));
  try {
    writeFileSync(join(dir, "live.txt"), "first");
    writeFileSync(join(dir, "end.txt"), "before");
    const run = await trackd.init({ project: "files", id: "f1" });
    assert.equal(await run.save(join(dir, "live.txt")), "live.txt"); // "live" is the default
    assert.equal(await run.save(join(dir, "end.txt"), { policy: "end" }), "end.txt");
    assert.equal(await run.save(join(dir, "end.txt"), { policy: "end", basePath: tmpdir(), name: "sub/e.txt" }), "sub/e.txt");
    writeFileSync(join(dir, "live.txt"), "second, longer");
    run.log({ a: 1n });
    writeFileSync(join(dir, "end.txt"), "after");
    assert.equal((await run.finish()).state, "finished");
    const back = await readBack("tester/files/f1");
    assert.equal(text(back, "live.txt"), "second, longer");
    assert.equal(text(back, "end.txt"), "after");
    assert.equal(text(back, "sub/e.txt"), "after");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await d.cleanup();
  }
});

test("TLS: a run over a TLS listener, trusted through $TRACKD_TLS_CA; plaintext is refused", async () => {
  const certs = mkdtempSync(join(tmpdir(), "trackd-node-tls-"));
  const { cert, key } = await python(["cert", certs]);
  const d = await new TestDaemon({
    env: { TRACKD_TCP_ADDRESS: "127.0.0.1:0", TRACKD_TLS_CERT: cert, TRACKD_TLS_KEY: key },
  }).start();
  try {
    const info = await new Connection(`unix:${d.socket}`).unary(DaemonService.method.getDaemonInfo, {});
    const tcp = info.addresses.find((a) => !a.startsWith("unix:"));
    assert.ok(tcp, `a TCP address among ${info.addresses}`);
    const hostPort = tcp.replace(/^[a-z]+:\/\//, "");
    process.env.TRACKD_TOKEN = readFileSync(join(d.env.TRACKD_STATE_DIR, "token"), "utf8").trim();

    process.env.TRACKD_ADDRESS = `http://${hostPort}`;
    await assert.rejects(trackd.init({ project: "tls", id: "plain", initTimeout: 5 }));

    process.env.TRACKD_ADDRESS = hostPort;
    process.env.TRACKD_TLS_CA = cert;
    const run = await trackd.init({ project: "tls", id: "t1" });
    for (let k = 0; k < 5; k++) run.log({ k: BigInt(k) });
    writeFileSync(join(certs, "over-tls.txt"), "sent over TLS");
    await run.save(join(certs, "over-tls.txt"), { policy: "now" });
    assert.equal((await run.finish()).state, "finished");

    delete process.env.TRACKD_TLS_CA;
    delete process.env.TRACKD_TOKEN;
    process.env.TRACKD_ADDRESS = `unix:${d.socket}`;
    const back = await readBack("tester/tls/t1");
    assert.deepEqual(back.history.map((r) => r.map.k.int), ["0", "1", "2", "3", "4"]);
    assert.equal(text(back, "over-tls.txt"), "sent over TLS");
  } finally {
    delete process.env.TRACKD_TLS_CA;
    delete process.env.TRACKD_TOKEN;
    rmSync(certs, { recursive: true, force: true });
    await d.cleanup();
  }
});
