// JavaScript values <-> trackd.v1.Value trees (see proto/trackd/v1/value.proto and the "Values"
// section of docs/protocol.md).
//
// normalize*() runs in log() itself: it validates and copies what the caller logged, so that type
// errors reach the caller and later mutation of the caller's objects cannot change what was
// logged. write*() runs in the background sender and writes wire bytes directly (the hot path of
// log(): no intermediate message objects). toJs() decodes what the daemon returns.
//
// The mapping follows value.proto literally: a JavaScript number *is* an IEEE-754 binary64, so
// it travels as double_value; integers travel as int_value only as bigint. So every value the
// Python SDK can log has one Node spelling (Python 3 is Node 3n, Python 3.0 is Node 3), a
// series never changes kind because a float happened to be integral, and reading back gives
// the same kinds (int_value is returned as bigint, double_value as number):
//   number (NaN, ±Infinity and -0 included)  -> double_value
//   bigint within int64                      -> int_value (both int64 extremes exact)
//   boolean, string, null                    -> bool_value, string_value, null_value
//   Array, typed array, Set                  -> list_value (a BigInt64Array's items are ints)
//   plain object, Map with string keys       -> map_value
//   Date                                     -> its ISO 8601 string
//   an object with toJSON()                  -> what toJSON() returns
// An object key whose value is undefined is left out (as JSON.stringify does); undefined in a
// list is null.
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { MapValue, Value } from "./gen/trackd/v1/value_pb.js";

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
/** Keys at the top level of one logged row (as the Python SDK and the daemon check). */
export const MAX_KEYS = 10_000;
/** Characters in one key, nested keys included. */
export const MAX_KEY_LENGTH = 256;
/** About the encoded size of one row. */
export const MAX_ROW_BYTES = 16 * 1024 * 1024;

/** A normalised value: what the sender encodes. */
export type Plain =
  | null
  | boolean
  | number
  | bigint
  | string
  | Plain[]
  | { [key: string]: Plain };

export type PlainMap = { [key: string]: Plain };

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A validated copy of one log() payload.
 *
 * @throws TypeError a value cannot be logged (a function, a symbol, a class instance...).
 * @throws RangeError a bigint outside int64, or the row breaks a limit (MAX_KEYS,
 *   MAX_KEY_LENGTH, empty keys, MAX_ROW_BYTES).
 */
export function normalizeRow(data: Record<string, unknown>): PlainMap {
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new TypeError(`log() takes an object of values, got ${describe(data)}`);
  }
  const out: PlainMap = {};
  let n = 0;
  let size = 0;
  for (const key in data) {
    if (!Object.prototype.hasOwnProperty.call(data, key)) continue;
    const value = data[key];
    if (value === undefined) continue;
    n++;
    checkKey(key, "logged data");
    const t = typeof value;
    if (t === "number" || t === "boolean") {
      out[key] = value as number | boolean;
      size += 9;
    } else if (t === "string") {
      if (!(value as string).isWellFormed()) {
        throw new RangeError(`${key}: text is not valid Unicode (a lone surrogate)`);
      }
      out[key] = value as string;
      size += (value as string).length;
    } else {
      const v = normalize(value, key);
      out[key] = v;
      size += approxSize(v);
    }
  }
  if (n > MAX_KEYS) {
    throw new RangeError(`a logged row may have at most ${MAX_KEYS} keys, this one has ${n}`);
  }
  if (size > MAX_ROW_BYTES) {
    throw new RangeError(`a logged row may be at most ${MAX_ROW_BYTES >> 20} MiB; this one is about ` +
      `${(size / (1 << 20)).toFixed(1)} MiB (log large data as files or artifacts)`);
  }
  return out;
}

function checkKey(key: string, where: string): void {
  if (key === "") throw new RangeError(`${where}: keys may not be empty`);
  if (key.length > MAX_KEY_LENGTH) {
    throw new RangeError(`${where}: key ${JSON.stringify(key.slice(0, 40))}... is ${key.length} ` +
      `characters long; the limit is ${MAX_KEY_LENGTH}`);
  }
  if (!key.isWellFormed()) {
    throw new RangeError(`${where}: key ${JSON.stringify(key)} is not valid Unicode (a lone surrogate)`);
  }
}

/** Convert one value to a Plain tree; see the module comment for the mapping. */
export function normalize(value: unknown, where = "value", seen: Set<object> = new Set()): Plain {
  switch (typeof value) {
    case "number":
    case "boolean":
      return value;
    case "string":
      if (!value.isWellFormed()) {
        throw new RangeError(`${where}: text is not valid Unicode (a lone surrogate)`);
      }
      return value;
    case "bigint":
      if (value < INT64_MIN || value > INT64_MAX) {
        throw new RangeError(`${where}: integer ${value} does not fit in 64 bits`);
      }
      return value;
    case "undefined":
      return null;
    case "object":
      break;
    default:
      throw new TypeError(`${where}: values of type ${typeof value} cannot be logged`);
  }
  if (value === null) return null;
  if (seen.has(value)) throw new TypeError(`${where}: the value contains itself (a cycle)`);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new RangeError(`${where}: an invalid Date`);
    return value.toISOString();
  }
  if (value instanceof Number || value instanceof String || value instanceof Boolean) {
    return normalize(value.valueOf(), where, seen);
  }
  seen.add(value);
  try {
    if (Array.isArray(value) || value instanceof Set) {
      const out: Plain[] = [];
      let i = 0;
      for (const v of value) out.push(normalize(v, `${where}[${i++}]`, seen));
      return out;
    }
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      if (value instanceof BigInt64Array || value instanceof BigUint64Array) {
        return Array.from(value as BigInt64Array, (v, i) => normalize(v, `${where}[${i}]`));
      }
      return Array.from(value as unknown as ArrayLike<number>);
    }
    if (value instanceof Map) {
      const out: PlainMap = {};
      for (const [k, v] of value) {
        if (typeof k !== "string") {
          throw new TypeError(`${where}: nested key ${String(k)} is not a string (got ${typeof k})`);
        }
        if (v === undefined) continue;
        checkKey(k, where);
        out[k] = normalize(v, `${where}.${k}`, seen);
      }
      return out;
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      return normalize(toJSON.call(value), where, seen);
    }
    if (!isPlainObject(value)) {
      const name = (value as object).constructor?.name ?? "object";
      throw new TypeError(`${where}: values of type ${name} cannot be logged (give it a toJSON() ` +
        "method, or log a plain object)");
    }
    const out: PlainMap = {};
    for (const k in value) {
      if (!Object.prototype.hasOwnProperty.call(value, k)) continue;
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined) continue;
      checkKey(k, where);
      out[k] = normalize(v, `${where}.${k}`, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function approxSize(v: Plain): number {
  if (typeof v === "string") return v.length;
  if (Array.isArray(v)) {
    let s = 0;
    for (const x of v) s += approxSize(x);
    return s;
  }
  if (v !== null && typeof v === "object") {
    let s = 0;
    for (const k in v) s += k.length + approxSize(v[k]);
    return s;
  }
  return 9;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v;
}

// -- encoding (Plain -> wire bytes) ------------------------------------------------------------

/** Write the fields of a MapValue for ``data`` (floats packed in `doubles`, keys first). */
export function writeMap(w: BinaryWriter, data: PlainMap): void {
  const keys = Object.keys(data);
  const rest: string[] = [];
  const dbl: number[] = [];
  for (const k of keys) {
    const v = data[k];
    if (typeof v === "number") {
      w.tag(1, WireType.LengthDelimited).string(k);
      dbl.push(v);
    } else {
      rest.push(k);
    }
  }
  for (const k of rest) w.tag(1, WireType.LengthDelimited).string(k);
  for (const k of rest) {
    w.tag(2, WireType.LengthDelimited).fork();
    writeValue(w, data[k]);
    w.join();
  }
  if (dbl.length) {
    w.tag(3, WireType.LengthDelimited).fork();
    for (const d of dbl) w.double(d);
    w.join();
  }
}

/** Write the fields of a Value for ``v``. */
export function writeValue(w: BinaryWriter, v: Plain): void {
  switch (typeof v) {
    case "number":
      w.tag(4, WireType.Bit64).double(v);
      return;
    case "bigint":
      w.tag(3, WireType.Varint).sint64(v);
      return;
    case "boolean":
      w.tag(2, WireType.Varint).bool(v);
      return;
    case "string":
      w.tag(5, WireType.LengthDelimited).string(v);
      return;
  }
  if (v === null) {
    w.tag(1, WireType.Varint).int32(0);
  } else if (Array.isArray(v)) {
    w.tag(6, WireType.LengthDelimited).fork();
    for (const x of v) {
      w.tag(1, WireType.LengthDelimited).fork();
      writeValue(w, x);
      w.join();
    }
    w.join();
  } else {
    w.tag(7, WireType.LengthDelimited).fork();
    writeMap(w, v);
    w.join();
  }
}

/** A MapValue's bytes. */
export function encodeMap(data: PlainMap): Uint8Array {
  const w = new BinaryWriter();
  writeMap(w, data);
  return w.finish();
}

// -- decoding (messages -> JavaScript) ---------------------------------------------------------

/** Decode a Value: int_value as bigint, double_value as number, the rest as JSON-like JS. */
export function toJs(v: Value): Plain {
  const k = v.kind;
  switch (k.case) {
    case "nullValue":
      return null;
    case "boolValue":
    case "doubleValue":
    case "stringValue":
    case "intValue":
      return k.value;
    case "listValue":
      return k.value.values.map(toJs);
    case "mapValue":
      return mapToJs(k.value);
    default:
      throw new TypeError("a Value has no kind set");
  }
}

/** Decode a MapValue into a plain object. */
export function mapToJs(m: MapValue | undefined): PlainMap {
  const out: PlainMap = {};
  if (m === undefined) return out;
  const d = m.doubles.length;
  if (m.keys.length !== d + m.values.length) {
    throw new TypeError(`map has ${m.keys.length} keys but ${d} packed doubles and ${m.values.length} values`);
  }
  for (let i = 0; i < d; i++) out[m.keys[i]] = m.doubles[i];
  for (let i = 0; i < m.values.length; i++) out[m.keys[d + i]] = toJs(m.values[i]);
  return out;
}
