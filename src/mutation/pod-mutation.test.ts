import { describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { parse } from 'yaml';
import {
  jsonPointerSegment,
  OPT_OUT_LABEL,
  planPodMutation,
  PROXY_CONFIG_ANNOTATION,
  wantedProxyMetadata,
  type PodMutationPlan,
} from './pod-mutation.js';
import { mergeProxyMetadata } from './proxy-config.js';

const { applyPatch } = fastJsonPatch;

const AGENT_YAML = 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n  ISTIO_META_DNS_AUTO_ALLOCATE: "true"\n';
const CONTROLLER_YAML = 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n';

interface PodOptions {
  labels?: Record<string, string>;
  /** Added to the pod template's usual annotations; `null` and `'absent'` shape the map itself. */
  annotations?: Record<string, string> | null | 'absent';
  hostNetwork?: boolean;
}

/** A pod as the API server sends it on CREATE when a ReplicaSet makes it: no name yet, only generateName. */
function replicaSetPod({ labels = {}, annotations = {}, hostNetwork }: PodOptions = {}): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    generateName: 'web-7d4b9c-',
    namespace: 'shop',
    labels: { app: 'web', 'pod-template-hash': '7d4b9c', ...labels },
    ownerReferences: [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'web-7d4b9c',
        uid: '5f0c7a8e-3b1d-4c2e-9f6a-1d2e3f4a5b6c',
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
  if (annotations === null) metadata['annotations'] = null;
  else if (annotations !== 'absent')
    metadata['annotations'] = { 'kubectl.kubernetes.io/default-container': 'web', ...annotations };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: {
      ...(hostNetwork === undefined ? {} : { hostNetwork }),
      serviceAccountName: 'web',
      containers: [
        {
          name: 'web',
          image: 'registry.example.com/shop/web:1.42.0',
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          env: [
            { name: 'PAYMENTS_URL', value: 'https://api.payments.example.com' },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          ],
          readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
          volumeMounts: [{ name: 'config', mountPath: '/etc/web', readOnly: true }],
        },
      ],
      volumes: [{ name: 'config', configMap: { name: 'web-config' } }],
    },
  };
}

function patched(plan: PodMutationPlan): Extract<PodMutationPlan, { outcome: 'patched' }> {
  if (plan.outcome !== 'patched') throw new Error(`expected a patch, got ${JSON.stringify(plan)}`);
  return plan;
}

/** Applies the patch the way the API server does (validated, to a copy) and returns the proxy config text. */
function applied(pod: unknown, patch: Operation[]): { pod: Record<string, unknown>; config: string } {
  const result = applyPatch(structuredClone(pod), patch, true, false).newDocument as {
    metadata: { annotations: Record<string, string> };
  };
  const config = result.metadata.annotations[PROXY_CONFIG_ANNOTATION];
  if (config === undefined) throw new Error('patch did not write the annotation');
  return { pod: result as unknown as Record<string, unknown>, config };
}

function expectShortWarnings(plan: PodMutationPlan): void {
  for (const warning of plan.warnings) {
    expect(warning.length).toBeLessThan(120);
    expect(warning).not.toMatch(/^Warning:/);
    expect(warning).not.toMatch(/[\u0000-\u001f]/);
  }
}

describe('wantedProxyMetadata', () => {
  it('agent mode asks the sidecar agent to capture DNS and to allocate addresses', () => {
    expect(wantedProxyMetadata('agent')).toEqual({
      ISTIO_META_DNS_CAPTURE: 'true',
      ISTIO_META_DNS_AUTO_ALLOCATE: 'true',
    });
  });
  it('controller mode leaves allocation to istiod (Istio 1.25+) and only captures DNS', () => {
    expect(wantedProxyMetadata('controller')).toEqual({ ISTIO_META_DNS_CAPTURE: 'true' });
  });
  it('cannot be changed by a caller', () => {
    expect(Object.isFrozen(wantedProxyMetadata('agent'))).toBe(true);
  });
});

describe('planPodMutation patches pods that should capture DNS', () => {
  it.each([
    ['agent', AGENT_YAML, ['ISTIO_META_DNS_CAPTURE', 'ISTIO_META_DNS_AUTO_ALLOCATE']],
    ['controller', CONTROLLER_YAML, ['ISTIO_META_DNS_CAPTURE']],
  ] as const)('%s mode adds the annotation next to the existing ones', (mode, expected, added) => {
    const pod = replicaSetPod();
    const plan = patched(planPodMutation(pod, mode));
    expect(plan.patch).toEqual([{ op: 'add', path: '/metadata/annotations/proxy.istio.io~1config', value: expected }]);
    expect(plan.added).toEqual(added);
    expect(plan.warnings).toEqual([]);
    const result = applied(pod, plan.patch);
    expect((result.pod['metadata'] as { annotations: unknown }).annotations).toEqual({
      'kubectl.kubernetes.io/default-container': 'web',
      [PROXY_CONFIG_ANNOTATION]: expected,
    });
    for (const value of Object.values(
      (parse(result.config) as { proxyMetadata: Record<string, unknown> }).proxyMetadata,
    )) {
      expect(typeof value).toBe('string');
    }
  });

  it.each([
    ['metadata.annotations is absent', replicaSetPod({ annotations: 'absent' })],
    ['metadata.annotations is null', replicaSetPod({ annotations: null })],
  ])('creates the annotations map when %s', (_name, pod) => {
    const plan = patched(planPodMutation(pod, 'agent'));
    expect(plan.patch).toEqual([
      { op: 'add', path: '/metadata/annotations', value: { [PROXY_CONFIG_ANNOTATION]: AGENT_YAML } },
    ]);
    expect(applied(pod, plan.patch).config).toBe(AGENT_YAML);
  });

  it.each([
    ['no metadata at all', { apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ name: 'c', image: 'busybox' }] } }],
    ['metadata: null', { apiVersion: 'v1', kind: 'Pod', metadata: null, spec: {} }],
  ])('creates metadata when the pod has %s', (_name, pod) => {
    const plan = patched(planPodMutation(pod, 'controller'));
    expect(plan.patch).toEqual([
      { op: 'add', path: '/metadata', value: { annotations: { [PROXY_CONFIG_ANNOTATION]: CONTROLLER_YAML } } },
    ]);
    expect(applied(pod, plan.patch).config).toBe(CONTROLLER_YAML);
  });

  it('edits the owner YAML in place, keeping comments and other settings', () => {
    const owner =
      '# payments team\nholdApplicationUntilProxyStarts: true\nproxyMetadata:\n  GRPC_XDS_BOOTSTRAP: "/etc/istio/proxy/grpc-bootstrap.json"\n';
    const pod = replicaSetPod({ annotations: { [PROXY_CONFIG_ANNOTATION]: owner } });
    const plan = patched(planPodMutation(pod, 'agent'));
    expect(applied(pod, plan.patch).config).toBe(
      `${owner}  ISTIO_META_DNS_CAPTURE: "true"\n  ISTIO_META_DNS_AUTO_ALLOCATE: "true"\n`,
    );
  });

  it('edits compact JSON as compact JSON', () => {
    const pod = replicaSetPod({
      annotations: { [PROXY_CONFIG_ANNOTATION]: '{"holdApplicationUntilProxyStarts":true}' },
    });
    const plan = patched(planPodMutation(pod, 'controller'));
    expect(applied(pod, plan.patch).config).toBe(
      '{"holdApplicationUntilProxyStarts":true,"proxyMetadata":{"ISTIO_META_DNS_CAPTURE":"true"}}',
    );
  });

  it('adds what is missing and warns about a key the owner turned off', () => {
    const pod = replicaSetPod({
      annotations: { [PROXY_CONFIG_ANNOTATION]: 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "false"\n' },
    });
    const plan = patched(planPodMutation(pod, 'agent'));
    expect(plan.added).toEqual(['ISTIO_META_DNS_AUTO_ALLOCATE']);
    expect(plan.warnings).toEqual([
      'pod keeps its own proxyMetadata ISTIO_META_DNS_CAPTURE="false"; DNS capture stays off',
    ]);
    expect(applied(pod, plan.patch).config).toBe(
      'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "false"\n  ISTIO_META_DNS_AUTO_ALLOCATE: "true"\n',
    );
  });

  it('warns when the opt-out label has a value that does not opt out', () => {
    const plan = patched(planPodMutation(replicaSetPod({ labels: { [OPT_OUT_LABEL]: 'Disabled' } }), 'controller'));
    expect(plan.warnings).toEqual([
      'label egress-guard.io/dns-capture="Disabled" has no effect; only "disabled" opts out',
    ]);
  });

  it('uses the merge function it is given (a memoised one, in the webhook)', () => {
    const merge = jest.fn(mergeProxyMetadata);
    const pod = replicaSetPod({ annotations: { [PROXY_CONFIG_ANNOTATION]: 'concurrency: 2\n' } });
    planPodMutation(pod, 'controller', merge);
    expect(merge).toHaveBeenCalledWith('concurrency: 2\n', { ISTIO_META_DNS_CAPTURE: 'true' });
    const stub = jest
      .fn<typeof mergeProxyMetadata>()
      .mockReturnValue({ kind: 'changed', text: 'cached', kept: [], added: ['X'] });
    expect(planPodMutation(pod, 'controller', stub)).toMatchObject({
      outcome: 'patched',
      added: ['X'],
      patch: [{ value: 'cached' }],
    });
  });
});

describe('planPodMutation is idempotent', () => {
  const owner = (config: string): Record<string, unknown> =>
    replicaSetPod({ annotations: { [PROXY_CONFIG_ANNOTATION]: config } });
  it.each([
    ['no annotations map', replicaSetPod({ annotations: 'absent' })],
    ['no config annotation', replicaSetPod()],
    ['YAML config', owner('holdApplicationUntilProxyStarts: true\ntracing:\n  sampling: 1.0\n')],
    ['indented JSON config', owner('{\n  "concurrency": 2\n}\n')],
    ['owner turned one key off', owner('proxyMetadata:\n  ISTIO_META_DNS_AUTO_ALLOCATE: "false"\n')],
  ])('%s: applying the patch and planning again changes nothing', (_name, pod) => {
    for (const mode of ['agent', 'controller'] as const) {
      const first = patched(planPodMutation(pod, mode));
      const again = planPodMutation(applied(pod, first.patch).pod, mode);
      expect(again).toEqual({ outcome: 'unchanged', warnings: first.warnings });
    }
  });

  it('reports a pod whose owner set every key as unchanged, with warnings', () => {
    const pod = owner('proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "1"\n  ISTIO_META_DNS_AUTO_ALLOCATE: "off"\n');
    const plan = planPodMutation(pod, 'agent');
    expect(plan).toEqual({
      outcome: 'unchanged',
      warnings: [
        'pod keeps its own proxyMetadata ISTIO_META_DNS_CAPTURE="1", which Istio reads as true',
        'pod keeps its own proxyMetadata ISTIO_META_DNS_AUTO_ALLOCATE="off"; ServiceEntry hosts get no auto-allocated IPs',
      ],
    });
    expectShortWarnings(plan);
  });

  it('reports an owner value equal to ours as plain unchanged', () => {
    expect(planPodMutation(owner(CONTROLLER_YAML), 'controller')).toEqual({ outcome: 'unchanged', warnings: [] });
  });
});

describe('planPodMutation skips pods it must not touch', () => {
  it.each([
    ['the opt-out label', replicaSetPod({ labels: { [OPT_OUT_LABEL]: 'disabled' } }), 'opted-out'],
    ['injection off by label', replicaSetPod({ labels: { 'sidecar.istio.io/inject': 'false' } }), 'injection-disabled'],
    [
      'injection off by annotation',
      replicaSetPod({ annotations: { 'sidecar.istio.io/inject': 'false' } }),
      'injection-disabled',
    ],
    ['hostNetwork', replicaSetPod({ hostNetwork: true }), 'host-network'],
    ['ambient mode', replicaSetPod({ labels: { 'istio.io/dataplane-mode': 'ambient' } }), 'ambient'],
    [
      'opt-out first, whatever else applies',
      replicaSetPod({
        labels: { [OPT_OUT_LABEL]: 'disabled', 'istio.io/dataplane-mode': 'ambient' },
        hostNetwork: true,
      }),
      'opted-out',
    ],
    [
      'even with an unreadable annotation',
      replicaSetPod({ hostNetwork: true, annotations: { [PROXY_CONFIG_ANNOTATION]: 'a: b: c' } }),
      'host-network',
    ],
  ])('%s', (_name, pod, reason) => {
    expect(planPodMutation(pod, 'agent')).toEqual({ outcome: 'skipped', reason, warnings: [] });
  });

  it('does not skip a pod whose label turns injection back on over the annotation (Istio prefers the label)', () => {
    const pod = replicaSetPod({
      labels: { 'sidecar.istio.io/inject': 'true' },
      annotations: { 'sidecar.istio.io/inject': 'false' },
    });
    expect(planPodMutation(pod, 'agent').outcome).toBe('patched');
  });
});

describe('planPodMutation leaves unusable annotations alone and says why', () => {
  const withConfig = (config: unknown): Record<string, unknown> => {
    const pod = replicaSetPod();
    (pod['metadata'] as { annotations: Record<string, unknown> }).annotations[PROXY_CONFIG_ANNOTATION] = config;
    return pod;
  };
  it.each([
    [
      'invalid YAML',
      withConfig('holdApplicationUntilProxyStarts: true\n  tracing: {}\n'),
      'proxy.istio.io/config cannot be parsed (line 1, column 34: Nested mappings are not allowed in…); pod left unchanged',
    ],
    [
      'two documents',
      withConfig('concurrency: 2\n---\n'),
      'proxy.istio.io/config holds more than one YAML document (line 2, column 1); egress-guard left the pod unchanged',
    ],
    [
      'a list',
      withConfig('- concurrency: 2\n'),
      'proxy.istio.io/config is a list, not a mapping; egress-guard left the pod unchanged',
    ],
    [
      'a scalar',
      withConfig('holdApplicationUntilProxyStarts'),
      'proxy.istio.io/config is a string, not a mapping; egress-guard left the pod unchanged',
    ],
    [
      'proxyMetadata as a list',
      withConfig('proxyMetadata: [a]'),
      'proxy.istio.io/config has proxyMetadata as a list, not a mapping; egress-guard left the pod unchanged',
    ],
    [
      'an unquoted boolean, which Istio would reject',
      withConfig('proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: true\n'),
      'proxy.istio.io/config sets proxyMetadata.ISTIO_META_DNS_CAPTURE to unquoted true; Istio needs a quoted string',
    ],
    [
      'an annotation value that is not a string',
      withConfig(42),
      'proxy.istio.io/config is a number, not a string; egress-guard left the pod unchanged',
    ],
    [
      'annotations that are not a map',
      { metadata: { annotations: ['proxy.istio.io/config'] } },
      'pod metadata.annotations is a list, not a map; egress-guard left the pod unchanged',
    ],
    [
      'metadata that is not an object',
      { metadata: 'web' },
      'pod metadata is a string, not an object; egress-guard left the pod unchanged',
    ],
  ])('%s', (_name, pod, warning) => {
    const plan = planPodMutation(pod, 'agent');
    expect(plan).toEqual({ outcome: 'invalid-annotation', warnings: [warning] });
    expectShortWarnings(plan);
  });
});

describe('planPodMutation with inputs that are not pods', () => {
  it.each([null, 42, 'pod', [], true])('leaves %j unchanged with a warning', (pod) => {
    const plan = planPodMutation(pod, 'agent');
    expect(plan).toEqual({
      outcome: 'unchanged',
      warnings: [expect.stringMatching(/^egress-guard expected a Pod object, got .+; left it unchanged$/)],
    });
  });

  it('treats labels that are not a map as no labels', () => {
    const pod = replicaSetPod();
    (pod['metadata'] as Record<string, unknown>)['labels'] = 'app=web';
    expect(planPodMutation(pod, 'controller').outcome).toBe('patched');
  });

  it('never throws; every patch applies cleanly and planning the result again changes nothing', () => {
    const annotationValue = fc.oneof(
      fc.string(),
      fc.constantFrom(AGENT_YAML, '{"proxyMetadata":{}}', 'a: b: c', 'proxyMetadata: [x]'),
      fc.jsonValue(),
    );
    const map = (keys: string[], value: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
      fc.oneof(
        fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string()), value, { maxKeys: 4 }),
        fc.jsonValue({ maxDepth: 1 }),
      );
    const metadata = fc.record(
      {
        labels: map(
          [OPT_OUT_LABEL, 'sidecar.istio.io/inject', 'istio.io/dataplane-mode', '__proto__'],
          fc.oneof(fc.constantFrom('disabled', 'false', 'ambient', 'true'), fc.jsonValue()),
        ),
        annotations: map([PROXY_CONFIG_ANNOTATION, 'sidecar.istio.io/inject', 'constructor'], annotationValue),
        generateName: fc.constant('web-7d4b9c-'),
      },
      { requiredKeys: [] },
    );
    const pod = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          metadata: fc.oneof(metadata, fc.jsonValue({ maxDepth: 1 })),
          spec: fc.oneof(fc.record({ hostNetwork: fc.jsonValue() }), fc.jsonValue({ maxDepth: 1 })),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(pod, fc.constantFrom('agent', 'controller'), (input, mode) => {
        const plan = planPodMutation(input, mode);
        expectShortWarnings(plan);
        if (plan.outcome !== 'patched') return;
        const after = applied(input, plan.patch).pod;
        expect(planPodMutation(after, mode)).toEqual({ outcome: 'unchanged', warnings: plan.warnings });
      }),
      { numRuns: 500 },
    );
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('jsonPointerSegment', () => {
  it.each([
    ['proxy.istio.io/config', 'proxy.istio.io~1config'],
    ['a~b/c', 'a~0b~1c'],
    ['~1', '~01'],
    ['plain', 'plain'],
  ])('%s -> %s', (key, segment) => {
    expect(jsonPointerSegment(key)).toBe(segment);
    // The segment addresses exactly that key.
    const { newDocument } = applyPatch(
      { metadata: { annotations: {} } },
      [{ op: 'add', path: `/metadata/annotations/${segment}`, value: 'v' }],
      true,
      false,
    );
    expect(newDocument).toEqual({ metadata: { annotations: { [key]: 'v' } } });
  });
});
