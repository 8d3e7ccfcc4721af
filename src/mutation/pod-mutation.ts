// Decides how the mutating webhook changes a Pod on CREATE: which proxyMetadata to add to its
// proxy.istio.io/config annotation, as a JSON patch, or why to leave it alone. Pure: the caller does I/O.
import type { Operation } from 'fast-json-patch';
import type { AutoAllocateMode } from '../config.js';
import { describeJsonType, field, isJsonObject } from '../json.js';
import { mergeProxyMetadata } from './proxy-config.js';
import { OPT_OUT_LABEL, skipReason, type SkipReason } from './skip-reasons.js';
import { keptKeyWarning, leftUnchangedWarning, optOutValueWarning } from './warnings.js';

export type { AutoAllocateMode } from '../config.js';
export { OPT_OUT_LABEL, type SkipReason } from './skip-reasons.js';

export const PROXY_CONFIG_ANNOTATION = 'proxy.istio.io/config';
export const DNS_CAPTURE = 'ISTIO_META_DNS_CAPTURE';
export const DNS_AUTO_ALLOCATE = 'ISTIO_META_DNS_AUTO_ALLOCATE';

// Values are strings: proxyMetadata is map<string,string>, and Istio rejects an unquoted true.
const AGENT_METADATA: Readonly<Record<string, string>> = Object.freeze({
  [DNS_CAPTURE]: 'true',
  [DNS_AUTO_ALLOCATE]: 'true',
});
// AUTO_ALLOCATE_MODE=controller: Istio 1.25+ allocates addresses in istiod and deprecates the agent flag.
const CONTROLLER_METADATA: Readonly<Record<string, string>> = Object.freeze({ [DNS_CAPTURE]: 'true' });

/**
 * Where the annotation goes in a pod that has annotations, escaped once rather than for every patched pod.
 */
const PROXY_CONFIG_POINTER = `/metadata/annotations/${jsonPointerSegment(PROXY_CONFIG_ANNOTATION)}`;

export function wantedProxyMetadata(mode: AutoAllocateMode): Readonly<Record<string, string>> {
  return mode === 'controller' ? CONTROLLER_METADATA : AGENT_METADATA;
}

export type PodMutationPlan =
  /**
   * `added`: the proxyMetadata keys the patch adds. `annotation`: the new proxy.istio.io/config text; with the
   * patch's path it determines the patch.
   */
  | { outcome: 'patched'; patch: Operation[]; annotation: string; warnings: string[]; added: string[] }
  /** The pod already carries what we add, or its owner set those keys differently (see warnings). */
  | { outcome: 'unchanged'; warnings: string[] }
  | { outcome: 'skipped'; reason: SkipReason; warnings: string[] }
  /** The annotation (or the metadata holding it) cannot be edited safely; warnings say why. */
  | { outcome: 'invalid-annotation'; warnings: string[] };

/** `merge` lets the caller pass a memoised mergeProxyMetadata. Never throws, whatever `pod` is. */
export function planPodMutation(
  pod: unknown,
  mode: AutoAllocateMode,
  merge: typeof mergeProxyMetadata = mergeProxyMetadata,
): PodMutationPlan {
  // The API server only sends objects; anything else is not ours to change.
  if (!isJsonObject(pod))
    return {
      outcome: 'unchanged',
      warnings: [`egress-guard expected a Pod object, got ${describeJsonType(pod)}; left it unchanged`],
    };
  const reason = skipReason(pod);
  if (reason !== undefined) return { outcome: 'skipped', reason, warnings: [] };

  const metadata = field(pod, 'metadata');
  if (metadata !== undefined && metadata !== null && !isJsonObject(metadata)) {
    return invalid(leftUnchangedWarning('pod metadata', `is ${describeJsonType(metadata)}, not an object`));
  }
  const annotations = isJsonObject(metadata) ? field(metadata, 'annotations') : undefined;
  if (annotations !== undefined && annotations !== null && !isJsonObject(annotations)) {
    return invalid(leftUnchangedWarning('pod metadata.annotations', `is ${describeJsonType(annotations)}, not a map`));
  }
  const existing = isJsonObject(annotations) ? field(annotations, PROXY_CONFIG_ANNOTATION) : undefined;
  if (existing !== undefined && typeof existing !== 'string') {
    return invalid(leftUnchangedWarning(PROXY_CONFIG_ANNOTATION, `is ${describeJsonType(existing)}, not a string`));
  }

  const warnings = labelWarnings(metadata);
  const merged = merge(existing, wantedProxyMetadata(mode));
  if (merged.kind === 'invalid')
    return invalid(leftUnchangedWarning(PROXY_CONFIG_ANNOTATION, merged.problem), warnings);
  warnings.push(...merged.kept.map(keptKeyWarning));
  if (merged.kind === 'unchanged') return { outcome: 'unchanged', warnings };

  const patch: Operation[] = !isJsonObject(metadata)
    ? [{ op: 'add', path: '/metadata', value: { annotations: { [PROXY_CONFIG_ANNOTATION]: merged.text } } }]
    : !isJsonObject(annotations)
      ? [{ op: 'add', path: '/metadata/annotations', value: { [PROXY_CONFIG_ANNOTATION]: merged.text } }]
      : [{ op: 'add', path: PROXY_CONFIG_POINTER, value: merged.text }];
  return { outcome: 'patched', patch, annotation: merged.text, warnings, added: merged.added };
}

/** RFC 6901: `~` becomes `~0` and `/` becomes `~1`, in that order. */
export function jsonPointerSegment(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function invalid(warning: string, earlier: string[] = []): PodMutationPlan {
  return { outcome: 'invalid-annotation', warnings: [...earlier, warning] };
}

function labelWarnings(metadata: unknown): string[] {
  const labels = isJsonObject(metadata) ? field(metadata, 'labels') : undefined;
  const optOut = isJsonObject(labels) ? field(labels, OPT_OUT_LABEL) : undefined;
  return typeof optOut === 'string' ? [optOutValueWarning(optOut)] : [];
}
