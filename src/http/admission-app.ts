// The admission HTTP layer: transport, body limits and error mapping. Policy lives behind `dispatch`.
import { fastify, LogController, type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { SecureContextOptions } from 'node:tls';
import { decodeReview, encodeReview } from '../admission/codec.js';
import { dispatch, formatKind, type ReviewOutcome, type Webhook } from '../admission/webhook.js';
import type { AdmissionRequest } from '../admission/types.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';

export interface AdmissionAppOptions {
  webhooks: readonly Webhook[];
  logger: Logger;
  metrics: Metrics;
  bodyLimitBytes: number;
  /** Omit for fastify.inject in unit tests; the server passes the certificate and key. */
  https?: SecureContextOptions & { requestCert?: boolean; rejectUnauthorized?: boolean };
}

export function buildAdmissionApp(options: AdmissionAppOptions): FastifyInstance {
  const app = fastify({
    loggerInstance: options.logger,
    // One line per review, written below, instead of fastify's two per request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    // The API server gives up after the webhook's timeoutSeconds (at most 30); never hold a socket longer.
    requestTimeout: 30_000,
    return503OnClosing: true,
    ...(options.https ? { https: { ...options.https, minVersion: 'TLSv1.2' } } : {}),
  } as FastifyServerOptions) as unknown as FastifyInstance;

  acceptJsonOnly(app, options.bodyLimitBytes);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    options.metrics.rejectedRequests.inc({ status: String(status) });
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.warn({ status, problem: error.message, path: request.url }, 'request rejected');
    // The message of a client error says what is wrong with the request; a server error says nothing about us.
    const message = status >= 500 ? 'egress-guard failed to handle this request; see its logs' : error.message;
    return reply.code(status).send({ error: reasonPhrase(status), message });
  });
  app.setNotFoundHandler((request, reply) => {
    options.metrics.rejectedRequests.inc({ status: '404' });
    return reply.code(404).send({ error: 'NotFound', message: `no webhook at ${request.method} ${request.url}` });
  });

  for (const webhook of options.webhooks) {
    app.post(webhook.path, (request, reply) => {
      const started = process.hrtime.bigint();
      const decoded = decodeReview(request.body);
      if (!decoded.ok) {
        options.metrics.rejectedRequests.inc({ status: '400' });
        request.log.warn({ webhook: webhook.name, problem: decoded.problem }, 'malformed AdmissionReview');
        return reply.code(400).send({ error: 'BadRequest', message: `not an AdmissionReview v1: ${decoded.problem}` });
      }
      const review = decoded.request;
      let outcome: ReviewOutcome;
      try {
        outcome = dispatch(webhook, review);
      } catch (error) {
        // A bug of ours: 500, so the API server's failurePolicy decides (Ignore for pods, Fail for ServiceEntries).
        options.metrics.rejectedRequests.inc({ status: '500' });
        request.log.error({ err: error, uid: review.uid, webhook: webhook.name, ...identify(review) }, 'review failed');
        return reply.code(500).send({ error: 'InternalError', message: `egress-guard failed to review ${review.uid}; see its logs` });
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      record(options, webhook, review, outcome, seconds);
      return reply.send(encodeReview(review.uid, outcome.answer));
    });
  }
  return app;
}

/** Replace fastify's parsers: JSON only (anything else is 415), parsed with JSON.parse so `__proto__` keys stay plain data. */
function acceptJsonOnly(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (error) {
      const problem = Object.assign(new Error(`body is not valid JSON: ${(error as Error).message}`), { statusCode: 400 });
      done(problem, undefined);
    }
  });
}

function record(options: AdmissionAppOptions, webhook: Webhook, review: AdmissionRequest, outcome: ReviewOutcome, seconds: number): void {
  const reason = outcome.reason ?? '';
  options.metrics.reviews.inc({ webhook: webhook.name, decision: outcome.decision, reason });
  options.metrics.reviewDuration.observe({ webhook: webhook.name }, seconds);
  for (const rule of outcome.rules ?? []) options.metrics.findings.inc({ webhook: webhook.name, rule });
  const line = {
    uid: review.uid,
    webhook: webhook.name,
    kind: formatKind(review.kind),
    ...identify(review),
    operation: review.operation,
    dryRun: review.dryRun === true,
    decision: outcome.decision,
    ...(outcome.reason ? { reason } : {}),
    ...(outcome.rules?.length ? { rules: outcome.rules } : {}),
    ...(outcome.answer.warnings?.length ? { warnings: outcome.answer.warnings.length } : {}),
    durationMs: Math.round(seconds * 1e6) / 1e3,
  };
  if (outcome.decision === 'misrouted') options.logger.error(line, 'review of a kind this webhook does not handle');
  else options.logger.info(line, 'review');
}

/** namespace/name for the log line; pods from ReplicaSets have only generateName at admission. */
function identify(review: AdmissionRequest): { namespace?: string; name?: string } {
  const metadata = (review.object as { metadata?: { name?: unknown; generateName?: unknown } } | undefined)?.metadata;
  const name = review.name || (typeof metadata?.name === 'string' && metadata.name) ||
    (typeof metadata?.generateName === 'string' ? `${metadata.generateName}*` : undefined);
  return { ...(review.namespace ? { namespace: review.namespace } : {}), ...(name ? { name } : {}) };
}

function reasonPhrase(status: number): string {
  const phrases: Record<number, string> = {
    400: 'BadRequest',
    404: 'NotFound',
    405: 'MethodNotAllowed',
    413: 'PayloadTooLarge',
    415: 'UnsupportedMediaType',
    431: 'RequestHeaderFieldsTooLarge',
  };
  return phrases[status] ?? (status >= 500 ? 'InternalError' : 'BadRequest');
}
