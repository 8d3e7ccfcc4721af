// Reading untyped admission input (`unknown`) without trusting its shape or its prototype chain.
import { field, text, type JsonObject } from '../json.js';

/** An own string value, or undefined for anything else. */
export function ownString(record: JsonObject | undefined, key: string): string | undefined {
  return text(field(record, key));
}

export { clipText as clip } from '../admission/warning-text.js';
