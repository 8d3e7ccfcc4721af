import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_SETTINGS,
  exampleAuto,
  ossDemo,
  ossOriginateTls,
  ossWildcard,
} from '../../test/fixtures/service-entries.js';
import {
  audit,
  collectSnapshot,
  ownerKey,
  podsToReport,
  restartHint,
  workloadOf,
  type AuditSource,
  type ClusterSnapshot,
  type OwnerReference,
} from './audit.js';

const DNS_CAPTURE = 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n  ISTIO_META_DNS_AUTO_ALLOCATE: "true"\n';

function pod(
  name: string,
  {
    namespace = 'shop',
    owner,
    labels,
    annotations,
    phase,
    deleting,
  }: {
    namespace?: string;
    owner?: OwnerReference;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    phase?: string;
    deleting?: boolean;
  } = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      uid: `uid-${name}`,
      ...(labels ? { labels } : {}),
      ...(annotations ? { annotations } : {}),
      ...(owner ? { ownerReferences: [owner] } : {}),
      ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: { containers: [{ name: 'app', image: 'app' }] },
    ...(phase ? { status: { phase } } : {}),
  };
}

const ref = (kind: string, name: string, apiVersion = 'apps/v1'): OwnerReference => ({
  apiVersion,
  kind,
  name,
  uid: `uid-${name}`,
  controller: true,
});

describe('workloadOf', () => {
  const owners = new Map<string, OwnerReference[]>([
    [ownerKey('ReplicaSet', 'shop', 'web-1'), [ref('Deployment', 'web')]],
    [ownerKey('Job', 'shop', 'report-1'), [ref('CronJob', 'report', 'batch/v1')]],
    [ownerKey('ReplicaSet', 'shop', 'odd'), [{ apiVersion: 'example.com/v1', kind: 'Rollout', name: 'r' }]],
  ]);
  it.each([
    [
      'a ReplicaSet owned by a Deployment',
      pod('a', { owner: ref('ReplicaSet', 'web-1') }),
      'apps/v1 Deployment shop/web uid-web',
    ],
    [
      'a Job owned by a CronJob',
      pod('a', { owner: ref('Job', 'report-1', 'batch/v1') }),
      'batch/v1 CronJob shop/report uid-report',
    ],
    [
      'a ReplicaSet without a Deployment (or no longer there)',
      pod('a', { owner: ref('ReplicaSet', 'gone') }),
      'apps/v1 ReplicaSet shop/gone uid-gone',
    ],
    [
      'a ReplicaSet owned by something other than a Deployment',
      pod('a', { owner: ref('ReplicaSet', 'odd') }),
      'apps/v1 ReplicaSet shop/odd uid-odd',
    ],
    ['a StatefulSet', pod('a', { owner: ref('StatefulSet', 'db') }), 'apps/v1 StatefulSet shop/db uid-db'],
    ['a bare pod', pod('a'), 'v1 Pod shop/a uid-a'],
  ])('%s', (_, subject, expected) => {
    const { apiVersion, kind, namespace, name, uid } = workloadOf(subject, owners);
    expect(`${apiVersion} ${kind} ${namespace}/${name} ${uid}`).toBe(expected);
  });

  it('prefers the controller among several owners', () => {
    const subject = {
      metadata: {
        namespace: 'shop',
        name: 'a',
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Thing', name: 't' },
          { ...ref('DaemonSet', 'agent'), controller: true },
        ],
      },
    };
    expect(workloadOf(subject, new Map()).kind).toBe('DaemonSet');
  });
});

describe('restartHint', () => {
  const workload = (kind: string, name = 'web') => ({ apiVersion: 'apps/v1', kind, namespace: 'shop', name });
  it.each([
    ['Deployment', 'restart: kubectl rollout restart deployment/web -n shop'],
    ['StatefulSet', 'restart: kubectl rollout restart statefulset/web -n shop'],
    ['DaemonSet', 'restart: kubectl rollout restart daemonset/web -n shop'],
    ['CronJob', 'its next Jobs get it; running Jobs finish without it'],
    ['Job', 're-create the Job to apply it'],
    ['Pod', 're-create the pod: kubectl delete pod web -n shop, then create it again'],
    ['ReplicaSet', 'delete the pods for the ReplicaSet to re-create them: kubectl delete pod -n shop p1 p2'],
  ])('%s', (kind, hint) => {
    expect(restartHint(workload(kind), ['p1', 'p2'])).toBe(hint);
  });

  it('lists at most five pods', () => {
    expect(restartHint(workload('Rollout'), ['a', 'b', 'c', 'd', 'e', 'f', 'g'])).toBe(
      'delete the pods for the Rollout to re-create them: kubectl delete pod -n shop a b c d e (+2 more)',
    );
  });
});

describe('podsToReport', () => {
  it.each([
    ['a pod created without the webhook', pod('a'), 'patched'],
    ['a pod the webhook configured', pod('a', { annotations: { 'proxy.istio.io/config': DNS_CAPTURE } }), undefined],
    ['an opted-out pod', pod('a', { labels: { 'egress-guard.io/dns-capture': 'disabled' } }), undefined],
    ['a pod without a sidecar', pod('a', { annotations: { 'sidecar.istio.io/inject': 'false' } }), undefined],
    [
      'a pod with an annotation the webhook cannot edit',
      pod('a', { annotations: { 'proxy.istio.io/config': 'proxyMetadata: [1]' } }),
      'invalid-annotation',
    ],
    ['a finished pod', pod('a', { phase: 'Succeeded' }), undefined],
    ['a failed pod', pod('a', { phase: 'Failed' }), undefined],
    ['a running pod', pod('a', { phase: 'Running' }), 'patched'],
    ['a terminating pod', pod('a', { deleting: true }), undefined],
    [
      'a terminating pod as client-node types it (a Date)',
      { ...pod('a'), metadata: { ...pod('a').metadata, deletionTimestamp: new Date() } },
      undefined,
    ],
  ])('%s', (_, subject, outcome) => {
    expect(podsToReport([subject], 'agent').map(({ plan }) => plan.outcome)).toEqual(outcome ? [outcome] : []);
  });

  it('judges by the configured mode: controller mode wants only DNS capture', () => {
    const captureOnly = pod('a', {
      annotations: { 'proxy.istio.io/config': 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n' },
    });
    expect(podsToReport([captureOnly], 'controller')).toEqual([]);
    expect(podsToReport([captureOnly], 'agent')).toHaveLength(1);
  });
});

describe('audit', () => {
  const snapshot = (changes: Partial<ClusterSnapshot> = {}): ClusterSnapshot => ({
    serviceEntries: [ossDemo, { ...ossWildcard, spec: { ...ossWildcard.spec, resolution: 'DNS' } }, exampleAuto],
    destinationRules: [ossOriginateTls],
    optedInNamespaces: ['shop'],
    pods: [],
    owners: new Map(),
    ...changes,
  });

  it('judges every ServiceEntry against the whole cluster and passes the clean ones', () => {
    const report = audit(snapshot(), { settings: DEFAULT_SETTINGS, mode: 'agent' });
    expect(
      report.findings.map(
        ({ object, rule, severity }) => `${object.kind} ${object.namespace}/${object.name} ${rule} ${severity}`,
      ),
    ).toEqual([
      'ServiceEntry default/external-auto undeclared-ports warn',
      'ServiceEntry external/wildcard wildcard-dns deny',
      'ServiceEntry external/wildcard wildcard-dns deny',
    ]);
    expect(report.passed).toEqual([
      { apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntry', namespace: 'external', name: 'demo' },
    ]);
    expect(report.objectsChecked).toBe(4);
  });

  it('respects exportTo in the cluster: a DestinationRule exported only to its namespace does not cover another', () => {
    const elsewhere = { ...ossDemo, metadata: { name: 'oss', namespace: 'shop' } };
    const rule = { ...ossOriginateTls, spec: { ...ossOriginateTls.spec, exportTo: ['.'] } };
    const report = audit(snapshot({ serviceEntries: [ossDemo, elsewhere], destinationRules: [rule] }), {
      settings: DEFAULT_SETTINGS,
      mode: 'agent',
    });
    expect(report.findings.map(({ object, rule: id }) => `${object.namespace}/${object.name} ${id}`)).toEqual([
      'shop/oss http-to-tls-port',
    ]);
  });

  it('groups pods to restart by workload, sorted, with counts and hints', () => {
    const pods = [
      pod('web-1-b', { owner: ref('ReplicaSet', 'web-1') }),
      pod('web-1-a', { owner: ref('ReplicaSet', 'web-1') }),
      pod('web-1-c', { owner: ref('ReplicaSet', 'web-1'), annotations: { 'proxy.istio.io/config': DNS_CAPTURE } }),
      pod('web-0-a', { owner: ref('ReplicaSet', 'web-0') }),
      pod('solo'),
      pod('odd', { annotations: { 'proxy.istio.io/config': '[1, 2]' } }),
      pod('api-a', { namespace: 'api', owner: ref('StatefulSet', 'api') }),
    ];
    const owners = new Map([
      [ownerKey('ReplicaSet', 'shop', 'web-1'), [ref('Deployment', 'web')]],
      [ownerKey('ReplicaSet', 'shop', 'web-0'), [ref('Deployment', 'web')]],
    ]);
    const report = audit(snapshot({ serviceEntries: [], destinationRules: [], pods, owners }), {
      settings: DEFAULT_SETTINGS,
      mode: 'agent',
    });
    expect(
      report.findings.map(
        ({ object, rule, severity, message }) =>
          `${object.kind} ${object.namespace}/${object.name} [${rule}] ${severity}: ${message}`,
      ),
    ).toEqual([
      'StatefulSet api/api [missing-dns-capture] warn: 1 pod without DNS capture (restart: kubectl rollout restart statefulset/api -n api)',
      'Deployment shop/web [missing-dns-capture] warn: 3 pods without DNS capture (restart: kubectl rollout restart deployment/web -n shop)',
      expect.stringMatching(
        /^Pod shop\/odd \[uneditable-proxy-config\] warn: 1 pod without DNS capture that a restart will not fix: proxy\.istio\.io\/config /,
      ),
      'Pod shop/solo [missing-dns-capture] warn: 1 pod without DNS capture (re-create the pod: kubectl delete pod solo -n shop, then create it again)',
    ]);
    expect(report.findings[1]?.object).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'shop',
      name: 'web',
      uid: 'uid-web',
    });
    expect(report.objectsChecked).toBe(pods.length);
  });
});

describe('collectSnapshot', () => {
  function fakeSource(pods: Record<string, unknown[]>, owners: Record<string, OwnerReference[]>) {
    const calls: string[] = [];
    const source: AuditSource = {
      listServiceEntries: async () => [ossDemo],
      listDestinationRules: async () => [ossOriginateTls],
      listOptedInNamespaces: async () => ['shop', 'kube-system', 'egress-guard', 'api'],
      listPods: async (namespace) => {
        calls.push(`pods ${namespace}`);
        return pods[namespace] ?? [];
      },
      ownerReferencesOf: async (kind, namespace, name) => {
        calls.push(`owner ${kind} ${namespace}/${name}`);
        return owners[`${namespace}/${name}`];
      },
    };
    return { source, calls };
  }

  it('lists pods only in namespaces the webhook serves, and reads only the owners of pods to report, once each', async () => {
    const { source, calls } = fakeSource(
      {
        shop: [
          pod('a', { owner: ref('ReplicaSet', 'web-1') }),
          pod('b', { owner: ref('ReplicaSet', 'web-1') }),
          pod('c', { owner: ref('ReplicaSet', 'ok-1'), annotations: { 'proxy.istio.io/config': DNS_CAPTURE } }),
          pod('d', { owner: ref('Job', 'gone-1', 'batch/v1') }),
          pod('e', { owner: ref('StatefulSet', 'db') }),
        ],
      },
      { 'shop/web-1': [ref('Deployment', 'web')] },
    );
    const snapshot = await collectSnapshot(source, 'agent');
    expect(calls).toEqual(['pods api', 'pods shop', 'owner ReplicaSet shop/web-1', 'owner Job shop/gone-1']);
    expect(snapshot.optedInNamespaces).toEqual(['api', 'shop']);
    expect([...snapshot.owners.keys()]).toEqual(['ReplicaSet/shop/web-1']);
    expect(snapshot.pods).toHaveLength(5);
  });

  it('reads owners a few at a time', async () => {
    let inFlight = 0;
    let most = 0;
    const pods = Array.from({ length: 30 }, (_, index) =>
      pod(`p${index}`, { owner: ref('ReplicaSet', `rs-${index}`) }),
    );
    const source: AuditSource = {
      listServiceEntries: async () => [],
      listDestinationRules: async () => [],
      listOptedInNamespaces: async () => ['shop'],
      listPods: async () => pods,
      ownerReferencesOf: async (_kind, _namespace, name) => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight--;
        return [ref('Deployment', name.replace('rs-', 'deploy-'))];
      },
    };
    const snapshot = await collectSnapshot(source, 'agent');
    expect(most).toBe(8);
    expect(snapshot.owners.size).toBe(30);
    expect(snapshot.owners.get(ownerKey('ReplicaSet', 'shop', 'rs-29'))).toEqual([ref('Deployment', 'deploy-29')]);
  });
});
