// proxy.istio.io/config written as JSON stays JSON: parse, add keys, print with the indentation found.
// (JSON.parse normalises what JSON allows it to: 1.0 prints as 1. Where the print would change what the text holds,
// such as integer-like keys moved first, 1e400 printed as null or digits past 2^53 lost, merge-check turns it down and
// mergeProxyMetadata has the YAML editor insert our entries into the text as it is, which keeps it JSON.)
import {
  position,
  problem,
  proxyMetadataNotMapping,
  proxyMetadataValueNotString,
  unquoted,
  type OpenResult,
} from './config-document.js';
import { describeJsonType, field, isJsonObject, type JsonObject } from '../json.js';
import { clip } from './json-shape.js';
import { readAnnotation } from './merge-check.js';
import { duplicateKeyProblem } from './yaml-problems.js';

/** The annotation opened as JSON, or undefined when it is not a JSON object (then it is YAML, e.g. `{a: b}`). */
export function openJsonConfig(text: string): OpenResult | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  let config: unknown;
  try {
    config = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!isJsonObject(config)) return undefined;

  // JSON.parse keeps the last of duplicate keys without a word; Istio's go-yaml rejects the annotation.
  // The yaml parser reads JSON too, and says where the duplicate is.
  const document = readAnnotation(text);
  const duplicate = duplicateKeyProblem(document, text);
  if (duplicate !== undefined) return problem(duplicate);

  const current = field(config, 'proxyMetadata');
  let metadata: JsonObject = {};
  if (isJsonObject(current)) metadata = current;
  // `"proxyMetadata": null` is how templates say "none"; Istio treats it as unset, so do we.
  else if (current !== undefined && current !== null) return proxyMetadataNotMapping(describeJsonType(current));
  const proxyMetadata = new Map<string, string>();
  for (const [key, value] of Object.entries(metadata)) {
    // Istio reads a null value as "".
    if (value === null) {
      proxyMetadata.set(key, '');
      continue;
    }
    if (typeof value !== 'string') {
      const description =
        typeof value === 'boolean' || typeof value === 'number'
          ? unquoted(JSON.stringify(value))
          : describeJsonType(value);
      return proxyMetadataValueNotString(key, description);
    }
    proxyMetadata.set(key, value);
  }

  const root = config;
  return {
    ok: true,
    config: {
      document,
      proxyMetadata,
      *edits(additions) {
        // Object.fromEntries defines own properties, so a `__proto__` key stays data and never a prototype.
        const nextMetadata = Object.fromEntries([...Object.entries(metadata), ...additions]);
        const entries = Object.entries(root).map(
          ([key, value]) => [key, key === 'proxyMetadata' ? nextMetadata : value] as const,
        );
        if (!Object.hasOwn(root, 'proxyMetadata')) entries.push(['proxyMetadata', nextMetadata]);
        const json = JSON.stringify(Object.fromEntries(entries), null, jsonIndent(trimmed));
        const leading = text.slice(0, text.length - text.trimStart().length);
        const trailing = text.slice(text.trimEnd().length);
        yield `${leading}${json}${trailing}`;
      },
    },
  };
}

/** Compact JSON stays on one line; indented JSON keeps the indentation of its first indented line. */
function jsonIndent(json: string): string | undefined {
  if (!json.includes('\n')) return undefined;
  return /\n([ \t]+)\S/.exec(json)?.[1] ?? '  ';
}

const JSON_MESSAGE_MAX = 36;

/**
 * For text that starts like JSON (`{"`) but is neither JSON nor YAML: the JSON parser's complaint, which is
 * the one the author needs. Undefined when the engine's message carries no position to point at.
 */
export function jsonSyntaxProblem(text: string): string | undefined {
  const trimmed = text.trimStart();
  if (!/^\{\s*"/.test(trimmed)) return undefined;
  try {
    JSON.parse(trimmed);
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    const at = / in JSON at position (\d+)/.exec(message);
    if (at?.[1] === undefined) return undefined;
    const offset = text.length - trimmed.length + Number(at[1]);
    return `is not valid JSON (${position(text, offset)}: ${clip(message.slice(0, at.index), JSON_MESSAGE_MAX)})`;
  }
}
