// trackd.Table: rows and columns logged as a table file, as the Python SDK's trackd.Table (W&B's
// wandb.Table) stores them.
//
// run.log({ samples: table }) writes media/table/<key>_<step>_<sha256[:20]>.table.json into the
// run's files (W&B's {"_type": "table", "columns", "data", "ncols", "nrows", "column_types"},
// serialised byte for byte as the Python SDK's json.dumps does, so the same table gives the same
// file and digest from both SDKs), puts W&B's "table-file" dict in the row, and logs the same
// file as the run's "run_table" artifact run-<run id>-<key>.
//
// Log modes: "IMMUTABLE" (the default: logged once; logging it again under the same key repeats
// the first file) and "MUTABLE" (a new file each time it changed since it was last logged).
import { createHash, randomUUID } from "node:crypto";
import { normalize, type Plain, type PlainMap } from "./values.js";

/** Rows of one table logged to a run (W&B's limit); more are cut off with a warning. */
export const TABLE_MAX_ROWS = 10_000;
const DEFAULT_COLUMNS = ["Input", "Output", "Expected"];
const ANY = "any";
const NONE = "none";

export type TableLogMode = "IMMUTABLE" | "MUTABLE";

export interface TableOptions {
  /** Column names (default ["Input", "Output", "Expected"]). */
  columns?: string[];
  /** Rows: one value per column each. */
  data?: unknown[][];
  /** Whether columns may hold null: one boolean, or one per column (default true). */
  optional?: boolean | boolean[];
  /** Columns accept values of any kind (default false: a column keeps the kind of its first
   * non-null value). */
  allowMixedTypes?: boolean;
  logMode?: TableLogMode;
}

/** A table of rows: numbers, bigints, text, booleans, null, arrays, objects and Dates. */
export class Table {
  readonly columns: string[];
  readonly logMode: TableLogMode;
  private rows: Plain[][] = [];
  private readonly types = new Map<string, string>();
  private readonly optional = new Map<string, boolean>();
  /** @internal Changes made so far (a MUTABLE table is logged again after one). */
  version = 0;
  /** @internal Per run and key: what was logged last. */
  readonly logState = new Map<string, { version: number; encoded: PlainMap }>();

  /**
   * @throws RangeError columns that are not unique non-empty strings, a row whose length is
   *   not the number of columns, an unknown logMode.
   * @throws TypeError a value whose kind is not its column's, or that cannot be stored.
   */
  constructor(opts: TableOptions = {}) {
    const mode = opts.logMode ?? "IMMUTABLE";
    if (mode !== "IMMUTABLE" && mode !== "MUTABLE") {
      throw new RangeError(`Table: logMode must be "IMMUTABLE" or "MUTABLE", got ${JSON.stringify(opts.logMode)}`);
    }
    this.logMode = mode;
    const columns = opts.columns ?? DEFAULT_COLUMNS;
    if (!Array.isArray(columns) || !columns.every((c) => typeof c === "string" && c !== "")) {
      throw new RangeError(`Table: columns must be an array of non-empty strings, got ${JSON.stringify(columns)}`);
    }
    if (new Set(columns).size !== columns.length) {
      throw new RangeError(`Table: column names must be unique, got ${JSON.stringify(columns)}`);
    }
    this.columns = [...columns];
    const optionals = Array.isArray(opts.optional) ? opts.optional : this.columns.map(() => opts.optional ?? true);
    if (optionals.length !== this.columns.length) {
      throw new RangeError(`Table: give one optional per column (${this.columns.length} columns)`);
    }
    this.columns.forEach((name, i) => {
      this.types.set(name, opts.allowMixedTypes ? ANY : NONE);
      this.optional.set(name, Boolean(optionals[i]));
    });
    for (const row of opts.data ?? []) {
      if (!Array.isArray(row)) throw new TypeError("Table: data must be an array of rows (arrays)");
      this.addData(...row);
    }
  }

  /** Add one row (one value per column). */
  addData(...values: unknown[]): void {
    if (values.length !== this.columns.length) {
      throw new RangeError(`This table expects ${this.columns.length} columns: ${JSON.stringify(this.columns)}, ` +
        `found ${values.length}`);
    }
    const where = `row ${this.rows.length}`;
    const row = values.map((v, i) => cellValue(v, `${where}[${JSON.stringify(this.columns[i])}]`));
    row.forEach((cell, i) => {
      const name = this.columns[i];
      const kind = kindOf(cell);
      const have = this.types.get(name)!;
      const ok = kind === NONE ? this.optional.get(name)! : have === ANY || have === NONE || have === kind;
      if (!ok) {
        throw new TypeError(`Table: ${where}: column ${JSON.stringify(name)} holds ${have === NONE ? "values" : have} ` +
          `values, not ${kind === NONE ? "null" : `a ${kind}`}`);
      }
    });
    row.forEach((cell, i) => {
      const name = this.columns[i];
      if (this.types.get(name) === NONE && cell !== null) this.types.set(name, kindOf(cell));
    });
    this.rows.push(row);
    this.version++;
  }

  /** The values of one column. */
  getColumn(name: string): Plain[] {
    const i = this.columns.indexOf(name);
    if (i < 0) throw new RangeError(`Table: no column ${JSON.stringify(name)} (columns: ${JSON.stringify(this.columns)})`);
    return this.rows.map((r) => structuredClone(r[i]));
  }

  /** A copy of the rows. */
  get data(): Plain[][] {
    return structuredClone(this.rows);
  }

  get ncols(): number {
    return this.columns.length;
  }

  get nrows(): number {
    return this.rows.length;
  }

  /** @internal The table file (W&B's "table" JSON, as the Python SDK writes it) of the first
   * ``limit`` rows. */
  fileBytes(limit = TABLE_MAX_ROWS): Buffer {
    const typeMap: PlainMap = {};
    for (const name of this.columns) {
      const kind = this.types.get(name)!;
      let one: PlainMap = { wb_type: kind };
      if (this.optional.get(name) && kind !== ANY && kind !== NONE) {
        one = { wb_type: "union", params: { allowed_types: [one, { wb_type: NONE }] } };
      }
      typeMap[name] = one;
    }
    const rows = this.rows.slice(0, limit);
    const body: PlainMap = {
      _type: "table", columns: [...this.columns], data: rows,
      ncols: BigInt(this.columns.length), nrows: BigInt(rows.length),
      column_types: { wb_type: "typedDict", params: { type_map: typeMap } },
    };
    return Buffer.from(pythonJson(body), "ascii");
  }
}

/** One cell as the table keeps it: a Date is milliseconds since the epoch (an integer, as W&B
 * stores it); anything else as log() takes it. */
function cellValue(value: unknown, where: string): Plain {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new RangeError(`${where}: an invalid Date`);
    return BigInt(ms);
  }
  return normalize(value, where);
}

/** W&B's wb_type of one cell. */
function kindOf(v: Plain): string {
  if (v === null) return NONE;
  switch (typeof v) {
    case "boolean":
      return "boolean";
    case "number":
    case "bigint":
      return "number";
    case "string":
      return "string";
    default:
      return Array.isArray(v) ? "list" : "dict";
  }
}

/** A table's file, stored in the run's files and logged as its run_table artifact. */
export interface EncodedTable {
  /** The file's name in the run: media/table/<key>_<step>_<sha256[:20]>.table.json. */
  path: string;
  bytes: Buffer;
  /** The row's value (W&B's "table-file" dict). */
  json: PlainMap;
  /** The run_table artifact's name and the file's name in it. */
  artifactName: string;
  artifactEntry: string;
}

/** ``key`` made safe as the start of a media file name (as the Python SDK's file_key). */
export function fileKey(key: string): string {
  return key.replace(/[\\\0:]/g, "_").split("/").map((p) => (p === "" || p === "." || p === ".." ? "_" : p)).join("/");
}

/** W&B's make_artifact_name_safe (as the Python SDK's). */
export function safeArtifactName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_\-.]/g, "_");
  return cleaned.length <= 128 ? cleaned : `${cleaned.slice(0, 63)}..${cleaned.slice(-63)}`;
}

/**
 * What one log() of ``table`` under ``key`` at ``step`` stores, per its log mode: a new file,
 * or null when the row repeats what was logged before (``repeat``: that row value).
 */
export function encodeTable(table: Table, runId: string, key: string, step: number):
    { encoded: EncodedTable | null; value: PlainMap } {
  const stateKey = `${runId}\0${key}`;
  const last = table.logState.get(stateKey);
  if (last && (table.logMode === "IMMUTABLE" || last.version === table.version)) {
    return { encoded: null, value: structuredClone(last.encoded) };
  }
  if (table.nrows > TABLE_MAX_ROWS) process.emitWarning(`Truncating trackd.Table object to ${TABLE_MAX_ROWS} rows.`);
  const bytes = table.fileBytes();
  const sha = createHash("sha256").update(bytes).digest("hex");
  const safeKey = fileKey(key);
  const path = `media/table/${safeKey}_${step}_${sha.slice(0, 20)}.table.json`;
  const entry = `${safeKey}.table.json`;
  const clientId = randomUUID().replaceAll("-", "");
  const json: PlainMap = {
    _type: "table-file", path, sha256: sha, size: BigInt(bytes.length), ncols: BigInt(table.ncols),
    nrows: BigInt(table.nrows), log_mode: table.logMode,
    artifact_path: `wandb-client-artifact://${clientId}/${entry}`,
    _latest_artifact_path: `wandb-client-artifact://${clientId}:latest/${entry}`,
  };
  table.logState.set(stateKey, { version: table.version, encoded: json });
  return {
    encoded: { path, bytes, json, artifactName: safeArtifactName(`run-${runId}-${key}`), artifactEntry: entry },
    value: structuredClone(json),
  };
}

// -- JSON as Python's json.dumps(separators=(",", ":")) writes it -------------------------------

/** ``v`` as Python's json.dumps(v, separators=(",", ":")) writes the same value: floats as
 * Python's repr (1.0, 1e+16, NaN, Infinity), text with every non-ASCII character escaped. */
export function pythonJson(v: Plain): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return v.toString();
    case "number":
      return pythonFloat(v);
    case "string":
      return asciiString(v);
    default:
      if (Array.isArray(v)) return `[${v.map(pythonJson).join(",")}]`;
      return `{${Object.entries(v).map(([k, x]) => `${asciiString(k)}:${pythonJson(x)}`).join(",")}}`;
  }
}

function asciiString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Python's repr of a float: the shortest digits that round-trip (as JavaScript's), written
 * fixed for exponents -4..15 and with an exponent of at least two digits otherwise. */
export function pythonFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, expText] = x.toExponential().split("e");
  const exp = Number(expText);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  let body: string;
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      body = `${digits.slice(0, exp + 1).padEnd(exp + 1, "0")}.${digits.slice(exp + 1) || "0"}`;
    } else {
      body = `0.${"0".repeat(-exp - 1)}${digits}`;
    }
  } else {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    body = `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return sign + body;
}
