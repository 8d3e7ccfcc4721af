// Clients that send AdmissionReviews continuously and record, per request, what happened on the wire.
import { randomUUID } from 'node:crypto';
import type { Agent } from 'node:https';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { replicaSetPod, review } from '../fixtures/reviews.js';

export interface Outcome {
  started: number;
  finished: number;
  /** The TLS handshake completed (or the request went out on an already established connection). */
  handshake: boolean;
  status?: number;
  /** The response is an AdmissionReview answering this request's uid. */
  answered?: boolean;
  /** The server certificate's SHA-256 fingerprint, as seen on this request's connection. */
  fingerprint?: string;
  reusedSocket?: boolean;
  error?: string;
}

export interface ClientOptions {
  ca: string | string[];
  /** An https.Agent with keepAlive for connection reuse; false for a fresh connection per request. */
  agent?: Agent | false;
  cert?: string;
  key?: string;
  path?: string;
  /** Called once the headers and this many bytes of the body are written; the rest follows when it resolves. */
  holdBody?: { afterBytes: number; until: Promise<unknown> };
}

/** One pod review; never rejects: failures are in the outcome. */
export function sendReview(baseUrl: string, options: ClientOptions): Promise<Outcome> {
  const uid = randomUUID();
  const body = JSON.stringify(review(replicaSetPod(), { uid }));
  const started = Date.now();
  return new Promise((resolve) => {
    let handshake = false;
    let fingerprint: string | undefined;
    let reusedSocket: boolean | undefined;
    const done = (outcome: Partial<Outcome>) =>
      resolve({ started, finished: Date.now(), handshake, fingerprint, reusedSocket, ...outcome });
    const req = request(
      `${baseUrl}${options.path ?? '/mutate/pods'}`,
      {
        method: 'POST',
        ca: options.ca,
        servername: 'localhost',
        agent: options.agent ?? false,
        ...(options.cert ? { cert: options.cert, key: options.key } : {}),
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => done({ status: res.statusCode, error: error.message }));
        res.on('end', () => {
          let answered: boolean;
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
              kind?: string;
              response?: { uid?: string; allowed?: unknown };
            };
            answered =
              parsed.kind === 'AdmissionReview' &&
              parsed.response?.uid === uid &&
              typeof parsed.response.allowed === 'boolean';
          } catch {
            answered = false;
          }
          done({ status: res.statusCode, answered });
        });
      },
    );
    req.on('socket', (socket) => {
      reusedSocket = req.reusedSocket;
      if (req.reusedSocket) handshake = true;
      else socket.once('secureConnect', () => (handshake = true));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.on('error', (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
    if (options.holdBody) {
      const split = options.holdBody.afterBytes;
      req.write(body.slice(0, split));
      void options.holdBody.until.then(() => req.end(body.slice(split)));
    } else {
      req.end(body);
    }
  });
}

/**
 * `concurrency` loops sending reviews back to back until `until()` says stop; every outcome, in order of completion,
 * pushed into `outcomes` as it happens (pass an array to watch progress).
 */
export async function sendContinuously(
  baseUrl: string,
  concurrency: number,
  options: ClientOptions,
  until: () => boolean,
  outcomes: Outcome[] = [],
): Promise<Outcome[]> {
  const loop = async () => {
    while (!until()) outcomes.push(await sendReview(baseUrl, options));
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return outcomes;
}

export const succeeded = (outcome: Outcome) => outcome.status === 200 && outcome.answered === true;
