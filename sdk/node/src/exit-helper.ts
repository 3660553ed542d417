// The exit helper: started synchronously by a process's "exit" handler (exit.ts) with the
// records its runs had not delivered on stdin; delivers them, then calls FinishRun.
import { readFileSync } from "node:fs";
import { Connection } from "./connection.js";
import type { HelperRun } from "./exit.js";
import { RunService } from "./gen/trackd/v1/run_service_pb.js";
import { Sender } from "./sender.js";

async function finishOne(r: HelperRun): Promise<void> {
  const conn = new Connection(r.address);
  try {
    const pending = r.batches
      .filter(([last]) => last > r.ackedSeq)
      .map(([last, b64]) => [last, new Uint8Array(Buffer.from(b64, "base64"))] as [number, Uint8Array]);
    const sender = new Sender({
      conn, ref: r.ref, writer: r.writer, bound: 1 << 30, startSeq: r.ackedSeq, heartbeatMs: 1000, pending,
    });
    await sender.close();
    await conn.unary(RunService.method.finishRun, {
      ref: r.ref, exitCode: r.exitCode, lastSeq: BigInt(r.lastSeq),
      timeoutSeconds: r.finishTimeoutMs / 1000, writer: r.writer,
    }, r.finishTimeoutMs + 5000);
  } finally {
    conn.close();
  }
}

const runs = JSON.parse(readFileSync(0, "utf8")) as HelperRun[];
// A daemon that stays away must not hold the exiting program: give up after the finish timeout.
const limit = Math.max(...runs.map((r) => r.finishTimeoutMs), 1000) + 5000;
setTimeout(() => {
  process.stderr.write(`trackd: the daemon did not take the runs' last records within ${limit / 1000}s; ` +
    "it marks them crashed\n");
  process.exit(1);
}, limit);
const results = await Promise.allSettled(runs.map(finishOne));
let failed = 0;
for (const [i, res] of results.entries()) {
  if (res.status === "rejected") {
    failed++;
    process.stderr.write(`trackd: run ${runs[i].ref.runId} could not be finished at exit: ${res.reason}\n`);
  }
}
process.exit(failed ? 1 : 0);
