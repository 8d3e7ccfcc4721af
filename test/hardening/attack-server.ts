// The production entry point run as the Deployment runs it: its own process with V8's old space capped as
// NODE_OPTIONS caps it there, so a memory attack meets the same heap limit. Peak RSS is read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request, type Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCertificates } from '../../src/certs/generate.js';
import { waitFor } from '../support/wait.js';

const MAIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
/** As deploy/base/deployment.yaml sets NODE_OPTIONS. */
export const MAX_OLD_SPACE_MIB = 128;
/** The Deployment's memory limit. */
export const MEMORY_LIMIT_MIB = 384;

export interface AttackServer {
  admissionUrl: string;
  opsUrl: string;
  ca: string;
  child: ChildProcess;
  lines(): Array<Record<string, unknown>>;
  /** The longest line the server wrote to stdout. */
  longestLine(): number;
  /** Resets the kernel's peak-RSS mark (VmHWM), so peakRssMiB() measures from now. */
  resetPeak(): void;
  peakRssMiB(): number;
  stop(): Promise<void>;
}

export async function startAttackServer(env: Record<string, string> = {}): Promise<AttackServer> {
  const dir = await mkdtemp(join(tmpdir(), 'egress-guard-attack-'));
  const certs = await generateCertificates({
    commonName: 'egress-guard',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    days: 1,
  });
  await writeFile(join(dir, 'tls.crt'), certs.certPem);
  await writeFile(join(dir, 'tls.key'), certs.keyPem, { mode: 0o600 });
  const child = spawn(process.execPath, [`--max-old-space-size=${MAX_OLD_SPACE_MIB}`, MAIN], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: '0',
      OPS_PORT: '0',
      TLS_CERT_FILE: join(dir, 'tls.crt'),
      TLS_KEY_FILE: join(dir, 'tls.key'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let longest = 0;
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    // Keep only complete lines' text: the longest is what the attack on log lines is about.
    const lines = stdout.split('\n');
    stdout = lines.pop()!;
    for (const line of lines) {
      longest = Math.max(longest, line.length);
      if (line.length < 4096) kept.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  const kept: Array<Record<string, unknown>> = [];
  const serving = await waitFor(
    () => kept.find((line) => line.msg === 'egress-guard is serving'),
    'the serving log line',
    15_000,
  );
  const status = () => readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return {
    admissionUrl: serving.admission as string,
    opsUrl: serving.ops as string,
    ca: certs.caCertPem,
    child,
    lines: () => kept,
    longestLine: () => longest,
    resetPeak: () => writeFileSync(`/proc/${child.pid}/clear_refs`, '5'),
    peakRssMiB: () => Number(/^VmHWM:\s+(\d+) kB$/m.exec(status())![1]) / 1024,
    async stop() {
      const exited = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGINT');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  body: string;
  ms: number;
  error?: string;
}

/** One POST of a raw body; never rejects. `timeoutMs` is the webhook's timeoutSeconds the API server would apply. */
export function post(
  url: string,
  body: string | Buffer,
  ca: string,
  options: { agent?: Agent | false; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (reply: Omit<Reply, 'ms'>) => resolve({ ...reply, ms: performance.now() - started });
    const req = request(
      url,
      {
        method: 'POST',
        ca,
        servername: 'localhost',
        agent: options.agent ?? false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => done({ status: res.statusCode ?? 0, body: '', error: error.message }));
        res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error('timed out')));
    req.on('error', (error: NodeJS.ErrnoException) =>
      done({ status: 0, body: '', error: error.code ?? error.message }),
    );
    req.end(body);
  });
}
