// The production manifests (deploy/) against a real kube-apiserver: the kustomization passes server-side
// validation, the Deployment's pod passes PodSecurity `restricted` in its namespace (which enforces it), and the
// ServiceAccount can read ServiceEntries and DestinationRules and nothing else.
//
// Run: npm run build && node --experimental-vm-modules node_modules/jest/bin/jest.js \
//        --config test/e2e/jest.config.js --runInBand test/e2e/deploy.test.ts
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { installIstioCrds, startCluster, suiteCluster, type Cluster, type KubectlResult } from './cluster.js';
import { repoRoot } from './support/egress-guard.js';

const DEPLOY = join(repoRoot, 'deploy');
const BASE = join(DEPLOY, 'base');
const NAMESPACE = 'egress-guard';
const SERVICE_ACCOUNT = `system:serviceaccount:${NAMESPACE}:egress-guard`;

let cluster: Cluster | undefined;
/** kubectl runs worth reading after the run (printed in afterAll). */
const transcript: string[] = [];
function record(args: string[], r: KubectlResult): void {
  transcript.push(`$ kubectl ${args.join(' ')}\n${r.stderr}${r.stdout}[exit ${r.code}]`);
}

const { kubectl } = suiteCluster(() => cluster);

interface PodSpec {
  securityContext?: Record<string, unknown>;
  containers: { securityContext?: Record<string, unknown>; [key: string]: unknown }[];
  [key: string]: unknown;
}

interface DeploymentJson {
  metadata: { name: string; namespace: string };
  spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}

/** A Pod built from the Deployment's pod template, as its ReplicaSet would create it. */
function podFromDeployment(name: string): {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: Record<string, unknown>;
  spec: PodSpec;
} {
  const deployment = parse(readFileSync(join(BASE, 'deployment.yaml'), 'utf8')) as DeploymentJson;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: deployment.metadata.namespace, labels: deployment.spec.template.metadata.labels },
    spec: structuredClone(deployment.spec.template.spec),
  };
}

/** kind/name of every object in deploy/base, as `kubectl apply -o name` would print them (lower-case kind.group). */
function baseObjects(): string[] {
  const kustomization = parse(readFileSync(join(BASE, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  return kustomization.resources.flatMap((file) => {
    const docs = parseAllDocuments(readFileSync(join(BASE, file), 'utf8'));
    if (!Array.isArray(docs)) return [];
    return docs.map((doc) => {
      const o = doc.toJS() as { apiVersion: string; kind: string; metadata: { name: string } };
      const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
      return `${o.kind.toLowerCase()}${group ? `.${group}` : ''}/${o.metadata.name}`;
    });
  });
}

beforeAll(async () => {
  cluster = await startCluster();
  await installIstioCrds(cluster);
});

afterAll(async () => {
  if (transcript.length > 0)
    console.log(`==================== kubectl transcript (deploy/) ====================\n${transcript.join('\n\n')}`);
  await cluster?.stop();
});

describe('deploy/ on a real API server', () => {
  it('namespace.yaml creates the egress-guard namespace with PodSecurity restricted enforced', async () => {
    await kubectl(['apply', '-f', join(BASE, 'namespace.yaml')]);
    const { stdout } = await kubectl(['get', 'namespace', NAMESPACE, '-o', 'json']);
    const labels = (JSON.parse(stdout) as { metadata: { labels: Record<string, string> } }).metadata.labels;
    expect(labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'kubernetes.io/metadata.name': NAMESPACE,
      'egress-guard.io/dns-capture': 'disabled',
    });
  });

  it('kubectl apply --dry-run=server -k deploy/ accepts every object, without warnings', async () => {
    const args = ['apply', '--dry-run=server', '-k', DEPLOY, '-o', 'name'];
    const r = await kubectl(args, undefined, true);
    record(args, r);
    // kubectl notes (klog, info level) that the kustomization's sortOptions win over its default --reorder: that
    // order is deliberate (webhook configurations first, so `kubectl delete -k` removes them first).
    const stderr = r.stderr
      .split('\n')
      .filter((line) => line !== '' && !line.includes("Sorting order is set both in 'kustomization.yaml'"))
      .join('\n');
    expect({ code: r.code, stderr }).toEqual({ code: 0, stderr: '' });
    const applied = r.stdout.trim().split('\n').sort();
    expect(applied).toEqual(baseObjects().sort());
  });

  it('admits a Pod built from the Deployment template under PodSecurity restricted (kubectl create --dry-run=server)', async () => {
    const r = await kubectl(
      ['create', '--dry-run=server', '-f', '-'],
      podFromDeployment('egress-guard-template'),
      true,
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout.trim()).toBe('pod/egress-guard-template created (server dry run)');
  });

  it('rejects the same Pod without runAsNonRoot, so PodSecurity restricted is really enforced', async () => {
    const pod = podFromDeployment('egress-guard-root');
    delete pod.spec.securityContext?.runAsNonRoot;
    for (const container of pod.spec.containers) delete container.securityContext?.runAsNonRoot;
    const args = ['create', '--dry-run=server', '-f', '-'];
    const r = await kubectl(args, pod, true);
    record([...args, "  # the Deployment's pod without runAsNonRoot"], r);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('violates PodSecurity "restricted:latest"');
    expect(r.stderr).toContain('runAsNonRoot');
  });
});

describe(`RBAC: least privilege for ${SERVICE_ACCOUNT}`, () => {
  beforeAll(async () => {
    await kubectl(['apply', '-f', join(BASE, 'namespace.yaml'), '-f', join(BASE, 'rbac.yaml')]);
  });

  async function canI(verb: string, resource: string, scope: string[]): Promise<{ code: number; answer: string }> {
    const r = await kubectl(['auth', 'can-i', verb, resource, `--as=${SERVICE_ACCOUNT}`, ...scope], undefined, true);
    return { code: r.code, answer: r.stdout.trim() };
  }

  const allowed = ['get', 'list', 'watch'].flatMap((verb) =>
    ['serviceentries.networking.istio.io', 'destinationrules.networking.istio.io'].map((resource) => ({
      verb,
      resource,
    })),
  );
  it.each(allowed)('can $verb $resource in every namespace', async ({ verb, resource }) => {
    for (const scope of [['--all-namespaces'], ['-n', 'shop'], ['-n', NAMESPACE]]) {
      expect({ verb, resource, scope, ...(await canI(verb, resource, scope)) }).toEqual({
        verb,
        resource,
        scope,
        code: 0,
        answer: 'yes',
      });
    }
  });

  const denied: { verb: string; resource: string; subresource?: string }[] = [
    { verb: 'create', resource: 'serviceentries.networking.istio.io' },
    { verb: 'update', resource: 'serviceentries.networking.istio.io' },
    { verb: 'patch', resource: 'serviceentries.networking.istio.io' },
    { verb: 'delete', resource: 'serviceentries.networking.istio.io' },
    { verb: 'update', resource: 'serviceentries.networking.istio.io', subresource: 'status' },
    { verb: 'create', resource: 'destinationrules.networking.istio.io' },
    { verb: 'get', resource: 'secrets' },
    { verb: 'list', resource: 'pods' },
    { verb: 'create', resource: 'pods' },
    { verb: 'get', resource: 'configmaps' },
    { verb: 'list', resource: 'virtualservices.networking.istio.io' },
    { verb: 'get', resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io' },
    { verb: '*', resource: '*' },
  ];
  it.each(
    denied.map((d) => ({ ...d, what: d.subresource ? `${d.resource} (subresource ${d.subresource})` : d.resource })),
  )('cannot $verb $what', async ({ verb, resource, subresource }) => {
    const extra = subresource ? [`--subresource=${subresource}`] : [];
    for (const scope of [
      ['--all-namespaces', ...extra],
      ['-n', NAMESPACE, ...extra],
    ]) {
      expect({ verb, resource, scope, ...(await canI(verb, resource, scope)) }).toEqual({
        verb,
        resource,
        scope,
        code: 1,
        answer: 'no',
      });
    }
  });
});
