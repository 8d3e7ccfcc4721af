// Assembles the two listeners from a Config. No process-level concerns here (signals, exit codes): see run.ts.
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Webhook } from './admission/webhook.js';
import { buildAdmissionApp } from './http/admission-app.js';
import { buildOpsApp } from './http/ops-app.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Readiness } from './readiness.js';
import { objectAtHandView } from './rules/object-at-hand.js';
import { podMutator } from './webhooks/mutate-pods.js';
import { serviceEntryValidator, type ClusterViewFor } from './webhooks/validate-serviceentries.js';

export interface TlsMaterial {
  cert: string | Buffer;
  key: string | Buffer;
  /** Client CA: when present, the API server must present a certificate signed by it. */
  clientCa?: string | Buffer;
}

export interface ServerParts {
  config: Config;
  logger: Logger;
  metrics?: Metrics;
  readiness?: Readiness;
  /** The cluster-wide index when a cluster is reachable; the object at hand otherwise. */
  clusterViewFor?: ClusterViewFor;
}

export interface RunningServer {
  admission: FastifyInstance;
  ops: FastifyInstance;
  metrics: Metrics;
  readiness: Readiness;
  admissionUrl: string;
  opsUrl: string;
  close(): Promise<void>;
}

export function buildWebhooks(config: Config, clusterViewFor: ClusterViewFor = objectAtHandView): Webhook[] {
  const settings = { expectedPorts: config.expectedPorts, undeclaredPortsAction: config.undeclaredPortsAction };
  return [podMutator(config.autoAllocateMode), serviceEntryValidator(settings, clusterViewFor)];
}

export async function startServer(parts: ServerParts, tls: TlsMaterial): Promise<RunningServer> {
  const { config, logger } = parts;
  const metrics = parts.metrics ?? createMetrics();
  const readiness = parts.readiness ?? new Readiness();
  readiness.set('listening', false, 'starting');
  const admission = buildAdmissionApp({
    webhooks: buildWebhooks(config, parts.clusterViewFor),
    logger,
    metrics,
    bodyLimitBytes: config.bodyLimitBytes,
    https: {
      cert: tls.cert,
      key: tls.key,
      ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    },
  });
  const ops = buildOpsApp({ logger, metrics, readiness });
  const admissionUrl = await admission.listen({ port: config.port, host: config.host });
  const opsUrl = await ops.listen({ port: config.opsPort, host: config.host });
  readiness.set('listening', true);
  return {
    admission,
    ops,
    metrics,
    readiness,
    admissionUrl,
    opsUrl,
    async close() {
      await admission.close();
      await ops.close();
    },
  };
}
