import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ClusterConfigError, loadClusterConfig } from './kube-config.js';

const root = mkdtempSync(join(tmpdir(), 'egress-guard-kubeconfig-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function dir(): string {
  const path = join(root, String(counter++));
  mkdirSync(path, { recursive: true });
  return path;
}

const SECRET = 'sekret-token-never-logged';

function kubeconfig(contexts: Array<{ name: string; server: string }>, current?: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: contexts.map(({ name, server }) => ({ name, cluster: { server } })),
    users: [{ name: 'me', user: { token: SECRET } }],
    contexts: contexts.map(({ name }) => ({ name, context: { cluster: name, user: 'me' } })),
    ...(current ? { 'current-context': current } : {}),
  });
}

function serviceAccount(): string {
  const sa = dir();
  writeFileSync(join(sa, 'token'), SECRET);
  writeFileSync(join(sa, 'ca.crt'), 'not a real CA');
  return sa;
}

describe('loadClusterConfig', () => {
  it('uses the ServiceAccount inside a pod', async () => {
    const config = await loadClusterConfig(
      { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443', HOME: dir() },
      { serviceAccountDir: serviceAccount() },
    );
    expect(config).toMatchObject({ source: 'in-cluster', server: 'https://10.0.0.1:443', context: 'in-cluster' });
    expect(config?.kubeConfig.getCurrentCluster()?.caFile).toMatch(/ca\.crt$/);
    expect(config?.kubeConfig.getCurrentUser()?.authProvider?.config?.tokenFile).toMatch(/token$/);
  });

  it('brackets an IPv6 service host', async () => {
    expect(
      (
        await loadClusterConfig(
          { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' },
          { serviceAccountDir: serviceAccount() },
        )
      )?.server,
    ).toBe('https://[fd00::1]:6443');
  });

  it('ignores KUBERNETES_SERVICE_HOST without a mounted token', async () => {
    expect(
      await loadClusterConfig({ KUBERNETES_SERVICE_HOST: '10.0.0.1', HOME: dir() }, { serviceAccountDir: dir() }),
    ).toBeUndefined();
  });

  it('reads KUBECONFIG, the first file setting the current context', async () => {
    const d = dir();
    writeFileSync(join(d, 'a'), kubeconfig([{ name: 'a', server: 'https://a.example:6443' }], 'a'));
    writeFileSync(join(d, 'b'), kubeconfig([{ name: 'b', server: 'https://b.example:6443' }], 'b'));
    const config = await loadClusterConfig({
      KUBECONFIG: [join(d, 'missing'), join(d, 'a'), join(d, 'b')].join(delimiter),
    });
    expect(config).toMatchObject({ server: 'https://a.example:6443', context: 'a' });
    expect(config?.source).toBe([join(d, 'a'), join(d, 'b')].join(delimiter));
  });

  it('prefers an explicit KUBECONFIG to the ServiceAccount', async () => {
    const d = dir();
    writeFileSync(join(d, 'config'), kubeconfig([{ name: 'a', server: 'https://a.example' }], 'a'));
    const env = { KUBECONFIG: join(d, 'config'), KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
    expect(await loadClusterConfig(env, { serviceAccountDir: serviceAccount() })).toMatchObject({
      source: join(d, 'config'),
      server: 'https://a.example',
    });
  });

  it('selects an explicit context, and rejects an unknown one', async () => {
    const d = dir();
    writeFileSync(
      join(d, 'config'),
      kubeconfig(
        [
          { name: 'a', server: 'https://a.example' },
          { name: 'b', server: 'https://b.example' },
        ],
        'a',
      ),
    );
    expect(await loadClusterConfig({ KUBECONFIG: join(d, 'config') }, { context: 'b' })).toMatchObject({
      server: 'https://b.example',
      context: 'b',
    });
    await expect(loadClusterConfig({ KUBECONFIG: join(d, 'config') }, { context: 'c' })).rejects.toThrow(
      'context "c" is not in the kubeconfig (contexts: a, b)',
    );
  });

  it('reads an explicit kubeconfig file before KUBECONFIG, and rejects a missing one', async () => {
    const d = dir();
    writeFileSync(join(d, 'a'), kubeconfig([{ name: 'a', server: 'https://a.example' }], 'a'));
    writeFileSync(join(d, 'b'), kubeconfig([{ name: 'b', server: 'https://b.example' }], 'b'));
    expect(await loadClusterConfig({ KUBECONFIG: join(d, 'a') }, { kubeconfig: join(d, 'b') })).toMatchObject({
      server: 'https://b.example',
      source: join(d, 'b'),
    });
    await expect(loadClusterConfig({}, { kubeconfig: join(d, 'c') })).rejects.toThrow(
      `no such kubeconfig: ${join(d, 'c')}`,
    );
  });

  it('falls back to ~/.kube/config, and to nothing', async () => {
    const home = dir();
    expect(await loadClusterConfig({ HOME: home })).toBeUndefined();
    expect(await loadClusterConfig({})).toBeUndefined();
    mkdirSync(join(home, '.kube'));
    writeFileSync(
      join(home, '.kube', 'config'),
      kubeconfig([{ name: 'home', server: 'https://home.example' }], 'home'),
    );
    expect(await loadClusterConfig({ HOME: home })).toMatchObject({ server: 'https://home.example', context: 'home' });
  });

  it('fails loudly on a KUBECONFIG naming no file or a kubeconfig without a current context, never echoing credentials', async () => {
    const d = dir();
    await expect(loadClusterConfig({ KUBECONFIG: join(d, 'nope') })).rejects.toBeInstanceOf(ClusterConfigError);
    writeFileSync(join(d, 'nocurrent'), kubeconfig([{ name: 'a', server: 'https://a.example' }]));
    let message = '';
    try {
      await loadClusterConfig({ KUBECONFIG: join(d, 'nocurrent') });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/no current-context/);
    expect(message).not.toContain(SECRET);
  });
});

describe('loadClusterConfig: unreadable files', () => {
  it('quotes no line of a kubeconfig that does not parse', async () => {
    const d = dir();
    writeFileSync(join(d, 'broken'), `users:\n- name: me\n  user:\n    token: ${SECRET}\n   bad: [indent\n`);
    let message = '';
    try {
      await loadClusterConfig({ KUBECONFIG: join(d, 'broken') });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^cannot read kubeconfig /);
    expect(message).not.toContain(SECRET);
  });
});
