// A tolerant, normalized view of a networking.istio.io ServiceEntry. The input is whatever arrived in an
// AdmissionReview or a YAML file, so every field is read defensively: unusable values are skipped, never thrown on.
import { normalizeHost } from './hosts.js';
import { field, text } from '../json.js';
import { fieldsOf, portNumber, trimmed, upperCased } from './read.js';

export type Resolution = 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN' | 'DYNAMIC_DNS';

export interface ServiceEntryHost {
  host: string;
  /** Field path of the host, e.g. `spec.hosts[1]`. */
  path: string;
}

export interface ServiceEntryPort {
  number: number;
  /** Upper-cased; '' when unset. */
  protocol: string;
  name: string;
  targetPort?: number;
  path: string;
}

export interface ServiceEntryView {
  namespace: string;
  name: string;
  hosts: ServiceEntryHost[];
  ports: ServiceEntryPort[];
  /** Upper-cased; NONE when unset, as the CRD defaults it. Unknown values are kept so rules can ignore them. */
  resolution: Resolution | (string & {});
  addresses: string[];
  /** How many spec.endpoints the entry lists: istiod's validation asks only whether there are any. */
  endpointCount: number;
  /** Raw values ('.', '*', namespace names); empty means exported everywhere. */
  exportTo: string[];
  /** The labels and annotations a rule reads (VIEW_LABELS, VIEW_ANNOTATIONS), when set; no others. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
}

/** Istio's opt-out of address auto-allocation for one ServiceEntry (istiod compares the value case-insensitively). */
export const AUTOALLOCATE_LABEL = 'networking.istio.io/enable-autoallocate-ip';
/** egress-guard's per-entry list of the ports its clients need, overriding the configured default. */
export const EXPECTED_PORTS_ANNOTATION = 'egress-guard.io/expected-ports';

/**
 * The only metadata keys any rule reads. A view keeps these and drops the rest (kubectl's last-applied copy of the
 * whole object, team labels, Helm annotations): they change no verdict, copying them costs every review, and at
 * 100,000 stored entries they are memory. A rule that starts reading another key adds it here.
 */
const VIEW_LABELS: readonly string[] = [AUTOALLOCATE_LABEL];
const VIEW_ANNOTATIONS: readonly string[] = [EXPECTED_PORTS_ANNOTATION];

/** Field paths of a list's items, `spec.hosts[3]`. */
interface ItemPaths {
  list: string;
  /** The first items' paths, made once: every host and port of every review carries its path. */
  first: readonly string[];
}

/**
 * Made once, not for each item of each review: the path is read only when a finding names the item.
 */
function itemPaths(list: string): ItemPaths {
  // Readonly by type, not frozen: an indexed load from a frozen array is slower in V8's optimised code.
  return { list, first: Array.from({ length: 64 }, (_, index) => `${list}[${index}]`) };
}

const HOSTS = itemPaths('spec.hosts');
const PORTS = itemPaths('spec.ports');
const ADDRESSES = itemPaths('spec.addresses');
const EXPORT_TO = itemPaths('spec.exportTo');

/**
 * Reads a list field item by item, keeping what `read` accepts. A list field that someone wrote as a single value
 * is read as a one-item list at the field's own path. (A loop, not map/flatMap: this runs for every host of every
 * review, and the intermediate arrays were a fifth of a 20-host review.)
 */
function collect<T>(value: unknown, paths: ItemPaths, read: (item: unknown, path: string) => T | undefined): T[] {
  const result: T[] = [];
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const item = read(value[index], paths.first[index] ?? `${paths.list}[${index}]`);
      if (item !== undefined) result.push(item);
    }
  } else if (value !== undefined && value !== null) {
    const item = read(value, paths.list);
    if (item !== undefined) result.push(item);
  }
  return result;
}

/** A list's length as istiod decodes it (a lone object counts as one, as collect reads it); null or absent is none. */
function countItems(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  return value === undefined || value === null ? 0 : 1;
}

function nonBlank(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function toHost(value: unknown, path: string): ServiceEntryHost | undefined {
  const host = typeof value === 'string' ? trimmed(value) : '';
  return host === '' ? undefined : { host, path };
}

/**
 * collect(value, HOSTS, toHost) with the call to toHost made directly, so it can be inlined: hosts are the longest
 * list every review reads.
 */
function toHosts(value: unknown): ServiceEntryHost[] {
  if (!Array.isArray(value)) return collect(value, HOSTS, toHost);
  const hosts: ServiceEntryHost[] = [];
  for (let index = 0; index < value.length; index++) {
    const host = toHost(value[index], HOSTS.first[index] ?? `${HOSTS.list}[${index}]`);
    if (host !== undefined) hosts.push(host);
  }
  return hosts;
}

/** Shared by every view without any of the keys: views are never modified. */
const NO_METADATA: Record<string, string> = Object.freeze(Object.create(null) as Record<string, string>);

/**
 * The own `keys` of a labels or annotations map, in a null-prototype map (so a `__proto__` key is just a key).
 * Scalars are stringified: YAML `false` means "false".
 */
function metadataMap(value: unknown, keys: readonly string[]): Record<string, string> {
  let result: Record<string, string> | undefined;
  for (const key of keys) {
    const entry = field(value, key);
    const text =
      typeof entry === 'string'
        ? entry
        : typeof entry === 'number' || typeof entry === 'boolean'
          ? String(entry)
          : undefined;
    if (text !== undefined) (result ??= Object.create(null) as Record<string, string>)[key] = text;
  }
  return result ?? NO_METADATA;
}

function toPort(value: unknown, path: string): ServiceEntryPort | undefined {
  const fields = fieldsOf(value);
  const number = portNumber(fields.number);
  if (number === undefined) return undefined;
  const port: ServiceEntryPort = {
    number,
    protocol: upperCased(text(fields.protocol) ?? ''),
    name: text(fields.name) ?? '',
    path,
  };
  // Set only when given, as the CRD leaves it; assigned, not spread: a spread of `{}` or `{ targetPort }` copies an
  // object made for the purpose, for every port of every review.
  const targetPort = portNumber(fields.targetPort);
  if (targetPort !== undefined) port.targetPort = targetPort;
  return port;
}

export function toServiceEntryView(object: unknown, fallbackNamespace?: string): ServiceEntryView {
  const metadata = fieldsOf(fieldsOf(object).metadata);
  const spec = fieldsOf(fieldsOf(object).spec);
  const view: ServiceEntryView = {
    namespace: text(metadata.namespace) || fallbackNamespace || '',
    name: text(metadata.name) ?? '',
    hosts: toHosts(spec.hosts),
    ports: collect(spec.ports, PORTS, toPort),
    resolution: upperCased(text(spec.resolution) ?? '') || 'NONE',
    addresses: collect(spec.addresses, ADDRESSES, nonBlank),
    endpointCount: countItems(spec.endpoints),
    exportTo: collect(spec.exportTo, EXPORT_TO, nonBlank),
    labels: metadataMap(metadata.labels, VIEW_LABELS),
    annotations: metadataMap(metadata.annotations, VIEW_ANNOTATIONS),
  };
  // Present only when the object has them (a stored object, or an UPDATE's); assigned rather than spread, as in toPort.
  const uid = text(metadata.uid);
  if (uid !== undefined) view.uid = uid;
  const resourceVersion = text(metadata.resourceVersion);
  if (resourceVersion !== undefined) view.resourceVersion = resourceVersion;
  return view;
}

/** Istio exportTo: empty or '*' is everywhere, '.' is the entry's own namespace, other values name namespaces. */
export function isVisibleFrom(entry: ServiceEntryView, namespace: string): boolean {
  if (entry.exportTo.length === 0) return true;
  return entry.exportTo.some((to) => to === '*' || to === namespace || (to === '.' && entry.namespace === namespace));
}

/**
 * What every rule asks of an entry's hosts and ports, worked out once per view. Without it a 20-host review
 * normalized hosts 20 x 20 times, and each rule rebuilt the same sets per host.
 */
interface EntryFacts {
  /** Each host once (`Example.com` and `example.com` are one host), with its first path. */
  distinctHosts: readonly ServiceEntryHost[];
  /** The normalized names of those hosts. */
  hostKeys: ReadonlySet<string>;
  /** The entry's port numbers, each once, ascending. */
  portNumbers: readonly number[];
}

/**
 * The facts ride on the view as a hidden (symbol-keyed, non-enumerable) property: views are never mutated after
 * construction, so it cannot go stale, and JSON, Object.keys and equality checks do not see it. Not a WeakMap:
 * every review makes a view, and a WeakMap entry per short-lived object makes garbage collection slow.
 */
const FACTS = Symbol('egress-guard.serviceEntryFacts');

function factsOf(entry: ServiceEntryView): EntryFacts {
  const known = (entry as { [FACTS]?: EntryFacts })[FACTS];
  if (known !== undefined) return known;
  const hostKeys = new Set<string>();
  const distinctHosts: ServiceEntryHost[] = [];
  for (const declared of entry.hosts) {
    const key = normalizeHost(declared.host);
    if (hostKeys.has(key)) continue;
    hostKeys.add(key);
    distinctHosts.push(declared);
  }
  const portNumbers = [...new Set(entry.ports.map((port) => port.number))].sort((a, b) => a - b);
  const facts: EntryFacts = { distinctHosts, hostKeys, portNumbers };
  // A frozen view (none of ours is) just goes without the memo.
  if (Object.isExtensible(entry)) Object.defineProperty(entry, FACTS, { value: facts });
  return facts;
}

export function distinctHosts(entry: ServiceEntryView): readonly ServiceEntryHost[] {
  return factsOf(entry).distinctHosts;
}

export function portNumbers(entry: ServiceEntryView): readonly number[] {
  return factsOf(entry).portNumbers;
}

export function declaresHost(entry: ServiceEntryView, host: string): boolean {
  const keys = factsOf(entry).hostKeys;
  // Rules ask with the entry's own host names, almost always normalized already: one lookup, no new string.
  return keys.has(host) || keys.has(normalizeHost(host));
}

/** Namespace/name is the identity: the object under review replaces whatever the cluster holds under that key. */
export function isSameObject(a: ServiceEntryView, b: ServiceEntryView): boolean {
  return a.name !== '' && a.namespace === b.namespace && a.name === b.name;
}
