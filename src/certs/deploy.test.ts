// The fixed names and safety properties of deploy/ that other parts of egress-guard (and its users) rely on.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));

// Manifests are untyped YAML; the tests check them field by field.
type Manifest = Record<string, any>;

const load = (file: string): Manifest[] =>
  parseAllDocuments(readFileSync(DEPLOY + file, 'utf8')).map((doc) => doc.toJS() as Manifest);
const baseResources = (parse(readFileSync(DEPLOY + 'base/kustomization.yaml', 'utf8')) as { resources: string[] })
  .resources;
const base = baseResources.flatMap((file) => load(`base/${file}`));
/** The webhooks the server registers, as documented beside the base (not a kustomize resource). */
const reference = load('base/webhooks.yaml');
const registered = (kind: string) => reference.find((m) => m.kind === kind)?.webhooks as Manifest[];
const find = (kind: string, name = 'egress-guard') => {
  const found = base.find((m) => m.kind === kind && m.metadata?.name === name);
  if (!found) throw new Error(`${kind}/${name} is not in deploy/base`);
  return found;
};

describe('deploy/base', () => {
  it('lists every manifest in its kustomization, and deploy/ includes the base', () => {
    const files = readdirSync(DEPLOY + 'base').filter(
      (f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'webhooks.yaml',
    );
    expect([...baseResources].sort()).toEqual(files.sort());
    // Applied and deleted in this order: the webhook configurations before anything they call.
    expect(baseResources[0]).toBe('webhook-configurations.yaml');
    for (const file of ['kustomization.yaml', 'base/kustomization.yaml', 'cert-manager/kustomization.yaml'])
      expect(parse(readFileSync(DEPLOY + file, 'utf8'))).toMatchObject({ sortOptions: { order: 'fifo' } });
    expect(parse(readFileSync(DEPLOY + 'kustomization.yaml', 'utf8'))).toMatchObject({ resources: ['base'] });
  });

  it("orders the mutating webhook before Istio's injector", () => {
    const name = find('MutatingWebhookConfiguration').metadata.name as string;
    for (const istio of ['istio-sidecar-injector', 'istio-revision-tag-default']) expect(name < istio).toBe(true);
  });

  it('never blocks pod creation, and only mutates opted-in namespaces', () => {
    expect(find('MutatingWebhookConfiguration').webhooks).toBeUndefined();
    const [hook, ...more] = registered('MutatingWebhookConfiguration');
    expect(more).toEqual([]);
    expect(hook).toMatchObject({
      name: 'dns-capture.egress-guard.io',
      clientConfig: { service: { namespace: 'egress-guard', name: 'egress-guard', port: 443, path: '/mutate/pods' } },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
      namespaceSelector: {
        matchLabels: { 'egress-guard.io/dns-capture': 'enabled' },
        matchExpressions: [
          { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'egress-guard'] },
        ],
      },
      objectSelector: {
        matchExpressions: [{ key: 'egress-guard.io/dns-capture', operator: 'NotIn', values: ['disabled'] }],
      },
      failurePolicy: 'Ignore',
      sideEffects: 'None',
      timeoutSeconds: 5,
      reinvocationPolicy: 'IfNeeded',
      admissionReviewVersions: ['v1'],
      matchPolicy: 'Equivalent',
    });
  });

  it('validates ServiceEntries (not their status) and fails closed', () => {
    expect(find('ValidatingWebhookConfiguration').webhooks).toBeUndefined();
    const [hook, ...more] = registered('ValidatingWebhookConfiguration');
    expect(more).toEqual([]);
    expect(hook).toMatchObject({
      name: 'serviceentries.egress-guard.io',
      clientConfig: {
        service: { namespace: 'egress-guard', name: 'egress-guard', port: 443, path: '/validate/serviceentries' },
      },
      rules: [
        {
          apiGroups: ['networking.istio.io'],
          apiVersions: ['v1', 'v1beta1', 'v1alpha3'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['serviceentries'],
        },
      ],
      namespaceSelector: {
        matchExpressions: [
          { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'egress-guard'] },
        ],
      },
      failurePolicy: 'Fail',
      sideEffects: 'None',
      timeoutSeconds: 5,
    });
  });

  it('grants reads of ServiceEntries and DestinationRules, and get/update of its own Secret and webhooks by name', () => {
    expect(find('ClusterRole').rules).toEqual([
      {
        apiGroups: ['networking.istio.io'],
        resources: ['serviceentries', 'destinationrules'],
        verbs: ['get', 'list', 'watch'],
      },
    ]);
    expect(find('ClusterRole', 'egress-guard-webhooks').rules).toEqual([
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
        resourceNames: ['egress-guard'],
        verbs: ['get', 'update'],
      },
    ]);
    expect(find('Role', 'egress-guard-certs').rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['egress-guard-certs'], verbs: ['get', 'update'] },
    ]);
    expect(base.filter((m) => m.kind === 'Role' || m.kind === 'ClusterRole')).toHaveLength(3);
    for (const [kind, name] of [
      ['ClusterRoleBinding', 'egress-guard'],
      ['ClusterRoleBinding', 'egress-guard-webhooks'],
      ['RoleBinding', 'egress-guard-certs'],
    ] as const) {
      expect(find(kind, name).subjects).toEqual([
        { kind: 'ServiceAccount', name: 'egress-guard', namespace: 'egress-guard' },
      ]);
    }
  });

  it('runs a Deployment that PodSecurity "restricted" admits, with self-managed certificates', () => {
    expect(find('Namespace').metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'egress-guard.io/dns-capture': 'disabled',
    });
    const deployment = find('Deployment');
    expect(deployment.metadata.namespace).toBe('egress-guard');
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template.spec as Manifest;
    expect(pod.serviceAccountName).toBe('egress-guard');
    expect(pod.priorityClassName).toBeUndefined();
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const [container] = pod.containers as Manifest[];
    expect(container?.image).toBe('ghcr.io/egress-guard/egress-guard:0.1.0');
    expect(container?.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const env = Object.fromEntries(
      (container?.env as { name: string; value?: string; valueFrom?: Manifest }[]).map((e) => [
        e.name,
        e.value ?? e.valueFrom,
      ]),
    );
    expect(env).toMatchObject({
      PORT: '8443',
      OPS_PORT: '8080',
      CERT_SOURCE: 'secret',
      CERT_SECRET: 'egress-guard-certs',
      POD_NAMESPACE: { fieldRef: { fieldPath: 'metadata.namespace' } },
      WEBHOOK_CONFIGURATION: 'egress-guard',
      WEBHOOK_SERVICE: 'egress-guard',
    });
    expect(env).not.toHaveProperty('TLS_CERT_FILE');
    expect(container?.volumeMounts).toBeUndefined();
    expect(pod.volumes).toBeUndefined();
    expect(container?.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-ops' });
    expect(container?.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-ops' });
    expect(container?.ports).toEqual([
      { name: 'https', containerPort: 8443, protocol: 'TCP' },
      { name: 'http-ops', containerPort: 8080, protocol: 'TCP' },
    ]);
  });

  it('exposes 443 -> 8443 and keeps one replica through disruptions', () => {
    expect(find('Service').spec.ports[0]).toEqual({ name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' });
    expect(find('PodDisruptionBudget').spec.minAvailable).toBe(1);
  });
});

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const withKubectl = kubectl.status === 0 ? it : it.skip;

describe('kustomize rendering (needs kubectl)', () => {
  const render = (dir: string) => {
    const result = spawnSync('kubectl', ['kustomize', DEPLOY + dir], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    return parseAllDocuments(result.stdout).map((doc) => doc.toJS() as Manifest);
  };

  withKubectl('renders the base', () => {
    expect(
      render('')
        .map((m) => `${m.kind}/${m.metadata.name}`)
        .sort(),
    ).toEqual(base.map((m) => `${m.kind}/${m.metadata.name}`).sort());
  });

  withKubectl('renders the cert-manager overlay: the CA chain, the server reading egress-guard-tls', () => {
    const rendered = render('cert-manager');
    const kinds = rendered.map((m) => `${m.kind}/${m.metadata.name}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'Issuer/egress-guard-selfsigned',
        'Certificate/egress-guard-ca',
        'Issuer/egress-guard-ca',
        'Certificate/egress-guard-tls',
      ]),
    );
    expect(kinds).not.toContain('Secret/egress-guard-certs');
    const container = rendered.find((m) => m.kind === 'Deployment')?.spec.template.spec.containers[0] as Manifest;
    expect(container.env).toContainEqual({ name: 'CERT_SECRET', value: 'egress-guard-tls' });
    expect(container.env).toContainEqual({ name: 'CERT_SOURCE', value: 'secret' });
    expect(rendered.find((m) => m.kind === 'Role')?.rules[0].resourceNames).toEqual(['egress-guard-tls']);
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'])
      expect(rendered.find((m) => m.kind === kind)?.webhooks).toBeUndefined();
    const serving = rendered.find((m) => m.kind === 'Certificate' && m.metadata.name === 'egress-guard-tls');
    expect(serving?.spec).toMatchObject({
      secretName: 'egress-guard-tls',
      dnsNames: [
        'egress-guard',
        'egress-guard.egress-guard',
        'egress-guard.egress-guard.svc',
        'egress-guard.egress-guard.svc.cluster.local',
      ],
      issuerRef: { kind: 'Issuer', name: 'egress-guard-ca' },
    });
  });
});
