// The production entry point as the container runs it (node dist/src/main.js; `npm test` builds dist first).
// Starting: it never makes certificates and refuses a broken pair. SIGTERM under load, as a rolling update needs: /readyz says no at once, reviews keep being answered through the
// shutdown delay, in-flight reviews finish, nothing that was accepted fails, and the process exits 0 promptly
// with its last log line written.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCertificates } from '../../src/certs/generate.js';
import { sendReview, succeeded, type ClientOptions, type Outcome } from '../support/review-load.js';
import { sleep, waitFor } from '../support/wait.js';

const MAIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const DELAY_SECONDS = 1;

interface Spawned {
  child: ChildProcess;
  lines(): Array<Record<string, unknown>>;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function spawnMain(env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', OPS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  // 'exit' can come before the last output has been read; 'close' comes after both.
  let exitedAt = 0;
  child.once('exit', () => (exitedAt = Date.now()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, at: exitedAt })),
  );
  return {
    child,
    lines: () =>
      stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    stderr: () => stderr,
    exited,
  };
}

interface Probe {
  at: number;
  status?: number;
  error?: string;
}

describe('the production entry point (dist/src/main.js)', () => {
  let dir: string;
  let ca: string;
  const children: ChildProcess[] = [];
  const start = (env: Record<string, string>) => {
    const spawned = spawnMain(env);
    children.push(spawned.child);
    return spawned;
  };

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
    dir = await mkdtemp(join(tmpdir(), 'egress-guard-main-'));
    const certs = await generateCertificates({
      commonName: 'egress-guard',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      days: 1,
    });
    ca = certs.caCertPem;
    await writeFile(join(dir, 'tls.crt'), certs.certPem);
    await writeFile(join(dir, 'tls.key'), certs.keyPem, { mode: 0o600 });
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 1 naming every missing file, and creates no certificate', async () => {
    const empty = await mkdtemp(join(dir, 'empty-'));
    const main = start({ TLS_CERT_FILE: join(empty, 'tls.crt'), TLS_KEY_FILE: join(empty, 'tls.key') });
    expect((await main.exited).code).toBe(1);
    expect(main.lines().at(-1)).toMatchObject({
      level: 60,
      msg: 'egress-guard could not start',
      problem: `cannot read TLS_CERT_FILE ${join(empty, 'tls.crt')}: ENOENT; cannot read TLS_KEY_FILE ${join(empty, 'tls.key')}: ENOENT`,
    });
    expect(await readdir(empty)).toEqual([]);
  });

  it('exits 1 when the key belongs to another certificate, saying so', async () => {
    const other = await generateCertificates({
      commonName: 'other',
      dnsNames: ['localhost'],
      ipAddresses: [],
      days: 1,
    });
    await writeFile(join(dir, 'other.key'), other.keyPem, { mode: 0o600 });
    const main = start({ TLS_CERT_FILE: join(dir, 'tls.crt'), TLS_KEY_FILE: join(dir, 'other.key') });
    expect((await main.exited).code).toBe(1);
    // The fatal line, wherever it lands among the lines written before the exit.
    const fatal = main.lines().find((line) => line.level === 60);
    expect(fatal).toMatchObject({ msg: 'egress-guard could not start' });
    expect(String(fatal?.problem)).toMatch(/^the private key does not belong to the certificate/);
    expect(JSON.stringify(main.lines())).not.toContain(other.keyPem.split('\n')[1]);
  });

  it.each([
    ['the admission port', 'PORT'],
    ['the ops port', 'OPS_PORT'],
  ])(
    'exits 1 naming the address when %s is taken, even with a cluster watch running',
    async (_name, setting) => {
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as AddressInfo).port;
      // A cluster that never answers: its watch retries on timers, which kept the process alive with no listener.
      const kubeconfig = join(dir, 'kubeconfig');
      await writeFile(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters: [{name: c, cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}}]',
          'users: [{name: u, user: {token: t}}]',
          'contexts: [{name: x, context: {cluster: c, user: u}}]',
          'current-context: x',
        ].join('\n'),
      );
      try {
        const main = start({
          TLS_CERT_FILE: join(dir, 'tls.crt'),
          TLS_KEY_FILE: join(dir, 'tls.key'),
          KUBECONFIG: kubeconfig,
          [setting]: String(port),
        });
        const exit = await Promise.race([main.exited, sleep(15_000).then(() => undefined)]);
        expect(exit?.code).toBe(1);
        expect(main.lines().at(-1)).toMatchObject({
          level: 60,
          msg: 'egress-guard could not start',
          problem: `cannot listen on 127.0.0.1:${port} (${setting}): the address is already in use`,
        });
      } finally {
        taken.close();
      }
    },
    20_000,
  );

  it('on SIGTERM under load: drains, finishes in-flight reviews, fails nothing it accepted, exits 0 after logging "stopped"', async () => {
    const main = start({
      TLS_CERT_FILE: join(dir, 'tls.crt'),
      TLS_KEY_FILE: join(dir, 'tls.key'),
      SHUTDOWN_DELAY_SECONDS: String(DELAY_SECONDS),
    });
    const { child, exited, lines } = main;
    let running = true;
    void exited.then(() => (running = false));

    const serving = await waitFor(
      () => lines().find((line) => line.msg?.toString().startsWith('egress-guard is serving')),
      'the serving log line',
      15_000,
    );
    const admissionUrl = serving.admission as string;
    const opsUrl = serving.ops as string;
    const admissionPort = Number(new URL(admissionUrl).port);

    // /readyz, every 25 ms, until the ops listener is gone.
    const probes: Probe[] = [];
    const probing = (async () => {
      while (running) {
        const at = Date.now();
        try {
          probes.push({ at, status: (await fetch(`${opsUrl}/readyz`)).status });
        } catch (error) {
          probes.push({ at, error: String((error as { cause?: { code?: string } }).cause?.code ?? error) });
        }
        await sleep(25);
      }
    })();

    // Two keep-alive clients (one connection each, reused) and two that connect afresh for every review.
    const outcomes: Outcome[] = [];
    const client = async (options: ClientOptions) => {
      while (running) {
        const outcome = await sendReview(admissionUrl, options);
        outcomes.push(outcome);
        if (!succeeded(outcome)) await sleep(10);
      }
    };
    const keepAlive = () => ({ ca, agent: new Agent({ keepAlive: true, maxSockets: 1 }) });
    const load = Promise.all([client(keepAlive()), client(keepAlive()), client({ ca }), client({ ca })]);

    // And one keep-alive connection that goes quiet: it must not hold the exit up (keepAliveTimeout is 72 s).
    const idle = await sendReview(admissionUrl, { ca, agent: new Agent({ keepAlive: true }) });
    expect(succeeded(idle)).toBe(true);

    await sleep(400);
    const sigterm = Date.now();
    child.kill('SIGTERM');

    // Once readiness says no, start a review whose body arrives only after the listener has closed.
    await waitFor(() => probes.some((probe) => probe.at > sigterm && probe.status === 503), '/readyz to answer 503');
    const listenerClosed = waitFor(
      () => refusesConnections(admissionPort),
      'the admission listener to close',
      10_000,
    ).then(() => Date.now());
    const held = sendReview(admissionUrl, {
      ca,
      holdBody: { afterBytes: 200, until: listenerClosed.then(() => sleep(50)) },
    });

    const exit = await exited;
    const [heldOutcome, closedAt] = await Promise.all([held, listenerClosed]);
    await Promise.all([load, probing]);

    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(main.stderr()).toBe('');
    // Prompt: the delay, then no waiting on the idle keep-alive connection.
    expect(exit.at - sigterm).toBeLessThan(DELAY_SECONDS * 1000 + 2500);

    // Readiness went false first, while reviews were still being answered.
    const firstNotReady = probes.find((probe) => probe.status === 503)!;
    expect(probes.filter((probe) => probe.at < sigterm).every((probe) => probe.status === 200)).toBe(true);
    expect(firstNotReady.at).toBeLessThan(sigterm + DELAY_SECONDS * 1000);
    expect(firstNotReady.at).toBeLessThan(closedAt);
    expect(
      outcomes.filter((outcome) => outcome.started > firstNotReady.at && succeeded(outcome)).length,
    ).toBeGreaterThan(5);
    expect(outcomes.some((outcome) => outcome.reusedSocket && succeeded(outcome))).toBe(true);

    // The review in flight when the listener closed was answered.
    expect(heldOutcome).toMatchObject({ status: 200, answered: true });
    expect(heldOutcome.finished).toBeGreaterThan(closedAt);

    // Every request the server accepted (TLS handshake done) was answered; the rest were refused at connect
    // (or reset while still in the kernel's accept queue as the listener closed), and only once it was closing.
    const accepted = outcomes.filter((outcome) => outcome.handshake);
    const refused = outcomes.filter((outcome) => !outcome.handshake);
    expect(accepted.filter((outcome) => !succeeded(outcome))).toEqual([]);
    expect(accepted.length).toBeGreaterThan(20);
    for (const outcome of refused) {
      expect(['ECONNREFUSED', 'ECONNRESET']).toContain(outcome.error);
      expect(outcome.finished).toBeGreaterThanOrEqual(sigterm + DELAY_SECONDS * 1000);
    }

    // The log: shutting down, then stopped as the very last line, flushed before the process ended.
    const messages = lines().map((line) => line.msg);
    expect(messages).toContain('shutting down: readiness is false, draining');
    expect(messages.at(-1)).toBe('stopped');
  }, 30_000);
});

/** True once a TCP connect to the port is refused (the listener is closed). */
function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}
