import { describe, expect, it } from '@jest/globals';
import { contextFor, fakeCluster, ossDemo, serviceEntry } from '../../test/fixtures/service-entries.js';
import type { ServiceEntryView } from '../istio/service-entry.js';
import { conflictingProtocolsRule } from './conflicting-protocols.js';

/** Seed 000's entry: oss-cn-shanghai.aliyuncs.com, 80 HTTP (targetPort 443) and 443 TLS, in namespace external. */
const oss = (spec: Record<string, unknown> = {}) => serviceEntry(ossDemo, { spec });

/** Another ServiceEntry for the seed's host with the given [port, protocol] pairs. */
const other = (namespace: string, name: string, ports: [number, string?][], spec: Record<string, unknown> = {}) =>
  serviceEntry(ossDemo, {
    metadata: { namespace, name },
    spec: {
      ports: ports.map(([number, protocol]) => ({ number, name: `p${number}`, ...(protocol ? { protocol } : {}) })),
      ...spec,
    },
  });

interface Row {
  entry: ServiceEntryView;
  /** What the cluster holds besides the entry; omitted means the object-at-hand view. */
  cluster?: ServiceEntryView[];
  /** [path, others, protocols] per finding. */
  expected: [string, string[], string[]][];
}

describe('conflicting-protocols', () => {
  it.each<[string, Row]>([
    ['seed oss entry alone', { entry: oss(), cluster: [], expected: [] }],
    ['object at hand: nothing else is known', { entry: oss(), expected: [] }],
    [
      'another entry declares 443 as HTTP',
      {
        entry: oss(),
        cluster: [other('shop', 'oss-http', [[443, 'HTTP']])],
        expected: [['spec.ports[1]', ['shop/oss-http'], ['TLS', 'HTTP']]],
      },
    ],
    [
      'another entry declares 80 as TCP',
      {
        entry: oss(),
        cluster: [other('shop', 'oss-tcp', [[80, 'TCP']])],
        expected: [['spec.ports[0]', ['shop/oss-tcp'], ['HTTP', 'TCP']]],
      },
    ],
    [
      'the same protocols on the same ports',
      {
        entry: oss(),
        cluster: [
          other('shop', 'copy', [
            [80, 'HTTP'],
            [443, 'TLS'],
          ]),
        ],
        expected: [],
      },
    ],
    [
      'HTTPS and TLS are handled alike',
      { entry: oss(), cluster: [other('shop', 'oss-https', [[443, 'HTTPS']])], expected: [] },
    ],
    [
      'GRPC and HTTP2 are handled alike',
      {
        entry: oss({ ports: [{ number: 8443, name: 'grpc', protocol: 'GRPC' }] }),
        cluster: [other('shop', 'h2', [[8443, 'HTTP2']])],
        expected: [],
      },
    ],
    [
      'HTTP and HTTP2 differ',
      {
        entry: oss(),
        cluster: [other('shop', 'h2', [[80, 'HTTP2']])],
        expected: [['spec.ports[0]', ['shop/h2'], ['HTTP', 'HTTP2']]],
      },
    ],
    [
      'protocols compare case-insensitively',
      { entry: oss(), cluster: [other('shop', 'lower', [[443, 'tls']])], expected: [] },
    ],
    ["the other's protocol is unset", { entry: oss(), cluster: [other('shop', 'unset', [[443]])], expected: [] }],
    [
      "this entry's protocol is unset",
      {
        entry: oss({ ports: [{ number: 443, name: 'https' }] }),
        cluster: [other('shop', 'tcp', [[443, 'TCP']])],
        expected: [],
      },
    ],
    [
      'different port numbers never conflict',
      { entry: oss(), cluster: [other('shop', 'tcp', [[8443, 'TCP']])], expected: [] },
    ],
    [
      'the other entry is exported only to its own namespace',
      { entry: oss(), cluster: [other('shop', 'oss-http', [[443, 'HTTP']], { exportTo: ['.'] })], expected: [] },
    ],
    [
      'the other entry is exported to this namespace',
      {
        entry: oss(),
        cluster: [other('shop', 'oss-http', [[443, 'HTTP']], { exportTo: ['external'] })],
        expected: [['spec.ports[1]', ['shop/oss-http'], ['TLS', 'HTTP']]],
      },
    ],
    [
      'the other entry declares another host',
      {
        entry: oss(),
        cluster: [other('shop', 'api', [[443, 'HTTP']], { hosts: ['oss-cn-beijing.aliyuncs.com'] })],
        expected: [],
      },
    ],
    [
      'the stored old version of this entry is not a conflict',
      { entry: oss(), cluster: [other('external', 'demo', [[443, 'HTTP']])], expected: [] },
    ],
    [
      'conflicts need no auto-allocation: resolution NONE with spec.addresses',
      {
        entry: oss({ resolution: 'NONE', addresses: ['240.0.0.10'] }),
        cluster: [other('shop', 'oss-http', [[443, 'HTTP']], { resolution: 'NONE' })],
        expected: [['spec.ports[1]', ['shop/oss-http'], ['TLS', 'HTTP']]],
      },
    ],
    [
      'several others with several protocols, sorted',
      {
        entry: oss(),
        cluster: [
          other('shop', 'tcp', [[443, 'TCP']]),
          other('billing', 'http', [[443, 'HTTP']]),
          other('audit', 'tcp', [[443, 'TCP']]),
        ],
        expected: [['spec.ports[1]', ['audit/tcp', 'billing/http', 'shop/tcp'], ['TLS', 'HTTP', 'TCP']]],
      },
    ],
    [
      'wildcard hosts are compared like any other host',
      {
        entry: oss({ hosts: ['*.aliyuncs.com'], resolution: 'NONE' }),
        cluster: [other('shop', 'wild', [[443, 'HTTP']], { hosts: ['*.aliyuncs.com'] })],
        expected: [['spec.ports[1]', ['shop/wild'], ['TLS', 'HTTP']]],
      },
    ],
    [
      'each conflicting host is reported',
      {
        entry: oss({ hosts: ['oss-cn-shanghai.aliyuncs.com', 'oss-cn-beijing.aliyuncs.com'] }),
        cluster: [
          other('shop', 'both', [[443, 'HTTP']], {
            hosts: ['oss-cn-beijing.aliyuncs.com', 'oss-cn-shanghai.aliyuncs.com'],
          }),
        ],
        expected: [
          ['spec.ports[1]', ['shop/both'], ['TLS', 'HTTP']],
          ['spec.ports[1]', ['shop/both'], ['TLS', 'HTTP']],
        ],
      },
    ],
  ])('%s', (_case, { entry, cluster, expected }) => {
    const findings = conflictingProtocolsRule(
      entry,
      contextFor(entry, {}, cluster && fakeCluster([entry, ...cluster])),
    );
    expect(findings.map((finding) => [finding.path, finding.others, finding.protocols])).toEqual(expected);
    for (const finding of findings) expect(finding).toMatchObject({ rule: 'conflicting-protocols', severity: 'warn' });
  });

  it.each(['warn', 'deny'] as const)('uses severity %s from settings.undeclaredPortsAction', (action) => {
    const entry = oss();
    const findings = conflictingProtocolsRule(
      entry,
      contextFor(entry, { undeclaredPortsAction: action }, fakeCluster([other('shop', 'oss-http', [[443, 'HTTP']])])),
    );
    expect(findings).toEqual([
      {
        rule: 'conflicting-protocols',
        severity: action,
        message: 'oss-cn-shanghai.aliyuncs.com:443 is TLS here but HTTP in shop/oss-http; Istio applies only one',
        path: 'spec.ports[1]',
        host: 'oss-cn-shanghai.aliyuncs.com',
        others: ['shop/oss-http'],
        ports: [443],
        protocols: ['TLS', 'HTTP'],
      },
    ]);
  });

  it.each<[string, ServiceEntryView[], boolean, string]>([
    [
      'two protocols',
      [other('shop', 'tcp', [[443, 'TCP']]), other('billing', 'http', [[443, 'HTTP']])],
      false,
      'oss-cn-shanghai.aliyuncs.com:443 is TLS here but HTTP in billing/http and TCP in shop/tcp; Istio applies only one',
    ],
    [
      'long names: detail gives way',
      [
        other('payments', 'oss-cn-shanghai-legacy-http', [[443, 'HTTP']]),
        other('payments', 'oss-cn-shanghai-legacy-tcp', [[443, 'TCP']]),
      ],
      false,
      'oss-cn-shanghai.aliyuncs.com:443 is TLS here but HTTP, TCP in 2 other ServiceEntries',
    ],
    [
      'stale cluster view',
      [other('shop', 'h', [[443, 'HTTP']])],
      true,
      'oss-cn-shanghai.aliyuncs.com:443 is TLS here but HTTP in shop/h; Istio applies only one (cluster view may be stale)',
    ],
  ])('message for %s is short and names port, protocols and entries', (_case, others, stale, message) => {
    const entry = oss();
    const [finding] = conflictingProtocolsRule(entry, contextFor(entry, {}, fakeCluster(others, stale)));
    expect(finding?.message).toBe(message);
    expect(message.length).toBeLessThan(120);
  });
});
