// Where the server's watch and the CLI's audit read from: a kubeconfig, the pod's ServiceAccount, or nothing.
// Either way the result is a @kubernetes/client-node KubeConfig, so every request goes through one client.
// Reads the environment it is given, not process.env, so tests can point it anywhere. A ClusterConfig names its
// source, server and context for messages; credentials stay in files or in the KubeConfig, never in a message.
import { existsSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export type Env = Record<string, string | undefined>;

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ClusterConfigOptions {
  /** A kubeconfig file to read instead of looking in the environment (the CLI's --kubeconfig). */
  kubeconfig?: string;
  /** A context of the kubeconfig other than its current-context (ignored in-cluster). */
  context?: string;
  /** Where the ServiceAccount token, CA and namespace are mounted (tests override it). */
  serviceAccountDir?: string;
}

export interface ClusterConfig {
  /** 'in-cluster' or the kubeconfig file(s) read. */
  source: string;
  server: string;
  context: string;
  kubeConfig: KubeConfig;
}

export class ClusterConfigError extends Error {
  override name = 'ClusterConfigError';
}

/**
 * An explicit kubeconfig option, else the files in KUBECONFIG when it is set (a path list; the first file's
 * current-context wins, as with kubectl); else in-cluster config when KUBERNETES_SERVICE_HOST is set and the
 * ServiceAccount token is mounted; else ~/.kube/config when it exists; else undefined. That is controller-runtime's
 * order: an explicit KUBECONFIG wins, in a pod (where nothing sets it) the ServiceAccount is used. A file that
 * cannot be read, an unknown context or a kubeconfig without a usable cluster throws ClusterConfigError: an
 * explicit setting that cannot work is an error, not "no cluster".
 */
export async function loadClusterConfig(
  env: Env,
  options: ClusterConfigOptions = {},
): Promise<ClusterConfig | undefined> {
  if (options.kubeconfig !== undefined) {
    if (!existsSync(options.kubeconfig)) throw new ClusterConfigError(`no such kubeconfig: ${options.kubeconfig}`);
    return fromFiles([options.kubeconfig], options.context);
  }
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((path) => path.trim() !== '');
  if (listed.length > 0) {
    const files = listed.filter((path) => existsSync(path));
    if (files.length === 0) throw new ClusterConfigError(`KUBECONFIG: no such file: ${listed.join(delimiter)}`);
    return fromFiles(files, options.context);
  }

  const saDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST?.trim();
  if (host && existsSync(join(saDir, 'token')))
    return inCluster(host, env.KUBERNETES_SERVICE_PORT?.trim() || '443', saDir);

  const home = env.HOME?.trim() || env.USERPROFILE?.trim();
  const defaultFile = home ? join(home, '.kube', 'config') : undefined;
  if (defaultFile && existsSync(defaultFile)) return fromFiles([defaultFile], options.context);
  return undefined;
}

/**
 * What client-node's loadFromCluster builds, from the given environment and directory: the CA file, and the
 * token file re-read every minute (kubelet rotates projected tokens). Always TLS: client-node's plain-HTTP
 * special case for port 8080 is a leftover no API server Service uses.
 */
function inCluster(host: string, port: string, saDir: string): ClusterConfig {
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromClusterAndUser(
    { name: 'in-cluster', server, caFile: join(saDir, 'ca.crt'), skipTLSVerify: false },
    { name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: join(saDir, 'token') } } },
  );
  return { source: 'in-cluster', server, context: 'in-cluster', kubeConfig };
}

function fromFiles(files: string[], context: string | undefined): ClusterConfig {
  const kubeConfig = new KubeConfig();
  for (const [index, file] of files.entries()) {
    try {
      if (index === 0) {
        kubeConfig.loadFromFile(file);
      } else {
        // As kubectl merges: the first file to name a cluster, user or context wins; later ones only add.
        const more = new KubeConfig();
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
    if (!kubeConfig.getContextObject(context)) {
      const known = kubeConfig.getContexts().map((known) => known.name);
      throw new ClusterConfigError(
        `context "${context}" is not in the kubeconfig${known.length > 0 ? ` (contexts: ${known.join(', ')})` : ''}`,
      );
    }
    kubeConfig.setCurrentContext(context);
  }
  const current = kubeConfig.getCurrentContext();
  const cluster = kubeConfig.getCurrentCluster();
  if (!current || !cluster?.server) {
    throw new ClusterConfigError(
      `kubeconfig ${files.join(delimiter)}: ${current ? `context "${current}" names no cluster with a server` : 'no current-context'}`,
    );
  }
  return { kubeConfig, source: files.join(delimiter), server: cluster.server, context: current };
}
