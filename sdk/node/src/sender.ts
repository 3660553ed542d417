// The record sender: what log() hands its data to (docs/protocol.md, "The record stream").
//
// put() runs in the caller and only appends to a buffer. A background task takes records in
// batches (at most MAX_BATCH_RECORDS records or about MAX_BATCH_BYTES), numbers them, encodes
// them and writes them to the run's StreamRecords call; at most MAX_INFLIGHT batches wait for
// their acknowledgement. Acknowledged batches are dropped; unacknowledged ones are kept, as
// bytes, and resent after a reconnect (the daemon drops seqs it already holds).
//
// Memory: the buffer holds at most `bound` unsent records before put() reports it full (the
// record is still taken; the caller gets a promise that resolves once there is room again, and
// is expected to await it: see Run.log()).
//
// Holding the process open: an open gRPC call keeps Node's event loop alive, so a program that
// forgot finish() would never end. The sender therefore ends its stream once everything is
// acknowledged and nothing was queued for IDLE_DETACH_MS, and re-attaches every heartbeat
// (an unref'd timer, well inside the run's crash grace) to tell the daemon it is alive and to
// learn of stop requests. When the program's own work is done the loop empties, "beforeExit"
// fires and the run is finished (see exit.ts).
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { create, toBinary } from "@bufbuild/protobuf";
import type { ClientDuplexStream, ServiceError } from "@grpc/grpc-js";
import { commError, type Connection } from "./connection.js";
import { CommError, RpcError, RunFinishedError, codeName } from "./errors.js";
import {
  AlertRecordSchema, MetricRecordSchema, RunUpdateRecordSchema,
  type AlertLevel,
} from "./gen/trackd/v1/record_pb.js";
import type { MetricDefinition } from "./gen/trackd/v1/run_pb.js";
import type { StreamRecordsResponse } from "./gen/trackd/v1/record_service_pb.js";
import { writeMap, writeValue, type Plain, type PlainMap } from "./values.js";

/** Records per request: amortises per-message costs; far below the 64 MiB message limit. */
export const MAX_BATCH_RECORDS = 1000;
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** Sent-but-unacknowledged requests allowed before the sender waits for acks. */
export const MAX_INFLIGHT = 8;
/** An idle stream (everything acknowledged) is ended after this long without records. */
export const IDLE_DETACH_MS = 200;

const RETRYABLE = new Set(["UNAVAILABLE", "CANCELLED", "ABORTED", "DEADLINE_EXCEEDED", "UNKNOWN",
  "INTERNAL", "RESOURCE_EXHAUSTED"]);

/** A run, as the wire names it. */
export interface Ref {
  entity: string;
  project: string;
  runId: string;
}

/** One buffered record, before its seq is known... and after (seq is set by put()). */
export type Item =
  | { k: "h"; data: PlainMap; step: number | bigint | undefined; commit: boolean | undefined; ts: number }
  | { k: "s"; update: [string[], Plain][]; remove: string[][] }
  | { k: "c"; update: PlainMap; remove: string[] }
  | { k: "m"; def: Omit<MetricDefinition, "$typeName" | "$unknown">; overwrite: boolean }
  | { k: "u"; fields: { name?: string; notes?: string; tags?: string[]; group?: string; jobType?: string } }
  | { k: "x"; code: number }
  | { k: "p" }
  | { k: "a"; title: string; text: string; level: AlertLevel; waitMs: bigint; ts: number };

type Queued = Item & { seq: number };

/** The bytes of one Record for ``item`` with ``seq``. */
export function encodeRecord(item: Item, seq: number): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.Varint).int64(seq);
  switch (item.k) {
    case "h": {
      w.tag(10, WireType.LengthDelimited).fork();
      w.tag(1, WireType.LengthDelimited).fork();
      writeMap(w, item.data);
      w.join();
      if (item.step !== undefined) w.tag(2, WireType.Varint).int64(item.step);
      if (item.commit !== undefined) w.tag(3, WireType.Varint).bool(item.commit);
      w.tag(4, WireType.Bit64).double(item.ts);
      w.join();
      break;
    }
    case "s": {
      w.tag(11, WireType.LengthDelimited).fork();
      for (const [path, value] of item.update) {
        w.tag(1, WireType.LengthDelimited).fork();
        for (const p of path) w.tag(1, WireType.LengthDelimited).string(p);
        w.tag(2, WireType.LengthDelimited).fork();
        writeValue(w, value);
        w.join();
        w.join();
      }
      for (const path of item.remove) {
        w.tag(2, WireType.LengthDelimited).fork();
        for (const p of path) w.tag(1, WireType.LengthDelimited).string(p);
        w.join();
      }
      w.join();
      break;
    }
    case "c": {
      w.tag(12, WireType.LengthDelimited).fork();
      w.tag(1, WireType.LengthDelimited).fork();
      writeMap(w, item.update);
      w.join();
      for (const k of item.remove) w.tag(2, WireType.LengthDelimited).string(k);
      w.join();
      break;
    }
    case "m":
      w.tag(13, WireType.LengthDelimited).bytes(toBinary(MetricRecordSchema,
        create(MetricRecordSchema, { definition: item.def, overwrite: item.overwrite })));
      break;
    case "u": {
      const f = item.fields;
      w.tag(14, WireType.LengthDelimited).bytes(toBinary(RunUpdateRecordSchema, create(RunUpdateRecordSchema, {
        name: f.name, notes: f.notes, group: f.group, jobType: f.jobType,
        tags: f.tags === undefined ? undefined : { tags: f.tags },
      })));
      break;
    }
    case "x":
      w.tag(15, WireType.LengthDelimited).fork();
      if (item.code !== 0) w.tag(1, WireType.Varint).int32(item.code);
      w.join();
      break;
    case "p":
      w.tag(18, WireType.LengthDelimited).bytes(new Uint8Array());
      break;
    case "a":
      w.tag(19, WireType.LengthDelimited).bytes(toBinary(AlertRecordSchema, create(AlertRecordSchema, {
        title: item.title, text: item.text, level: item.level, waitDurationMs: item.waitMs, timestamp: item.ts,
      })));
      break;
  }
  return w.finish();
}

/** The bytes of the first StreamRecordsRequest of a stream: the run and the writer. */
export function firstRequest(ref: Ref, writer: string): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).fork();
  if (ref.entity) w.tag(1, WireType.LengthDelimited).string(ref.entity);
  if (ref.project) w.tag(2, WireType.LengthDelimited).string(ref.project);
  w.tag(3, WireType.LengthDelimited).string(ref.runId);
  w.join();
  if (writer) w.tag(3, WireType.LengthDelimited).string(writer);
  return w.finish();
}

/** Where a run's records go: the daemon (Sender) or an offline log (OfflineSink). */
export interface RecordSink {
  readonly lastSeq: number;
  readonly ackedSeq: number;
  readonly buffered: number;
  readonly stopRequested: boolean;
  readonly error: CommError | null;
  put(item: Item): Promise<void> | undefined;
  flush(): Promise<void>;
  close(): Promise<void>;
  abort(): void;
  undelivered(): [number, Uint8Array][];
}

export interface SenderOptions {
  conn: Connection;
  ref: Ref;
  writer: string;
  /** Records buffered (unsent) before put() reports the buffer full. */
  bound: number;
  /** The seq the daemon holds already (CreateRun's run.acked_seq). */
  startSeq: number;
  /** Milliseconds between re-attachments of an idle run (inside its crash grace). */
  heartbeatMs: number;
  /** Called while the daemon is unreachable; may return a new connection. */
  reconnect?: () => Promise<Connection | undefined>;
  /** Called once when the daemon says the run was asked to stop. */
  onStop?: () => void;
  /** Batches to send first (the exit helper resends what its parent had not delivered). */
  pending?: [number, Uint8Array][];
}

export class Sender implements RecordSink {
  conn: Connection;
  readonly ref: Ref;
  readonly writer: string;
  private readonly bound: number;
  private readonly heartbeatMs: number;
  private readonly reconnect?: () => Promise<Connection | undefined>;
  private readonly onStop?: () => void;
  private buf: Queued[] = [];
  private head = 0;
  private nextSeq: number;
  private acked: number;
  /** Sent batches not yet acknowledged: (last seq, request bytes). */
  readonly unacked: [number, Uint8Array][] = [];
  private closing = false;
  private aborted = false;
  private wakeResolve: (() => void) | null = null;
  private ackWaiters: (() => void)[] = [];
  private roomWaiters: (() => void)[] = [];
  private roomPromise: Promise<void> | null = null;
  private task: Promise<void> | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private call: ClientDuplexStream<Uint8Array, StreamRecordsResponse> | null = null;
  /** Delivery failed for good: every later put() and flush() throws it. */
  error: CommError | null = null;
  stopRequested = false;
  /** Streams opened so far (a reconnect opens another). */
  streamsOpened = 0;
  /** Streams that broke and were retried (the daemon went away, restarted...). */
  reconnects = 0;
  /** Batches sent again on a new stream because the old one broke before their ack. */
  resent = 0;

  constructor(opts: SenderOptions) {
    this.conn = opts.conn;
    this.ref = opts.ref;
    this.writer = opts.writer;
    this.bound = opts.bound;
    this.heartbeatMs = opts.heartbeatMs;
    this.reconnect = opts.reconnect;
    this.onStop = opts.onStop;
    this.nextSeq = opts.startSeq;
    this.acked = opts.startSeq;
    for (const p of opts.pending ?? []) {
      this.unacked.push(p);
      this.nextSeq = Math.max(this.nextSeq, p[0]);
    }
    if (this.unacked.length) this.ensureRunning();
  }

  // -- caller side -------------------------------------------------------------------------------

  get lastSeq(): number {
    return this.nextSeq;
  }

  get ackedSeq(): number {
    return this.acked;
  }

  /** Records buffered and not yet sent. */
  get buffered(): number {
    return this.buf.length - this.head;
  }

  /**
   * Queue a record; returns undefined, or a promise when the buffer is full (resolved once it
   * has room again).
   *
   * @throws CommError delivery failed for good.
   */
  put(item: Item): Promise<void> | undefined {
    if (this.error) throw this.error;
    const seq = ++this.nextSeq;
    (item as Queued).seq = seq;
    this.buf.push(item as Queued);
    this.ensureRunning();
    this.wake();
    if (this.buf.length - this.head >= this.bound) {
      this.roomPromise ??= new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      return this.roomPromise;
    }
    return undefined;
  }

  /** Wait until every record queued so far is acknowledged. */
  async flush(): Promise<void> {
    const target = this.nextSeq;
    this.ensureRunning();
    this.wake();
    while (this.acked < target && !this.error) {
      await new Promise<void>((resolve) => this.ackWaiters.push(resolve));
    }
    if (this.error) throw this.error;
  }

  /** Flush, then end the stream and the background task. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closing = true;
      this.stopHeartbeat();
      this.wake();
      await this.task;
    }
  }

  /** Stop at once, without delivering (the exit helper delivers what is left). */
  abort(): void {
    this.closing = true;
    this.aborted = true;
    this.stopHeartbeat();
    this.call?.cancel();
    if (!this.error) this.fail(new CommError("the sender was stopped before it delivered everything"));
    this.wake();
  }

  /**
   * Everything not yet acknowledged, as (last seq, StreamRecordsRequest bytes) batches, the
   * buffered records encoded now (synchronously: used in the process's "exit" handler).
   */
  undelivered(): [number, Uint8Array][] {
    const out = this.unacked.filter(([last]) => last > this.acked);
    for (let b = this.takeBatch(); b; b = this.takeBatch()) out.push(b);
    return out;
  }

  // -- background side ----------------------------------------------------------------------------

  private ensureRunning(): void {
    if (this.task === null && !this.closing) {
      this.stopHeartbeat();
      this.task = this.run().finally(() => {
        this.task = null;
        if (!this.closing && !this.error) this.startHeartbeat();
      });
    }
  }

  private startHeartbeat(): void {
    if (this.heartbeat !== null || this.closing) return;
    this.heartbeat = setTimeout(() => {
      this.heartbeat = null;
      this.ensureRunning();
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== null) {
      clearTimeout(this.heartbeat);
      this.heartbeat = null;
    }
  }

  private wake(): void {
    const w = this.wakeResolve;
    if (w) {
      this.wakeResolve = null;
      w();
    }
  }

  private setAcked(seq: number): void {
    if (seq > this.acked) {
      this.acked = seq;
      while (this.unacked.length && this.unacked[0][0] <= seq) this.unacked.shift();
    }
    const waiters = this.ackWaiters;
    this.ackWaiters = [];
    for (const w of waiters) w();
    this.wake();
  }

  private fail(err: CommError): void {
    this.error = err;
    this.setAcked(this.acked);
    this.releaseRoom();
  }

  private releaseRoom(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    this.roomPromise = null;
    for (const w of waiters) w();
  }

  /** The next batch of buffered records, encoded: (last seq, request bytes). */
  private takeBatch(): [number, Uint8Array] | null {
    const n = this.buf.length - this.head;
    if (n <= 0) return null;
    const w = new BinaryWriter();
    let bytes = 0;
    let count = 0;
    let last = 0;
    while (this.head < this.buf.length && count < MAX_BATCH_RECORDS && bytes < MAX_BATCH_BYTES) {
      const item = this.buf[this.head];
      this.buf[this.head++] = undefined as unknown as Queued;
      let rec: Uint8Array;
      try {
        rec = encodeRecord(item, item.seq);
      } catch (e) {
        // Never let one bad record stop the run: keep its seq with an empty summary record.
        process.emitWarning(`trackd: record ${item.seq} could not be sent and was dropped: ${e}`);
        rec = encodeRecord({ k: "s", update: [], remove: [] }, item.seq);
      }
      w.tag(2, WireType.LengthDelimited).bytes(rec);
      bytes += rec.length + 4;
      last = item.seq;
      count++;
    }
    if (this.head === this.buf.length) {
      this.buf = [];
      this.head = 0;
    } else if (this.head > 65536) {
      this.buf = this.buf.slice(this.head);
      this.head = 0;
    }
    if (this.roomWaiters.length && this.buf.length - this.head < this.bound) this.releaseRoom();
    return [last, w.finish()];
  }

  private waitWake(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wakeResolve = null;
        resolve();
      }, ms);
      this.wakeResolve = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let delay = 50;
    while (!this.error && !this.aborted) {
      try {
        // Closed and delivered, or detached while idle (the heartbeat re-attaches).
        await this.session();
        return;
      } catch (e) {
        const err = this.classify(e);
        if (err) {
          if (err instanceof RunFinishedError && this.acked >= this.nextSeq) return;
          this.fail(err);
          return;
        }
        if (this.aborted) return;
        this.reconnects++;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
        if (this.reconnect) {
          try {
            const conn = await this.reconnect();
            if (conn) this.conn = conn;
          } catch {
            // still unreachable: try again after the next delay
          }
        }
        if (this.closing && this.buffered === 0 && this.unacked.length === 0) return;
      }
    }
  }

  /** A failure that a reconnect will not fix, or null. */
  private classify(e: unknown): CommError | null {
    const first = commError(e);
    if (first instanceof RpcError && first.reason === "SEQUENCE_GAP") {
      // Every unacknowledged record is resent after a reconnect, so a gap means records were
      // numbered here and lost before they were sent (a bug): reconnecting cannot mend it, and
      // retrying would only keep finish() waiting.
      return new CommError(`run ${this.ref.runId}: the daemon holds this process's records up ` +
        `to seq ${first.metadata.acked_seq ?? "?"} and was sent a later one; the records in ` +
        "between were lost here before they were sent (a bug in trackd: please report it)");
    }
    const code = (e as ServiceError)?.code;
    if (typeof code === "number" && RETRYABLE.has(codeName(code))) return null;
    if (e instanceof CommError && !(e as { code?: unknown }).code) return null;
    if ("code" in first && typeof first.code === "string" && RETRYABLE.has(first.code)) return null;
    return first;
  }

  /**
   * One stream: attach, resend what is unacknowledged, send batches until idle or closed.
   * Returns true when the sender is closed and everything is delivered, false when it
   * detached while idle.
   */
  private async session(): Promise<boolean> {
    const call = this.conn.recordStream();
    this.call = call;
    this.streamsOpened++;
    let failure: unknown = null;
    let ended = false;
    let first: (() => void) | null = null;
    const gotFirst = new Promise<void>((resolve) => { first = resolve; });
    call.on("data", (r: StreamRecordsResponse) => {
      if (first) {
        const f = first;
        first = null;
        f();
      }
      this.setAcked(Number(r.ackedSeq));
      if (r.stopRequested && !this.stopRequested) {
        this.stopRequested = true;
        this.onStop?.();
      }
    });
    const finished = new Promise<void>((resolve) => {
      call.on("error", (e) => {
        failure = e;
        ended = true;
        first?.();
        this.setAcked(this.acked);
        resolve();
      });
      call.on("end", () => {
        ended = true;
        first?.();
        this.setAcked(this.acked);
        resolve();
      });
    });
    // The stream's status arrives with "error" (or "end"); a read side that is not consumed
    // would hold the call open.
    call.on("status", () => undefined);
    try {
      call.write(firstRequest(this.ref, this.writer));
      await gotFirst;
      if (failure) throw failure;
      if (ended) throw new CommError("the daemon closed the record stream");
      for (const [last, data] of this.unacked) {
        if (last > this.acked) {
          call.write(data);
          this.resent++;
        }
      }
      let idleSince = Date.now();
      for (;;) {
        while (this.unacked.length >= MAX_INFLIGHT && !ended) {
          await new Promise<void>((resolve) => this.ackWaiters.push(resolve));
        }
        if (failure) throw failure;
        if (ended) throw new CommError("the record stream ended");
        const batch = this.takeBatch();
        if (batch) {
          this.unacked.push(batch);
          call.write(batch[1]);
          idleSince = Date.now();
          // Let the caller run between batches (log() and the sender share one thread).
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        const allAcked = this.unacked.length === 0;
        if (allAcked && (this.closing || Date.now() - idleSince >= IDLE_DETACH_MS)) {
          call.end();
          await finished;
          if (failure) throw failure;
          return this.closing;
        }
        await this.waitWake(allAcked ? Math.max(1, IDLE_DETACH_MS - (Date.now() - idleSince)) : 1000);
      }
    } finally {
      if (!ended) call.cancel();
      if (this.call === call) this.call = null;
    }
  }
}
