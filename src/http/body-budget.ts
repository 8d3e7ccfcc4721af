// How many bytes of large request bodies the admission listener holds at once. Each connection may send a body up to
// the body limit, and a body is held whole before it is parsed: without a shared bound, a few hundred connections
// sending large bodies slowly would hold gigabytes. Small bodies (every ordinary review) never wait on it.
import type { FastifyInstance } from 'fastify';

export interface BodyBudgetOptions {
  /** Bodies up to this size are always taken; connections are capped separately (server.maxConnections). */
  smallBodyBytes: number;
  /** Total bytes reserved for larger bodies at one time. */
  totalBytes: number;
  /** The largest body taken; a request without Content-Length reserves this much. */
  bodyLimitBytes: number;
  onRefused: () => void;
}

/** Reserves a large body's declared length when its request arrives and frees it when the response has gone. */
export function limitBodiesInFlight(app: FastifyInstance, options: BodyBudgetOptions): void {
  let reserved = 0;
  app.addHook('onRequest', (request, reply, done) => {
    const declared = Number(request.headers['content-length']);
    const bytes = Number.isFinite(declared) ? Math.min(declared, options.bodyLimitBytes) : options.bodyLimitBytes;
    if (bytes <= options.smallBodyBytes) return done();
    if (reserved + bytes > options.totalBytes) {
      options.onRefused();
      // 429, not 5xx: nothing is wrong with us; the API server's failurePolicy decides, as for any failed call.
      void reply
        .code(429)
        .header('retry-after', '1')
        .send({ error: 'TooManyRequests', message: 'egress-guard is receiving too many large reviews at once' });
      return;
    }
    reserved += bytes;
    reply.raw.once('close', () => (reserved -= bytes));
    done();
  });
}
