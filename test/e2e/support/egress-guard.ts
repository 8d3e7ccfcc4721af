// egress-guard as an operator runs it, for the end-to-end suite: certificates from the certs script
// (`node dist/src/certs/cli.js --out DIR --ip 127.0.0.1`, a subprocess) and the production entry point
// (`node dist/src/main.js`, what the image runs) configured through its environment only.
//
// Both run from dist/: `npm run build` first (the e2e command line does).
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../../support/ports.js';

/** The repository root, from test/e2e/support (ts-jest) or dist/test/e2e/support (compiled). */
export const repoRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'deploy', 'base', 'webhooks.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`egress-guard.ts: no repository root above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
})();

function built(relativePath: string): string {
  const path = join(repoRoot, relativePath);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` before the e2e suite`);
  return path;
}

// ---------------------------------------------------------------- certificates

export interface CertificateFiles {
  dir: string;
  caCert: string;
  cert: string;
  key: string;
  /** The certs script's own rendering of deploy/base/webhooks.yaml (Service clientConfig + caBundle). */
  webhooks: string;
  /** What the script printed. */
  output: string;
}

/** Runs the certs script as an operator does; the serving certificate gets the IP SAN the API server dials. */
export async function makeCertificates(outDir: string, ip = '127.0.0.1'): Promise<CertificateFiles> {
  const cli = built('dist/src/certs/cli.js');
  const result = await runNode([cli, '--out', outDir, '--ip', ip], 60_000);
  if (result.code !== 0) {
    throw new Error(`node ${cli} --out ${outDir} --ip ${ip} -> exit ${result.code}\n${result.stderr}${result.stdout}`);
  }
  const files: CertificateFiles = {
    dir: outDir,
    caCert: join(outDir, 'ca.crt'),
    cert: join(outDir, 'tls.crt'),
    key: join(outDir, 'tls.key'),
    webhooks: join(outDir, 'webhooks.yaml'),
    output: result.stdout,
  };
  for (const path of [files.caCert, files.cert, files.key, files.webhooks]) {
    if (!existsSync(path))
      throw new Error(`the certs script did not write ${path}; it printed:\n${result.stdout}${result.stderr}`);
  }
  const san = new X509Certificate(readFileSync(files.cert)).subjectAltName ?? '';
  if (!san.split(', ').includes(`IP Address:${ip}`)) {
    throw new Error(
      `the serving certificate ${files.cert} lacks the IP SAN ${ip} the API server connects to (SANs: ${san})`,
    );
  }
  return files;
}

// ---------------------------------------------------------------- the server

export interface EgressGuardOptions {
  kubeconfigPath: string;
  certificates: CertificateFiles;
  /** pino's JSON lines (stdout) are appended here; stderr goes next to it as <name>.stderr.log. */
  logFile: string;
  /** Extra or overriding environment variables. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface EgressGuard {
  port: number;
  opsPort: number;
  /** https://127.0.0.1:<port>, the base for the webhooks' clientConfig.url. */
  baseUrl: string;
  logFile: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Starts the process (same ports, certificates and environment as before) and waits for /readyz. */
  start(): Promise<void>;
  /** SIGTERM and wait for the exit (SIGKILL after 15 s); resolves with the exit code, or the signal. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  /** Parsed JSON lines of the log file so far; a line that is not JSON throws (stdout must be pure pino JSON). */
  logLines(): LogLine[];
  /** stop() for good, plus the crash watchdog (afterAll). Idempotent. */
  dispose(): Promise<void>;
}

/** Free ports, starts `node dist/src/main.js`, waits until GET /readyz on the ops port says 200. */
export async function startEgressGuard(options: EgressGuardOptions): Promise<EgressGuard> {
  const main = built('dist/src/main.js');
  const [port, opsPort] = await freePorts(2);
  if (port === undefined || opsPort === undefined) throw new Error('no free ports');
  const env: Record<string, string> = {
    // The image's environment: nothing of the test runner's (NODE_ENV, KUBECONFIG of the person running jest).
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    PORT: String(port),
    OPS_PORT: String(opsPort),
    HOST: '127.0.0.1',
    TLS_CERT_FILE: options.certificates.cert,
    TLS_KEY_FILE: options.certificates.key,
    // Every review's line, as an operator tracing one would set it; at info only denials and warnings have one.
    LOG_LEVEL: 'debug',
    SHUTDOWN_DELAY_SECONDS: '0',
    UNDECLARED_PORTS_ACTION: 'warn',
    EXPECTED_PORTS: '80,443',
    AUTO_ALLOCATE_MODE: 'agent',
    KUBECONFIG: options.kubeconfigPath,
    ...options.env,
  };
  const stderrFile = options.logFile.replace(/(\.log)?$/, '.stderr.log');
  const pidFile = `${options.logFile}.pid`;
  let child: ChildProcess | undefined;
  let exited: Promise<number | string> | undefined;

  // Last resorts if jest dies without afterAll: on a normal exit, and a detached watchdog for a crash.
  const onExit = (): void => {
    child?.kill('SIGKILL');
  };
  process.on('exit', onExit);
  writeFileSync(pidFile, '\n');
  const watchdog = spawn(
    'sh',
    [
      '-c',
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 $(cat '${pidFile}') 2>/dev/null; exit 0`,
    ],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();

  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;

  const guard: EgressGuard = {
    port,
    opsPort,
    baseUrl: `https://127.0.0.1:${port}`,
    logFile: options.logFile,
    get pid() {
      return child?.pid;
    },
    get running() {
      return running();
    },
    async start() {
      if (running()) return;
      const out = openSync(options.logFile, 'a');
      const err = openSync(stderrFile, 'a');
      const started = spawn(process.execPath, [main], { cwd: repoRoot, env, stdio: ['ignore', out, err] });
      closeSync(out);
      closeSync(err);
      started.unref();
      child = started;
      writeFileSync(pidFile, `${started.pid ?? ''}\n`);
      exited = new Promise((resolve) => started.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
      const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
      for (;;) {
        if (!running()) {
          throw new Error(
            `egress-guard exited (${String(await exited)}) before /readyz said 200; ${options.logFile}:\n${tail(options.logFile)}\n${tail(stderrFile)}`,
          );
        }
        const status = await httpStatus(`http://127.0.0.1:${opsPort}/readyz`);
        if (status === 200) return;
        if (Date.now() > deadline) {
          throw new Error(
            `egress-guard: /readyz not 200 (last ${status}) after ${options.readyTimeoutMs ?? 30_000} ms; ${options.logFile}:\n${tail(options.logFile)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop(signal = 'SIGTERM') {
      const current = child;
      const done = exited;
      if (!current || !done) return 'not started';
      if (running()) {
        const kill = setTimeout(() => current.kill('SIGKILL'), 15_000);
        current.kill(signal);
        const result = await done;
        clearTimeout(kill);
        writeFileSync(pidFile, '\n'); // the pid may be reused; nothing for the watchdog to kill now
        return result;
      }
      return done;
    },
    logLines() {
      if (!existsSync(options.logFile)) return [];
      return readFileSync(options.logFile, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line, index) => {
          try {
            return JSON.parse(line) as LogLine;
          } catch {
            throw new Error(`${options.logFile} line ${index + 1} is not a JSON log line: ${line.slice(0, 200)}`);
          }
        });
    },
    async dispose() {
      await guard.stop();
      process.off('exit', onExit);
      if (watchdog.pid) {
        try {
          process.kill(watchdog.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    },
  };

  try {
    await guard.start();
  } catch (error) {
    await guard.dispose();
    throw error;
  }
  return guard;
}

// ---------------------------------------------------------------- helpers

function tail(file: string, lines = 20): string {
  if (!existsSync(file)) return `(no ${file})`;
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

function runNode(args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** GET over plain HTTP; the status, or 0 when the connection failed. */
function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const request = get(url, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', () => resolve(0));
    request.setTimeout(2_000, () => request.destroy());
  });
}
