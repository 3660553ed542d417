// Offline runs: records go to a write-ahead-log file in the run's directory instead of to the
// daemon; `trackd sync <dir>` later creates the run in a daemon and streams them there.
//
// The directory, as the Python SDK's: <dir or the working directory>/wandb/
// offline-run-<YYYYmmdd_HHMMSS>-<id>/ with run.json (the run's identity and metadata) and
// run-<id>.wal. The log's format is the daemon's (sdk/python/trackd/_shared/walfile.py): a 7-byte
// header, then 32 KiB blocks of chunks (uint32 CRC-32 of type byte + payload, uint16 length,
// uint8 type FULL/FIRST/MIDDLE/LAST, payload); each record's payload is one serialized
// trackd.v1.WalEntry holding a batch of records.
import { closeSync, fsyncSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { encodeRecord, firstRequest, MAX_BATCH_RECORDS, type Item, type RecordSink, type Ref } from "./sender.js";

const MAGIC = Buffer.from([0x54, 0x52, 0x4b, 0x44, 0x1e, 0x7d, 0x01]); // "TRKD", 0x7D1E LE, version 1
const BLOCK_SIZE = 32 * 1024;
const CHUNK_HEADER = 7;
const FULL = 1;
const FIRST = 2;
const MIDDLE = 3;
const LAST = 4;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32/IEEE (zlib's crc32), continuing from ``crc``. */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Appends records to a new log file (synchronously: the process's "exit" handler uses it). */
export class WalFile {
  private readonly fd: number;
  private size: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, "wx");
    writeSync(this.fd, MAGIC);
    this.size = MAGIC.length;
  }

  append(payload: Uint8Array): void {
    const parts: Buffer[] = [];
    let pos = this.size;
    let view = payload;
    let first = true;
    for (;;) {
      const left = BLOCK_SIZE - ((pos - MAGIC.length) % BLOCK_SIZE);
      if (left < CHUNK_HEADER) {
        parts.push(Buffer.alloc(left));
        pos += left;
        continue;
      }
      const piece = view.subarray(0, left - CHUNK_HEADER);
      view = view.subarray(piece.length);
      const last = view.length === 0;
      const type = first && last ? FULL : first ? FIRST : last ? LAST : MIDDLE;
      const header = Buffer.alloc(CHUNK_HEADER);
      header.writeUInt32LE(crc32(piece, crc32(Uint8Array.of(type))), 0);
      header.writeUInt16LE(piece.length, 4);
      header.writeUInt8(type, 6);
      parts.push(header, Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
      pos += CHUNK_HEADER + piece.length;
      first = false;
      if (last) break;
    }
    const buf = Buffer.concat(parts);
    writeSync(this.fd, buf);
    this.size += buf.length;
  }

  close(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Make the run's directory and its run.json; returns the directory. */
export function makeOfflineDir(root: string, runId: string, meta: Record<string, unknown>): string {
  const base = join(root, "wandb");
  let dir = join(base, `offline-run-${stamp(new Date())}-${runId}`);
  mkdirSync(base, { recursive: true });
  for (let n = 1; ; n++) {
    try {
      mkdirSync(dir);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      dir = join(base, `offline-run-${stamp(new Date())}-${runId}-${n}`);
    }
  }
  writeFileSync(join(dir, "run.json"), JSON.stringify(meta));
  return dir;
}

/**
 * The record sink of an offline run: put() queues, and the queue is written to the log as
 * WalEntry batches at the next turn of the event loop (and at flush/close), so log() stays
 * cheap and the file gets few large writes.
 */
export class OfflineSink implements RecordSink {
  private readonly wal: WalFile;
  private readonly runRef: Uint8Array;
  private queue: (Item & { seq: number })[] = [];
  private nextSeq = 0;
  private written = 0;
  private scheduled = false;
  readonly stopRequested = false;
  error = null;

  constructor(readonly dir: string, readonly ref: Ref) {
    this.wal = new WalFile(join(dir, `run-${ref.runId}.wal`));
    // WalEntry.run (field 1) has the layout of StreamRecordsRequest.run: reuse its encoder.
    this.runRef = firstRequest(ref, "");
  }

  get lastSeq(): number {
    return this.nextSeq;
  }

  get ackedSeq(): number {
    return this.written;
  }

  get buffered(): number {
    return this.queue.length;
  }

  put(item: Item): undefined {
    const seq = ++this.nextSeq;
    this.queue.push({ ...item, seq });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.writeQueued());
    }
    return undefined;
  }

  /** Write every queued record (synchronously). */
  writeQueued(): void {
    this.scheduled = false;
    while (this.queue.length) {
      const batch = this.queue.splice(0, MAX_BATCH_RECORDS);
      const w = new BinaryWriter();
      w.raw(this.runRef);
      for (const item of batch) w.tag(2, WireType.LengthDelimited).bytes(encodeRecord(item, item.seq));
      this.wal.append(w.finish());
      this.written = batch[batch.length - 1].seq;
    }
  }

  async flush(): Promise<void> {
    this.writeQueued();
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  /** Write the rest and close the log (made durable). Idempotent. */
  closeSync(): void {
    if (this.closed) return;
    this.writeQueued();
    this.wal.close();
    this.closed = true;
  }

  private closed = false;

  abort(): void {
    this.closeSync();
  }

  undelivered(): [number, Uint8Array][] {
    return [];
  }
}
