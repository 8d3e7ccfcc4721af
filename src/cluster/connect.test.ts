import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubeApi, serviceEntryObject } from '../../test/support/fake-kube-api.js';
import { captureLog } from '../../test/support/log-capture.js';
import { waitFor } from '../../test/support/wait.js';
import { toServiceEntryView } from '../istio/service-entry.js';
import { createMetrics } from '../metrics.js';
import { Readiness } from '../readiness.js';
import { connectCluster } from './connect.js';
import { ClusterConfigError } from './kube-config.js';

const settings = {
  expectedPorts: [80, 443],
  undeclaredPortsAction: 'warn',
  istio: { version: { major: 1, minor: 31 }, allocator: 'istiod' },
} as const;

function kubeconfigFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'egress-guard-connect-')), 'config');
  writeFileSync(
    file,
    JSON.stringify({
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
      users: [{ name: 'u', user: { token: 'secret-token' } }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
    }),
  );
  return file;
}

describe('connectCluster', () => {
  it('without any cluster configuration: undefined, one log line, readiness untouched', async () => {
    const log = captureLog();
    const readiness = new Readiness();
    const connection = await connectCluster({
      env: { HOME: mkdtempSync(join(tmpdir(), 'egress-guard-home-')) },
      logger: log.logger,
      metrics: createMetrics(),
      readiness,
      settings,
    });
    expect(connection).toBeUndefined();
    expect(log.lines().map((line) => line.msg)).toEqual([
      'no cluster configuration found; checking each object on its own',
    ]);
    expect(readiness.report().checks).toEqual({});
  });

  it('rejects an explicit KUBECONFIG that names no file', async () => {
    await expect(
      connectCluster({
        env: { KUBECONFIG: '/nonexistent/kubeconfig' },
        logger: captureLog().logger,
        metrics: createMetrics(),
        readiness: new Readiness(),
        settings,
      }),
    ).rejects.toBeInstanceOf(ClusterConfigError);
  });

  it('starts the watch, wires readiness and metrics, and logs where it reads from without credentials', async () => {
    const api = new FakeKubeApi();
    api.apply(
      'serviceentries',
      serviceEntryObject('other', 'first', { hosts: ['dup.example.com'], resolution: 'DNS' }),
    );
    const log = captureLog();
    const readiness = new Readiness();
    const metrics = createMetrics();
    const connection = await connectCluster({
      env: { KUBECONFIG: kubeconfigFile() },
      logger: log.logger,
      metrics,
      readiness,
      settings,
      api,
    });
    try {
      expect(connection).toBeDefined();
      expect(readiness.report().checks['cluster-cache']).toBeDefined();
      await waitFor(() => readiness.ready, 'ready');
      const view = connection?.clusterViewFor(
        toServiceEntryView(serviceEntryObject('default', 'second', { hosts: ['dup.example.com'], resolution: 'DNS' })),
      );
      expect(view?.serviceEntriesForHost('dup.example.com', 'default').map((entry) => entry.name)).toEqual([
        'second',
        'first',
      ]);
      expect(await metrics.registry.metrics()).toMatch(/^egress_guard_cluster_cache_synced 1$/m);
      const started = log.lines().find((line) => String(line.msg).startsWith('watching ServiceEntries'));
      expect(started).toMatchObject({ server: 'https://127.0.0.1:1', context: 'ctx' });
      expect(log.text()).not.toContain('secret-token');
    } finally {
      connection?.stop();
    }
  });
});
