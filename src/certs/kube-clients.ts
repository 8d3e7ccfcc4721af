// The typed client-node APIs the certificate controller uses, from the environment it is given: KUBECONFIG when set,
// the pod's ServiceAccount in a cluster, else ~/.kube/config (controller-runtime's order).
import { AdmissionregistrationV1Api, ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Env } from '../config.js';

export interface KubeClients {
  core: CoreV1Api;
  admission: AdmissionregistrationV1Api;
  /** For log lines; never credentials. */
  server: string;
}

export function kubeClientsFrom(env: Env): KubeClients {
  const kubeConfig = new KubeConfig();
  const file = (env.KUBECONFIG ?? '').split(':').find((path) => path.trim() !== '');
  if (file !== undefined) kubeConfig.loadFromFile(file);
  else if (env.KUBERNETES_SERVICE_HOST) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server)
    throw new Error('no cluster credentials: self-managed certificates and webhook registration need the API server');
  return {
    core: kubeConfig.makeApiClient(CoreV1Api),
    admission: kubeConfig.makeApiClient(AdmissionregistrationV1Api),
    server,
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
