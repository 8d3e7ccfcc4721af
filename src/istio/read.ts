// Tolerant readers for Kubernetes objects that arrive as `unknown`: odd shapes yield "absent", never a throw.
// Shared by the ServiceEntry and DestinationRule views.
import { isJsonObject, type JsonObject } from '../json.js';

/**
 * An object's own fields, to read by name, or an object with none when `value` is not an object. For the fixed field
 * names of a Kubernetes schema (metadata, spec, hosts...): a named read is fast at each read site, where field()
 * is one generic read for every caller and object shape. Keys that come from the data (label names) go
 * through field() or own-key iteration instead.
 */
export function fieldsOf(value: unknown): Readonly<JsonObject> {
  if (!isJsonObject(value)) return NO_FIELDS;
  // What JSON and YAML parsers make inherits only Object.prototype's methods, none of them a schema field name.
  // Anything else is read from a copy of its own properties, so nothing inherited is mistaken for a field.
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null ? value : ownFields(value);
}

const NO_FIELDS: Readonly<JsonObject> = Object.freeze(Object.create(null) as JsonObject);

function ownFields(value: JsonObject): JsonObject {
  const own: JsonObject = Object.create(null);
  for (const key of Object.getOwnPropertyNames(value)) own[key] = value[key];
  return own;
}

/** value.trim(), without the call when both ends are printable ASCII (names and hosts almost always are). */
export function trimmed(value: string): string {
  const last = value.length - 1;
  if (last < 0) return value;
  const first = value.charCodeAt(0);
  const end = value.charCodeAt(last);
  return first > 0x20 && first < 0x7f && end > 0x20 && end < 0x7f ? value : value.trim();
}

/**
 * value.trim().toUpperCase() for enum-like fields (protocol, resolution), which arrive upper-cased already:
 * toUpperCase is skipped when it would change nothing.
 */
export function upperCased(value: string): string {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    const plain = (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x5f;
    if (!plain) return value.trim().toUpperCase();
  }
  return value;
}

/** Ports arrive as numbers, or as strings from hand-written YAML; only 1-65535 is usable. */
export function portNumber(value: unknown): number | undefined {
  const port =
    typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : undefined;
}
