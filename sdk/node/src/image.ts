// trackd.Image: an image logged as a file in the run's media, with the Python SDK's (W&B's)
// "image-file" value: {"_type", "path", "sha256", "size", "format", "width", "height"[, "caption"]}.
//
// From pixels (8-bit gray, RGB or RGBA rows, top to bottom) it is encoded as a PNG with pngjs; from
// a PNG or JPEG file its bytes are kept as they are, in their own format (as the Python SDK keeps
// a file's). The file is media/images/<key>_<step>_<sha256[:20]>.<format>.
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { extname } from "node:path";
import { PNG } from "pngjs";
import { fileKey } from "./table.js";
import type { PlainMap } from "./values.js";

/** Pixels of one side, and in all (as the Python SDK's limits). */
export const IMAGE_MAX_SIDE = 65_500;
export const IMAGE_MAX_PIXELS = 178_956_970;
/** Bytes of an image file read by path. */
const MAX_FILE_BYTES = 512 * 1024 * 1024;

export interface ImagePixels {
  /** 8-bit samples, row by row from the top: width × height × channels of them. */
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** 1 (gray), 3 (RGB) or 4 (RGBA); default: data.length / (width × height). */
  channels?: 1 | 3 | 4;
}

export interface ImageOptions {
  caption?: string;
}

/** An image: from pixels (encoded as PNG) or a PNG/JPEG file (kept as it is). */
export class Image {
  readonly width: number;
  readonly height: number;
  /** "png", or the file's own ("png", "jpg", "jpeg"). */
  readonly format: string;
  readonly caption: string | undefined;
  /** The pixels copied at construction (RGBA) and their channel count, or the file's bytes. */
  private readonly rgba: Buffer | null = null;
  private readonly channels: number = 4;
  private readonly file: Buffer | null = null;
  private encoded: Buffer | null = null;

  /**
   * @throws TypeError a source that is neither pixels nor a path.
   * @throws RangeError pixels whose length does not match the size, a size past the limits,
   *   a file that is not a PNG or a JPEG.
   */
  constructor(source: ImagePixels | string, opts: ImageOptions = {}) {
    if (opts.caption !== undefined && typeof opts.caption !== "string") {
      throw new TypeError(`Image: caption must be a string, got ${typeof opts.caption}`);
    }
    this.caption = opts.caption;
    if (typeof source === "string") {
      const size = statSync(source).size; // ENOENT names a missing file
      if (size > MAX_FILE_BYTES) throw new RangeError(`Image: ${source} is larger than ${MAX_FILE_BYTES >> 20} MiB`);
      this.file = readFileSync(source);
      const found = imageHeader(this.file);
      if (found === null) throw new RangeError(`Image: ${source} is not a PNG or a JPEG file`);
      const ext = extname(source).slice(1).toLowerCase();
      this.format = ["png", "jpg", "jpeg"].includes(ext) ? ext : found.format;
      this.width = found.width;
      this.height = found.height;
      return;
    }
    if (source === null || typeof source !== "object" || !(source.data instanceof Uint8Array || source.data instanceof Uint8ClampedArray)) {
      throw new TypeError("Image: give a file path, or { data: Uint8Array, width, height, channels? }");
    }
    const { data, width, height } = source;
    if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`Image: width and height must be positive integers, got ${width}×${height}`);
    }
    if (width > IMAGE_MAX_SIDE || height > IMAGE_MAX_SIDE || width * height > IMAGE_MAX_PIXELS) {
      throw new RangeError(`Image: ${width}×${height} is larger than the limits (${IMAGE_MAX_SIDE} a side, ` +
        `${IMAGE_MAX_PIXELS} pixels)`);
    }
    const channels = source.channels ?? data.length / (width * height);
    if (channels !== 1 && channels !== 3 && channels !== 4) {
      throw new RangeError(`Image: ${data.length} samples for ${width}×${height} pixels: give 1 (gray), 3 (RGB) ` +
        "or 4 (RGBA) samples a pixel");
    }
    if (data.length !== width * height * channels) {
      throw new RangeError(`Image: ${width}×${height}×${channels} needs ${width * height * channels} samples, got ${data.length}`);
    }
    const rgba = Buffer.alloc(width * height * 4);
    for (let p = 0, s = 0; p < rgba.length; p += 4, s += channels) {
      if (channels === 1) {
        rgba[p] = rgba[p + 1] = rgba[p + 2] = data[s];
        rgba[p + 3] = 255;
      } else {
        rgba[p] = data[s];
        rgba[p + 1] = data[s + 1];
        rgba[p + 2] = data[s + 2];
        rgba[p + 3] = channels === 4 ? data[s + 3] : 255;
      }
    }
    this.rgba = rgba;
    this.channels = channels;
    this.format = "png";
    this.width = width;
    this.height = height;
  }

  /** The image file's bytes (PNG-encoded once, for pixels). */
  bytes(): Buffer {
    if (this.file !== null) return this.file;
    if (this.encoded === null) {
      const png = new PNG({ width: this.width, height: this.height });
      png.data = this.rgba!;
      const colorType = this.channels === 1 ? 0 : this.channels === 3 ? 2 : 6;
      this.encoded = PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true });
    }
    return this.encoded;
  }
}

/** The run file and row value of ``image`` logged under ``key`` at ``step``. */
export function encodeImage(image: Image, key: string, step: number): { path: string; bytes: Buffer; value: PlainMap } {
  const bytes = image.bytes();
  const sha = createHash("sha256").update(bytes).digest("hex");
  const path = `media/images/${fileKey(key)}_${step}_${sha.slice(0, 20)}.${image.format}`;
  const value: PlainMap = {
    _type: "image-file", path, sha256: sha, size: BigInt(bytes.length), format: image.format,
    width: BigInt(image.width), height: BigInt(image.height),
  };
  if (image.caption !== undefined) value.caption = image.caption;
  return { path, bytes, value };
}

/** Format and size from a PNG's IHDR or a JPEG's first frame header; null for anything else. */
export function imageHeader(b: Buffer): { format: string; width: number; height: number } | null {
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a &&
      b.toString("latin1", 12, 16) === "IHDR") {
    return { format: "png", width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    if (marker === 0xff) { // fill byte
      i++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const length = b.readUInt16BE(i + 2);
    // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC): the frame's height and width.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > b.length) return null;
      return { format: "jpg", height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    i += 2 + length;
  }
  return null;
}
