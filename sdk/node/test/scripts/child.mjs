// A Node process for the exit tests: logs rows to run argv[2], then ends as argv[3] says.
//   finish | natural | exit3 | throw | sigkill-wait | sigterm-wait | sigint-wait | stream | gone
import * as trackd from "../../dist/index.js";

const [id, how, rowsArg] = process.argv.slice(2);
const rows = Number(rowsArg ?? 20);
const run = await trackd.init({ project: "node-exit", id, finishTimeout: how === "gone" ? 3 : 120 });
for (let i = 0; i < rows; i++) await run.log({ i: BigInt(i), x: i / 2 });
switch (how) {
  case "finish":
    await run.finish();
    break;
  case "natural":
    break; // the program just ends: beforeExit finishes the run
  case "exit3":
    process.exit(3);
    break;
  case "throw":
    throw new Error("training blew up");
  case "sigkill-wait":
  case "sigterm-wait":
  case "sigint-wait":
    await run.summary.all(); // everything is in the daemon
    console.log("ready");
    setInterval(() => {}, 1000);
    break;
  case "stream": {
    // Logs steadily until told to stop (the test kills the daemon meanwhile).
    console.log("ready");
    for (let i = rows; i < rows + 3000; i++) {
      await run.log({ i: BigInt(i), x: i / 2 });
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    const res = await run.finish();
    console.log(JSON.stringify({ state: res.state, rows: res.historyRows, reconnects: run.sender.reconnects, resent: run.sender.resent }));
    break;
  }
  case "gone": {
    // The test kills the daemon for good after "ready": finish() gives up after its timeout,
    // and the process still ends on its own (nothing keeps retrying).
    await run.summary.all();
    console.log("ready");
    await new Promise((r) => setTimeout(r, 1500));
    try {
      await run.finish();
      console.log("finished?");
    } catch (e) {
      console.log(e.name);
    }
    break;
  }
  default:
    throw new Error(`unknown ending ${how}`);
}
