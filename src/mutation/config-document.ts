// What the JSON and YAML editors of proxy.istio.io/config share. Problems are phrased to follow the
// annotation's name ("proxy.istio.io/config <problem>") and stay short: kubectl prints each warning on
// its own line, and the pod layer adds what egress-guard did about it.
import type { Document } from 'yaml';
import { clip } from './json-shape.js';

/** A ProxyConfig annotation opened for editing, in whichever format it was written. */
export interface OpenedConfig {
  /** The text as the yaml parser read it (readAnnotation in merge-check), before any edit: what edits are checked against. */
  readonly document: Document;
  /** proxyMetadata as Istio reads it; opening fails before a non-string value gets here. */
  readonly proxyMetadata: ReadonlyMap<string, string>;
  /**
   * Texts of the annotation with `additions` appended to proxyMetadata and everything else kept, best first
   * (closest to what the owner wrote). Lazy: the caller reads them back and stops at the first that holds what it
   * should (merge-check), so an editor may offer a fallback for a text its first way gets wrong. Call once.
   */
  edits(additions: ReadonlyArray<readonly [string, string]>): Iterable<string>;
}

/** `syntax`: the text did not parse at all (as opposed to parsing into something unusable). */
export type OpenResult = { ok: true; config: OpenedConfig } | { ok: false; problem: string; syntax?: true };

const KEY_IN_MESSAGE_MAX = 44;
const VALUE_IN_MESSAGE_MAX = 16;

export function problem(text: string): OpenResult {
  return { ok: false, problem: text };
}

/** proxyMetadata holds something other than a mapping. */
export function proxyMetadataNotMapping(description: string): OpenResult {
  return problem(`has proxyMetadata as ${description}, not a mapping`);
}

/**
 * A proxyMetadata value Istio rejects (map<string,string>). `description` is e.g. `unquoted true`, `null`,
 * `a list`. The fix is to quote the value, so say that rather than how the parser failed.
 */
export function proxyMetadataValueNotString(key: string, description: string): OpenResult {
  return problem(`sets proxyMetadata.${clip(key, KEY_IN_MESSAGE_MAX)} to ${description}; Istio needs a quoted string`);
}

export function unquoted(source: string): string {
  return `unquoted ${clip(source, VALUE_IN_MESSAGE_MAX)}`;
}

/** 1-based `line L, column C` of a character offset, the way editors count. */
export function position(text: string, offset: number): string {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  const column = before.length - (before.lastIndexOf('\n') + 1) + 1;
  return `line ${line}, column ${column}`;
}
