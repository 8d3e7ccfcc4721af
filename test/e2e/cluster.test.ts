// Smoke test of the harness itself: real apiserver, Istio CRDs, kubectl round trips.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { installIstioCrds, startCluster, type Cluster } from './cluster.js';

describe('e2e cluster harness', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster();
    await installIstioCrds(cluster);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('serves the pinned Kubernetes version', async () => {
    const { stdout } = await cluster.kubectl(['version', '-o', 'json']);
    const v = JSON.parse(stdout) as { serverVersion: { gitVersion: string }; clientVersion: { gitVersion: string } };
    expect(v.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    expect(v.clientVersion.gitVersion).toBe(v.serverVersion.gitVersion);
  });

  it('applies and reads back a networking.istio.io/v1 ServiceEntry', async () => {
    const manifest = JSON.stringify({
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: 'example', namespace: 'default' },
      spec: {
        hosts: ['api.example.com'],
        location: 'MESH_EXTERNAL',
        resolution: 'DNS',
        ports: [{ number: 443, name: 'tls', protocol: 'TLS' }],
      },
    });
    await cluster.kubectl(['apply', '-f', '-'], { stdin: manifest });
    const { stdout } = await cluster.kubectl(['get', 'serviceentry', 'example', '-n', 'default', '-o', 'json']);
    const se = JSON.parse(stdout) as { spec: { hosts: string[]; resolution: string } };
    expect(se.spec.hosts).toEqual(['api.example.com']);
    expect(se.spec.resolution).toBe('DNS');
  });

  it('rejects an invalid ServiceEntry through the CRD schema', async () => {
    const bad = JSON.stringify({
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: 'bad', namespace: 'default' },
      spec: { hosts: ['x.example.com'], resolution: 'NOT_A_RESOLUTION' },
    });
    const r = await cluster.kubectl(['apply', '-f', '-'], { stdin: bad, allowFail: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/resolution/i);
  });

  it('creates a labelled namespace', async () => {
    await cluster.kubectl(['create', 'namespace', 'egress-test']);
    await cluster.kubectl(['label', 'namespace', 'egress-test', 'istio-injection=enabled']);
    const { stdout } = await cluster.kubectl([
      'get',
      'namespace',
      'egress-test',
      '-o',
      'jsonpath={.metadata.labels.istio-injection}',
    ]);
    expect(stdout).toBe('enabled');
  });

  it('enforces RBAC for non-admin identities', async () => {
    const admin = await cluster.kubectl([
      'auth',
      'can-i',
      'create',
      'serviceentries.networking.istio.io',
      '-n',
      'default',
    ]);
    expect(admin.stdout.trim()).toBe('yes');
    const other = await cluster.kubectl(
      ['auth', 'can-i', 'create', 'serviceentries.networking.istio.io', '-n', 'default', '--as=someone'],
      { allowFail: true },
    );
    expect(other.stdout.trim()).toBe('no');
  });

  it('survives an apiserver restart with the same etcd', async () => {
    await cluster.stopApiserver();
    const down = await cluster.kubectl(['get', 'ns', 'egress-test', '--request-timeout=3s'], { allowFail: true });
    expect(down.code).not.toBe(0);
    await cluster.startApiserver();
    const { stdout } = await cluster.kubectl(['get', 'serviceentry', 'example', '-n', 'default', '-o', 'name']);
    expect(stdout.trim()).toBe('serviceentry.networking.istio.io/example');
  });
});
