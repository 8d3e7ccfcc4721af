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
// The rules whose findings say a port of a host does not reach it. conflicting-protocols is left out: it is about
// which protocol a port speaks, and the probe speaks one per port (HTTP on 80, TLS on 443), so it cannot judge it.
const PORT_TRAP_RULES: ReadonlySet<string> = new Set(['duplicate-host', 'http-to-tls-port']);
// Auto-allocated addresses (IPv4 240.240.0.0/16, IPv6 2001:2::/48): only those are traps; a spec address is real.
const AUTO_VIP = /^(240\.240\.|2001:2::)/;
const PROBE_PROTOCOL: Readonly<Record<number, string>> = { 80: 'HTTP', 443: 'TLS' };

const key = (namespace: string, host: string, port: number) => `${namespace} ${host}:${port}`;
const meta = (entry: Json) => entry.metadata as { namespace: string; name: string };
const hostsOf = (entry: Json) => (entry.spec as { hosts: string[] }).hosts;

/** Traps egress-guard reports, as `namespace host:port`: expected ports a port-trap finding names for the host. */
function ourTraps(objects: readonly Json[], allocator: IpAllocator): Set<string> {
  const traps = new Set<string>();
  for (const { namespace, findings } of ruleFindings(objects, allocator))
    for (const finding of findings) {
      if (finding.host === undefined) continue;
      const ports =
        finding.rule === 'undeclared-ports'
          ? finding.missingPorts
          : PORT_TRAP_RULES.has(finding.rule)
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
    const hosts = new Set(objects.filter((entry) => meta(entry).namespace === namespace).flatMap(hostsOf));
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

async function disagreements(
  objects: readonly Json[],
  allocator: IpAllocator,
  tolerate: (trap: string) => boolean = () => false,
): Promise<string[]> {
  const ours = ourTraps(objects, allocator);
  const istio = await oracleTraps(objects, allocator);
  const out: string[] = [];
  for (const [trap, seen] of istio)
    if (!ours.has(trap) && !tolerate(trap)) out.push(`${allocator}: missed ${trap} (${seen})`);
  for (const trap of ours) if (!istio.has(trap) && !tolerate(trap)) out.push(`${allocator}: false alarm ${trap}`);
  return out;
}

/**
 * Listed under "Fidelity to Istio" as open: several entries for one host in one namespace. With istiod's allocator,
 * which ports reach the host depends on which entry's VIP DNS answers and on Host/SNI routing, which the rules do not
 * model yet; with either allocator, entries that give one port two protocols (conflicting-protocols) break clients of
 * one protocol, and the probe speaks only one (HTTP on 80, TLS on 443). Only that case is let through.
 */
function sameNamespaceDuplicates(objects: readonly Json[]): (trap: string) => boolean {
  return (trap) => {
    const [namespace, hostPort] = trap.split(' ');
    const host = hostPort?.slice(0, hostPort.lastIndexOf(':'));
    const entries = objects.filter(
      (entry) => meta(entry).namespace === namespace && host !== undefined && hostsOf(entry).includes(host),
    );
    return entries.length > 1;
  };
}

const port = (number: number, protocol: string) => ({ number, protocol, name: `${protocol.toLowerCase()}-${number}` });
/**
 * Disagreements kept, each listed under "Fidelity to Istio" in the README: with istiod's allocator, a port of an
 * HTTP or TLS protocol that the entry whose VIP DNS answers does not declare still reaches the host when another
 * entry of the host declares it, through the 0.0.0.0:<port> listener's Host or SNI match; duplicate-host and
 * undeclared-ports warn about it all the same (a client without SNI or Host, or a TCP port, would be trapped).
 */
const KNOWN: Readonly<Record<string, readonly string[]>> = {
  'fact 6: one host, two entries in one namespace (istiod)': ['istiod: false alarm ns-a api.example.com:80'],
  'fact 6: opt-out label on one of two entries (istiod)': ['istiod: false alarm ns-a api.example.com:443'],
};

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
        const found = await disagreements(await accepted(objects), allocator);
        expect(found.sort()).toEqual([...(KNOWN[`${name} (${allocator})`] ?? [])].sort());
      });
});

describe('port traps against pilot simulation (generated)', () => {
  it('a finding for host:port exactly where the simulation shows an expected port not reaching the host', async () => {
    await fc.assert(
      fc.asyncProperty(generatedSet, fc.constantFrom(...ALLOCATORS), async (set, allocator) => {
        const objects = await accepted(set);
        const found = await disagreements(objects, allocator, sameNamespaceDuplicates(objects));
        if (found.length > 0) throw new Error(`${found.join('; ')}\n${JSON.stringify(objects)}`);
      }),
      fcParameters(150),
    );
  });
});
