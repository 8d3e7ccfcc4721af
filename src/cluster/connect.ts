// What run.ts calls at startup: find cluster credentials, start the watch, hook it into readiness and metrics,
// and hand back the ClusterViewFor for the ServiceEntry webhook. No credentials: undefined, and each object is
// checked on its own (the server still starts and is ready).
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Readiness } from '../readiness.js';
import type { ClusterViewFor, RuleSettings } from '../rules/types.js';
import { clientNodeApi } from './client-node-api.js';
import { loadClusterConfig, type ClusterConfigOptions, type Env } from './kube-config.js';
import type { KubeApi } from './kube-api.js';
import { clusterViewFor, registerClusterMetrics, registerClusterReadiness } from './status.js';
import { ClusterWatcher, type ClusterWatcherOptions } from './watcher.js';

export interface ConnectOptions extends Omit<ClusterConfigOptions, 'kubeconfig'> {
  env: Env;
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  settings: RuleSettings;
  /** Tuning for tests; production uses the defaults. */
  watch?: Omit<ClusterWatcherOptions, 'api' | 'logger'>;
  /** Replaces the client-node transport (tests). */
  api?: KubeApi;
}

export interface ClusterConnection {
  clusterViewFor: ClusterViewFor;
  watcher: ClusterWatcher;
  /** Stops the watch; the index keeps its contents. */
  stop(): void;
}

/** Throws ClusterConfigError for an explicit setting that cannot work (KUBECONFIG naming no file, unknown context). */
export async function connectCluster(options: ConnectOptions): Promise<ClusterConnection | undefined> {
  const { env, logger, metrics, readiness, settings } = options;
  const config = await loadClusterConfig(env, {
    ...(options.context === undefined ? {} : { context: options.context }),
    ...(options.serviceAccountDir === undefined ? {} : { serviceAccountDir: options.serviceAccountDir }),
  });
  if (!config) {
    logger.info('no cluster configuration found; checking each object on its own');
    return undefined;
  }
  const watcher = new ClusterWatcher({
    ...options.watch,
    api: options.api ?? clientNodeApi(config.kubeConfig),
    logger,
  });
  registerClusterReadiness(watcher, readiness);
  registerClusterMetrics(watcher, metrics.registry, settings);
  await watcher.start();
  logger.info(
    { source: config.source, server: config.server, context: config.context },
    'watching ServiceEntries and DestinationRules cluster-wide; ready once both are listed',
  );
  return { clusterViewFor: clusterViewFor(watcher), watcher, stop: () => watcher.stop() };
}
