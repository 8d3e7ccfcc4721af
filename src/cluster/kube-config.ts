// Where the server's cluster-wide index reads from: the pod's ServiceAccount inside a cluster, a kubeconfig
// outside one, or nothing (then every object is checked on its own). Reads the environment it is given, not
// process.env, so tests can point it anywhere. A ClusterConfig names its source, server and context for logs;
// credentials stay in files (in-cluster) or in the KubeConfig object, and are never put in a message.
//
// In a cluster, @kubernetes/client-node is never loaded (see kube-api.ts): the ServiceAccount needs only a
// token file, a CA file and the service address. A kubeconfig is read with client-node, imported on demand.
import { existsSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { delimiter, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeApi } from './kube-api.js';

export type Env = Record<string, string | undefined>;

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ClusterConfigOptions {
  /** A context of the kubeconfig other than its current-context (ignored in-cluster). */
  context?: string;
  /** Where the ServiceAccount token, CA and namespace are mounted (tests override it). */
  serviceAccountDir?: string;
}

interface Described {
  /** 'in-cluster' or the kubeconfig file(s) read. */
  source: string;
  server: string;
  context: string;
}

export type ClusterConfig =
  | (Described & { kind: 'in-cluster'; caFile: string; tokenFile: string })
  | (Described & { kind: 'kubeconfig'; kubeConfig: KubeConfig });

export class ClusterConfigError extends Error {
  override name = 'ClusterConfigError';
}

/**
 * The files in KUBECONFIG when it is set (a path list; the first file's current-context wins, as with kubectl);
 * else in-cluster config when KUBERNETES_SERVICE_HOST is set and the ServiceAccount token is mounted; else
 * ~/.kube/config when it exists; else undefined. That is controller-runtime's order: an explicit KUBECONFIG wins,
 * in a pod (where nothing sets it) the ServiceAccount is used. A KUBECONFIG naming no readable file, an unknown
 * context or a kubeconfig without a usable cluster throws ClusterConfigError: an explicit setting that cannot
 * work is a startup error, not "no cluster".
 */
export async function loadClusterConfig(
  env: Env,
  options: ClusterConfigOptions = {},
): Promise<ClusterConfig | undefined> {
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((path) => path.trim() !== '');
  if (listed.length > 0) {
    const files = listed.filter((path) => existsSync(path));
    if (files.length === 0) throw new ClusterConfigError(`KUBECONFIG: no such file: ${listed.join(delimiter)}`);
    return fromFiles(files, options.context, await kubeConfigClass());
  }

  const saDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST?.trim();
  if (host && existsSync(join(saDir, 'token')))
    return inCluster(host, env.KUBERNETES_SERVICE_PORT?.trim() || '443', saDir);

  const home = env.HOME?.trim() || env.USERPROFILE?.trim();
  const defaultFile = home ? join(home, '.kube', 'config') : undefined;
  if (defaultFile && existsSync(defaultFile)) return fromFiles([defaultFile], options.context, await kubeConfigClass());
  return undefined;
}

/** As client-node's loadFromCluster, from the given environment; the files are read per request (they rotate). */
function inCluster(host: string, port: string, saDir: string): ClusterConfig {
  // The API server's Service is always TLS (client-node's plain-HTTP special case for 8080 is a leftover).
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  return {
    kind: 'in-cluster',
    source: 'in-cluster',
    server,
    context: 'in-cluster',
    caFile: join(saDir, 'ca.crt'),
    tokenFile: join(saDir, 'token'),
  };
}

async function kubeConfigClass(): Promise<typeof KubeConfig> {
  return (await import('@kubernetes/client-node')).KubeConfig;
}

/** The transport for a config: node:https in a cluster, client-node for a kubeconfig (each imported on demand). */
export async function createKubeApi(config: ClusterConfig): Promise<KubeApi> {
  if (config.kind === 'in-cluster') {
    const { httpsApi } = await import('./https-api.js');
    return httpsApi({ server: config.server, caFile: config.caFile, tokenFile: config.tokenFile });
  }
  const { clientNodeApi } = await import('./client-node-api.js');
  return clientNodeApi(config.kubeConfig);
}

function fromFiles(files: string[], context: string | undefined, KubeConfigClass: typeof KubeConfig): ClusterConfig {
  const kubeConfig = new KubeConfigClass();
  for (const [index, file] of files.entries()) {
    try {
      if (index === 0) {
        kubeConfig.loadFromFile(file);
      } else {
        // As kubectl merges: the first file to name a cluster, user or context wins; later ones only add.
        const more = new KubeConfigClass();
        more.loadFromFile(file);
        for (const cluster of more.getClusters())
          if (!kubeConfig.getCluster(cluster.name)) kubeConfig.addCluster(cluster);
        for (const user of more.getUsers()) if (!kubeConfig.getUser(user.name)) kubeConfig.addUser(user);
        for (const ctx of more.getContexts()) if (!kubeConfig.getContextObject(ctx.name)) kubeConfig.addContext(ctx);
        if (!kubeConfig.getCurrentContext() && more.getCurrentContext())
          kubeConfig.setCurrentContext(more.getCurrentContext());
      }
    } catch (error) {
      // First line only: YAML parse errors go on to quote the lines around the problem, which may hold a token.
      const reason = String((error as Error).message ?? error).split('\n')[0];
      throw new ClusterConfigError(`cannot read kubeconfig ${file}: ${reason}`);
    }
  }
  if (context !== undefined) {
    if (!kubeConfig.getContextObject(context))
      throw new ClusterConfigError(`kubeconfig ${files.join(delimiter)}: no context "${context}"`);
    kubeConfig.setCurrentContext(context);
  }
  const current = kubeConfig.getCurrentContext();
  const cluster = kubeConfig.getCurrentCluster();
  if (!current || !cluster?.server) {
    throw new ClusterConfigError(
      `kubeconfig ${files.join(delimiter)}: ${current ? `context "${current}" names no cluster with a server` : 'no current-context'}`,
    );
  }
  return { kind: 'kubeconfig', kubeConfig, source: files.join(delimiter), server: cluster.server, context: current };
}
