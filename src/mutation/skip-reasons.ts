// Pods egress-guard leaves alone, and why. The reason is a metric label and part of the log line.
import { field, isJsonObject, type JsonObject } from '../json.js';
import { ownString } from './json-shape.js';

export type SkipReason = 'opted-out' | 'injection-disabled' | 'host-network' | 'ambient';

export const OPT_OUT_LABEL = 'egress-guard.io/dns-capture';
export const OPT_OUT_VALUE = 'disabled';
export const SIDECAR_INJECT = 'sidecar.istio.io/inject';
export const DATAPLANE_MODE_LABEL = 'istio.io/dataplane-mode';

// Istio's injector (injectRequired) injects only for these values, compared case-insensitively; any other
// non-empty value turns injection off, and an empty one defers to the namespace and mesh defaults.
const INJECT_YES = new Set(['y', 'yes', 'true', 'on']);

/** The first reason that applies, checked from the owner's explicit choice to what the pod's shape implies. */
export function skipReason(pod: JsonObject): SkipReason | undefined {
  const metadata = ownRecord(pod, 'metadata');
  const labels = ownRecord(metadata, 'labels');
  const annotations = ownRecord(metadata, 'annotations');
  if (ownString(labels, OPT_OUT_LABEL) === OPT_OUT_VALUE) return 'opted-out';
  if (sidecarInjectionOff(labels, annotations)) return 'injection-disabled';
  // Istio never injects hostNetwork pods: a sidecar's iptables would capture the node's traffic.
  if (field(ownRecord(pod, 'spec') ?? {}, 'hostNetwork') === true) return 'host-network';
  // Ambient pods have no sidecar; ztunnel does their DNS proxying, configured mesh-wide.
  if (ownString(labels, DATAPLANE_MODE_LABEL) === 'ambient') return 'ambient';
  return undefined;
}

function sidecarInjectionOff(labels: JsonObject | undefined, annotations: JsonObject | undefined): boolean {
  // As in Istio, a label (the current API) wins over the annotation (the older one) when both are set.
  const selector = ownString(labels, SIDECAR_INJECT) ?? ownString(annotations, SIDECAR_INJECT);
  return selector !== undefined && selector !== '' && !INJECT_YES.has(selector.toLowerCase());
}

function ownRecord(record: JsonObject | undefined, key: string): JsonObject | undefined {
  const value = record === undefined ? undefined : field(record, key);
  return isJsonObject(value) ? value : undefined;
}
