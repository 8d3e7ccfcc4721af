// Warning texts. kubectl prints each on its own "Warning: " line, so keep them under 120 characters and
// make each say what egress-guard saw and what follows from it.
import { MAX_WARNING_LENGTH } from '../admission/warning-text.js';
import type { KeptKey } from './proxy-config.js';
import { clip } from './json-shape.js';
import { OPT_OUT_LABEL, OPT_OUT_VALUE } from './skip-reasons.js';

export { MAX_WARNING_LENGTH };

// Istio reads these proxyMetadata values with Go's strconv.ParseBool; anything else is false (the default).
const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const EFFECT_WHEN_OFF = new Map([
  ['ISTIO_META_DNS_CAPTURE', 'DNS capture stays off'],
  ['ISTIO_META_DNS_AUTO_ALLOCATE', 'ServiceEntry hosts get no auto-allocated IPs'],
]);

/** The first candidate that fits, or the last one cut short. */
function fit(...candidates: [string, ...string[]]): string {
  return (
    candidates.find((candidate) => candidate.length <= MAX_WARNING_LENGTH) ??
    clip(candidates[candidates.length - 1] ?? '', MAX_WARNING_LENGTH)
  );
}

/** The annotation could not be edited; `problem` comes from mergeProxyMetadata and reads after `subject`. */
export function leftUnchangedWarning(subject: string, problem: string): string {
  const what = `${subject} ${problem}`;
  return fit(`${what}; egress-guard left the pod unchanged`, `${what}; pod left unchanged`, what);
}

export function keptKeyWarning({ key, value }: KeptKey): string {
  const stated = `pod keeps its own proxyMetadata ${key}="${clip(value, 24)}"`;
  if (GO_TRUE.has(value)) return fit(`${stated}, which Istio reads as true`, stated);
  const effect = EFFECT_WHEN_OFF.get(key);
  return effect === undefined ? fit(stated) : fit(`${stated}; ${effect}`, stated);
}

/** A typo in the opt-out label would otherwise silently mutate a pod its owner meant to exclude. */
export function optOutValueWarning(value: string): string {
  return fit(`label ${OPT_OUT_LABEL}="${clip(value, 24)}" has no effect; only "${OPT_OUT_VALUE}" opts out`);
}
