// The typed client-node APIs the certificate controller uses, from the cluster client layer's config (KUBECONFIG,
// else the pod's ServiceAccount, else ~/.kube/config).
import { AdmissionregistrationV1Api, ApiException, CoreV1Api } from '@kubernetes/client-node';
import { loadClusterConfig } from '../cluster/kube-config.js';
import type { Env } from '../config.js';

export interface KubeClients {
  core: CoreV1Api;
  admission: AdmissionregistrationV1Api;
  /** For log lines; never credentials. */
  server: string;
}

export async function kubeClientsFrom(env: Env): Promise<KubeClients> {
  const config = await loadClusterConfig(env);
  if (!config)
    throw new Error('no cluster credentials: self-managed certificates and webhook registration need the API server');
  return {
    core: config.kubeConfig.makeApiClient(CoreV1Api),
    admission: config.kubeConfig.makeApiClient(AdmissionregistrationV1Api),
    server: config.server,
  };
}

/** The HTTP status of a failed call, when the API server answered. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** One line for logs: status and the Status message, or the network error; never headers or bodies with secrets. */
export function describeError(error: unknown): string {
  if (error instanceof ApiException) {
    const body = typeof error.body === 'string' ? safeJson(error.body) : error.body;
    const message = (body as { message?: unknown } | undefined)?.message;
    return `HTTP ${error.code}${typeof message === 'string' ? `: ${message}` : ''}`;
  }
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  return cause ?? (error instanceof Error ? error.message.split('\n')[0]! : String(error));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
