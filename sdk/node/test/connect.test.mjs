// Finding the daemon as the Python SDK does: TCP with its token, starting `trackd` when
// nothing answers on this user's socket, and clear errors when neither works.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import * as trackd from "../dist/index.js";
import { Connection } from "../dist/connection.js";
import { defaultAddress, tokenFor } from "../dist/discovery.js";
import { DaemonService } from "../dist/gen/trackd/v1/daemon_service_pb.js";
import { PYTHON, TestDaemon, readBack } from "./helpers.mjs";

test("TCP: the token from $TRACKD_TOKEN or the own daemon's token file; a wrong one is refused", async () => {
  const d = await new TestDaemon({ env: { TRACKD_TCP_ADDRESS: "127.0.0.1:0" } }).start();
  try {
    const info = await new Connection(`unix:${d.socket}`).unary(DaemonService.method.getDaemonInfo, {});
    const tcp = info.addresses.find((a) => !a.startsWith("unix:"));
    assert.ok(tcp, `a TCP address among ${info.addresses}`);
    const token = readFileSync(join(d.env.TRACKD_STATE_DIR, "token"), "utf8").trim();
    process.env.TRACKD_ADDRESS = tcp.includes("://") ? tcp : `http://${tcp}`;
    assert.equal(tokenFor(process.env.TRACKD_ADDRESS), token);
    process.env.TRACKD_TOKEN = "not-the-token";
    await assert.rejects(trackd.init({ project: "tcp", id: "t0" }), trackd.AuthenticationError);
    delete process.env.TRACKD_TOKEN;
    const run = await trackd.init({ project: "tcp", id: "t1" });
    run.log({ over: "tcp" });
    // Over TCP an artifact's bytes are uploaded (UploadFile), not read by path.
    const dir = mkdtempSync(join(tmpdir(), "trackd-node-tcp-"));
    writeFileSync(join(dir, "w.bin"), "uploaded bytes");
    const v = await run.logArtifact(new trackd.Artifact("up", "dataset").addFile(join(dir, "w.bin")));
    const got = await (await run.useArtifact("up:v0")).download(join(dir, "out"));
    assert.equal(readFileSync(join(got, "w.bin"), "utf8"), "uploaded bytes");
    assert.equal(v.digest, trackd.manifestDigest([{ path: "w.bin", digest: createHash("md5").update("uploaded bytes").digest("base64") }]));
    assert.equal((await run.finish()).state, "finished");
    process.env.TRACKD_ADDRESS = `unix:${d.socket}`;
    const back = await readBack("tester/tcp/t1");
    assert.deepEqual(back.history.map((r) => r.map.over), ["tcp"]);
  } finally {
    await d.cleanup();
  }
});

test("no daemon on this user's socket: `trackd daemon start` starts one; errors say what is wrong", async () => {
  const d = new TestDaemon(); // directories and environment only: nothing started
  delete process.env.TRACKD_ADDRESS;
  const trackdCommand = join(PYTHON, "..", "trackd");
  try {
    process.env.TRACKD_COMMAND = "/nonexistent/trackd";
    await assert.rejects(trackd.init({ project: "auto", id: "a0", initTimeout: 20 }),
      (e) => e instanceof trackd.DaemonUnavailableError && /not on the PATH/.test(e.message));
    process.env.TRACKD_COMMAND = trackdCommand;
    const run = await trackd.init({ project: "auto", id: "a1", initTimeout: 60 });
    assert.equal(run.conn.address, defaultAddress());
    run.log({ started: true });
    assert.equal((await run.finish()).state, "finished");
    process.env.TRACKD_ADDRESS = "unix:/nonexistent/trackd.sock";
    await assert.rejects(trackd.init({ project: "auto", id: "a2" }),
      (e) => e instanceof trackd.DaemonUnavailableError && /TRACKD_ADDRESS/.test(e.message));
  } finally {
    delete process.env.TRACKD_COMMAND;
    delete process.env.TRACKD_ADDRESS;
    execFileSync(trackdCommand, ["daemon", "stop"], { env: process.env, stdio: "ignore" });
    await d.cleanup();
  }
});
