// AuditSource over a live API server, through the same client layer as the server's watch (src/cluster/): the
// kubeconfig's current context (or --context), lists in pages of 500 with a timeout per page and optional
// progress, errors turned into one line naming the server and the cause. I/O lives here and in main.ts; main
// imports this module lazily, so `check` never loads the client.
import { AppsV1Api, BatchV1Api, CoreV1Api, type ConfigurationOptions, type V1ListMeta } from '@kubernetes/client-node';
import { clientNodeApi, withTimeout } from '../cluster/client-node-api.js';
import { KubeApiError, toKubeApiError, type ListPage } from '../cluster/kube-api.js';
import { ClusterConfigError, loadClusterConfig, type Env } from '../cluster/kube-config.js';
import { ISTIO_NETWORKING } from '../cluster/watcher.js';
import type { AuditSource, OwnerReference } from './audit.js';
import { ISTIO_NETWORKING_VERSIONS } from '../istio/api-versions.js';
import { OPT_IN_SELECTOR } from './dns-capture.js';

export const PAGE_SIZE = 500;
/** Bound on one page or read, body included. */
const REQUEST_TIMEOUT_MS = 60_000;

/** Anything that stops the audit: a bad kubeconfig, an unreachable or refusing API server. */
export class AuditError extends Error {
  override name = 'AuditError';
  constructor(
    message: string,
    /** The HTTP status the API server answered with, when it answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

interface V1ListLike {
  items: unknown[];
  metadata?: V1ListMeta;
}

export interface KubeSourceOptions {
  env: Env;
  kubeconfig?: string;
  context?: string;
  /** Called after each page of a list that takes more than one page. */
  onProgress?: (line: string) => void;
  /** Notes for stderr (e.g. a missing CRD). */
  onNote?: (line: string) => void;
}

export async function kubeSource(options: KubeSourceOptions): Promise<AuditSource> {
  let config;
  try {
    config = await loadClusterConfig(options.env, {
      ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
      ...(options.context === undefined ? {} : { context: options.context }),
    });
  } catch (error) {
    if (error instanceof ClusterConfigError) throw new AuditError(error.message);
    throw error;
  }
  if (!config)
    throw new AuditError('no kubeconfig found (KUBECONFIG, ~/.kube/config) and not in a cluster; pass --kubeconfig');
  const { kubeConfig, server } = config;
  const api = clientNodeApi(kubeConfig);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const batch = kubeConfig.makeApiClient(BatchV1Api);

  /** Every page of a list; an expired continue token (410 Gone) starts the list over, as kubectl does. */
  async function listAll(what: string, fetchPage: (continueToken?: string) => Promise<ListPage>): Promise<unknown[]> {
    for (let attempt = 1; ; attempt++) {
      const items: unknown[] = [];
      let continueToken: string | undefined;
      let pages = 0;
      try {
        do {
          const page = await fetchPage(continueToken);
          items.push(...page.items);
          continueToken = page.continue;
          pages++;
          if (pages > 1 || continueToken)
            options.onProgress?.(`listed ${items.length} ${what}${continueToken ? '...' : ''}`);
        } while (continueToken);
        return items;
      } catch (error) {
        // The shared transport names the call itself ("list serviceentries: ..."); say what the audit was doing.
        const failure =
          error instanceof KubeApiError
            ? new KubeApiError(`cannot ${error.message}`, error.status)
            : toKubeApiError(error, `cannot list ${what}`, server);
        if (failure.status === 410 && continueToken && attempt < 3) continue;
        throw new AuditError(failure.message, failure.status);
      }
    }
  }

  /** One page of a typed list call (whose models name the token `_continue`), bounded by the request timeout. */
  const corePage =
    (list: (page: { limit: number; _continue?: string }, timeout: ConfigurationOptions) => Promise<V1ListLike>) =>
    async (continueToken?: string): Promise<ListPage> => {
      const { items, metadata } = await list(
        { limit: PAGE_SIZE, ...(continueToken ? { _continue: continueToken } : {}) },
        withTimeout(REQUEST_TIMEOUT_MS),
      );
      return {
        items,
        resourceVersion: metadata?.resourceVersion ?? '',
        ...(metadata?._continue ? { continue: metadata._continue } : {}),
      };
    };

  async function listIstio(kind: keyof typeof ISTIO_NETWORKING): Promise<unknown[]> {
    const { group, plural } = ISTIO_NETWORKING[kind];
    for (const version of ISTIO_NETWORKING_VERSIONS) {
      try {
        return await listAll(`${plural}.${group}`, (continueToken) =>
          api.list(
            { group, version, plural },
            { limit: PAGE_SIZE, ...(continueToken ? { continue: continueToken } : {}), timeoutMs: REQUEST_TIMEOUT_MS },
          ),
        );
      } catch (error) {
        if (!(error instanceof AuditError && error.status === 404)) throw error;
      }
    }
    options.onNote?.(`note: the cluster serves no ${plural}.${group} (are Istio's CRDs installed?); none checked`);
    return [];
  }

  return {
    listServiceEntries: () => listIstio('ServiceEntry'),
    listDestinationRules: () => listIstio('DestinationRule'),
    async listOptedInNamespaces() {
      const namespaces = await listAll(
        `namespaces labelled ${OPT_IN_SELECTOR}`,
        corePage((page, timeout) => core.listNamespace({ ...page, labelSelector: OPT_IN_SELECTOR }, timeout)),
      );
      return namespaces.flatMap((namespace) => {
        const name = (namespace as { metadata?: { name?: unknown } }).metadata?.name;
        return typeof name === 'string' ? [name] : [];
      });
    },
    listPods(namespace) {
      return listAll(
        `pods in ${namespace}`,
        corePage((page, timeout) => core.listNamespacedPod({ ...page, namespace }, timeout)),
      );
    },
    async ownerReferencesOf(kind, namespace, name) {
      try {
        const timeout = withTimeout(REQUEST_TIMEOUT_MS);
        const owner =
          kind === 'ReplicaSet'
            ? await apps.readNamespacedReplicaSet({ namespace, name }, timeout)
            : await batch.readNamespacedJob({ namespace, name }, timeout);
        return (owner.metadata?.ownerReferences ?? []).map((reference): OwnerReference => ({
          apiVersion: reference.apiVersion,
          kind: reference.kind,
          name: reference.name,
          ...(reference.uid ? { uid: reference.uid } : {}),
          ...(reference.controller ? { controller: true } : {}),
        }));
      } catch (error) {
        // Gone since the pod was listed, or not ours to read: report the pods under the direct owner.
        const failure = toKubeApiError(error, `cannot read ${kind} ${namespace}/${name}`, server);
        if (failure.status === 404 || failure.status === 403) return undefined;
        throw new AuditError(failure.message, failure.status);
      }
    },
  };
}
