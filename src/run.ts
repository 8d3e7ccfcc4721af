// Process-level wiring shared by the production entry point (main.ts) and `npm start` (dev.ts):
// configuration, certificate files, signals and exit codes.
import { readFile } from 'node:fs/promises';
import { ConfigError, loadConfig, type Config, type Env } from './config.js';
import { createLogger, type Logger } from './log.js';
import { startServer, type RunningServer, type TlsMaterial } from './server.js';

export interface RunOptions {
  /** Runs before the certificate files are read: `npm start` makes development certificates here. */
  prepare?: (config: Config, logger: Logger) => Promise<void>;
}

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
  try {
    await options.prepare?.(config, logger);
    const tls = await readTls(config);
    const server = await startServer({ config, logger }, tls);
    logger.info(
      { admission: server.admissionUrl, ops: server.opsUrl, autoAllocateMode: config.autoAllocateMode, cluster: 'none' },
      'egress-guard is serving; without a cluster connection it checks each object on its own',
    );
    stopOnSignals(server, config, logger);
    return server;
  } catch (error) {
    logger.fatal({ problem: (error as Error).message }, 'egress-guard could not start');
    return exitSoon(1);
  }
}

/** Certificates are only ever read here; a missing file stops the server with the path in the message. */
async function readTls(config: Config): Promise<TlsMaterial> {
  const read = (path: string, setting: string) =>
    readFile(path).catch((error: NodeJS.ErrnoException) => {
      throw new Error(`cannot read ${setting} ${path}: ${error.code ?? error.message}`);
    });
  const [cert, key, clientCa] = await Promise.all([
    read(config.tlsCertFile, 'TLS_CERT_FILE'),
    read(config.tlsKeyFile, 'TLS_KEY_FILE'),
    config.clientCaFile ? read(config.clientCaFile, 'CLIENT_CA_FILE') : undefined,
  ]);
  return { cert, key, ...(clientCa ? { clientCa } : {}) };
}

/**
 * SIGTERM: say not-ready first, keep answering for the shutdown delay so the Service's endpoints drop us,
 * then stop accepting and let in-flight reviews finish. SIGINT (a person at a terminal) skips the delay.
 */
function stopOnSignals(server: RunningServer, config: Config, logger: Logger): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const delaySeconds = signal === 'SIGTERM' ? config.shutdownDelaySeconds : 0;
    server.readiness.set('shutdown', false, `received ${signal}`);
    logger.info({ signal, delaySeconds }, 'shutting down: readiness is false, draining');
    await new Promise((resolve) => setTimeout(resolve, delaySeconds * 1000));
    await server.close();
    logger.info({ signal }, 'stopped');
    logger.flush();
    process.exitCode = 0;
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}

function exitSoon(code: number): undefined {
  process.exitCode = code;
  return undefined;
}
