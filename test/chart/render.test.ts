// `helm template` over the values matrix, validated by kubeconform against schemas generated from the e2e
// kube-apiserver's own OpenAPI (Kubernetes 1.36, plus the Prometheus Operator and cert-manager CRDs applied to it);
// and the chart against the kustomize base: the same core objects, the same server settings.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { ensureBinaries, startCluster, type Cluster } from '../e2e/cluster.js';
import { repoRoot } from '../e2e/support/egress-guard.js';
import { schemaLocation, writeSchemas } from './schemas.js';
import {
  VALUES,
  ensureTools,
  find,
  parseObjects,
  run,
  template,
  OPERATOR_APIS,
  type K8sObject,
  type RenderOptions,
} from './tools.js';

const CERT_MANAGER_APIS = [
  'cert-manager.io/v1/Issuer',
  'cert-manager.io/v1/ClusterIssuer',
  'cert-manager.io/v1/Certificate',
];
const ALL_APIS = [...OPERATOR_APIS, ...CERT_MANAGER_APIS];

let cluster: Cluster | undefined;
const schemaDir = mkdtempSync(join(tmpdir(), 'egress-guard-schemas-'));
let published: string[] = [];

beforeAll(async () => {
  const tools = await ensureTools();
  cluster = await startCluster();
  await cluster.kubectl(['apply', '--server-side', '-f', tools.crdDir]);
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  // Established can precede the CRD's OpenAPI publication by a moment.
  for (let attempt = 0; ; attempt++) {
    published = await writeSchemas(cluster, schemaDir);
    if (ALL_APIS.every((api) => published.includes(api))) break;
    if (attempt > 60) throw new Error(`CRD kinds not in /openapi/v3 after 30 s: ${published.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}, 10 * 60_000);

afterAll(async () => {
  await cluster?.stop();
});

interface KubeconformResult {
  summary: { valid: number; invalid: number; errors: number; skipped: number };
  resources: { filename: string; kind: string; name: string; version: string; status: string; msg: string }[];
}

async function kubeconform(manifest: string): Promise<KubeconformResult> {
  const { kubeconform: binary } = await ensureTools();
  const result = await run(
    binary,
    ['-strict', '-summary', '-output', 'json', '-verbose', '-schema-location', schemaLocation(schemaDir), '-'],
    { stdin: manifest },
  );
  const parsed = JSON.parse(result.stdout) as KubeconformResult;
  // kubeconform exits 1 when something is invalid; the caller asserts on the summary, which says what.
  if (result.code !== 0 && parsed.summary.invalid + parsed.summary.errors === 0)
    throw new Error(`kubeconform exit ${result.code}: ${result.stderr}`);
  return parsed;
}

const problems = (r: KubeconformResult) =>
  r.resources.filter((x) => x.status !== 'statusValid').map((x) => `${x.kind}/${x.name}: ${x.status} ${x.msg}`);

describe('schemas generated from the API server', () => {
  it('cover every kind the chart can render, from Kubernetes 1.36 and the CRDs', async () => {
    const { stdout } = await k().kubectl(['version', '-o', 'json']);
    expect((JSON.parse(stdout) as { serverVersion: { minor: string } }).serverVersion.minor).toBe('36');
    for (const api of [
      '/v1/Service',
      '/v1/Secret',
      'apps/v1/Deployment',
      'policy/v1/PodDisruptionBudget',
      'networking.k8s.io/v1/NetworkPolicy',
      'rbac.authorization.k8s.io/v1/ClusterRole',
      'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration',
      ...ALL_APIS,
    ])
      expect(published).toContain(api);
  });

  it('are strict: kubeconform refuses a misspelled field, a string for an integer and a field of a CRD kind it lacks', async () => {
    const manifest = await template({ apiVersions: ALL_APIS });
    const broken = manifest
      .replace(/^( {2})revisionHistoryLimit: 5$/m, '$1revisionHistoryLimits: 5')
      .replace(/^( {6})port: 443$/m, '$1port: "443"')
      .replace(/^( {6})interval: 30s$/m, '$1intervall: 30s');
    expect(broken).not.toBe(manifest);
    const result = await kubeconform(broken);
    expect(result.summary.invalid).toBe(3);
    expect(problems(result).join('\n')).toMatch(/Deployment\/egress-guard: statusInvalid .*revisionHistoryLimits/);
    expect(problems(result).join('\n')).toMatch(/Service\/egress-guard: statusInvalid .*port/);
    expect(problems(result).join('\n')).toMatch(/ServiceMonitor\/egress-guard: statusInvalid .*intervall/);
  });
});

function k(): Cluster {
  if (!cluster) throw new Error('the cluster did not start (see beforeAll)');
  return cluster;
}

const matrix: { name: string; options: RenderOptions }[] = [
  { name: 'defaults, no Prometheus Operator', options: {} },
  { name: 'defaults with the Prometheus Operator', options: { apiVersions: ALL_APIS } },
  ...readdirSync(VALUES)
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => ({ name: `values/${file}`, options: { valuesFiles: [file], apiVersions: ALL_APIS } })),
  { name: 'release "guard" in namespace "platform"', options: { release: 'guard', namespace: 'platform' } },
];

describe('helm template | kubeconform -strict (Kubernetes 1.36 schemas)', () => {
  it.each(matrix)('$name: every object valid, none skipped', async ({ options }) => {
    const manifest = await template(options);
    const objects = parseObjects(manifest);
    const result = await kubeconform(manifest);
    expect(problems(result)).toEqual([]);
    expect(result.summary).toEqual({ valid: objects.length, invalid: 0, errors: 0, skipped: 0 });
  });
});

describe('what the values select', () => {
  it('renders the Prometheus Operator objects only where the cluster serves them (auto), and on request', async () => {
    const kinds = async (options: RenderOptions) => parseObjects(await template(options)).map((o) => o.kind);
    expect(await kinds({})).not.toEqual(expect.arrayContaining(['ServiceMonitor']));
    expect(await kinds({})).not.toContain('PrometheusRule');
    expect(await kinds({ apiVersions: OPERATOR_APIS })).toEqual(
      expect.arrayContaining(['ServiceMonitor', 'PrometheusRule']),
    );
    expect(await kinds({ valuesFiles: ['minimal.yaml'], apiVersions: OPERATOR_APIS })).not.toContain('ServiceMonitor');
    expect(await kinds({ set: ['monitoring.serviceMonitor.enabled=true'] })).toContain('ServiceMonitor');
  });

  it('ships the webhook configurations and the self-managed Secret as shells the server fills', async () => {
    const objects = parseObjects(await template());
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      const shell = find(objects, kind, 'egress-guard');
      expect(Object.keys(shell).sort()).toEqual(['apiVersion', 'kind', 'metadata']);
    }
    const secret = find(objects, 'Secret', 'egress-guard-certs');
    expect(Object.keys(secret).sort()).toEqual(['apiVersion', 'kind', 'metadata', 'type']);
  });

  const certificateRoutes: { file?: string; secret: string; verbs: string[]; shell: boolean; certManager: string[] }[] =
    [
      { secret: 'egress-guard-certs', verbs: ['get', 'update'], shell: true, certManager: [] },
      {
        file: 'cert-manager.yaml',
        secret: 'egress-guard-tls',
        verbs: ['get'],
        shell: false,
        certManager: [
          'Issuer/egress-guard-selfsigned',
          'Certificate/egress-guard-ca',
          'Issuer/egress-guard-ca',
          'Certificate/egress-guard-tls',
        ],
      },
      {
        file: 'cert-manager-issuer.yaml',
        secret: 'webhook-serving',
        verbs: ['get'],
        shell: false,
        certManager: ['Certificate/egress-guard-tls'],
      },
      { file: 'existing-secret.yaml', secret: 'my-webhook-tls', verbs: ['get'], shell: false, certManager: [] },
    ];
  it.each(certificateRoutes)('certificate route $file: CERT_SECRET $secret, Secret verbs $verbs', async (route) => {
    const objects = parseObjects(await template({ valuesFiles: route.file ? [route.file] : [] }));
    expect(envOf(objects)).toMatchObject({ CERT_SOURCE: 'secret', CERT_SECRET: route.secret });
    const role = find(objects, 'Role', 'egress-guard-certs') as K8sObject & { rules: unknown[] };
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: [route.secret], verbs: route.verbs },
    ]);
    expect(objects.some((o) => o.kind === 'Secret')).toBe(route.shell);
    expect(
      objects
        .filter((o) => o.apiVersion.startsWith('cert-manager.io/'))
        .map((o) => `${o.kind}/${o.metadata.name}`)
        .sort(),
    ).toEqual([...route.certManager].sort());
  });

  it('turns each config value into its environment variable', async () => {
    const env = envOf(parseObjects(await template({ valuesFiles: ['everything.yaml'] })));
    expect(env).toMatchObject({
      PORT: '9443',
      OPS_PORT: '9090',
      HOST: '::',
      AUTO_ALLOCATE_MODE: 'controller',
      EXPECTED_PORTS: '80,443,9444',
      UNDECLARED_PORTS_ACTION: 'deny',
      ISTIO_VERSION: '1.24.3',
      ISTIOD_IP_AUTOALLOCATE: 'true',
      LOG_LEVEL: 'debug',
      SHUTDOWN_DELAY_SECONDS: '10',
      CLIENT_CA_FILE: '/etc/egress-guard/client-ca/ca.crt',
      CERT_SECRET: 'guard-serving',
      WEBHOOK_CONFIGURATION: 'egress-guard-platform',
      // nameOverride guard: the release name egress-guard contains it, so the objects keep the release name.
      WEBHOOK_SERVICE: 'egress-guard',
      CERT_VALIDITY_DAYS: '90',
      CA_VALIDITY_DAYS: '730',
      CERT_CHECK_SECONDS: '30',
      NODE_OPTIONS: '--max-old-space-size=384',
      UV_THREADPOOL_SIZE: '2',
    });
  });

  it.each(matrix)('$name: src/config.ts accepts the rendered environment', async ({ options }) => {
    const env = resolved(envOf(parseObjects(await template(options))));
    expect(() => loadConfig(env)).not.toThrow();
  });

  it('sets every variable src/config.ts reads, except those the chart has no use for', async () => {
    // Files mode and out-of-cluster settings: the chart always runs with CERT_SOURCE=secret in a pod.
    const notForTheChart = ['TLS_CERT_FILE', 'TLS_KEY_FILE', 'TLS_CA_FILE', 'WEBHOOK_URL_BASE', 'KUBECONFIG'];
    const source = readFileSync(join(repoRoot, 'src', 'config.ts'), 'utf8');
    const read = new Set([...source.matchAll(/\benv(?:\.|, ')([A-Z][A-Z0-9_]+)/g)].map((m) => m[1] ?? ''));
    expect(read.size).toBeGreaterThan(8);
    const env = envOf(parseObjects(await template({ valuesFiles: ['everything.yaml'] })));
    const missing = [...read].filter((name) => !(name in env) && !notForTheChart.includes(name));
    expect(missing).toEqual([]);
  });
});

/** The env as the pod would see it in namespace egress-guard (the downward API resolved). */
function resolved(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => [
      name,
      value === 'fieldRef:metadata.namespace' ? 'egress-guard' : value,
    ]),
  );
}

/** The container's env as name -> value (valueFrom as its fieldPath). */
function envOf(objects: K8sObject[]): Record<string, string> {
  const deployment = find(objects, 'Deployment') as unknown as DeploymentShape;
  const container = deployment.spec.template.spec.containers[0];
  return Object.fromEntries(
    (container?.env ?? []).map((e) => [e.name, e.value ?? `fieldRef:${e.valueFrom?.fieldRef?.fieldPath ?? '?'}`]),
  );
}

interface ContainerShape {
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name: string; containerPort: number }[];
  [key: string]: unknown;
}
interface DeploymentShape {
  spec: { template: { spec: { containers: ContainerShape[]; [key: string]: unknown } }; [key: string]: unknown };
}

describe('the chart and the kustomize base (kubectl kustomize deploy/) render the same core objects', () => {
  // Helm's own labels, the release-scoped selector label and the pod annotations for Prometheus are chart-only.
  const CHART_ONLY_LABELS = [
    'app.kubernetes.io/instance',
    'app.kubernetes.io/version',
    'app.kubernetes.io/managed-by',
    'helm.sh/chart',
  ];
  let kustomized: K8sObject[] = [];
  let charted: K8sObject[] = [];

  beforeAll(async () => {
    const { kubectl } = await ensureBinaries();
    const result = await run(kubectl, ['kustomize', join(repoRoot, 'deploy')]);
    if (result.code !== 0) throw new Error(`kubectl kustomize deploy/: ${result.stderr}`);
    kustomized = parseObjects(result.stdout);
    charted = parseObjects(await template());
  });

  const id = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

  it('every object of the base but its Namespace is in the chart, under the same name and namespace', () => {
    // The chart installs into the release namespace (helm install --create-namespace) instead of creating it.
    const base = kustomized
      .filter((o) => o.kind !== 'Namespace')
      .map(id)
      .sort();
    expect(base.length).toBeGreaterThan(5);
    expect(charted.map(id)).toEqual(expect.arrayContaining(base));
  });

  it('the chart adds only the dashboard ConfigMap and its NetworkPolicy (where the base has none) to them', () => {
    const extra = charted.filter((o) => !kustomized.some((b) => id(b) === id(o))).map(id);
    const baseHasPolicy = kustomized.some((o) => o.kind === 'NetworkPolicy');
    expect(extra.sort()).toEqual(
      [
        'ConfigMap/egress-guard/egress-guard-dashboard',
        ...(baseHasPolicy ? [] : ['NetworkPolicy/egress-guard/egress-guard']),
      ].sort(),
    );
  });

  it('each shared object has the same content, apart from labels and the listed chart defaults', () => {
    const differences: string[] = [];
    for (const base of kustomized.filter((o) => o.kind !== 'Namespace')) {
      const ours = charted.find((o) => id(o) === id(base));
      if (!ours) continue;
      const a = JSON.stringify(core(base), null, 1);
      const b = JSON.stringify(core(ours), null, 1);
      if (a !== b) differences.push(`${id(base)}\n--- kustomize\n${a}\n--- chart\n${b}`);
    }
    expect(differences).toEqual([]);
  });

  it('the Deployment sets the same variables, and those only the chart sets leave src/config.ts at its defaults', () => {
    const base = envOf(kustomized);
    const ours = envOf(charted);
    for (const [name, value] of Object.entries(base)) expect({ name, value: ours[name] }).toEqual({ name, value });
    expect(Object.keys(ours).length).toBeGreaterThan(Object.keys(base).length);
    // The same Config with and without them: each is at the value the server assumes when it is unset.
    expect(loadConfig(resolved(ours))).toEqual(loadConfig(resolved(base)));
  });

  /** What an object does, without labels, selectors' release label and the documented chart-only defaults. */
  function core(o: K8sObject): unknown {
    const copy = structuredClone(o) as Record<string, unknown> & K8sObject;
    delete copy.metadata.labels;
    delete copy.metadata.annotations;
    const strip = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(strip);
      if (value === null || typeof value !== 'object') return value;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([key]) => !CHART_ONLY_LABELS.includes(key))
        .map(([key, child]) => [key, strip(child)]);
      return Object.fromEntries(entries.sort(([a], [b]) => String(a).localeCompare(String(b))));
    };
    if (o.kind === 'Deployment') {
      const spec = (copy as unknown as DeploymentShape).spec.template.spec;
      const template = (copy as unknown as { spec: { template: { metadata: Record<string, unknown> } } }).spec.template;
      // Labels are compared through the selectors; scrape annotations are a chart value (monitoring.scrapeAnnotations).
      template.metadata = {};
      // The chart's default, as Gatekeeper's: an admission webhook the API server depends on is evicted last.
      delete spec.priorityClassName;
      for (const container of spec.containers) {
        // Compared by envOf above: the chart also sets every other setting explicitly.
        delete container.env;
        // The chart pins the tag to its appVersion.
        delete container.image;
      }
    }
    if (o.kind === 'Service') {
      // The chart targets the container ports by name; resolve them to numbers as the base writes them.
      const ports = (copy as unknown as { spec: { ports: { targetPort: number | string; name: string }[] } }).spec
        .ports;
      const containerPorts = Object.fromEntries(
        ((find(charted, 'Deployment') as unknown as DeploymentShape).spec.template.spec.containers[0]?.ports ?? []).map(
          (p) => [p.name, p.containerPort],
        ),
      );
      for (const port of ports)
        if (typeof port.targetPort === 'string') port.targetPort = containerPorts[port.targetPort] ?? port.targetPort;
    }
    return strip(copy);
  }
});
