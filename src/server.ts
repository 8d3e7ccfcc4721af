// Assembles the two listeners from a Config. No process-level concerns here (signals, exit codes): see run.ts.
import type { FastifyInstance } from 'fastify';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import { ruleSettingsOf, type Config } from './config.js';
import type { Webhook } from './admission/webhook.js';
import { buildAdmissionApp } from './http/admission-app.js';
import { buildOpsApp } from './http/ops-app.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Readiness } from './readiness.js';
import { objectAtHandView } from './rules/object-at-hand.js';
import type { ClusterViewFor, RuleSettings } from './rules/types.js';
import { CertificateReloader, certificateSummary, recordCertificate } from './tls/certificate-reloader.js';
import {
  inspectCertificate,
  secureContextOptions,
  validityProblem,
  type TlsFiles,
  type TlsMaterial,
} from './tls/certificate.js';
import { podMutator } from './webhooks/mutate-pods.js';
import { serviceEntryValidator } from './webhooks/validate-serviceentries.js';

export type { TlsMaterial } from './tls/certificate.js';

/** Node's default, stated so it is a decision: a review's headers are a few hundred bytes; more gets 431. */
const MAX_HEADER_BYTES = 16 * 1024;
/**
 * How long close() waits for in-flight reviews before cutting their connections. The webhooks' timeoutSeconds is
 * 5 (deploy/base/webhooks.yaml): by then the API server has given up on them anyway.
 */
const DRAIN_TIMEOUT_MS = 10_000;
/** A client that connects and never finishes the TLS handshake is cut after this (Node's default is 120 s). */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * Open admission connections; more are refused at accept. The API server keeps a few dozen at most; the cap bounds
 * what idle or slow clients can hold (sockets, TLS buffers, bodies up to 64 KiB each).
 */
const MAX_ADMISSION_CONNECTIONS = 256;

export interface ServerParts {
  config: Config;
  logger: Logger;
  metrics?: Metrics;
  readiness?: Readiness;
  /** The cluster-wide index when a cluster is reachable; the object at hand otherwise. */
  clusterViewFor?: ClusterViewFor;
  /** Shared with the cluster index's metrics, so both read one settings object. */
  settings?: RuleSettings;
  /** The files the TLS material was read from: when given, renewed files are served without a restart. */
  certificateFiles?: TlsFiles;
}

export interface RunningServer {
  admission: FastifyInstance;
  ops: FastifyInstance;
  metrics: Metrics;
  readiness: Readiness;
  admissionUrl: string;
  opsUrl: string;
  /** From now on every response says `Connection: close`, so keep-alive clients reconnect (to another replica). */
  drain(): void;
  /** Stops accepting, lets in-flight reviews finish (up to DRAIN_TIMEOUT_MS), closes keep-alive connections, stops watching files. */
  close(): Promise<void>;
}

export function buildWebhooks(
  config: Config,
  clusterViewFor: ClusterViewFor = objectAtHandView,
  settings: RuleSettings = ruleSettingsOf(config),
): Webhook[] {
  return [podMutator(config.autoAllocateMode), serviceEntryValidator(settings, clusterViewFor)];
}

export async function startServer(parts: ServerParts, tls: TlsMaterial): Promise<RunningServer> {
  const { config, logger } = parts;
  const metrics = parts.metrics ?? createMetrics();
  const readiness = parts.readiness ?? new Readiness();
  readiness.set('listening', false, 'starting');
  // A key from another certificate fails here with the reason, instead of deep inside tls.createServer.
  const certificate = inspectCertificate(tls);
  const late = validityProblem(certificate);
  // Served anyway: refusing to start would not make the API server trust it, and a renewal is picked up below.
  if (late !== undefined)
    logger.error(
      { problem: late, ...certificateSummary(certificate) },
      'serving a TLS certificate the API server will refuse',
    );
  recordCertificate(metrics, certificate);

  const admission = buildAdmissionApp({
    webhooks: buildWebhooks(config, parts.clusterViewFor, parts.settings),
    logger,
    metrics,
    bodyLimitBytes: config.bodyLimitBytes,
    https: httpsOptions(tls),
  });
  admission.server.maxConnections = MAX_ADMISSION_CONNECTIONS;
  const ops = buildOpsApp({ logger, metrics, readiness });
  const admissionUrl = await listenOrExplain(admission, config.host, config.port, 'PORT');
  let opsUrl: string;
  try {
    opsUrl = await listenOrExplain(ops, config.host, config.opsPort, 'OPS_PORT');
  } catch (error) {
    await admission.close();
    throw error;
  }

  const reloader = parts.certificateFiles
    ? new CertificateReloader({
        files: parts.certificateFiles,
        current: certificate,
        apply: (options) => (admission.server as unknown as HttpsServer).setSecureContext(options),
        logger,
        metrics,
      })
    : undefined;
  reloader?.start();
  readiness.set('listening', true);

  // Every response from then on carries `Connection: close`, so Node closes the connection after it. A listener of
  // the Node server added only when draining starts, rather than a fastify hook run for every review until then.
  let draining = false;
  const drain = () => {
    if (draining) return;
    draining = true;
    admission.server.prependListener('request', (_request, response) => response.setHeader('connection', 'close'));
  };
  return {
    admission,
    ops,
    metrics,
    readiness,
    admissionUrl,
    opsUrl,
    drain,
    async close() {
      drain();
      reloader?.stop();
      // The listener first, fastify after: once fastify is closing it answers 503 (return503OnClosing), and a
      // review on a connection already accepted must be answered, not failed.
      await closeListener(admission.server, DRAIN_TIMEOUT_MS);
      await admission.close();
      await ops.close();
    },
  };
}

/** listen(), failing with the address and the setting that chose it: "cannot listen on 0.0.0.0:8443 (PORT): ...". */
async function listenOrExplain(app: FastifyInstance, host: string, port: number, setting: string): Promise<string> {
  try {
    return await app.listen({ port, host });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const reason = code === 'EADDRINUSE' ? 'the address is already in use' : (code ?? message);
    throw new Error(`cannot listen on ${host}:${port} (${setting}): ${reason}`, { cause: error });
  }
}

/**
 * Stops accepting and resolves once every connection has ended: Node closes the idle keep-alive ones, the busy
 * ones close after their response (which says `Connection: close` by then); any still open after `timeoutMs` are cut.
 */
function closeListener(server: HttpServer, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), timeoutMs);
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
  });
}

function httpsOptions(tls: TlsMaterial): HttpsServerOptions {
  return {
    ...secureContextOptions(tls),
    // With a client CA, only the API server (holding a certificate signed by it) completes the handshake.
    ...(tls.clientCa ? { requestCert: true, rejectUnauthorized: true } : {}),
    maxHeaderSize: MAX_HEADER_BYTES,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  };
}
