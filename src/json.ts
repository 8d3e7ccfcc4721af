// Reading JSON and YAML values that arrive as `unknown` (admission input, manifests, API responses) without
// trusting their shape or their prototype chain. The one place these checks live.

export type JsonObject = Record<string, unknown>;

/** A mapping: an object that is neither null nor an array. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value[key]` when `value` is a mapping with that own property: `constructor` or `__proto__` never reach a prototype. */
export function field(value: unknown, key: string): unknown {
  return isJsonObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

/** A string, or undefined for anything else. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `a list`, `a number`, `null`, `missing`, ... for messages about values of the wrong type. */
export function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'undefined') return 'missing';
  return `${/^[aeiou]/.test(typeof value) ? 'an' : 'a'} ${typeof value}`;
}
