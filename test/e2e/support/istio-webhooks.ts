// Istio's own admission webhooks for the end-to-end suite: test/istio/webhooks (Istio's sidecar injector and
// istiod's validating webhook, built from the istio.io/istio pinned in test/istio/go.mod) on 127.0.0.1, and the
// webhook configurations of Istio's chart, rendered by that program with clientConfig.url pointing at it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { CertificateFiles } from './egress-guard.js';
import { repoRoot } from './egress-guard.js';
import { freePort } from '../../support/ports.js';

export const BUILD_SCRIPT = join(repoRoot, 'test', 'istio', 'webhooks', 'build.sh');
/** Names in Istio's chart (istio-discovery's mutatingwebhook.yaml, base's default-revision validator). */
export const ISTIO_INJECTOR_CONFIGURATION = 'istio-sidecar-injector';
export const ISTIO_NAMESPACE_INJECTOR = 'namespace.sidecar-injector.istio.io';
export const ISTIO_DEFAULT_VALIDATOR = 'istiod-default-validator';
export const ISTIO_VALIDATING_WEBHOOK = 'validation.istio.io';

/** Builds (or finds) the binary; cold this takes minutes, so callers give it a long timeout. */
export function buildIstioWebhooks(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const bin = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && existsSync(bin)) resolve(bin);
      else reject(new Error(`${BUILD_SCRIPT} failed (exit ${code}): ${stdout}`));
    });
  });
}

export interface IstioWebhooks {
  baseUrl: string;
  /** Istio's chart's MutatingWebhookConfiguration and ValidatingWebhookConfigurations (a YAML List) for kubectl. */
  configurations: string;
  logFile: string;
  stop(): Promise<void>;
}

/** Starts the program on a free loopback port with `certificates` (IP SAN 127.0.0.1) and waits for /ready. */
export async function startIstioWebhooks(options: {
  binary: string;
  certificates: CertificateFiles;
  dir: string;
  logFile: string;
}): Promise<IstioWebhooks> {
  const port = await freePort();
  const baseUrl = `https://127.0.0.1:${port}`;
  mkdirSync(options.dir, { recursive: true });
  const out = join(options.dir, 'istio-webhooks.yaml');
  const fd = openSync(options.logFile, 'a');
  const child = spawn(
    options.binary,
    [
      `--listen=127.0.0.1:${port}`,
      `--cert=${options.certificates.cert}`,
      `--key=${options.certificates.key}`,
      `--ca=${options.certificates.caCert}`,
      `--url=${baseUrl}`,
      `--dir=${join(options.dir, 'inject')}`,
      `--webhooks-out=${out}`,
    ],
    { stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  child.unref();
  // If jest dies without stop(), a detached watchdog ends the server (as cluster.ts does for its processes).
  const pidFile = `${options.logFile}.pid`;
  writeFileSync(pidFile, `${child.pid ?? ''}\n`);
  const watchdog = spawn(
    'sh',
    ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 $(cat '${pidFile}') 2>/dev/null`],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (watchdog.pid) {
      try {
        process.kill(watchdog.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  const ca = readFileSync(options.certificates.caCert);
  const deadline = Date.now() + 60_000;
  while (!(await ready(`${baseUrl}/ready`, ca))) {
    if (isDead(child) || Date.now() > deadline) {
      await stop();
      throw new Error(`Istio's webhooks did not become ready; log ${options.logFile}:\n${tail(options.logFile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { baseUrl, configurations: readFileSync(out, 'utf8'), logFile: options.logFile, stop };
}

function isDead(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function ready(url: string, ca: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { ca, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-20).join('\n') : `(no ${file})`;
}
