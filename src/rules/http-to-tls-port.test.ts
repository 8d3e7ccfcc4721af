import { describe, expect, it } from '@jest/globals';
import {
  contextFor,
  destinationRule,
  fakeCluster,
  ossDemo,
  serviceEntry,
} from '../../test/fixtures/service-entries.js';
import type { DestinationRuleView } from '../istio/destination-rule.js';
import type { ServiceEntryView } from '../istio/service-entry.js';
import { httpToTlsPortRule } from './http-to-tls-port.js';
import type { ClusterScope } from './types.js';

/** Seed 000's entry: 80 HTTP targetPort 443, 443 TLS, in namespace external. */
const oss = (spec: Record<string, unknown> = {}) => serviceEntry(ossDemo, { spec });
/** Seed 000's DestinationRule (port 80 tls SIMPLE, namespace external) with changes. */
const rule = destinationRule;
const withPolicy = (trafficPolicy: unknown, metadata: Record<string, unknown> = {}) =>
  rule({ spec: { trafficPolicy }, metadata });
const port80 = (protocol: string, targetPort?: number) => [
  { number: 80, name: 'http', protocol, ...(targetPort ? { targetPort } : {}) },
];

interface Row {
  entry?: ServiceEntryView;
  rules: DestinationRuleView[];
  scope?: ClusterScope;
  /** [path, host, port] per finding. */
  expected: [string, string, number][];
}

const SEED_FINDING: [string, string, number] = ['spec.ports[0]', 'oss-cn-shanghai.aliyuncs.com', 80];

describe('http-to-tls-port', () => {
  it.each<[string, Row]>([
    ['seed: the DestinationRule originates TLS on port 80', { rules: [rule()], expected: [] }],
    ['seed without its DestinationRule', { rules: [], expected: [SEED_FINDING] }],
    ['object scope: absence cannot be known', { rules: [], scope: 'object', expected: [] }],
    ['input scope without any DestinationRule', { rules: [], scope: 'input', expected: [SEED_FINDING] }],
    ['destination-level SIMPLE covers every port', { rules: [withPolicy({ tls: { mode: 'SIMPLE' } })], expected: [] }],
    [
      'destination-level MUTUAL (client certificate)',
      { rules: [withPolicy({ tls: { mode: 'MUTUAL' } })], expected: [] },
    ],
    [
      'ISTIO_MUTUAL is mesh mTLS, not origination',
      { rules: [withPolicy({ tls: { mode: 'ISTIO_MUTUAL' } })], expected: [SEED_FINDING] },
    ],
    ['DISABLE', { rules: [withPolicy({ tls: { mode: 'DISABLE' } })], expected: [SEED_FINDING] }],
    [
      'SIMPLE on the target port 443 only',
      {
        rules: [withPolicy({ portLevelSettings: [{ port: { number: 443 }, tls: { mode: 'SIMPLE' } }] })],
        expected: [SEED_FINDING],
      },
    ],
    [
      'a port-level entry for 80 without tls replaces destination-level SIMPLE',
      {
        rules: [
          withPolicy({
            tls: { mode: 'SIMPLE' },
            portLevelSettings: [{ port: { number: 80 }, connectionPool: { tcp: { maxConnections: 10 } } }],
          }),
        ],
        expected: [SEED_FINDING],
      },
    ],
    [
      'only a subset originates TLS',
      {
        rules: [
          rule({
            spec: { trafficPolicy: undefined, subsets: [{ name: 'tls', trafficPolicy: { tls: { mode: 'SIMPLE' } } }] },
          }),
        ],
        expected: [SEED_FINDING],
      },
    ],
    [
      'a DestinationRule for another host',
      { rules: [rule({ spec: { host: 'oss-cn-beijing.aliyuncs.com' } })], expected: [SEED_FINDING] },
    ],
    [
      'a wildcard DestinationRule covering the host',
      { rules: [rule({ spec: { host: '*.aliyuncs.com' } })], expected: [] },
    ],
    [
      'two rules, one originating',
      { rules: [withPolicy({ tls: { mode: 'DISABLE' } }, { name: 'plain' }), rule()], expected: [] },
    ],
    [
      'the rule lives in another namespace, exported everywhere',
      { rules: [rule({ metadata: { namespace: 'istio-system' } })], expected: [] },
    ],
    [
      'the rule is exported only to its own other namespace',
      { rules: [rule({ metadata: { namespace: 'shop' }, spec: { exportTo: ['.'] } })], expected: [SEED_FINDING] },
    ],
    [
      'input scope: any rule in the files counts, whatever its namespace',
      { rules: [rule({ metadata: { namespace: 'shop' }, spec: { exportTo: ['.'] } })], scope: 'input', expected: [] },
    ],
    ['port 80 TCP to 443 is not plain HTTP', { entry: oss({ ports: port80('TCP', 443) }), rules: [], expected: [] }],
    [
      'port 80 HTTP to 8080 is not a TLS port',
      { entry: oss({ ports: port80('HTTP', 8080) }), rules: [], expected: [] },
    ],
    ['port 80 HTTP without targetPort', { entry: oss({ ports: port80('HTTP') }), rules: [], expected: [] }],
    ['port 80 HTTP2 to 443', { entry: oss({ ports: port80('HTTP2', 443) }), rules: [], expected: [SEED_FINDING] }],
    [
      'protocol unset (detected at runtime) is not reported',
      { entry: oss({ ports: port80('', 443) }), rules: [], expected: [] },
    ],
    [
      'HTTP declared on 443 itself',
      {
        entry: oss({ ports: [{ number: 443, name: 'http', protocol: 'HTTP' }] }),
        rules: [rule()],
        expected: [['spec.ports[0]', 'oss-cn-shanghai.aliyuncs.com', 443]],
      },
    ],
    [
      'two hosts, a DestinationRule for one',
      {
        entry: oss({
          hosts: ['oss-cn-shanghai.aliyuncs.com', 'oss-cn-beijing.aliyuncs.com', 'OSS-CN-BEIJING.aliyuncs.com'],
        }),
        rules: [rule()],
        expected: [['spec.ports[0]', 'oss-cn-beijing.aliyuncs.com', 80]],
      },
    ],
  ])('%s', (_case, { entry = oss(), rules, scope = 'cluster', expected }) => {
    const cluster = fakeCluster([entry], false, { rules, scope });
    const findings = httpToTlsPortRule(entry, contextFor(entry, {}, cluster));
    expect(findings.map((finding) => [finding.path, finding.host, finding.ports?.[0]])).toEqual(expected);
    for (const finding of findings) expect(finding).toMatchObject({ rule: 'http-to-tls-port', severity: 'warn' });
  });

  it('is silent with the object-at-hand view', () => {
    expect(httpToTlsPortRule(oss(), contextFor(oss()))).toEqual([]);
  });

  it.each(['warn', 'deny'] as const)('uses severity %s from settings.undeclaredPortsAction', (action) => {
    const entry = oss();
    expect(
      httpToTlsPortRule(entry, contextFor(entry, { undeclaredPortsAction: action }, fakeCluster([entry]))),
    ).toEqual([
      {
        rule: 'http-to-tls-port',
        severity: action,
        message:
          'oss-cn-shanghai.aliyuncs.com:80 sends plain HTTP to port 443; no DestinationRule sets tls.mode SIMPLE',
        path: 'spec.ports[0]',
        host: 'oss-cn-shanghai.aliyuncs.com',
        ports: [80],
      },
    ]);
  });

  it.each<[string, string, boolean, string]>([
    [
      'a short host in a stale view',
      'example.com',
      true,
      'example.com:80 sends plain HTTP to port 443; no DestinationRule sets tls.mode SIMPLE (cluster view may be stale)',
    ],
    [
      'the seed host in a stale view',
      'oss-cn-shanghai.aliyuncs.com',
      true,
      'oss-cn-shanghai.aliyuncs.com:80 sends plain HTTP to 443: no DestinationRule originates TLS (cluster view may be stale)',
    ],
  ])('message for %s is short and names host, port and fix', (_case, host, stale, message) => {
    const entry = oss({ hosts: [host] });
    const [finding] = httpToTlsPortRule(entry, contextFor(entry, {}, fakeCluster([entry], stale)));
    expect(finding?.message).toBe(message);
    expect(message.length).toBeLessThan(120);
  });
});
