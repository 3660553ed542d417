// Finding the daemon, as the Python SDK does (docs/protocol.md, "Connecting").
//
// The address: $TRACKD_ADDRESS, else $TRACKD_BASE_URL / $WANDB_BASE_URL (not W&B's own
// api.wandb.ai), else the host stored by `trackd login`, else this user's socket
// unix:<runtime dir>/trackd.sock. Only the default socket is ever started: an explicit address
// that does not answer is an error. When nothing answers on the default socket, `trackd daemon
// start` (the trackd command on the PATH, or $TRACKD_COMMAND) starts a detached daemon.
//
// The token (TCP only; a Unix socket needs none): $TRACKD_TOKEN, else $TRACKD_API_KEY, else the
// key stored at login for that host, else the own daemon's token file (<state dir>/token), else
// a key stored without a host, else $WANDB_API_KEY.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { DaemonUnavailableError, UsageError } from "./errors.js";

export const SOCKET_NAME = "trackd.sock";
/** An auto-started daemon stops after this many idle seconds (as the Python SDK's). */
export const AUTO_IDLE_TIMEOUT = 600;
const WANDB_CLOUD_HOSTS = ["api.wandb.ai"];

type Env = Record<string, string | undefined>;

/** (data root, state dir, runtime dir) of this user's daemon. */
export function defaultPaths(env: Env = process.env): [string, string, string] {
  const home = env.HOME || homedir();
  const root = env.TRACKD_ROOT || join(env.XDG_DATA_HOME || join(home, ".local", "share"), "trackd");
  const state = env.TRACKD_STATE_DIR || join(env.XDG_STATE_HOME || join(home, ".local", "state"), "trackd");
  const runtime = env.TRACKD_RUNTIME_DIR || (env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "trackd") : state);
  return [root, state, runtime];
}

/** The gRPC target of this user's daemon on its default socket. */
export function defaultAddress(env: Env = process.env): string {
  return `unix:${join(defaultPaths(env)[2], SOCKET_NAME)}`;
}

/** (scheme, gRPC target): scheme "https", "http", "unix" or "" (a bare host:port). */
export function splitAddress(address: string): [string, string] {
  for (const scheme of ["https", "http"]) {
    if (address.startsWith(`${scheme}://`)) return [scheme, address.slice(scheme.length + 3)];
  }
  return [address.startsWith("unix:") ? "unix" : "", address];
}

interface StoredLogin {
  host: string | null;
  key: string | null;
  tls_ca: string | null;
}

function configDir(env: Env): string {
  const home = env.HOME || homedir();
  return env.TRACKD_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(home, ".config"), "trackd");
}

/** What `trackd login` stored (null when nothing, or when the file is unreadable). */
export function storedLogin(env: Env = process.env): StoredLogin | null {
  try {
    const data = JSON.parse(readFileSync(join(configDir(env), "login.json"), "utf8"));
    return { host: data.host ?? null, key: data.key ?? null, tls_ca: data.tls_ca ?? null };
  } catch {
    return null;
  }
}

function normalizeHost(host: string): string {
  const text = host.trim().replace(/\/+$/, "");
  if (text.startsWith("unix:")) return text;
  let url: URL;
  try {
    url = new URL(text.includes("://") ? text : `grpc://${text}`);
  } catch {
    throw new UsageError(`not a daemon address: ${JSON.stringify(host)}`);
  }
  const scheme = text.includes("://") ? url.protocol.slice(0, -1) : "";
  if (!["", "https", "http"].includes(scheme)) {
    throw new UsageError(`a daemon address starts with https:// or http://, got ${JSON.stringify(host)}`);
  }
  const port = url.port || (scheme === "https" ? "443" : scheme === "http" ? "80" : "");
  if (!port) throw new UsageError(`daemon address ${JSON.stringify(host)} needs a port`);
  return scheme ? `${scheme}://${url.hostname}:${port}` : `${url.hostname}:${port}`;
}

/** The address to use and whether it was named explicitly (see the module comment). */
export function chooseAddress(env: Env = process.env): { address: string; explicit: boolean } {
  if (env.TRACKD_ADDRESS) return { address: env.TRACKD_ADDRESS, explicit: true };
  const base = env.TRACKD_BASE_URL || env.WANDB_BASE_URL;
  if (base) {
    let hostname = "";
    try {
      hostname = new URL(base.includes("://") ? base : `grpc://${base}`).hostname;
    } catch {
      hostname = "";
    }
    if (!WANDB_CLOUD_HOSTS.includes(hostname)) return { address: normalizeHost(base), explicit: true };
  }
  const stored = storedLogin(env);
  if (stored?.host) return { address: stored.host, explicit: true };
  return { address: defaultAddress(env), explicit: false };
}

/** The bearer token for the TCP daemon at ``address`` ("" when none). */
export function tokenFor(address: string, env: Env = process.env): string {
  if (env.TRACKD_TOKEN) return env.TRACKD_TOKEN;
  if (env.TRACKD_API_KEY) return env.TRACKD_API_KEY;
  const stored = storedLogin(env);
  if (stored?.key && stored.host && splitAddress(stored.host)[1] === splitAddress(address)[1]) {
    return stored.key;
  }
  try {
    const own = readFileSync(join(defaultPaths(env)[1], "token"), "utf8").trim();
    if (own) return own;
  } catch {
    // no daemon of this user on this machine
  }
  if (stored?.key && !stored.host) return stored.key;
  return env.WANDB_API_KEY ?? "";
}

/** The CA certificate file to trust for ``address`` ("system": the system's roots; null: none). */
export function tlsCaFor(address: string, env: Env = process.env): string | null {
  if (env.TRACKD_TLS_CA) return env.TRACKD_TLS_CA;
  const stored = storedLogin(env);
  if (stored?.host && stored.tls_ca && splitAddress(stored.host)[1] === splitAddress(address)[1]) {
    return stored.tls_ca;
  }
  return null;
}

/** Whether something accepts connections at ``address``. */
export function reachable(address: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    let opts: { path: string } | { host: string; port: number };
    if (address.startsWith("unix:")) {
      opts = { path: address.slice(5).replace(/^\/\//, "") };
    } else {
      const target = splitAddress(address)[1];
      const i = target.lastIndexOf(":");
      opts = { host: target.slice(0, i).replace(/^\[|\]$/g, "") || "127.0.0.1", port: Number(target.slice(i + 1)) };
    }
    const sock = connect(opts);
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

/**
 * An address with a daemon answering there; starts one on the default socket when none does.
 *
 * @throws DaemonUnavailableError an explicit address does not answer, or no daemon could be
 *   started within ``timeoutMs``.
 */
export async function findOrStartDaemon(timeoutMs: number, env: Env = process.env): Promise<string> {
  const { address, explicit } = chooseAddress(env);
  if (await reachable(address)) return address;
  if (explicit && address !== defaultAddress(env)) {
    throw new DaemonUnavailableError(`no trackd daemon answers at ${address} (from TRACKD_ADDRESS, ` +
      "TRACKD_BASE_URL or trackd login)");
  }
  await startDaemon(timeoutMs, env);
  return defaultAddress(env);
}

/** Start a detached daemon with `trackd daemon start` and wait until it serves. */
export async function startDaemon(timeoutMs: number, env: Env = process.env): Promise<void> {
  const command = env.TRACKD_COMMAND || "trackd";
  const args = ["daemon", "start", "--idle-timeout", String(AUTO_IDLE_TIMEOUT),
    "--timeout", String(Math.max(1, timeoutMs / 1000))];
  const output: Buffer[] = [];
  const code = await new Promise<number | string>((resolve) => {
    const child = spawn(command, args, { env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (b: Buffer) => output.push(b));
    child.stderr.on("data", (b: Buffer) => output.push(b));
    child.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    child.once("exit", (c, sig) => resolve(c ?? `signal ${sig}`));
  });
  if (code === "ENOENT") {
    throw new DaemonUnavailableError(`no trackd daemon is running at ${defaultAddress(env)} and the ` +
      `\`${command}\` command to start one is not on the PATH: install trackd (pip install ` +
      "'trackd[daemon]'), or set TRACKD_ADDRESS to a running daemon");
  }
  if (code !== 0) {
    throw new DaemonUnavailableError(`\`${command} daemon start\` failed (${code}): ` +
      Buffer.concat(output).toString().trim().slice(-2000));
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await reachable(defaultAddress(env))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new DaemonUnavailableError(`the trackd daemon did not start within ${Math.round(timeoutMs / 1000)}s`);
}
