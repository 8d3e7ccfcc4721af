// The plain-HTTP ops listener: liveness, readiness and Prometheus metrics, apart from admission traffic.
import { fastify, LogController, type FastifyInstance } from 'fastify';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Readiness } from '../readiness.js';

export function buildOpsApp(options: { logger: Logger; metrics: Metrics; readiness: Readiness }): FastifyInstance {
  const app = fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;
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
