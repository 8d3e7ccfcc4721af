// A tolerant, normalized view of a networking.istio.io ServiceEntry. The input is whatever arrived in an
// AdmissionReview or a YAML file, so every field is read defensively: unusable values are skipped, never thrown on.
import { normalizeHost } from './hosts.js';
import { field, isDict, portNumber, text } from './read.js';

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
  /** Raw values ('.', '*', namespace names); empty means exported everywhere. */
  exportTo: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
}

/** A list field that someone wrote as a single value is read as a one-item list at the field's own path. */
function items(value: unknown, path: string): { value: unknown; path: string }[] {
  if (Array.isArray(value)) {
    const result: { value: unknown; path: string }[] = [];
    for (let index = 0; index < value.length; index++) result.push({ value: value[index], path: `${path}[${index}]` });
    return result;
  }
  return value === undefined || value === null ? [] : [{ value, path }];
}

function strings(value: unknown): string[] {
  return items(value, '').flatMap((item) => (typeof item.value === 'string' && item.value.trim() !== '' ? [item.value] : []));
}

/** Null-prototype map, so a `__proto__` label is just a label. Scalars are stringified (YAML `false` means "false"). */
function stringMap(value: unknown): Record<string, string> {
  const result: Record<string, string> = Object.create(null);
  if (!isDict(value)) return result;
  for (const key of Object.keys(value)) {
    const entry = value[key];
    if (typeof entry === 'string') result[key] = entry;
    else if (typeof entry === 'number' || typeof entry === 'boolean') result[key] = String(entry);
  }
  return result;
}

function toPort(value: unknown, path: string): ServiceEntryPort | undefined {
  const number = portNumber(field(value, 'number'));
  if (number === undefined) return undefined;
  const targetPort = portNumber(field(value, 'targetPort'));
  return {
    number,
    protocol: (text(field(value, 'protocol')) ?? '').trim().toUpperCase(),
    name: text(field(value, 'name')) ?? '',
    ...(targetPort === undefined ? {} : { targetPort }),
    path,
  };
}

export function toServiceEntryView(object: unknown, fallbackNamespace?: string): ServiceEntryView {
  const metadata = field(object, 'metadata');
  const spec = field(object, 'spec');
  const uid = text(field(metadata, 'uid'));
  const resourceVersion = text(field(metadata, 'resourceVersion'));
  return {
    namespace: text(field(metadata, 'namespace')) || fallbackNamespace || '',
    name: text(field(metadata, 'name')) ?? '',
    hosts: items(field(spec, 'hosts'), 'spec.hosts').flatMap(({ value, path }) =>
      typeof value === 'string' && value.trim() !== '' ? [{ host: value.trim(), path }] : [],
    ),
    ports: items(field(spec, 'ports'), 'spec.ports').flatMap(({ value, path }) => toPort(value, path) ?? []),
    resolution: text(field(spec, 'resolution'))?.trim().toUpperCase() || 'NONE',
    addresses: strings(field(spec, 'addresses')),
    exportTo: strings(field(spec, 'exportTo')),
    labels: stringMap(field(metadata, 'labels')),
    annotations: stringMap(field(metadata, 'annotations')),
    ...(uid === undefined ? {} : { uid }),
    ...(resourceVersion === undefined ? {} : { resourceVersion }),
  };
}

/** Istio exportTo: empty or '*' is everywhere, '.' is the entry's own namespace, other values name namespaces. */
export function isVisibleFrom(entry: ServiceEntryView, namespace: string): boolean {
  if (entry.exportTo.length === 0) return true;
  return entry.exportTo.some((to) => to === '*' || to === namespace || (to === '.' && entry.namespace === namespace));
}

/**
 * Each view's hosts, normalized once. Views are never mutated after construction, so the memo cannot go stale,
 * and a WeakMap lets it go with the view; without it a 20-host review normalized hosts 20 x 20 times.
 */
const normalizedHosts = new WeakMap<ServiceEntryView, ReadonlySet<string>>();

export function declaresHost(entry: ServiceEntryView, host: string): boolean {
  let hosts = normalizedHosts.get(entry);
  if (hosts === undefined) {
    hosts = new Set(entry.hosts.map((declared) => normalizeHost(declared.host)));
    normalizedHosts.set(entry, hosts);
  }
  return hosts.has(normalizeHost(host));
}

/** Namespace/name is the identity: the object under review replaces whatever the cluster holds under that key. */
export function isSameObject(a: ServiceEntryView, b: ServiceEntryView): boolean {
  return a.name !== '' && a.namespace === b.namespace && a.name === b.name;
}
