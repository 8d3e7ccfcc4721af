// The harness's optional kube-controller-manager: a Deployment becomes a ReplicaSet and pods (Pending forever:
// no scheduler, no kubelet), deleting it garbage-collects both, and the controller acts as its own identity.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startCluster, type Cluster } from './cluster.js';

interface Named {
  items: {
    metadata: { name: string; ownerReferences?: { kind: string; name: string }[] };
    status?: { phase?: string };
  }[];
}

async function waitForItems(cluster: Cluster, args: string[], count: number): Promise<Named['items']> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { stdout } = await cluster.kubectl([...args, '-o', 'json']);
    const items = (JSON.parse(stdout) as Named).items;
    if (items.length === count) return items;
    if (Date.now() > deadline) throw new Error(`kubectl ${args.join(' ')}: ${items.length} items, want ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('e2e cluster with kube-controller-manager', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster({ controllerManager: true });
    await cluster.kubectl(['create', 'namespace', 'apps']);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('turns kubectl create deployment into a ReplicaSet and its pods', async () => {
    await cluster.kubectl([
      'create',
      'deployment',
      'web',
      '--image=registry.example.com/web:1',
      '--replicas=2',
      '-n',
      'apps',
    ]);
    const [replicaSet] = await waitForItems(cluster, ['get', 'replicasets', '-n', 'apps', '-l', 'app=web'], 1);
    expect(replicaSet?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Deployment', name: 'web' }),
    ]);
    const pods = await waitForItems(cluster, ['get', 'pods', '-n', 'apps', '-l', 'app=web'], 2);
    for (const pod of pods) {
      expect(pod.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'ReplicaSet', name: replicaSet?.metadata.name }),
      ]);
      expect(pod.status?.phase).toBe('Pending');
    }
  });

  it('creates the namespace default ServiceAccount and the controllers act as kube-system service accounts', async () => {
    await waitForItems(cluster, ['get', 'serviceaccounts', '-n', 'apps', '--field-selector=metadata.name=default'], 1);
    const { stdout } = await cluster.kubectl(['get', 'serviceaccounts', '-n', 'kube-system', '-o', 'name']);
    expect(stdout.split('\n')).toEqual(
      expect.arrayContaining(['serviceaccount/deployment-controller', 'serviceaccount/replicaset-controller']),
    );
  });

  it('garbage-collects the ReplicaSet and pods of a deleted Deployment', async () => {
    await cluster.kubectl(['delete', 'deployment', 'web', '-n', 'apps', '--wait=false']);
    await waitForItems(cluster, ['get', 'replicasets', '-n', 'apps', '-l', 'app=web'], 0);
    await waitForItems(cluster, ['get', 'pods', '-n', 'apps', '-l', 'app=web'], 0);
  });
});
