// Merges the proxyMetadata egress-guard wants into a proxy.istio.io/config annotation, string in, string out:
// no pod, no I/O, so callers can memoise by annotation text (every replica of a Deployment carries the same).
import type { OpenResult } from './config-document.js';
import { inputLimitProblem } from './input-limits.js';
import { clip } from './json-shape.js';
import { mergeCheck } from './merge-check.js';
import { jsonSyntaxProblem, openJsonConfig } from './proxy-config-json.js';
import { openYamlConfig } from './proxy-config-yaml.js';
import { unicodeLineBreakProblem } from './yaml-1-1.js';
import { yamlErrorProblem } from './yaml-problems.js';

/** A proxyMetadata key the owner already set to something other than what egress-guard would add. */
export interface KeptKey {
  key: string;
  value: string;
}

export type MergeResult =
  /** `added`: the keys this merge wrote into proxyMetadata, in `wanted` order. */
  | { kind: 'changed'; text: string; kept: KeptKey[]; added: string[] }
  /** Every wanted key is already there, with our value or the owner's own (`kept`). */
  | { kind: 'unchanged'; kept: KeptKey[] }
  /** The annotation cannot be edited safely; `problem` reads after the annotation's name. */
  | { kind: 'invalid'; problem: string };

/**
 * Adds each `wanted` key missing from proxyMetadata, with its value as a quoted string. Keys already set stay
 * as the owner wrote them. JSON stays JSON; anything else is YAML, edited in place. `existing` undefined,
 * empty or blank means no ProxyConfig yet.
 */
export function mergeProxyMetadata(
  existing: string | undefined,
  wanted: Readonly<Record<string, string>>,
): MergeResult {
  const text = existing === undefined || existing.trim() === '' ? '' : existing;
  const tooBig = inputLimitProblem(text) ?? unicodeLineBreakProblem(text);
  if (tooBig !== undefined) return { kind: 'invalid', problem: tooBig };
  let opened: OpenResult;
  let json: boolean;
  try {
    const asJson = openJsonConfig(text);
    json = asJson !== undefined;
    opened = asJson ?? openYamlConfig(text);
  } catch (error) {
    // Defensive: no known input gets here (input-limits keeps the yaml package within what it handles), but
    // a throw would fail the pod's admission, and the annotation is the owner's input, not our invariant.
    return {
      kind: 'invalid',
      problem: `could not be read (${clip(error instanceof Error ? error.message : String(error), 40)})`,
    };
  }
  if (!opened.ok) {
    // Text that starts like JSON and parses as neither is most likely broken JSON: quote the JSON parser.
    const problem = opened.syntax ? (jsonSyntaxProblem(text) ?? opened.problem) : opened.problem;
    return { kind: 'invalid', problem };
  }

  const { proxyMetadata } = opened.config;
  const kept: KeptKey[] = [];
  const additions: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(wanted)) {
    const current = proxyMetadata.get(key);
    if (current === undefined) additions.push([key, value]);
    else if (current !== value) kept.push({ key, value: current });
  }
  if (additions.length === 0) return { kind: 'unchanged', kept };

  // Whatever the editors write is read back: it must hold what the annotation held, plus our keys, and nothing else.
  const { config } = opened;
  // Before any edit: the expectation is taken from the Document the YAML editor goes on to change.
  const check = mergeCheck(config.document, text, additions);
  if (!check.ok) return { kind: 'invalid', problem: yamlErrorProblem(check.error, config.document, text) };
  function* edits(): Iterable<string> {
    yield* config.edits(additions);
    // JSON the JSON editor cannot print back as it was (1e400, 20-digit integers, `"1"` keys after others, which
    // JSON.parse moves first): JSON is YAML, and the YAML editor inserts our entries into the text as it is.
    if (json) {
      const asYaml = openYamlConfig(text);
      if (asYaml.ok) yield* asYaml.config.edits(additions);
    }
  }
  let edited: string | undefined;
  try {
    for (const candidate of edits()) {
      if (!check.accepts(candidate)) continue;
      edited = candidate;
      break;
    }
  } catch (error) {
    // Defensive, as above: the yaml package's printer throwing must not fail the pod's admission.
    return {
      kind: 'invalid',
      problem: `could not be edited (${clip(error instanceof Error ? error.message : String(error), 40)})`,
    };
  }
  // No known input gets here: the splice keeps every byte, and the last re-print has no block scalars to shift.
  if (edited === undefined)
    return { kind: 'invalid', problem: 'could not be edited without changing what it already sets' };
  return { kind: 'changed', text: edited, kept, added: additions.map(([key]) => key) };
}
