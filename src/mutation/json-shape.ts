// Reading untyped admission input (`unknown`) without trusting its shape or its prototype chain.

export type JsonRecord = Record<string, unknown>;

/** A JSON object (not null, not an array). */
export function isJsonRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `record[key]` only when it is the record's own property: `constructor` or `__proto__` must not reach Object.prototype. */
export function ownValue(record: JsonRecord, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** An own string value, or undefined for anything else. */
export function ownString(record: JsonRecord | undefined, key: string): string | undefined {
  if (record === undefined) return undefined;
  const value = ownValue(record, key);
  return typeof value === 'string' ? value : undefined;
}

/** `a list`, `a number`, `null`, ... for messages about values of the wrong type. */
export function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'undefined') return 'missing';
  return `${/^[aeiou]/.test(typeof value) ? 'an' : 'a'} ${typeof value}`;
}

export { clipText as clip } from '../admission/warning-text.js';
