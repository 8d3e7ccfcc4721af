import { describe, expect, it } from '@jest/globals';
import type { AdmissionRequest } from '../admission/types.js';
import { toServiceEntryView, type ServiceEntryView } from '../istio/service-entry.js';
import { evaluateServiceEntry } from '../rules/index.js';
import type { ClusterView } from '../rules/types.js';
import { ossServiceEntry, serviceEntryReview } from '../../test/fixtures/reviews.js';
import {
  destinationRule,
  exampleAuto,
  fakeCluster,
  ossDemo,
  ossWildcard,
  serviceEntry,
  DEFAULT_SETTINGS,
} from '../../test/fixtures/service-entries.js';
import { answeringOnce, serviceEntryValidator } from './validate-serviceentries.js';

/** Wraps a view and counts the questions it is asked, by kind/host/namespace. */
function counting(view: ClusterView): { view: ClusterView; asked: Map<string, number> } {
  const asked = new Map<string, number>();
  const count = (key: string) => asked.set(key, (asked.get(key) ?? 0) + 1);
  return {
    asked,
    view: {
      stale: view.stale,
      scope: view.scope,
      serviceEntriesForHost: (host, namespace) => (
        count(`se ${host} ${namespace}`),
        view.serviceEntriesForHost(host, namespace)
      ),
      destinationRulesForHost: (host, namespace) => (
        count(`dr ${host} ${namespace}`),
        view.destinationRulesForHost(host, namespace)
      ),
    },
  };
}

const others: ServiceEntryView[] = [
  serviceEntry(ossDemo, {
    metadata: { name: 'other' },
    spec: { ports: [{ name: 'https', number: 443, protocol: 'TLS' }] },
  }),
  serviceEntry(ossDemo, {
    metadata: { name: 'third', namespace: 'elsewhere' },
    spec: { ports: [{ name: 'tcp', number: 9444, protocol: 'TCP' }] },
  }),
  serviceEntry(exampleAuto),
  serviceEntry(exampleAuto, {
    metadata: { name: 'http-proxy' },
    spec: { ports: [{ name: 'http', number: 9444, protocol: 'HTTP' }] },
  }),
];
const rules = [
  destinationRule(),
  destinationRule({ metadata: { name: 'everything' }, spec: { host: '*.aliyuncs.com' } }),
];
const entries = [
  serviceEntry(ossDemo),
  serviceEntry(ossDemo, {
    spec: { hosts: ['oss-cn-shanghai.aliyuncs.com', 'OSS-cn-shanghai.aliyuncs.com.', 'example.com'] },
  }),
  serviceEntry(ossWildcard, { spec: { resolution: 'DNS' } }),
  serviceEntry(exampleAuto, { metadata: { name: 'again' } }),
  toServiceEntryView(ossServiceEntry('DNS')),
];

describe('answeringOnce', () => {
  const found: string[] = [];
  it.each(
    entries.map(
      (entry) => [`${entry.namespace}/${entry.name} ${entry.hosts.map(({ host }) => host).join(',')}`, entry] as const,
    ),
  )('leaves every finding as the plain view gives it (%s)', (_name, entry) => {
    for (const stale of [false, true]) {
      const cluster = fakeCluster([...others, entry], stale, { rules });
      const plain = evaluateServiceEntry(entry, { settings: DEFAULT_SETTINGS, cluster });
      expect(evaluateServiceEntry(entry, { settings: DEFAULT_SETTINGS, cluster: answeringOnce(cluster) })).toEqual(
        plain,
      );
      found.push(...plain.map((finding) => finding.rule));
    }
  });

  it('was compared on entries the cross-object rules have something to say about', () => {
    expect(new Set(found)).toEqual(
      new Set(['wildcard-dns', 'undeclared-ports', 'duplicate-host', 'conflicting-protocols', 'http-to-tls-port']),
    );
  });

  it('asks the underlying view each question at most once per review, whatever the rules ask', () => {
    const entry = entries[1] as ServiceEntryView;
    const { view, asked } = counting(fakeCluster([...others, entry], false, { rules }));
    const memo = answeringOnce(view);
    evaluateServiceEntry(entry, { settings: DEFAULT_SETTINGS, cluster: memo });
    expect(asked.size).toBeGreaterThan(0);
    expect([...asked.values()].every((times) => times === 1)).toBe(true);
    // Without and with a namespace are different questions (a rule visible from nowhere vs from one namespace).
    expect(memo.destinationRulesForHost('oss-cn-shanghai.aliyuncs.com')).toEqual(
      view.destinationRulesForHost('oss-cn-shanghai.aliyuncs.com'),
    );
    expect(memo.serviceEntriesForHost('example.com', 'elsewhere')).toEqual(
      view.serviceEntriesForHost('example.com', 'elsewhere'),
    );
    expect(memo.stale).toBe(false);
    expect(memo.scope).toBe('cluster');
  });

  it('is built afresh for each review, so a changed cluster is seen by the next one', () => {
    const stored: ServiceEntryView[] = [];
    const validator = serviceEntryValidator(DEFAULT_SETTINGS, () => fakeCluster(stored));
    const request = serviceEntryReview(ossDemo).request as unknown as AdmissionRequest;
    const before = validator.review(request);
    stored.push(
      serviceEntry(ossDemo, {
        metadata: { name: 'other' },
        spec: { ports: [{ name: 'tcp', number: 9444, protocol: 'TCP' }] },
      }),
    );
    const after = validator.review(request);
    expect(after.rules).not.toEqual(before.rules);
  });
});
