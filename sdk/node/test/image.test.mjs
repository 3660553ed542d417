// trackd.Image: pixels logged from Node decode to the same pixels and the same row value as the
// Python SDK's for the same array; PNG and JPEG files are stored as they are.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { PNG } from "pngjs";
import * as trackd from "../dist/index.js";
import { imageHeader } from "../dist/image.js";
import { TestDaemon, python, readBackAll } from "./helpers.mjs";

let daemon;
before(async () => {
  daemon = await new TestDaemon().start();
});
after(async () => {
  await daemon.cleanup();
});

// 3 wide, 2 high. Values above 1, so the Python SDK does not rescale its uint8 array.
const RGB = [[[255, 0, 0], [0, 255, 0], [0, 0, 255]], [[10, 20, 30], [40, 50, 60], [200, 201, 202]]];
const RGBA = RGB.map((row) => row.map(([r, g, b], x) => [r, g, b, 60 * x + 10]));
const GRAY = [[0, 64, 128], [192, 255, 7]];
const flat = (rows) => Uint8Array.from(rows.flat(2));
// A 5×3 JPEG (made with Pillow).
const JPEG = Buffer.from("/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjL/wAARCAADAAUDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDhKKKK8s/Uz//Z", "base64");

test("images from pixels: the same pixels and row values as the Python SDK's", async () => {
  const img = (pixels, caption) => ({ image: { pixels, ...(caption ? { caption } : {}) } });
  const calls = [{ data: { map: { rgb: img(RGB, "rgb one"), rgba: img(RGBA), gray: img(GRAY) } } }];
  await python(["log", JSON.stringify([{ entity: "tester", project: "ximage", id: "py-i1", calls }])]);

  const run = await trackd.init({ project: "ximage", id: "node-i1" });
  const pixels = flat(RGB);
  const rgb = new trackd.Image({ data: pixels, width: 3, height: 2 }, { caption: "rgb one" });
  pixels.fill(0); // the Image keeps its own copy
  run.log({
    rgb,
    rgba: new trackd.Image({ data: flat(RGBA), width: 3, height: 2, channels: 4 }),
    gray: new trackd.Image({ data: flat(GRAY), width: 3, height: 2 }),
  });
  assert.equal((await run.finish()).state, "finished");

  const [py, nd] = await readBackAll(["tester/ximage/py-i1", "tester/ximage/node-i1"]);
  for (const key of ["rgb", "rgba", "gray"]) {
    const n = nd.history[0].map[key].map;
    const p = py.history[0].map[key].map;
    assert.match(n.path, new RegExp(`^media/images/${key}_0_[0-9a-f]{20}\\.png$`));
    const { path: _a, sha256: _b, size: _c, ...nRest } = n;
    const { path: _d, sha256: _e, size: _f, ...pRest } = p;
    assert.deepEqual(nRest, pRest, key);
    assert.deepEqual(nd.images[n.path], py.images[p.path], `${key}: decoded pixels`);
    const file = nd.files.find((f) => f.name === n.path);
    assert.equal(BigInt(file.size), BigInt(n.size.int));
  }
  assert.deepEqual(nd.images[nd.history[0].map.rgb.map.path], { mode: "RGB", size: [3, 2], samples: RGB.flat(2) });
  assert.equal(nd.images[nd.history[0].map.gray.map.path].mode, "L");
  assert.equal(nd.history[0].map.rgb.map.caption, "rgb one");
});

test("images from PNG and JPEG files are stored as they are", async () => {
  const dir = mkdtempSync(join(tmpdir(), "trackd-node-img-"));
  try {
    const png = new PNG({ width: 4, height: 7 });
    png.data.fill(128);
    const pngBytes = PNG.sync.write(png);
    writeFileSync(join(dir, "a.png"), pngBytes);
    writeFileSync(join(dir, "b.jpeg"), JPEG);
    writeFileSync(join(dir, "c.bin"), JPEG);
    writeFileSync(join(dir, "not.png"), "not an image");
    assert.throws(() => new trackd.Image(join(dir, "not.png")), RangeError);
    assert.throws(() => new trackd.Image(join(dir, "missing.png")), /ENOENT/);
    const run = await trackd.init({ project: "ximage", id: "node-files" });
    run.log({ p: new trackd.Image(join(dir, "a.png")), j: new trackd.Image(join(dir, "b.jpeg")), c: new trackd.Image(join(dir, "c.bin")) });
    await run.finish();
    const [nd] = await readBackAll(["tester/ximage/node-files"]);
    const row = nd.history[0].map;
    const bytes = (v) => Buffer.from(nd.files.find((f) => f.name === v.map.path).bytes, "hex");
    assert.deepEqual(bytes(row.p), pngBytes);
    assert.deepEqual(bytes(row.j), JPEG);
    assert.deepEqual([row.p.map.format, row.p.map.width.int, row.p.map.height.int], ["png", "4", "7"]);
    assert.deepEqual([row.j.map.format, row.j.map.width.int, row.j.map.height.int], ["jpeg", "5", "3"]);
    assert.match(row.c.map.path, /^media\/images\/c_0_[0-9a-f]{20}\.jpg$/);
    assert.deepEqual(nd.images[row.j.map.path].size, [5, 3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Image checks its pixels", () => {
  assert.throws(() => new trackd.Image({ data: new Uint8Array(5), width: 3, height: 2 }), RangeError);
  assert.throws(() => new trackd.Image({ data: new Uint8Array(12), width: 3, height: 2, channels: 3 }), RangeError);
  assert.throws(() => new trackd.Image({ data: [1, 2, 3], width: 1, height: 1 }), TypeError);
  assert.throws(() => new trackd.Image({ data: new Uint8Array(0), width: 0, height: 2 }), RangeError);
  assert.throws(() => new trackd.Image({ data: new Uint8Array(3), width: 1, height: 1 }, { caption: 3 }), TypeError);
  assert.deepEqual(imageHeader(JPEG), { format: "jpg", width: 5, height: 3 });
  assert.equal(imageHeader(Buffer.from("GIF89a")), null);
});
