// The plain-HTTP ops listener: liveness, readiness and Prometheus metrics, apart from admission traffic.
import { fastify, LogController, type FastifyInstance } from 'fastify';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Readiness } from '../readiness.js';

/** The kubelet's probes and a few scrapers; more connections than this are refused at accept. */
const MAX_OPS_CONNECTIONS = 64;

export function buildOpsApp(options: { logger: Logger; metrics: Metrics; readiness: Readiness }): FastifyInstance {
  const app = fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    // Probes and scrapes send no body: a request still incomplete after 10 s is not one of them (fastify sets none).
    requestTimeout: 10_000,
    // An idle connection is closed after a minute; a scrape every 15-60 s keeps Prometheus' connection in use.
    connectionTimeout: 60_000,
  }) as unknown as FastifyInstance;
  app.server.maxConnections = MAX_OPS_CONNECTIONS;
  // Liveness says only that the event loop turns; readiness says whether we should get reviews.
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const report = options.readiness.report();
    options.metrics.ready.set(report.ready ? 1 : 0);
    return reply.code(report.ready ? 200 : 503).send(report);
  });
  app.get('/metrics', async (_request, reply) => {
    options.metrics.ready.set(options.readiness.ready ? 1 : 0);
    const text = await options.metrics.registry.metrics();
    return reply.type(options.metrics.registry.contentType).send(text);
  });
  return app;
}
