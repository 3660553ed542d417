// Artifacts: versioned sets of files (W&B's Artifact), logged and used by runs.
//
// Logging: every file is hashed here (base64 MD5, W&B's digest) so the manifest digest is known
// in advance; a daemon on this machine (a Unix socket) reads the files by path, and when it
// may not (another user's daemon: ARTIFACT_PATH_UNREADABLE), or the daemon is reached over TCP,
// the bytes are uploaded first (UploadFile) and the entries name the blobs.
// Downloading: every file is streamed (ReadArtifactFile) and its MD5 checked against the
// manifest before it is kept.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { type Connection } from "./connection.js";
import { RpcError, TrackdError, UsageError } from "./errors.js";
import { ArtifactService } from "./gen/trackd/v1/artifact_service_pb.js";
import { ManifestEntrySchema, type Artifact as ArtifactMsg } from "./gen/trackd/v1/artifact_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { ArtifactService as Uploads, UploadFileRequestSchema } from "./gen/trackd/v1/artifact_service_pb.js";

/** Base64 MD5 and size of a file. */
export async function md5File(path: string): Promise<{ digest: string; size: number }> {
  const h = createHash("md5");
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: h.digest("base64"), size };
}

/** W&B's manifest digest: hex MD5 over "wandb-artifact-manifest-v1\n" and "path:digest\n" of
 * each entry in path order. */
export function manifestDigest(entries: { path: string; digest: string }[]): string {
  const h = createHash("md5");
  h.update("wandb-artifact-manifest-v1\n");
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const e of sorted) h.update(`${e.path}:${e.digest}\n`);
  return h.digest("hex");
}

export interface ArtifactOptions {
  description?: string;
  metadata?: Record<string, unknown>;
}

/** An artifact being put together, to be logged with run.logArtifact(). */
export class Artifact {
  readonly files = new Map<string, string>();
  readonly description: string;
  readonly metadata: Record<string, unknown>;

  constructor(readonly name: string, readonly type: string, opts: ArtifactOptions = {}) {
    if (!name || /[/:]/.test(name)) throw new UsageError(`invalid artifact name ${JSON.stringify(name)}`);
    if (!type) throw new UsageError("an artifact needs a type");
    this.description = opts.description ?? "";
    this.metadata = opts.metadata ?? {};
  }

  /** Add one file, as ``name`` (default: its base name). */
  addFile(localPath: string, name?: string): this {
    const full = resolve(localPath);
    const entry = name ?? full.split(sep).pop()!;
    if (!entry || entry.startsWith("/") || entry.split("/").includes("..")) {
      throw new UsageError(`invalid path in the artifact: ${JSON.stringify(entry)}`);
    }
    this.files.set(entry, full);
    return this;
  }

  /** Add every file under ``dir`` (paths relative to it, under ``prefix``). */
  async addDir(dir: string, prefix = ""): Promise<this> {
    const root = resolve(dir);
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) this.addFile(p, [prefix, relative(root, p).split(sep).join("/")].filter(Boolean).join("/"));
      }
    };
    await walk(root);
    return this;
  }
}

/** A stored version, as the daemon returned it. */
export class ArtifactVersion {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  /** "v0", "v1", ... */
  readonly version: string;
  /** The manifest digest (hex). */
  readonly digest: string;
  readonly aliases: string[];
  readonly description: string;
  readonly metadata: Record<string, unknown>;
  readonly size: number;
  readonly fileCount: number;

  /** @internal */
  constructor(private readonly conn: Connection, msg: ArtifactMsg) {
    this.id = msg.id;
    this.name = msg.collection;
    this.type = msg.type;
    this.version = msg.version;
    this.digest = msg.digest;
    this.aliases = [...msg.aliases];
    this.description = msg.description;
    this.metadata = msg.metadataJson ? JSON.parse(msg.metadataJson) : {};
    this.size = Number(msg.size);
    this.fileCount = Number(msg.fileCount);
  }

  /** The manifest's entries: path, digest (base64 MD5) and size. */
  async manifest(): Promise<{ path: string; digest: string; size: number }[]> {
    const out: { path: string; digest: string; size: number }[] = [];
    for await (const page of this.conn.serverStream(ArtifactService.method.getManifest, { id: this.id })) {
      for (const e of page.entries) out.push({ path: e.path, digest: e.digest, size: Number(e.size) });
    }
    return out;
  }

  /**
   * Download every stored file under ``root`` and check each one's MD5 against the manifest.
   *
   * @returns root.
   * @throws TrackdError a file's bytes do not match its digest (nothing is left under its name).
   */
  async download(root: string): Promise<string> {
    const base = resolve(root);
    for (const e of await this.manifest()) {
      const target = resolve(base, e.path);
      if (!target.startsWith(base + sep)) throw new TrackdError(`artifact path ${e.path} leaves ${base}`);
      await mkdir(dirname(target), { recursive: true });
      const tmp = `${target}.trackd-${process.pid}.part`;
      const fh = await open(tmp, "w");
      const h = createHash("md5");
      try {
        for await (const m of this.conn.serverStream(ArtifactService.method.readArtifactFile, { id: this.id, path: e.path })) {
          h.update(m.chunk);
          await fh.write(m.chunk);
        }
      } finally {
        await fh.close();
      }
      const got = h.digest("base64");
      if (got !== e.digest) {
        await rm(tmp, { force: true });
        throw new TrackdError(`artifact file ${e.path}: MD5 ${got} does not match the manifest's ${e.digest}`);
      }
      await rename(tmp, target);
    }
    return base;
  }
}

/** Log ``artifact`` for a run and wait until the version is committed. */
export async function logArtifact(conn: Connection, run: { entity: string; project: string; runId: string },
  step: number, artifact: Artifact, aliases: string[],
  internal = false): Promise<ArtifactVersion> {
  const files = [...artifact.files.entries()];
  const hashed = await Promise.all(files.map(async ([path, local]) => ({ path, local, ...(await md5File(local)) })));
  const digest = manifestDigest(hashed);
  const request = (entries: MessageInitShape<typeof ManifestEntrySchema>[]) => ({
    entity: run.entity, project: run.project, name: artifact.name, type: artifact.type,
    description: artifact.description, metadataJson: JSON.stringify(artifact.metadata), aliases,
    entries, digest, run, historyStep: BigInt(step), internal, requestId: `${process.pid}-${Date.now()}-${digest}`,
  });
  const sameMachine = conn.address.startsWith("unix:");
  let resp;
  try {
    if (!sameMachine) throw new RpcError("remote daemon", "PERMISSION_DENIED", "ARTIFACT_PATH_UNREADABLE", {});
    resp = await conn.unary(ArtifactService.method.logArtifact, request(hashed.map((f) => ({
      path: f.path, digest: f.digest, size: BigInt(f.size), localPath: f.local,
    }))));
  } catch (e) {
    if (!(e instanceof RpcError && e.reason === "ARTIFACT_PATH_UNREADABLE")) throw e;
    const entries: MessageInitShape<typeof ManifestEntrySchema>[] = [];
    for (const f of hashed) {
      const blob = await uploadFile(conn, f.local, f.path);
      entries.push({ path: f.path, digest: f.digest, size: BigInt(f.size), blobKey: blob.blobKey });
    }
    resp = await conn.unary(ArtifactService.method.logArtifact, request(entries));
  }
  let version = resp.artifact!;
  if (version.state !== 2) {
    for await (const w of conn.serverStream(ArtifactService.method.watchArtifact, { id: version.id })) {
      if (w.done && w.artifact) version = w.artifact;
    }
  }
  if (version.state !== 2) throw new TrackdError(`artifact ${artifact.name} was not committed`);
  return new ArtifactVersion(conn, version);
}

/** Resolve "name", "name:alias", "name:vN" (with an optional "project/" or "entity/project/"
 * prefix) and, for a run, record that it used the version. */
export async function useArtifact(conn: Connection, run: { entity: string; project: string; runId: string } | null,
  entity: string, project: string, path: string): Promise<ArtifactVersion> {
  const got = await conn.unary(ArtifactService.method.getArtifact, { path, entity, project });
  let msg = got.artifact!;
  if (run) {
    const used = await conn.unary(ArtifactService.method.useArtifact, { id: msg.id, run });
    msg = used.artifact ?? msg;
  }
  return new ArtifactVersion(conn, msg);
}

/** Upload a local file's bytes (ArtifactService.UploadFile); returns the stored blob. */
export async function uploadFile(conn: Connection, path: string, name: string):
    Promise<{ blobKey: string; md5: string; size: bigint }> {
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    const md5 = createHash("md5");
    const { call, response } = conn.clientStream(Uploads.method.uploadFile);
    const write = (m: Parameters<typeof call.write>[0]) => new Promise<void>((res, rej) =>
      call.write(m, (e: Error | null | undefined) => (e ? rej(e) : res())));
    const chunk = Buffer.alloc(1 << 20);
    let first = true;
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
      const data = new Uint8Array(chunk.subarray(0, bytesRead));
      md5.update(data);
      if (first || bytesRead > 0) {
        await write(create(UploadFileRequestSchema, {
          header: first ? { size: BigInt(size), md5: "", name } : undefined,
          chunk: data,
        }));
        first = false;
      }
      if (bytesRead === 0) break;
    }
    call.end();
    const resp = await response;
    if (resp.md5 !== md5.digest("base64")) throw new TrackdError(`upload of ${path}: the daemon stored other bytes`);
    return { blobKey: resp.blobKey, md5: resp.md5, size: resp.size };
  } finally {
    await fh.close();
  }
}
