import { describe, expect, it } from '@jest/globals';
import { contextFor, exampleAuto, fakeCluster, ossDemo, serviceEntry } from '../../test/fixtures/service-entries.js';
import type { ServiceEntryView } from '../istio/service-entry.js';
import type { ClusterView, RuleSettings } from './types.js';
import { undeclaredPortsRule } from './undeclared-ports.js';

const OPT_OUT = 'networking.istio.io/enable-autoallocate-ip';
const EXPECTED = 'egress-guard.io/expected-ports';

const example = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) =>
  serviceEntry(exampleAuto, { spec, metadata });
const oss = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) =>
  serviceEntry(ossDemo, { spec, metadata });
const port = (number: number, name = `p${number}`) => ({ number, name, protocol: 'TCP' });
const LEGACY: Partial<RuleSettings> = { istio: { version: { major: 1, minor: 24 }, allocator: 'legacy' } };

/** Another team's ServiceEntry for example.com in `namespace`. */
const other = (name: string, ports: number[], namespace = 'default', exportTo?: string[]) =>
  serviceEntry(exampleAuto, { metadata: { name, namespace }, spec: { ports: ports.map((n) => port(n)), exportTo } });

interface Row {
  entry: ServiceEntryView;
  settings?: Partial<RuleSettings>;
  /** Other ServiceEntries in the cluster; omitted means the object-at-hand view. */
  cluster?: ServiceEntryView[];
  /** [path, missing, declared] per finding. */
  expected: [string, number[], number[]][];
}

describe('undeclared-ports', () => {
  it.each<[string, Row]>([
    ['seed oss: 80 and 443 declared', { entry: oss(), expected: [] }],
    ['seed example.com: only 9444 declared', { entry: example(), expected: [['spec.hosts[0]', [80, 443], [9444]]] }],
    ['resolution unset means NONE: no auto-allocation', { entry: example({ resolution: undefined }), expected: [] }],
    ['resolution NONE', { entry: example({ resolution: 'NONE' }), expected: [] }],
    [
      'resolution STATIC with endpoints',
      {
        entry: example({ resolution: 'STATIC', endpoints: [{ address: '93.184.215.14' }] }),
        expected: [['spec.hosts[0]', [80, 443], [9444]]],
      },
    ],
    [
      'resolution DNS with endpoints',
      {
        entry: example({ endpoints: [{ address: 'origin.example.net' }] }),
        expected: [['spec.hosts[0]', [80, 443], [9444]]],
      },
    ],
    [
      'resolution DNS_ROUND_ROBIN',
      { entry: example({ resolution: 'DNS_ROUND_ROBIN' }), expected: [['spec.hosts[0]', [80, 443], [9444]]] },
    ],
    [
      'resolution DYNAMIC_DNS on a concrete host',
      { entry: example({ resolution: 'DYNAMIC_DNS' }), expected: [['spec.hosts[0]', [80, 443], [9444]]] },
    ],
    [
      'wildcard *.example.com with DNS is not auto-allocated',
      { entry: example({ hosts: ['*.example.com'] }), expected: [] },
    ],
    // istiod's allocator keeps wildcard hosts of DYNAMIC_DNS entries (pilot/pkg/controllers/ipallocate keepHost);
    // the legacy one skips every wildcard (pilot/pkg/serviceregistry/serviceentry/auto_allocation.go).
    [
      'wildcard with DYNAMIC_DNS, istiod allocator',
      {
        entry: example({ hosts: ['*.example.com'], resolution: 'DYNAMIC_DNS' }),
        expected: [['spec.hosts[0]', [80, 443], [9444]]],
      },
    ],
    [
      'wildcard with DYNAMIC_DNS, legacy allocator',
      { entry: example({ hosts: ['*.example.com'], resolution: 'DYNAMIC_DNS' }), settings: LEGACY, expected: [] },
    ],
    ['bare * is never auto-allocated', { entry: example({ hosts: ['*'] }), expected: [] }],
    ['partial wildcard *foo.com is never auto-allocated', { entry: example({ hosts: ['*foo.com'] }), expected: [] }],
    ['spec.addresses set', { entry: example({ addresses: ['240.0.0.10'] }), expected: [] }],
    ['opt-out label "false"', { entry: example({}, { labels: { [OPT_OUT]: 'false' } }), expected: [] }],
    [
      'opt-out label "False" (istiod uses EqualFold)',
      { entry: example({}, { labels: { [OPT_OUT]: 'False' } }), expected: [] },
    ],
    // The legacy allocator never reads the label (auto_allocation.go autoAllocateIPs).
    [
      'opt-out label "false", legacy allocator',
      {
        entry: example({}, { labels: { [OPT_OUT]: 'false' } }),
        settings: LEGACY,
        expected: [['spec.hosts[0]', [80, 443], [9444]]],
      },
    ],
    [
      'label "true" keeps auto-allocation',
      { entry: example({}, { labels: { [OPT_OUT]: 'true' } }), expected: [['spec.hosts[0]', [80, 443], [9444]]] },
    ],
    [
      'annotation adds 9444 to the seed oss entry',
      {
        entry: oss({}, { annotations: { [EXPECTED]: '80,443,9444' } }),
        expected: [['spec.hosts[0]', [9444], [80, 443]]],
      },
    ],
    [
      'annotation narrows expectations to 9444',
      { entry: example({}, { annotations: { [EXPECTED]: ' 9444 ' } }), expected: [] },
    ],
    [
      'annotation wins over custom settings',
      { entry: example({}, { annotations: { [EXPECTED]: '9444' } }), settings: { expectedPorts: [80] }, expected: [] },
    ],
    ['custom settings 9444 only', { entry: example(), settings: { expectedPorts: [9444] }, expected: [] }],
    [
      'custom settings 80,443,8080 on seed oss',
      { entry: oss(), settings: { expectedPorts: [80, 443, 8080] }, expected: [['spec.hosts[0]', [8080], [80, 443]]] },
    ],
    ['no ports declared at all', { entry: example({ ports: null }), expected: [['spec.hosts[0]', [80, 443], []]] }],
    [
      'ports written as strings count',
      {
        entry: example({
          ports: [
            { name: 'http', number: '80' },
            { name: 'https', number: '443' },
          ],
        }),
        expected: [],
      },
    ],
    [
      'targetPort is not a declared port',
      {
        entry: example({ ports: [{ name: 'http', number: 80, targetPort: 443 }] }),
        expected: [['spec.hosts[0]', [443], [80]]],
      },
    ],
    [
      'several hosts: only concrete ones are checked',
      {
        entry: example({ hosts: ['example.com', '*.example.com', 'api.example.com'] }),
        expected: [
          ['spec.hosts[0]', [80, 443], [9444]],
          ['spec.hosts[2]', [80, 443], [9444]],
        ],
      },
    ],
    [
      'a host listed twice is reported once',
      { entry: example({ hosts: ['example.com', 'Example.com'] }), expected: [['spec.hosts[0]', [80, 443], [9444]]] },
    ],
    [
      'cluster: two other entries declare 80 and 443 (union)',
      { entry: example(), cluster: [example(), other('web', [80]), other('tls', [443])], expected: [] },
    ],
    [
      'cluster: another entry declares 80 only',
      { entry: example(), cluster: [other('web', [80, 8080])], expected: [['spec.hosts[0]', [443], [80, 8080, 9444]]] },
    ],
    [
      'cluster: an entry exported only to its own other namespace does not count',
      {
        entry: example(),
        cluster: [other('web', [80, 443], 'team-a', ['.'])],
        expected: [['spec.hosts[0]', [80, 443], [9444]]],
      },
    ],
    // A sidecar uses one namespace's entries per host, its own first (pilot/pkg/model/sidecar.go selectServices):
    // ports declared only in another namespace are not reachable from here.
    [
      'cluster: an entry of another namespace exported here does not count',
      {
        entry: example(),
        cluster: [other('web', [80, 443], 'team-a', ['default'])],
        expected: [['spec.hosts[0]', [80, 443], [9444]]],
      },
    ],
    [
      'cluster: a public entry of another namespace does not count',
      {
        entry: example(),
        cluster: [other('web', [80, 443], 'team-a')],
        expected: [['spec.hosts[0]', [80, 443], [9444]]],
      },
    ],
    [
      "cluster: exported only to team-b, whose own entry shadows it: team-b's sidecars never use it",
      { entry: example({ exportTo: ['team-b'] }), cluster: [other('web', [80, 443], 'team-b')], expected: [] },
    ],
    [
      'cluster: exported only to team-b, which has no entry of its own: judged for team-b',
      { entry: example({ exportTo: ['team-b'] }), cluster: [], expected: [['spec.hosts[0]', [80, 443], [9444]]] },
    ],
    ['cluster: exported nowhere', { entry: example({ exportTo: ['~'] }), cluster: [], expected: [] }],
    // Only entries with the virtual IP serve ports on it: a NONE entry's service is not merged with the
    // auto-allocated one (canMergeServices in sidecar.go compares resolutions; istio/istio#54988).
    [
      'cluster: a resolution NONE entry of the host declares 80 and 443',
      {
        entry: example(),
        cluster: [
          serviceEntry(exampleAuto, {
            metadata: { name: 'none' },
            spec: { resolution: 'NONE', ports: [port(80), port(443)] },
          }),
        ],
        expected: [['spec.hosts[0]', [80, 443], [9444]]],
      },
    ],
    [
      'cluster: an entry with spec.addresses declares 80 and 443',
      {
        entry: example(),
        cluster: [
          serviceEntry(exampleAuto, {
            metadata: { name: 'own-ip' },
            spec: { addresses: ['10.9.9.9'], ports: [port(80), port(443)] },
          }),
        ],
        expected: [['spec.hosts[0]', [80, 443], [9444]]],
      },
    ],
    [
      'cluster: an opted-out entry declares 80 and 443, istiod allocator',
      {
        entry: example(),
        cluster: [
          serviceEntry(exampleAuto, {
            metadata: { name: 'out', labels: { [OPT_OUT]: 'false' } },
            spec: { ports: [port(80), port(443)] },
          }),
        ],
        expected: [['spec.hosts[0]', [80, 443], [9444]]],
      },
    ],
    [
      'cluster: an opted-out entry declares 80 and 443, legacy allocator (shared address)',
      {
        entry: example(),
        settings: LEGACY,
        cluster: [
          serviceEntry(exampleAuto, {
            metadata: { name: 'out', labels: { [OPT_OUT]: 'false' } },
            spec: { ports: [port(80), port(443)] },
          }),
        ],
        expected: [],
      },
    ],
    [
      'cluster: the old version of this entry is replaced, not merged',
      {
        entry: example(),
        cluster: [other('external-auto', [80, 443])],
        expected: [['spec.hosts[0]', [80, 443], [9444]]],
      },
    ],
    [
      "cluster: a host another entry shares gets the union, a host it does not gets the entry's own",
      {
        entry: example({ hosts: ['example.com', 'api.example.com'] }),
        cluster: [other('web', [80])],
        expected: [
          ['spec.hosts[0]', [443], [80, 9444]],
          ['spec.hosts[1]', [80, 443], [9444]],
        ],
      },
    ],
    [
      'cluster index that lacks this entry (CREATE): its own ports still count',
      { entry: example(), settings: { expectedPorts: [9444] }, cluster: [], expected: [] },
    ],
  ])('%s', (_case, { entry, settings, cluster, expected }) => {
    // The index may or may not hold the entry under review (CREATE vs UPDATE); rows list what it holds.
    const view: ClusterView | undefined = cluster && fakeCluster(cluster);
    const findings = undeclaredPortsRule(entry, contextFor(entry, settings, view));
    expect(findings.map((finding) => [finding.path, finding.missingPorts, finding.declaredPorts])).toEqual(expected);
    for (const finding of findings) expect(finding).toMatchObject({ rule: 'undeclared-ports', severity: 'warn' });
  });

  it.each(['warn', 'deny'] as const)('uses severity %s from settings.undeclaredPortsAction', (action) => {
    const entry = example();
    expect(undeclaredPortsRule(entry, contextFor(entry, { undeclaredPortsAction: action }))).toEqual([
      {
        rule: 'undeclared-ports',
        severity: action,
        message: 'example.com: ports 80,443 undeclared (declared: 9444); declare them or set spec.addresses',
        path: 'spec.hosts[0]',
        host: 'example.com',
        fix: 'declare the ports in spec.ports, set spec.addresses, or label the ServiceEntry networking.istio.io/enable-autoallocate-ip: "false"',
        missingPorts: [80, 443],
        declaredPorts: [9444],
      },
    ]);
  });

  it('offers the opt-out label only where the allocator honours it', () => {
    const entry = example();
    const [finding] = undeclaredPortsRule(entry, contextFor(entry, LEGACY));
    expect(finding?.fix).toBe('declare the ports in spec.ports, or set spec.addresses');
  });

  it.each<[string, ServiceEntryView, Partial<RuleSettings>, boolean, string]>([
    [
      'one port missing',
      oss(),
      { expectedPorts: [80, 443, 9444] },
      false,
      'oss-cn-shanghai.aliyuncs.com: port 9444 undeclared (declared: 80,443); declare it or set spec.addresses',
    ],
    [
      'nothing declared',
      example({ ports: [] }),
      {},
      false,
      'example.com: ports 80,443 undeclared (declared: none); declare them or set spec.addresses',
    ],
    [
      'stale cluster view',
      example(),
      {},
      true,
      'example.com: ports 80,443 undeclared (declared: 9444); declare them or set spec.addresses (cluster view may be stale)',
    ],
  ])('message for %s is short and names host, ports and fix', (_case, entry, settings, stale, message) => {
    const [finding] = undeclaredPortsRule(entry, contextFor(entry, settings, fakeCluster([entry], stale)));
    expect(finding?.message).toBe(message);
    expect(message.length).toBeLessThan(120);
  });

  describe('malformed egress-guard.io/expected-ports annotation', () => {
    it.each([
      [
        'http',
        'egress-guard.io/expected-ports: "http" is not a port number (1-65535); expected a comma-separated list like "80,443"',
      ],
      [
        '80;443',
        'egress-guard.io/expected-ports: "80;443" is not a port number (1-65535); expected a comma-separated list like "80,443"',
      ],
      [
        '0',
        'egress-guard.io/expected-ports: "0" is not a port number (1-65535); expected a comma-separated list like "80,443"',
      ],
      [
        '443,70000',
        'egress-guard.io/expected-ports: "70000" is not a port number (1-65535); expected a comma-separated list like "80,443"',
      ],
      ['', 'egress-guard.io/expected-ports is empty; expected a comma-separated list like "80,443"'],
      [' , ', 'egress-guard.io/expected-ports is empty; expected a comma-separated list like "80,443"'],
    ])('%j: warns what is wrong and falls back to the setting', (annotation, message) => {
      const entry = oss({}, { annotations: { [EXPECTED]: annotation } });
      const findings = undeclaredPortsRule(
        entry,
        contextFor(entry, { expectedPorts: [80, 443, 8443], undeclaredPortsAction: 'deny' }),
      );
      expect(findings).toEqual([
        {
          rule: 'expected-ports-annotation',
          severity: 'warn',
          message,
          path: 'metadata.annotations["egress-guard.io/expected-ports"]',
        },
        expect.objectContaining({ rule: 'undeclared-ports', severity: 'deny', missingPorts: [8443] }),
      ]);
      expect(message.length).toBeLessThan(120);
    });

    it('is reported even when no host is auto-allocated', () => {
      const entry = oss({ resolution: 'NONE' }, { annotations: { [EXPECTED]: 'https' } });
      expect(undeclaredPortsRule(entry, contextFor(entry)).map((finding) => finding.rule)).toEqual([
        'expected-ports-annotation',
      ]);
    });
  });
});
