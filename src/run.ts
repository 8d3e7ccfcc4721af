// Process-level wiring shared by the production entry point (main.ts) and `npm start` (dev.ts):
// configuration, certificate files, signals and exit codes.
import { startCertificates } from './certs/controller.js';
import { connectCluster } from './cluster/connect.js';
import { ConfigError, loadConfig, ruleSettingsOf, type Config, type Env } from './config.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { Readiness } from './readiness.js';
import { startServer, type RunningServer } from './server.js';
import { readTlsFiles, tlsFilesOf } from './tls/certificate.js';

export interface RunOptions {
  /** Runs before the certificate files are read: `npm start` makes development certificates here. */
  prepare?: (config: Config, logger: Logger) => Promise<void>;
}

/** After a stop, a handle someone forgot to close must not keep the pod Terminating until SIGKILL: exit anyway. */
const EXIT_GRACE_MS = 1000;

export async function run(env: Env, options: RunOptions = {}): Promise<RunningServer | undefined> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger('info', undefined).fatal({ problem: error.message }, 'invalid configuration');
    return exitSoon(2);
  }
  const logger = createLogger(config.logLevel);
  let cluster: Awaited<ReturnType<typeof connectCluster>>;
  try {
    await options.prepare?.(config, logger);
    // CERT_SOURCE=secret: the CA and certificate live in a Secret this server fills and rotates. Otherwise
    // certificates are only read from files; a missing file stops the server with its path.
    const certificates = await startCertificates(config, env, logger);
    const certificateFiles = certificates.tls ? undefined : tlsFilesOf(config);
    const tls = certificates.tls ?? (await readTlsFiles(tlsFilesOf(config)));
    const metrics = createMetrics();
    const readiness = new Readiness();
    const settings = ruleSettingsOf(config);
    // With a kubeconfig or in-cluster credentials, cross-object rules read a watch-backed index; without, each
    // object is checked on its own. The watch starts before listening; /readyz waits for its first full list.
    cluster = await connectCluster({ env, logger, metrics, readiness, settings });
    const server = await startServer(
      {
        config,
        logger,
        ...(certificateFiles ? { certificateFiles } : {}),
        metrics,
        readiness,
        settings,
        ...(cluster ? { clusterViewFor: cluster.clusterViewFor } : {}),
      },
      tls,
    );
    logger.info(
      {
        admission: server.admissionUrl,
        ops: server.opsUrl,
        autoAllocateMode: config.autoAllocateMode,
        cluster: cluster ? 'watching' : 'none',
      },
      'egress-guard is serving',
    );
    // Registers the webhooks once /readyz is true, then keeps the certificate and caBundle current.
    certificates.attach(server);
    stopOnSignals(server, config, logger, () => {
      certificates.stop();
      cluster?.stop();
    });
    return server;
  } catch (error) {
    logger.fatal({ problem: (error as Error).message }, 'egress-guard could not start');
    // The cluster watch's timers (or a listener already open) would keep a process that cannot serve alive.
    cluster?.stop();
    setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
    logger.flush();
    return exitSoon(1);
  }
}

/**
 * SIGTERM: say not-ready first and keep answering for the shutdown delay so the Service's endpoints drop us,
 * meanwhile closing each keep-alive connection after its next response so the API server reconnects elsewhere;
 * then stop accepting and let in-flight reviews finish. SIGINT (a person at a terminal) skips the delay.
 */
function stopOnSignals(server: RunningServer, config: Config, logger: Logger, stopCluster: () => void): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const delaySeconds = signal === 'SIGTERM' ? config.shutdownDelaySeconds : 0;
    server.readiness.set('shutdown', false, `received ${signal}`);
    server.drain();
    logger.info({ signal, delaySeconds }, 'shutting down: readiness is false, draining');
    await new Promise((resolve) => setTimeout(resolve, delaySeconds * 1000));
    try {
      stopCluster();
      await server.close();
      logger.info({ signal }, 'stopped');
      process.exitCode = 0;
    } catch (error) {
      logger.error({ problem: (error as Error).message }, 'could not stop cleanly');
      process.exitCode = 1;
    }
    setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
    // Log writes are asynchronous; pino's exit hook writes out whatever is still pending when the process exits.
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}

function exitSoon(code: number): undefined {
  process.exitCode = code;
  return undefined;
}
