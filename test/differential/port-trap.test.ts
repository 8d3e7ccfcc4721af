// Port traps against pilot's traffic simulation: for each namespace N holding an entry for host h, a finding on
// N's entries for h:port (undeclared-ports missing the port, or duplicate-host calling it unreliable) exactly
// where a DNS-capturing sidecar in N, given the virtual IP its DNS table answers for h, does not reach h's
// cluster on that expected port. Both allocators: istiod's (1.25+) and the legacy agent one.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { IpAllocator } from '../../src/istio/version.js';
import { fcParameters } from './fc-settings.js';
import { IstioOracle } from './oracle.js';
import {
  EXPECTED_PORTS,
  generatedSet,
  isWildcard,
  OPT_OUT_LABEL,
  ruleFindings,
  serviceEntry,
  type Json,
} from './service-entries.js';

let oracle: IstioOracle;
beforeAll(() => {
  oracle = IstioOracle.fromEnv();
});
afterAll(() => oracle.close());

const ALLOCATORS: readonly IpAllocator[] = ['istiod', 'legacy'];
// Auto-allocated addresses (IPv4 240.240.0.0/16, IPv6 2001:2::/48): only those are traps; a spec address is real.
const AUTO_VIP = /^(240\.240\.|2001:2::)/;
const PROBE_PROTOCOL: Readonly<Record<number, string>> = { 80: 'HTTP', 443: 'TLS' };

const key = (namespace: string, host: string, port: number) => `${namespace} ${host}:${port}`;
const meta = (entry: Json) => entry.metadata as { namespace: string; name: string };
const hostsOf = (entry: Json) => (entry.spec as { hosts: string[] }).hosts;

/** Traps egress-guard reports, as `namespace host:port`: expected ports undeclared-ports misses or duplicate-host calls unreliable. */
function ourTraps(objects: readonly Json[], allocator: IpAllocator): Set<string> {
  const traps = new Set<string>();
  for (const { namespace, findings } of ruleFindings(objects, allocator))
    for (const finding of findings) {
      if (finding.host === undefined) continue;
      const ports =
        finding.rule === 'undeclared-ports'
          ? finding.missingPorts
          : finding.rule === 'duplicate-host'
            ? finding.ports
            : undefined;
      for (const port of ports ?? [])
        if ((EXPECTED_PORTS as readonly number[]).includes(port)) traps.add(key(namespace, finding.host, port));
    }
  return traps;
}

/** Traps the simulation shows, as `namespace host:port`, with what it saw. */
async function oracleTraps(objects: readonly Json[], allocator: IpAllocator): Promise<Map<string, string>> {
  const traps = new Map<string, string>();
  const namespaces = new Set(objects.map((entry) => meta(entry).namespace));
  for (const namespace of namespaces) {
    const hosts = new Set(
      objects
        .filter((entry) => meta(entry).namespace === namespace)
        .flatMap(hostsOf)
        .filter((host) => !isWildcard(host)),
    );
    if (hosts.size === 0) continue;
    const probes = [...hosts].flatMap((host) =>
      EXPECTED_PORTS.map((port) => ({ host, port, protocol: PROBE_PROTOCOL[port] ?? 'TCP' })),
    );
    const answer = await oracle.simulate({ objects, namespace, allocator, probes });
    for (const probe of answer.probes) {
      if (probe.vip === undefined || !AUTO_VIP.test(probe.vip) || probe.outcome === 'host') continue;
      traps.set(key(namespace, probe.host, probe.port), `${probe.vip} -> ${probe.outcome} ${probe.cluster ?? ''}`);
    }
  }
  return traps;
}

/** Only what the API server would store with istiod's validating webhook on. */
async function accepted(objects: readonly Json[]): Promise<Json[]> {
  const kept: Json[] = [];
  for (const object of objects) if ((await oracle.validate(object)).allowed) kept.push(object);
  return kept;
}

async function disagreements(objects: readonly Json[], allocator: IpAllocator): Promise<string[]> {
  const ours = ourTraps(objects, allocator);
  const istio = await oracleTraps(objects, allocator);
  const out: string[] = [];
  for (const [trap, seen] of istio) if (!ours.has(trap)) out.push(`${allocator}: missed ${trap} (${seen})`);
  for (const trap of ours) if (!istio.has(trap)) out.push(`${allocator}: false alarm ${trap}`);
  return out;
}

const port = (number: number, protocol: string) => ({ number, protocol, name: `${protocol.toLowerCase()}-${number}` });
const TABLE: ReadonlyArray<readonly [string, Json[]]> = [
  [
    'undeclared 80 on an auto-allocated host',
    [serviceEntry('ns-a', 'api', { hosts: ['api.example.com'], resolution: 'DNS', ports: [port(443, 'TLS')] })],
  ],
  [
    'every expected port declared',
    [
      serviceEntry('ns-a', 'api', {
        hosts: ['api.example.com'],
        resolution: 'DNS',
        ports: [port(443, 'TLS'), port(80, 'HTTP')],
      }),
    ],
  ],
  [
    'spec.addresses: no auto-allocation',
    [
      serviceEntry('ns-a', 'api', {
        hosts: ['api.example.com'],
        resolution: 'STATIC',
        addresses: ['10.96.7.7'],
        endpoints: [{ address: '10.0.0.7' }],
        ports: [port(443, 'TLS')],
      }),
    ],
  ],
  [
    'opt-out label',
    [
      serviceEntry(
        'ns-a',
        'api',
        { hosts: ['api.example.com'], resolution: 'DNS', ports: [port(443, 'TLS')] },
        { [OPT_OUT_LABEL]: 'false' },
      ),
    ],
  ],
  [
    'fact 4: port 80 only on a NONE entry of the same host',
    [
      serviceEntry('ns-a', 'api-dns', { hosts: ['api.example.com'], resolution: 'DNS', ports: [port(443, 'TLS')] }),
      serviceEntry('ns-a', 'api-none', { hosts: ['api.example.com'], resolution: 'NONE', ports: [port(80, 'HTTP')] }),
    ],
  ],
  [
    'fact 5: port 80 only in another namespace',
    [
      serviceEntry('ns-a', 'api', { hosts: ['api.example.com'], resolution: 'DNS', ports: [port(443, 'TLS')] }),
      serviceEntry('ns-b', 'api', {
        hosts: ['api.example.com'],
        resolution: 'DNS',
        ports: [port(80, 'HTTP'), port(443, 'TLS')],
      }),
    ],
  ],
  [
    'fact 6: one host, two entries in one namespace',
    [
      serviceEntry('ns-a', 'api-https', { hosts: ['api.example.com'], resolution: 'DNS', ports: [port(443, 'TLS')] }),
      serviceEntry('ns-a', 'api-http', { hosts: ['api.example.com'], resolution: 'DNS', ports: [port(80, 'HTTP')] }),
    ],
  ],
  [
    'fact 6: opt-out label on one of two entries',
    [
      serviceEntry(
        'ns-a',
        'api-https',
        { hosts: ['api.example.com'], resolution: 'DNS', ports: [port(443, 'TLS'), port(80, 'HTTP')] },
        { [OPT_OUT_LABEL]: 'false' },
      ),
      serviceEntry('ns-a', 'api-http', { hosts: ['api.example.com'], resolution: 'DNS', ports: [port(80, 'HTTP')] }),
    ],
  ],
];

describe('port traps against pilot simulation (table)', () => {
  for (const [name, objects] of TABLE)
    for (const allocator of ALLOCATORS)
      it(`${name} (${allocator})`, async () => {
        expect(await disagreements(await accepted(objects), allocator)).toEqual([]);
      });
});

describe('port traps against pilot simulation (generated)', () => {
  it('a finding for host:port exactly where the simulation shows an expected port not reaching the host', async () => {
    await fc.assert(
      fc.asyncProperty(generatedSet, fc.constantFrom(...ALLOCATORS), async (set, allocator) => {
        const objects = await accepted(set);
        const found = await disagreements(objects, allocator);
        if (found.length > 0) throw new Error(`${found.join('; ')}\n${JSON.stringify(objects)}`);
      }),
      fcParameters(60),
    );
  });
});
