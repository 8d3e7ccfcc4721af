// The AdmissionReviews the benchmark sends: shaped like what kube-apiserver sends for a Deployment's pod (after
// the built-in admission plugins ran: service-account token volume, default tolerations) and for ServiceEntries.
import { review, serviceEntryReview } from '../fixtures/reviews.js';

export interface Payload {
  /** Short id used in the table and the JSON line. */
  id: string;
  description: string;
  path: '/mutate/pods' | '/validate/serviceentries';
  body: string;
}

/** What a platform team writes in a Deployment's pod template: YAML, comments, none of the keys egress-guard adds. */
export const DEPLOYMENT_PROXY_CONFIG = [
  '# Owned by the platform team; see https://wiki.example.com/mesh/proxy-config',
  'holdApplicationUntilProxyStarts: true',
  'terminationDrainDuration: 20s',
  'proxyMetadata:',
  '  # the legacy resolver in this image retries slowly: keep idle connections short',
  '  ISTIO_META_IDLE_TIMEOUT: "30s"',
  'tracing:',
  '  sampling: 1.0 # percent',
  '',
].join('\n');

function env(i: number) {
  const plain = [
    ['SPRING_PROFILES_ACTIVE', 'production'],
    ['JAVA_TOOL_OPTIONS', '-XX:MaxRAMPercentage=75 -XX:+UseG1GC -Dfile.encoding=UTF-8 -Duser.timezone=UTC'],
    ['OSS_ENDPOINT', 'oss-cn-shanghai.aliyuncs.com'],
    ['OSS_BUCKET', 'shop-checkout-artifacts-prod'],
    ['PAYMENTS_API_URL', 'https://api.payments.example.com/v2'],
    ['FEATURE_FLAGS_URL', 'https://flags.internal.example.com'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://otel-collector.observability.svc.cluster.local:4317'],
    ['OTEL_SERVICE_NAME', 'checkout'],
    ['LOG_FORMAT', 'json'],
    ['LOG_LEVEL', 'info'],
    ['HTTP_PORT', '8080'],
    ['MANAGEMENT_PORT', '8081'],
    ['DB_HOST', 'checkout-db.shop.svc.cluster.local'],
    ['DB_NAME', 'checkout'],
    ['CACHE_URL', 'redis://checkout-cache.shop.svc.cluster.local:6379/0'],
  ].map(([name, value]) => ({ name, value }));
  const fromFields = [
    ['POD_NAME', 'metadata.name'],
    ['POD_NAMESPACE', 'metadata.namespace'],
    ['POD_IP', 'status.podIP'],
    ['NODE_NAME', 'spec.nodeName'],
  ].map(([name, fieldPath]) => ({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } }));
  const secrets = [
    ['DB_PASSWORD', 'checkout-db', 'password'],
    ['PAYMENTS_API_KEY', 'payments-api', 'key'],
  ].map(([name, secret, key]) => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } }));
  return i === 0
    ? [...plain, ...fromFields, ...secrets]
    : [...fromFields.slice(0, 2), { name: 'SHIPPER_TARGET', value: 'logs.internal.example.com:24224' }];
}

/** A pod of a Deployment as the ReplicaSet controller submits it: about 9 KB of AdmissionReview. */
export function deploymentPod(annotations: Record<string, string> | null) {
  const metadata: Record<string, unknown> = {
    generateName: 'checkout-6f7c9d8b5-',
    namespace: 'shop',
    labels: {
      app: 'checkout',
      'app.kubernetes.io/name': 'checkout',
      'app.kubernetes.io/part-of': 'shop',
      'app.kubernetes.io/version': '3.18.2',
      'pod-template-hash': '6f7c9d8b5',
      'security.istio.io/tlsMode': 'istio',
      team: 'payments',
    },
    ownerReferences: [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'checkout-6f7c9d8b5',
        uid: '5b1f3c2e-8a4d-4c6b-9e7f-1a2b3c4d5e6f',
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
  if (annotations !== null) metadata.annotations = annotations;
  const probe = (path: string, port: string, period: number, failures: number) => ({
    httpGet: { path, port, scheme: 'HTTP' },
    initialDelaySeconds: 0,
    timeoutSeconds: 2,
    periodSeconds: period,
    successThreshold: 1,
    failureThreshold: failures,
  });
  const securityContext = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
  const tokenMount = {
    name: 'kube-api-access-7xk2p',
    readOnly: true,
    mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: {
      initContainers: [
        {
          name: 'migrate',
          image: 'registry.example.com/shop/checkout-migrations:3.18.2',
          command: ['/bin/migrate', '--database', '$(DB_NAME)', '--wait-for-lock=60s', 'up'],
          env: env(0).slice(11),
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
          volumeMounts: [tokenMount],
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
          securityContext,
        },
      ],
      containers: [
        {
          name: 'checkout',
          image:
            'registry.example.com/shop/checkout:3.18.2@sha256:4c0d1f2b9a8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817f6e5d4',
          args: ['--config=/etc/checkout/application.yaml', '--port=8080'],
          ports: [
            { name: 'http', containerPort: 8080, protocol: 'TCP' },
            { name: 'management', containerPort: 8081, protocol: 'TCP' },
          ],
          env: env(0),
          envFrom: [{ configMapRef: { name: 'checkout-env' } }],
          resources: { requests: { cpu: '500m', memory: '768Mi' }, limits: { cpu: '2', memory: '1Gi' } },
          volumeMounts: [
            { name: 'config', mountPath: '/etc/checkout', readOnly: true },
            { name: 'tls', mountPath: '/etc/checkout/tls', readOnly: true },
            { name: 'tmp', mountPath: '/tmp' },
            tokenMount,
          ],
          livenessProbe: probe('/actuator/health/liveness', 'management', 10, 3),
          readinessProbe: probe('/actuator/health/readiness', 'management', 5, 3),
          startupProbe: probe('/actuator/health/liveness', 'management', 5, 30),
          lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', 'sleep 10'] } } },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
          securityContext,
        },
        {
          name: 'log-shipper',
          image: 'registry.example.com/platform/fluent-bit:3.1.9',
          env: env(1),
          resources: { requests: { cpu: '20m', memory: '32Mi' }, limits: { memory: '64Mi' } },
          volumeMounts: [
            { name: 'shipper-config', mountPath: '/fluent-bit/etc', readOnly: true },
            { name: 'tmp', mountPath: '/var/log/checkout', readOnly: true },
            tokenMount,
          ],
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
          securityContext,
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: 'checkout-config', defaultMode: 420 } },
        { name: 'shipper-config', configMap: { name: 'checkout-fluent-bit', defaultMode: 420 } },
        { name: 'tls', secret: { secretName: 'checkout-tls', defaultMode: 420 } },
        { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
        {
          name: 'kube-api-access-7xk2p',
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              {
                downwardAPI: {
                  items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
                },
              },
            ],
          },
        },
      ],
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 100,
              podAffinityTerm: {
                topologyKey: 'kubernetes.io/hostname',
                labelSelector: { matchLabels: { app: 'checkout' } },
              },
            },
          ],
        },
      },
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'topology.kubernetes.io/zone',
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: { matchLabels: { app: 'checkout' } },
        },
      ],
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      securityContext: { fsGroup: 10001, runAsUser: 10001, runAsGroup: 10001 },
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 45,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'checkout',
      serviceAccount: 'checkout',
      automountServiceAccountToken: true,
      schedulerName: 'default-scheduler',
      priorityClassName: 'business-critical',
      priority: 100000,
      enableServiceLinks: false,
      preemptionPolicy: 'PreemptLowerPriority',
    },
  };
}

const DEPLOYMENT_ANNOTATIONS = {
  'proxy.istio.io/config': DEPLOYMENT_PROXY_CONFIG,
  'kubectl.kubernetes.io/restartedAt': '2026-11-20T10:00:00Z',
  'kubectl.kubernetes.io/default-container': 'checkout',
  'prometheus.io/scrape': 'true',
  'prometheus.io/port': '8081',
  'prometheus.io/path': '/actuator/prometheus',
  'sidecar.istio.io/proxyCPU': '100m',
  'sidecar.istio.io/proxyMemory': '128Mi',
};

/** A ServiceEntry with `count` hosts, in the form an application team writes for its partner APIs. */
export function serviceEntryWithHosts(count: number) {
  const hosts = Array.from({ length: count }, (_, i) => `api-${i * 37}.partner-${(i * 37) % 1000}.example.com`);
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: {
      name: 'partner-apis',
      namespace: 'external',
      labels: { team: 'payments', 'app.kubernetes.io/managed-by': 'argocd' },
      annotations: {
        'argocd.argoproj.io/tracking-id': 'payments:networking.istio.io/ServiceEntry:external/partner-apis',
      },
    },
    spec: {
      hosts,
      location: 'MESH_EXTERNAL',
      ports: [
        { name: 'http', number: 80, protocol: 'HTTP' },
        { name: 'https', number: 443, protocol: 'TLS' },
      ],
      resolution: 'DNS',
    },
  };
}

export const SERVICE_ENTRY_20_HOSTS_REVIEW = serviceEntryReview(serviceEntryWithHosts(20), { uid: 'bench-se-20' });

export function payloads(): Payload[] {
  const json = (value: unknown) => JSON.stringify(value);
  return [
    {
      id: 'pod-9k',
      description: 'Deployment pod, ~9 KB, YAML proxy.istio.io/config with comments',
      path: '/mutate/pods',
      body: json(review(deploymentPod(DEPLOYMENT_ANNOTATIONS), { uid: 'bench-pod-9k' })),
    },
    {
      id: 'pod-bare',
      description: 'pod without annotations',
      path: '/mutate/pods',
      body: json(review(deploymentPod(null), { uid: 'bench-pod-bare' })),
    },
    {
      id: 'se-20-hosts',
      description: 'ServiceEntry with 20 hosts (no cluster: object at hand)',
      path: '/validate/serviceentries',
      body: json(SERVICE_ENTRY_20_HOSTS_REVIEW),
    },
  ];
}
