// egress-guard's side of the rule comparisons: `egress-guard check` over a set of objects (scope 'input', every
// ServiceEntry judged against all the others, as admission judges it against the cluster), and generated sets.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { check } from '../../src/cli/check.js';
import { evaluateAll } from '../../src/cluster/evaluate.js';
import { HostIndex } from '../../src/cluster/host-index.js';
import { toServiceEntryView } from '../../src/istio/service-entry.js';
import { parseManifests } from '../../src/cli/load-manifests.js';
import { manifestObjects } from '../../src/cli/objects.js';
import type { ReportFinding } from '../../src/cli/report.js';
import type { IpAllocator } from '../../src/istio/version.js';
import type { Finding } from '../../src/rules/types.js';
import { DEFAULT_SETTINGS } from '../fixtures/service-entries.js';

export type Json = Record<string, unknown>;

export const EXPECTED_PORTS = [80, 443] as const;
export const NAMESPACES = ['ns-a', 'ns-b'] as const;
export const OPT_OUT_LABEL = 'networking.istio.io/enable-autoallocate-ip';

export function findings(objects: readonly Json[], allocator: IpAllocator): ReportFinding[] {
  const text = objects.map((object) => stringify(object)).join('---\n');
  return check(manifestObjects(parseManifests(text, 'input.yaml')), {
    namespace: 'default',
    optedIn: [],
    settings: {
      ...DEFAULT_SETTINGS,
      expectedPorts: [...EXPECTED_PORTS],
      istio: { ...DEFAULT_SETTINGS.istio, allocator },
    },
    mode: allocator === 'istiod' ? 'controller' : 'agent',
  }).findings;
}

/** The rules' own findings (with their ports) for each entry, judged as `check` and admission judge it. */
export function ruleFindings(
  objects: readonly Json[],
  allocator: IpAllocator,
): Array<{ namespace: string; name: string; findings: Finding[] }> {
  const index = new HostIndex();
  for (const object of objects) {
    const { namespace, name } = object.metadata as { namespace: string; name: string };
    index.upsertServiceEntry({ ...toServiceEntryView(object as never, namespace), namespace, name });
  }
  const settings = {
    ...DEFAULT_SETTINGS,
    expectedPorts: [...EXPECTED_PORTS],
    istio: { ...DEFAULT_SETTINGS.istio, allocator },
  };
  return evaluateAll(index, settings, 'input').map(({ entry, findings }) => ({
    namespace: entry.namespace,
    name: entry.name,
    findings,
  }));
}

export function serviceEntry(namespace: string, name: string, spec: Json, labels?: Record<string, string>): Json {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name, namespace, ...(labels === undefined ? {} : { labels }) },
    spec: { location: 'MESH_EXTERNAL', ...spec },
  };
}

export const isWildcard = (host: string): boolean => host.startsWith('*');

const PORTS = [
  { number: 80, protocol: 'HTTP' },
  { number: 80, protocol: 'TCP' },
  { number: 443, protocol: 'TLS' },
  { number: 443, protocol: 'HTTPS' },
  { number: 8080, protocol: 'HTTP' },
  { number: 8443, protocol: 'TCP' },
  { number: 9000, protocol: 'GRPC' },
];

const spec = fc
  .record({
    hosts: fc.uniqueArray(fc.constantFrom('api.example.com', 'db.example.com', '*.example.com', '*.wild.org'), {
      minLength: 1,
      maxLength: 2,
    }),
    resolution: fc.constantFrom('DNS', 'DNS', 'DNS_ROUND_ROBIN', 'STATIC', 'NONE', 'NONE', 'DYNAMIC_DNS'),
    ports: fc.uniqueArray(fc.constantFrom(...PORTS), { minLength: 1, maxLength: 3, selector: (port) => port.number }),
    endpoints: fc.constantFrom('none', 'none', 'name', 'ip'),
    addresses: fc.constantFrom(false, false, false, true),
    exportTo: fc.constantFrom(undefined, undefined, ['.'], ['*']),
  })
  .map(({ hosts, resolution, ports, endpoints, addresses, exportTo }): Json => ({
    hosts,
    resolution,
    ports: ports.map((port) => ({ ...port, name: `${port.protocol.toLowerCase()}-${port.number}` })),
    ...(endpoints === 'name' ? { endpoints: [{ address: 'backend.example.net' }] } : {}),
    ...(endpoints === 'ip' ? { endpoints: [{ address: '10.0.0.7' }] } : {}),
    ...(addresses ? { addresses: ['10.96.7.7'] } : {}),
    ...(exportTo === undefined ? {} : { exportTo }),
  }));

export const generatedEntry = fc
  .tuple(fc.constantFrom(...NAMESPACES), spec, fc.constantFrom(undefined, undefined, undefined, 'false', 'False'))
  .map(([namespace, entrySpec, optOut]) =>
    serviceEntry(namespace, 'se', entrySpec, optOut === undefined ? undefined : { [OPT_OUT_LABEL]: optOut }),
  );

/** Sets of 1-4 entries, named apart. */
export const generatedSet = fc
  .array(generatedEntry, { minLength: 1, maxLength: 4 })
  .map((entries) =>
    entries.map((entry, index) => ({ ...entry, metadata: { ...(entry.metadata as Json), name: `se-${index}` } })),
  );
