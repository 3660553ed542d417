// run.config and run.summary: the Run's dict-like parts.
import { ConfigError } from "./errors.js";
import type { Item } from "./sender.js";
import { normalize, type Plain, type PlainMap } from "./values.js";

/** What config and summary need of their run (the Run class is one; kept structural so that
 * this module does not import run.ts, which imports this one). */
export interface RunParts {
  checkOpen(what: string): void;
  send(item: Item): Promise<void> | undefined;
  readSummary(): Promise<PlainMap>;
}

/** run.config: a local copy of the run's config; every change is sent as a config record. */
export class Config {
  private items: PlainMap;

  /** @internal */
  constructor(items: PlainMap, private readonly run: RunParts) {
    this.items = { ...items };
  }

  /** The value of ``key`` (undefined when unset). */
  get(key: string): Plain | undefined {
    return this.items[key];
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.items, key);
  }

  keys(): string[] {
    return Object.keys(this.items).filter((k) => !k.startsWith("_"));
  }

  /** A copy of the config as a plain object. */
  toJSON(): PlainMap {
    return structuredClone(this.items);
  }

  /** Set one key (see update()). */
  set(key: string, value: unknown, opts: { allowValChange?: boolean } = {}): void {
    this.update({ [key]: value }, opts);
  }

  /**
   * Set several keys. Changing a key's value needs ``allowValChange`` (as in W&B); setting the
   * same value again is fine and sends nothing.
   *
   * @throws ConfigError a key would change without allowValChange (nothing is changed).
   */
  update(data: Record<string, unknown>, opts: { allowValChange?: boolean } = {}): void {
    this.run.checkOpen("config.update");
    const changes: PlainMap = {};
    for (const [k, v] of Object.entries(data)) {
      if (v === undefined) continue;
      const value = normalize(v, `config.${k}`);
      if (this.has(k) && !opts.allowValChange && !valuesEqual(this.items[k], value)) {
        throw new ConfigError(`Attempted to change value of key "${k}" from ${show(this.items[k])} to ` +
          `${show(value)}; if you really want to do this, pass { allowValChange: true }`);
      }
      if (!this.has(k) || !valuesEqual(this.items[k], value)) changes[k] = value;
    }
    if (Object.keys(changes).length === 0) return;
    Object.assign(this.items, changes);
    this.run.send({ k: "c", update: changes, remove: [] });
  }

  /** Remove a key. */
  delete(key: string): void {
    this.run.checkOpen("config.delete");
    if (!this.has(key)) return;
    delete this.items[key];
    this.run.send({ k: "c", update: {}, remove: [key] });
  }
}

/**
 * run.summary: one value per key for the run as a whole. By default a key's summary is the
 * last value logged; defineMetric() can make it an aggregate. Writes are sent as summary
 * records (they end any aggregation of that key); reads ask the daemon once everything
 * logged before them is stored, so they see its aggregations.
 */
export class Summary {
  /** @internal */
  constructor(private readonly run: RunParts) {}

  /** Set one key; ``key`` may be a path (["a", "b"]) into a nested value. */
  set(key: string | string[], value: unknown): void {
    this.run.checkOpen("summary.set");
    const path = typeof key === "string" ? [key] : [...key];
    if (path.length === 0 || path.some((p) => typeof p !== "string" || p === "")) {
      throw new TypeError("a summary key is a non-empty string or a path of them");
    }
    this.run.send({ k: "s", update: [[path, normalize(value, path.join("."))]], remove: [] });
  }

  /** Set several top-level keys. */
  update(data: Record<string, unknown>): void {
    this.run.checkOpen("summary.update");
    const update: [string[], Plain][] = [];
    for (const [k, v] of Object.entries(data)) {
      if (v !== undefined) update.push([[k], normalize(v, k)]);
    }
    if (update.length) this.run.send({ k: "s", update, remove: [] });
  }

  /** Remove a key (or a path into a nested value). */
  delete(key: string | string[]): void {
    this.run.checkOpen("summary.delete");
    this.run.send({ k: "s", update: [], remove: [typeof key === "string" ? [key] : [...key]] });
  }

  /** The whole summary, as the daemon holds it after every record sent so far. */
  async all(): Promise<PlainMap> {
    return this.run.readSummary();
  }

  /** One key of the summary (undefined when unset). */
  async get(key: string): Promise<Plain | undefined> {
    return (await this.run.readSummary())[key];
  }
}

function valuesEqual(a: Plain | undefined, b: Plain | undefined): boolean {
  if (typeof a === "number" && typeof b === "number") return a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (typeof a !== typeof b) return false;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as Plain[];
    return a.length === bb.length && a.every((x, i) => valuesEqual(x, bb[i]));
  }
  const ak = Object.keys(a);
  const bo = b as PlainMap;
  return ak.length === Object.keys(bo).length && ak.every((k) => k in bo && valuesEqual((a as PlainMap)[k], bo[k]));
}

function show(v: Plain | undefined): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));
}

/** Apply summary changes to a local summary (a disabled run's). */
export function applySummary(summary: PlainMap, update: [string[], Plain][], remove: string[][]): void {
  for (const [path, value] of update) {
    let node = summary;
    for (const p of path.slice(0, -1)) {
      const next = node[p];
      if (next === null || typeof next !== "object" || Array.isArray(next)) node[p] = {};
      node = node[p] as PlainMap;
    }
    node[path[path.length - 1]] = value;
  }
  for (const path of remove) {
    let node: Plain = summary;
    for (const p of path.slice(0, -1)) {
      node = node !== null && typeof node === "object" && !Array.isArray(node) ? node[p] : null;
    }
    if (node !== null && typeof node === "object" && !Array.isArray(node)) delete node[path[path.length - 1]];
  }
}

