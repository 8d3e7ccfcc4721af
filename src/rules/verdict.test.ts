import { describe, expect, it } from '@jest/globals';
import {
  contextFor,
  destinationRule,
  exampleAuto,
  fakeCluster,
  ossDemo,
  ossWildcard,
  serviceEntry,
} from '../../test/fixtures/service-entries.js';
import type { ServiceEntryView } from '../istio/service-entry.js';
import { evaluateServiceEntry } from './index.js';
import type { Finding, RuleSettings } from './types.js';
import { serviceEntryVerdict } from './verdict.js';

/** The verdict for `entry` in a cluster that also holds `others` and seed 000's DestinationRule. */
function verdictFor(
  entry: ServiceEntryView,
  settings: Partial<RuleSettings> = {},
  stale = false,
  others: ServiceEntryView[] = [],
) {
  const cluster = fakeCluster([entry, ...others], stale, { rules: [destinationRule()] });
  return serviceEntryVerdict(entry, evaluateServiceEntry(entry, contextFor(entry, settings, cluster)));
}

const WILDCARD_WHY =
  "wildcard hosts cannot use resolution DNS without endpoints, because DNS cannot resolve a wildcard name; istiod's validation rejects this too";
const WILDCARD_FIX = 'Fix: use resolution DYNAMIC_DNS or NONE.';
const PORTS_WHY =
  'hosts without spec.addresses get an auto-allocated virtual IP that serves only their declared ports, so connections on other ports fail (istio/istio#39080)';
const PORTS_FIX =
  'Fix: declare the ports in spec.ports, set spec.addresses, or label the ServiceEntry networking.istio.io/enable-autoallocate-ip: "false".';

describe('serviceEntryVerdict', () => {
  it("denies the seed's wildcard entry with resolution DNS, naming both hosts in one message", () => {
    const verdict = verdictFor(serviceEntry(ossWildcard, { spec: { resolution: 'DNS' } }));
    expect(verdict).toEqual({
      denyMessage:
        `ServiceEntry external/wildcard is rejected: ${WILDCARD_WHY}: ` +
        'spec.hosts[0] "*.oss-cn-shanghai.aliyuncs.com", spec.hosts[1] "*.oss-cn-shanghai-internal.aliyuncs.com". ' +
        WILDCARD_FIX,
      warnings: [],
    });
  });

  it('puts every violation of every rule into one numbered deny message', () => {
    const entry = serviceEntry(exampleAuto, {
      spec: { hosts: ['example.com', '*.example.com', 'api.example.com', '*foo.com'] },
    });
    const { denyMessage, warnings } = verdictFor(entry, { undeclaredPortsAction: 'deny' });
    expect(denyMessage).toBe(
      `ServiceEntry default/external-auto is rejected for 2 reasons: (1) ${WILDCARD_WHY}: ` +
        `spec.hosts[1] "*.example.com", spec.hosts[3] "*foo.com". Fix: move the wildcards to an entry with resolution NONE. ` +
        `(2) ${PORTS_WHY}: spec.hosts[0] "example.com" lacks ports 80,443 (declared: 9444), ` +
        `spec.hosts[2] "api.example.com" lacks ports 80,443 (declared: 9444). ${PORTS_FIX}`,
    );
    for (const part of [
      'default/external-auto',
      'spec.hosts[0]',
      'spec.hosts[1]',
      'spec.hosts[2]',
      'spec.hosts[3]',
      'NONE',
    ]) {
      expect(denyMessage).toContain(part);
    }
    expect(warnings).toEqual([]);
  });

  it('names DNS_ROUND_ROBIN when that is the resolution used', () => {
    const { denyMessage } = verdictFor(serviceEntry(ossWildcard, { spec: { resolution: 'DNS_ROUND_ROBIN' } }));
    expect(denyMessage).toContain('wildcard hosts cannot use resolution DNS_ROUND_ROBIN without endpoints, because');
  });

  it("denies the seed's example.com entry when undeclared ports are set to deny, noting a stale view", () => {
    expect(verdictFor(serviceEntry(exampleAuto), { undeclaredPortsAction: 'deny' }, true)).toEqual({
      denyMessage:
        `ServiceEntry default/external-auto is rejected: ${PORTS_WHY}: spec.hosts[0] "example.com" lacks ports 80,443 (declared: 9444). ` +
        `${PORTS_FIX} Note: the cluster view may be stale.`,
      warnings: [],
    });
  });

  describe('cross-object rules', () => {
    // Seed 000's entry under another host, next to an older entry for the same host: the seed DestinationRule
    // does not cover it, the legacy entry declares 443 as HTTP and adds 8443.
    const entry = serviceEntry(ossDemo, {
      metadata: { namespace: 'shop', name: 'oss' },
      spec: { hosts: ['oss-cn-beijing.aliyuncs.com'] },
    });
    const legacy = serviceEntry(ossDemo, {
      metadata: { namespace: 'shop', name: 'oss-legacy' },
      spec: {
        hosts: ['oss-cn-beijing.aliyuncs.com'],
        ports: [
          { number: 443, name: 'http', protocol: 'HTTP' },
          { number: 8443, name: 'alt', protocol: 'TLS' },
        ],
      },
    });

    it('explains each in the one deny message, with the fix, and notes a stale view once', () => {
      expect(verdictFor(entry, { undeclaredPortsAction: 'deny' }, true, [legacy])).toEqual({
        denyMessage:
          'ServiceEntry shop/oss is rejected for 3 reasons: ' +
          '(1) a host declared by several auto-allocated ServiceEntries gets one virtual IP per entry, and DNS answers with only one, ' +
          'so ports that not every entry declares fail (istio/istio#55266): ' +
          'spec.hosts[0] "oss-cn-beijing.aliyuncs.com" also in shop/oss-legacy (unreliable ports: 80,8443). ' +
          'Fix: declare each host in a single ServiceEntry that lists all its ports. ' +
          '(2) ServiceEntries that declare one host and port with different protocols conflict, and Istio applies only one protocol: ' +
          'spec.ports[1] "oss-cn-beijing.aliyuncs.com":443 (TLS here, HTTP in shop/oss-legacy). ' +
          'Fix: use the same protocol for a host and port in every ServiceEntry. ' +
          '(3) a plain-HTTP port forwarded to 443 sends plaintext to a TLS server unless a DestinationRule originates TLS on it: ' +
          'spec.ports[0] "oss-cn-beijing.aliyuncs.com":80. ' +
          'Fix: add a DestinationRule for the host whose trafficPolicy.portLevelSettings sets tls.mode: SIMPLE for that port, ' +
          'or declare the port with protocol TLS and let clients speak TLS. ' +
          'Note: the cluster view may be stale.',
        warnings: [],
      });
    });

    it('warns by default, one short line per finding', () => {
      const { denyMessage, warnings } = verdictFor(entry, {}, false, [legacy]);
      expect(denyMessage).toBeUndefined();
      expect(warnings).toEqual([
        'oss-cn-beijing.aliyuncs.com is also declared by shop/oss-legacy: ports 80,8443 unreliable (istio#55266)',
        'oss-cn-beijing.aliyuncs.com:443 is TLS here but HTTP in shop/oss-legacy; Istio applies only one',
        'oss-cn-beijing.aliyuncs.com:80 sends plain HTTP to port 443; no DestinationRule sets tls.mode SIMPLE',
      ]);
      for (const warning of warnings) expect(warning.length).toBeLessThan(120);
    });

    it('lists every host and port of a rule in its one explanation', () => {
      const twoHosts = serviceEntry(ossDemo, {
        spec: { hosts: ['oss-cn-beijing.aliyuncs.com', 'oss-cn-hangzhou.aliyuncs.com'] },
      });
      const { denyMessage } = verdictFor(twoHosts, { undeclaredPortsAction: 'deny' });
      expect(denyMessage).toBe(
        'ServiceEntry external/demo is rejected: a plain-HTTP port forwarded to 443 sends plaintext to a TLS server unless a DestinationRule originates TLS on it: ' +
          'spec.ports[0] "oss-cn-beijing.aliyuncs.com":80, spec.ports[0] "oss-cn-hangzhou.aliyuncs.com":80. ' +
          'Fix: add a DestinationRule for the host whose trafficPolicy.portLevelSettings sets tls.mode: SIMPLE for that port, ' +
          'or declare the port with protocol TLS and let clients speak TLS.',
      );
    });
  });

  it.each<[string, ServiceEntryView, string[]]>([
    [
      "seed example.com's undeclared ports",
      serviceEntry(exampleAuto),
      ['example.com: ports 80,443 undeclared (declared: 9444); declare them or set spec.addresses'],
    ],
    [
      'seed oss entry with a malformed annotation',
      serviceEntry(ossDemo, { metadata: { annotations: { 'egress-guard.io/expected-ports': 'http' } } }),
      [
        'egress-guard.io/expected-ports: "http" is not a port number (1-65535); expected a comma-separated list like "80,443"',
      ],
    ],
    ['a clean entry', serviceEntry(ossDemo), []],
  ])('only warns for %s, each warning < 120 chars', (_case, entry, warnings) => {
    const verdict = verdictFor(entry);
    expect(verdict).toEqual({ warnings });
    for (const warning of verdict.warnings) expect(warning.length).toBeLessThan(120);
  });

  it('deduplicates warnings and keeps their order; denials stay out of the warnings', () => {
    const warn = (message: string): Finding => ({ rule: 'undeclared-ports', severity: 'warn', message });
    const deny: Finding = {
      rule: 'wildcard-dns',
      severity: 'deny',
      message: 'denied',
      path: 'spec.hosts[0]',
      host: '*.a.com',
    };
    expect(serviceEntryVerdict(serviceEntry(exampleAuto), [warn('b'), deny, warn('a'), warn('b')]).warnings).toEqual([
      'b',
      'a',
    ]);
  });

  it("includes a future rule's deny finding by its own message, and shows an unnamed entry as such", () => {
    const entry = serviceEntry(exampleAuto, { metadata: { name: undefined } });
    const finding: Finding = { rule: 'future-rule', severity: 'deny', message: 'spec.location must be MESH_EXTERNAL.' };
    expect(serviceEntryVerdict(entry, [finding]).denyMessage).toBe(
      'ServiceEntry default/(unnamed) is rejected: spec.location must be MESH_EXTERNAL.',
    );
  });
});
