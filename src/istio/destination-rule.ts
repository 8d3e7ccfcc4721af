// A tolerant view of a networking.istio.io DestinationRule, reduced to what the egress rules ask of it:
// which host it applies to, who can see it, and which TLS mode it sets per port. Like toServiceEntryView it
// reads whatever arrived (watch event, YAML file) and never throws: unusable values are skipped.
import { normalizeHost } from './hosts.js';
import { isJsonObject, text } from '../json.js';
import { fieldsOf, portNumber, upperCased } from './read.js';

export interface DestinationRuleView {
  namespace: string;
  name: string;
  /** spec.host, normalized (lower case, no root dot); '' when missing. May be a wildcard like `*.example.com`. */
  host: string;
  /** Raw values ('.', '*', namespace names); empty means exported everywhere. */
  exportTo: string[];
  /** spec.trafficPolicy.tls.mode, upper-cased: the mode of every port without a port-level entry. */
  tlsMode?: string;
  /**
   * The first spec.trafficPolicy.portLevelSettings entry per port number, as Istio takes it: its tls.mode,
   * or null when the entry sets no tls (port-level settings replace the destination-level ones, they do not
   * inherit). Null-prototype, so keys are only ever port numbers.
   */
  portTlsModes: Readonly<Record<number, string | null>>;
  uid?: string;
  resourceVersion?: string;
}

/** A list written as a single value is read as a one-item list, as toServiceEntryView does. */
function list(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return value === undefined || value === null ? [] : [value];
}

/** A tls block without a mode is ClientTLSSettings' zero value, DISABLE; no tls block at all is undefined. */
function tlsModeOf(settings: unknown): string | undefined {
  const tls = fieldsOf(settings).tls;
  if (!isJsonObject(tls)) return undefined;
  return upperCased(text(fieldsOf(tls).mode) ?? '') || 'DISABLE';
}

function portTlsModes(portLevelSettings: unknown): Record<number, string | null> {
  const modes: Record<number, string | null> = Object.create(null);
  for (const settings of list(portLevelSettings)) {
    const port = portNumber(fieldsOf(fieldsOf(settings).port).number);
    // Istio stops at the first entry for a port; later duplicates are dead configuration.
    if (port === undefined || Object.hasOwn(modes, port)) continue;
    modes[port] = tlsModeOf(settings) ?? null;
  }
  return modes;
}

/** Subsets are ignored: they apply only to traffic a VirtualService routes to them, not to a plain request for the host. */
export function toDestinationRuleView(object: unknown, fallbackNamespace?: string): DestinationRuleView {
  const metadata = fieldsOf(fieldsOf(object).metadata);
  const spec = fieldsOf(fieldsOf(object).spec);
  const trafficPolicy = spec.trafficPolicy;
  const host = text(spec.host);
  const tlsMode = tlsModeOf(trafficPolicy);
  const uid = text(metadata.uid);
  const resourceVersion = text(metadata.resourceVersion);
  return {
    namespace: text(metadata.namespace) || fallbackNamespace || '',
    name: text(metadata.name) ?? '',
    host: host === undefined ? '' : normalizeHost(host),
    exportTo: list(spec.exportTo).flatMap((to) => (typeof to === 'string' && to.trim() !== '' ? [to.trim()] : [])),
    ...(tlsMode === undefined ? {} : { tlsMode }),
    portTlsModes: portTlsModes(fieldsOf(trafficPolicy).portLevelSettings),
    ...(uid === undefined ? {} : { uid }),
    ...(resourceVersion === undefined ? {} : { resourceVersion }),
  };
}

/** The TLS mode traffic to `port` of the host gets: a port-level entry wins outright, else the destination-level mode. */
export function tlsModeFor(rule: DestinationRuleView, port: number): string | undefined {
  if (Object.hasOwn(rule.portTlsModes, port)) return rule.portTlsModes[port] ?? undefined;
  return rule.tlsMode;
}

/**
 * Modes in which the sidecar starts TLS to the external server itself. ISTIO_MUTUAL is mesh mTLS with Istio
 * certificates, which an external server does not accept, so it does not count as origination.
 */
const ORIGINATING_MODES: ReadonlySet<string> = new Set(['SIMPLE', 'MUTUAL']);

export function originatesTls(rule: DestinationRuleView, port: number): boolean {
  return ORIGINATING_MODES.has(tlsModeFor(rule, port) ?? '');
}

/** exportTo works as for ServiceEntries: empty or '*' is everywhere, '.' the rule's own namespace. */
export function isRuleVisibleFrom(rule: DestinationRuleView, namespace: string): boolean {
  if (rule.exportTo.length === 0) return true;
  return rule.exportTo.some((to) => to === '*' || to === namespace || (to === '.' && rule.namespace === namespace));
}

/**
 * Whether the rule's host covers `host`. Unlike ServiceEntry hosts, a wildcard DestinationRule applies to
 * the concrete hosts it covers (`*.example.com` to `api.example.com`, `*` to everything), as in Istio.
 */
export function ruleAppliesTo(rule: DestinationRuleView, host: string): boolean {
  const wanted = normalizeHost(host);
  if (rule.host === '') return false;
  if (rule.host === wanted) return true;
  return rule.host.startsWith('*') && wanted.endsWith(rule.host.slice(1));
}
