// Generates the TypeScript wire code for trackd.v1 from ../../proto/trackd/v1/*.proto into
// src/gen/ with buf and protoc-gen-es (both pinned in package.json's devDependencies).
//
//   node scripts/generate.mjs          rewrite src/gen
//   node scripts/generate.mjs --check  exit 1 when the committed src/gen differs (CI, tests)
//
// The generated code is committed (as the Python side commits sdk/python/trackd/v1), so that a
// checkout builds without running buf, and a stale copy is caught by --check.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync, cpSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, "..");
const protoRoot = resolve(pkg, "..", "..", "proto");
const committed = join(pkg, "src", "gen");
const bin = (name) => join(pkg, "node_modules", ".bin", name);

function generate(out) {
  const template = JSON.stringify({
    version: "v2",
    plugins: [{
      local: bin("protoc-gen-es"),
      out,
      opt: ["target=ts", "import_extension=js"],
    }],
  });
  // buf supplies google/protobuf/*.proto (value.proto imports struct.proto) itself; the
  // generated code imports the well-known types from @bufbuild/protobuf/wkt.
  execFileSync(bin("buf"), ["generate", protoRoot, "--template", template,
    "--path", join(protoRoot, "trackd", "v1")], { stdio: "inherit", cwd: pkg });
}

function listFiles(dir, prefix = "") {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name), join(prefix, e.name)) : [join(prefix, e.name)]);
}

const check = process.argv.includes("--check");
if (!check) {
  rmSync(committed, { recursive: true, force: true });
  mkdirSync(committed, { recursive: true });
  generate(committed);
} else {
  const tmp = mkdtempSync(join(tmpdir(), "trackd-gen-"));
  try {
    generate(tmp);
    const names = [...new Set([...listFiles(tmp), ...listFiles(committed)])].sort();
    const stale = names.filter((n) => {
      const a = join(tmp, n);
      const b = join(committed, n);
      return !existsSync(a) || !existsSync(b) || !readFileSync(a).equals(readFileSync(b));
    });
    if (stale.length) {
      console.error("generated code is stale; run: npm run generate");
      for (const n of stale) console.error(`  src/gen/${n}`);
      process.exitCode = 1;
    } else {
      console.log("generated code is fresh");
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
