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

/**
 * User-supplied text as shown in a warning: control characters escaped (a warning travels in an HTTP
 * header and prints as one line) and shortened to `max`, with an ellipsis showing the cut.
 */
export function clip(text: string, max: number): string {
  const printable = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => JSON.stringify(char).slice(1, -1));
  return printable.length <= max ? printable : `${printable.slice(0, Math.max(0, max - 1)).trimEnd()}…`;
}
