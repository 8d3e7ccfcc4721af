// The interleaved part of `npm run bench`: the same comparison as the autocannon rounds, with drift taken out.
// On a shared VM a server's CPU per review drifts by half over a minute (the host's other tenants), and autocannon
// rounds of seconds each land on different stretches of it: a round's ratio has ranged from 0.6 to 2.0. Here every
// server keeps its own keep-alive connections open for the whole run and the load moves between them every
// PHASE_MS, so each server's phases sample the same stretches of the machine. Closed loop, as autocannon: each
// connection sends its next review when the last is answered. The client is a prebuilt request and a parser of the
// status line and Content-Length only, far lighter than the servers it loads.
import { connect, type TLSSocket } from 'node:tls';
import { cpuSecondsOf } from './processes.js';

export interface InterleavedServer {
  port: number;
  pid: number;
}

export interface InterleavedOptions {
  servers: Record<string, InterleavedServer>;
  path: string;
  body: string;
  caCertPem: string;
  connections: number;
  /** How long the load stays on one server before it moves to the next. */
  phaseMs: number;
  /** How many times the load visits every server; the order rotates, A B C then B C A then C A B. */
  cycles: number;
  warmupMs: number;
  /** Called once every server has been warmed, before the measured cycles (BENCH_PERF starts sampling there). */
  afterWarmup?: () => Promise<void>;
}

export interface InterleavedFigures {
  rps: number;
  /** Server CPU (all its threads) per answered review, in microseconds. */
  cpuUsPerReview: number;
  failures: number;
  /** Reviews answered in the measured cycles. */
  reviews: number;
  /**
   * Server CPU over the whole measured run (its own phases and everyone else's) per review it answered. A server's
   * background work (garbage-collection threads finishing after its phase) runs in the others' phases, on the CPU
   * they are measured on: this counts it against the server that caused it.
   */
  cpuUsPerReviewWholeRun: number;
}

/** What is known of a connection's byte stream: the bytes not yet part of a whole response. */
export interface Framing {
  pending: Buffer;
}

/**
 * Takes `chunk` into `framing` and returns how many whole responses it completed, and how many of those were 200.
 * Answers are HTTP/1.1 with a Content-Length (fastify sends one for every body); anything else is not counted.
 */
export function frameResponses(framing: Framing, chunk: Buffer): { complete: number; ok: number } {
  let bytes = framing.pending.length === 0 ? chunk : Buffer.concat([framing.pending, chunk]);
  let complete = 0;
  let ok = 0;
  for (;;) {
    const end = bytes.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = bytes.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (bytes.length < end + 4 + length) break;
    complete++;
    if (head.startsWith('HTTP/1.1 200 ')) ok++;
    bytes = bytes.subarray(end + 4 + length);
  }
  framing.pending = bytes;
  return { complete, ok };
}

interface Connection {
  socket: TLSSocket;
  /** Called with the outcome of each answered review. */
  answered: (ok: boolean) => void;
  send(): void;
}

function open(server: InterleavedServer, request: Buffer, caCertPem: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.port, ca: caCertPem, servername: 'localhost' });
    let waiting = false;
    let closed = false;
    const connection: Connection = {
      socket,
      answered: () => undefined,
      send() {
        waiting = true;
        // A connection the server closed answers every review with a failure, so the run ends and says so.
        if (closed) setImmediate(() => ((waiting = false), connection.answered(false)));
        else socket.write(request);
      },
    };
    const framing: Framing = { pending: Buffer.alloc(0) };
    socket.setNoDelay(true);
    socket.once('secureConnect', () => resolve(connection));
    socket.once('error', reject);
    socket.on('data', (chunk: Buffer) => {
      const { complete, ok } = frameResponses(framing, chunk);
      // One review is in flight per connection, so a chunk completes at most one answer.
      for (let index = 0; index < complete; index++) {
        waiting = false;
        connection.answered(index < ok);
      }
    });
    socket.once('close', () => {
      closed = true;
      if (waiting) connection.send();
    });
  });
}

/** Loads `connections` at once on one server for `ms`, then lets the reviews in flight finish. */
function phase(
  pool: readonly Connection[],
  pid: number,
  ms: number,
): Promise<{ ok: number; failures: number; ms: number; cpuSeconds: number }> {
  return new Promise((resolve) => {
    let ok = 0;
    let failures = 0;
    let inFlight = 0;
    let loading = true;
    const started = performance.now();
    const cpuBefore = cpuSecondsOf(pid);
    for (const connection of pool) {
      connection.answered = (good) => {
        inFlight--;
        if (good) ok++;
        else failures++;
        if (loading) {
          inFlight++;
          connection.send();
        } else if (inFlight === 0) {
          resolve({ ok, failures, ms: performance.now() - started, cpuSeconds: cpuSecondsOf(pid) - cpuBefore });
        }
      };
      inFlight++;
      connection.send();
    }
    setTimeout(() => (loading = false), ms);
  });
}

/**
 * The order of a cycle: every server takes every place equally often, and no server has two phases in a row. With
 * A B C then C B A, the servers at the ends had two phases in a row at every turn, and came out ahead.
 */
export function rotated<T>(names: readonly T[], cycle: number): T[] {
  const start = cycle % names.length;
  return [...names.slice(start), ...names.slice(0, start)];
}

export async function measureInterleaved(options: InterleavedOptions): Promise<Record<string, InterleavedFigures>> {
  const request = Buffer.from(
    `POST ${options.path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(options.body)}\r\n\r\n${options.body}`,
  );
  const names = Object.keys(options.servers);
  const pools: Record<string, Connection[]> = {};
  try {
    for (const name of names) {
      const server = options.servers[name] as InterleavedServer;
      pools[name] = await Promise.all(
        Array.from({ length: options.connections }, () => open(server, request, options.caCertPem)),
      );
    }
    const visit = (name: string, ms: number) =>
      phase(pools[name] as Connection[], (options.servers[name] as InterleavedServer).pid, ms);
    for (const name of names) await visit(name, options.warmupMs);
    await options.afterWarmup?.();
    const totals = Object.fromEntries(names.map((name) => [name, { ok: 0, failures: 0, ms: 0, cpuSeconds: 0 }]));
    const cpuOf = (name: string) => cpuSecondsOf((options.servers[name] as InterleavedServer).pid);
    const cpuAtStart = Object.fromEntries(names.map((name) => [name, cpuOf(name)]));
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      for (const name of rotated(names, cycle)) {
        const result = await visit(name, options.phaseMs);
        const total = totals[name] as (typeof totals)[string];
        total.ok += result.ok;
        total.failures += result.failures;
        total.ms += result.ms;
        total.cpuSeconds += result.cpuSeconds;
      }
    }
    return Object.fromEntries(
      names.map((name) => {
        const total = totals[name] as (typeof totals)[string];
        return [
          name,
          {
            rps: (total.ok * 1000) / total.ms,
            cpuUsPerReview: (total.cpuSeconds * 1e6) / total.ok,
            failures: total.failures,
            reviews: total.ok,
            cpuUsPerReviewWholeRun: ((cpuOf(name) - (cpuAtStart[name] as number)) * 1e6) / total.ok,
          },
        ];
      }),
    );
  } finally {
    for (const pool of Object.values(pools)) for (const connection of pool) connection.socket.destroy();
  }
}
