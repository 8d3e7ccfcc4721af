// AuditSource over a live API server with @kubernetes/client-node: the kubeconfig's current context (or
// --context), lists paginated (limit 500 + continue) with optional progress, errors turned into one readable line.
// I/O lives here and in main.ts; main imports this module lazily, so `check` never loads the client.
import { AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { AuditSource, OwnerReference } from './audit.js';
import { ISTIO_NETWORKING_VERSIONS } from '../istio/api-versions.js';
import { OPT_IN_SELECTOR } from './dns-capture.js';

export const PAGE_SIZE = 500;
const ISTIO_GROUP = 'networking.istio.io';

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

export interface KubeSourceOptions {
  kubeconfig?: string;
  context?: string;
  /** Called after each page of a list that takes more than one page. */
  onProgress?: (line: string) => void;
  /** Notes for stderr (e.g. a missing CRD). */
  onNote?: (line: string) => void;
}

export function loadKubeConfig({ kubeconfig, context }: Pick<KubeSourceOptions, 'kubeconfig' | 'context'>): KubeConfig {
  const config = new KubeConfig();
  try {
    if (kubeconfig === undefined) config.loadFromDefault();
    else config.loadFromFile(kubeconfig);
  } catch (error) {
    throw new AuditError(
      `cannot load the kubeconfig${kubeconfig ? ` ${kubeconfig}` : ''}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  if (context !== undefined) {
    if (!config.getContextObject(context)) {
      const known = config.getContexts().map((known) => known.name);
      throw new AuditError(
        `context "${context}" is not in the kubeconfig${known.length > 0 ? ` (contexts: ${known.join(', ')})` : ''}`,
      );
    }
    config.setCurrentContext(context);
  }
  if (!config.getCurrentCluster())
    throw new AuditError('the kubeconfig has no current context with a cluster; pass --kubeconfig or --context');
  return config;
}

interface Page {
  items: unknown[];
  continueToken?: string;
}

export function kubeSource(options: KubeSourceOptions): AuditSource {
  const config = loadKubeConfig(options);
  const server = config.getCurrentCluster()?.server ?? '?';
  const core = config.makeApiClient(CoreV1Api);
  const apps = config.makeApiClient(AppsV1Api);
  const batch = config.makeApiClient(BatchV1Api);
  const custom = config.makeApiClient(CustomObjectsApi);

  /** Every page of a list; an expired continue token (410 Gone) starts the list over, as kubectl does. */
  async function listAll(
    what: string,
    fetchPage: (continueToken: string | undefined) => Promise<Page>,
  ): Promise<unknown[]> {
    for (let attempt = 1; ; attempt++) {
      const items: unknown[] = [];
      let continueToken: string | undefined;
      let pages = 0;
      try {
        do {
          const page = await fetchPage(continueToken);
          items.push(...page.items);
          continueToken = page.continueToken || undefined;
          pages++;
          if (pages > 1 || continueToken)
            options.onProgress?.(`listed ${items.length} ${what}${continueToken ? '...' : ''}`);
        } while (continueToken);
        return items;
      } catch (error) {
        if (statusOf(error) === 410 && continueToken && attempt < 3) continue;
        throw apiError(`cannot list ${what}`, error, server);
      }
    }
  }

  async function listIstio(plural: string): Promise<unknown[]> {
    for (const version of ISTIO_NETWORKING_VERSIONS) {
      try {
        return await listAll(`${plural}.${ISTIO_GROUP}`, async (continueToken) => {
          const list: unknown = await custom.listClusterCustomObject({
            group: ISTIO_GROUP,
            version,
            plural,
            limit: PAGE_SIZE,
            ...(continueToken ? { _continue: continueToken } : {}),
          });
          const record = list as { items?: unknown; metadata?: { continue?: unknown } };
          const token = record.metadata?.continue;
          return {
            items: Array.isArray(record.items) ? record.items : [],
            ...(typeof token === 'string' && token ? { continueToken: token } : {}),
          };
        });
      } catch (error) {
        if (!(error instanceof AuditError && error.status === 404)) throw error;
      }
    }
    options.onNote?.(
      `note: the cluster serves no ${plural}.${ISTIO_GROUP} (are Istio's CRDs installed?); none checked`,
    );
    return [];
  }

  return {
    listServiceEntries: () => listIstio('serviceentries'),
    listDestinationRules: () => listIstio('destinationrules'),
    async listOptedInNamespaces() {
      const namespaces = await listAll(`namespaces labelled ${OPT_IN_SELECTOR}`, async (continueToken) => {
        const list = await core.listNamespace({
          labelSelector: OPT_IN_SELECTOR,
          limit: PAGE_SIZE,
          ...(continueToken ? { _continue: continueToken } : {}),
        });
        return { items: list.items, ...(list.metadata?._continue ? { continueToken: list.metadata._continue } : {}) };
      });
      return namespaces.flatMap((namespace) => {
        const name = (namespace as { metadata?: { name?: unknown } }).metadata?.name;
        return typeof name === 'string' ? [name] : [];
      });
    },
    listPods(namespace) {
      return listAll(`pods in ${namespace}`, async (continueToken) => {
        const list = await core.listNamespacedPod({
          namespace,
          limit: PAGE_SIZE,
          ...(continueToken ? { _continue: continueToken } : {}),
        });
        return { items: list.items, ...(list.metadata?._continue ? { continueToken: list.metadata._continue } : {}) };
      });
    },
    async ownerReferencesOf(kind, namespace, name) {
      try {
        const owner =
          kind === 'ReplicaSet'
            ? await apps.readNamespacedReplicaSet({ namespace, name })
            : await batch.readNamespacedJob({ namespace, name });
        return (owner.metadata?.ownerReferences ?? []).map((reference): OwnerReference => ({
          apiVersion: reference.apiVersion,
          kind: reference.kind,
          name: reference.name,
          ...(reference.uid ? { uid: reference.uid } : {}),
          ...(reference.controller ? { controller: true } : {}),
        }));
      } catch (error) {
        // Gone since the pod was listed, or not ours to read: report the pods under the direct owner.
        const status = statusOf(error);
        if (status === 404 || status === 403) return undefined;
        throw apiError(`cannot read ${kind} ${namespace}/${name}`, error, server);
      }
    },
  };
}

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** One line: what failed, and the API server's own message (its Status) or the network error. */
function apiError(what: string, error: unknown, server: string): AuditError {
  const status = statusOf(error);
  let detail: string;
  if (status !== undefined) {
    const body = (error as { body?: unknown }).body;
    let message: string | undefined;
    try {
      const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
      const candidate = (parsed as { message?: unknown } | null)?.message;
      if (typeof candidate === 'string') message = candidate;
    } catch {
      // Not a Status object.
    }
    detail = `${status}${message ? ` ${message}` : ''}`;
  } else {
    detail = `${server}: ${(error as Error).message?.split('\n')[0] ?? String(error)}${causeOf(error)}`;
  }
  return new AuditError(`${what}: ${detail}`, status);
}

/** undici's fetch says only "fetch failed"; the reason (ECONNREFUSED, a TLS error) is in its cause. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const text = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : '';
  return text ? ` (${text.split('\n')[0]})` : '';
}
