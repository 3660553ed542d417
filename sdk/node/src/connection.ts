// The SDK's link to the daemon: one @grpc/grpc-js client per address, with calls built from the
// generated service descriptors (no generated client code is needed: protoc-gen-es describes the
// methods, @bufbuild/protobuf serialises the messages).
//
// A Unix socket needs no credentials: the daemon knows who connected from the socket itself.
// A TCP address carries the daemon's token as "authorization: Bearer <token>" metadata on every
// call; https:// (or a bare host:port with $TRACKD_TLS_CA) uses TLS, http:// is plaintext.
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import {
  create, fromBinary, toBinary,
  type DescMessage, type DescMethod, type MessageInitShape, type MessageShape,
} from "@bufbuild/protobuf";
import { splitAddress, tlsCaFor, tokenFor } from "./discovery.js";
import { CommError, RpcError, fromGrpc } from "./errors.js";
import { StreamRecordsResponseSchema, type StreamRecordsResponse } from "./gen/trackd/v1/record_service_pb.js";

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.max_send_message_length": 64 * 1024 * 1024,
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
  "grpc.enable_retries": 0,
  // Reconnect quickly when a restarted daemon comes back on the same socket.
  "grpc.initial_reconnect_backoff_ms": 50,
  "grpc.max_reconnect_backoff_ms": 1000,
  // A connection of its own: a channel made after the daemon came back must not share the
  // failed subchannel (and its backoff) of an earlier one.
  "grpc.use_local_subchannel_pool": 1,
};

/** A method of a generated service with known input and output messages. */
export type Method<I extends DescMessage, O extends DescMessage> = DescMethod & { input: I; output: O };

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export class Connection {
  readonly client: grpc.Client;
  private readonly token: string;

  constructor(readonly address: string) {
    const [scheme, target] = splitAddress(address);
    let creds: grpc.ChannelCredentials;
    if (scheme === "unix") {
      creds = grpc.credentials.createInsecure();
      this.token = "";
    } else {
      const ca = scheme === "http" ? null : tlsCaFor(address);
      if (ca || scheme === "https") {
        creds = grpc.credentials.createSsl(ca && ca !== "system" ? readFileSync(ca) : null);
      } else {
        creds = grpc.credentials.createInsecure();
      }
      this.token = tokenFor(address);
    }
    this.client = new grpc.Client(scheme === "unix" ? address : target, creds, CHANNEL_OPTIONS);
  }

  /** Metadata for one call: the bearer token on TCP. */
  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token) md.set("authorization", `Bearer ${this.token}`);
    return md;
  }

  /**
   * Call a unary RPC.
   *
   * @throws CommError (an RpcError subclass when the daemon answered with an error).
   */
  unary<I extends DescMessage, O extends DescMessage>(
    method: Method<I, O>, request: MessageInitShape<I>, timeoutMs?: number,
  ): Promise<MessageShape<O>> {
    const msg = create(method.input, request);
    return new Promise((resolve, reject) => {
      const options: grpc.CallOptions = timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
      this.client.makeUnaryRequest(
        `/${method.parent.typeName}/${method.name}`,
        (m: MessageShape<I>) => toBuffer(toBinary(method.input, m)),
        (b: Buffer) => fromBinary(method.output, b),
        msg, this.metadata(), options,
        (err, value) => (err ? reject(fromGrpc(err)) : resolve(value as MessageShape<O>)),
      );
    });
  }

  /** The messages of a server-streaming RPC. */
  async *serverStream<I extends DescMessage, O extends DescMessage>(
    method: Method<I, O>, request: MessageInitShape<I>,
  ): AsyncGenerator<MessageShape<O>> {
    const call = this.client.makeServerStreamRequest(
      `/${method.parent.typeName}/${method.name}`,
      (m: MessageShape<I>) => toBuffer(toBinary(method.input, m)),
      (b: Buffer) => fromBinary(method.output, b),
      create(method.input, request), this.metadata(), {},
    );
    try {
      for await (const m of call) yield m as MessageShape<O>;
    } catch (e) {
      throw fromGrpc(e as grpc.ServiceError);
    } finally {
      call.cancel();
    }
  }

  /** A client-streaming call: returns the writable call and the response. */
  clientStream<I extends DescMessage, O extends DescMessage>(
    method: Method<I, O>,
  ): { call: grpc.ClientWritableStream<MessageShape<I>>; response: Promise<MessageShape<O>> } {
    let call!: grpc.ClientWritableStream<MessageShape<I>>;
    const response = new Promise<MessageShape<O>>((resolve, reject) => {
      call = this.client.makeClientStreamRequest(
        `/${method.parent.typeName}/${method.name}`,
        (m: MessageShape<I>) => toBuffer(toBinary(method.input, m)),
        (b: Buffer) => fromBinary(method.output, b),
        this.metadata(), {},
        (err, value) => (err ? reject(fromGrpc(err)) : resolve(value as MessageShape<O>)),
      );
    });
    return { call, response };
  }

  /** The record stream; requests are already-serialised StreamRecordsRequest bytes. */
  recordStream(): grpc.ClientDuplexStream<Uint8Array, StreamRecordsResponse> {
    return this.client.makeBidiStreamRequest(
      "/trackd.v1.RecordService/StreamRecords",
      toBuffer,
      (b: Buffer) => fromBinary(StreamRecordsResponseSchema, b),
      this.metadata(), {},
    );
  }

  close(): void {
    this.client.close();
  }
}

/**
 * A unary call that outlives a daemon restart: while the daemon is gone (a CommError that is
 * not an RpcError: UNAVAILABLE and the like), wait with backoff and call again, until
 * ``giveUpMs``. Only for calls that are safe to repeat (CreateRun with its request_id,
 * FinishRun, reads).
 */
export async function unaryRetrying<I extends DescMessage, O extends DescMessage>(
  conn: () => Connection, method: Method<I, O>, request: MessageInitShape<I>, giveUpMs: number,
): Promise<MessageShape<O>> {
  const deadline = Date.now() + giveUpMs;
  let delay = 50;
  for (;;) {
    try {
      return await conn().unary(method, request, Math.max(1, deadline - Date.now()));
    } catch (e) {
      if (!(e instanceof CommError) || e instanceof RpcError || Date.now() + delay >= deadline) throw e;
      const hint = e.retryAfter ? Math.min(e.retryAfter * 1000, 5000) : 0;
      await new Promise((r) => setTimeout(r, Math.max(delay, hint)));
      delay = Math.min(delay * 2, 1000);
    }
  }
}

/** A CommError for a failure that is not a gRPC status. */
export function commError(e: unknown): CommError {
  if (e instanceof CommError) return e;
  if (e && typeof e === "object" && "code" in e && typeof (e as grpc.ServiceError).code === "number") {
    return fromGrpc(e as grpc.ServiceError);
  }
  return new CommError(e instanceof Error ? e.message : String(e));
}
