// The admission HTTP layer: transport, body limits and error mapping. Policy lives behind `dispatch`.
import { fastify, type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { SecureContextOptions } from 'node:tls';
import { bodyShapeProblem } from '../admission/body-shape.js';
import { decodeReview, serializeReview, type ReviewIdentity } from '../admission/codec.js';
import { dispatch, type ReviewOutcome, type Webhook } from '../admission/webhook.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { limitBodiesInFlight } from './body-budget.js';
import { reviewLine } from './review-line.js';

/** What fastify itself sends with an object body. */
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
/** An ordinary review is a few KiB: bodies up to this size never wait for the large-body budget. */
const SMALL_BODY_BYTES = 64 * 1024;
/** How many body limits' worth of large bodies are held at once (see body-budget.ts). */
const LARGE_BODIES_AT_ONCE = 2;

export interface AdmissionAppOptions {
  webhooks: readonly Webhook[];
  logger: Logger;
  metrics: Metrics;
  bodyLimitBytes: number;
  /** Omit for fastify.inject in unit tests; the server passes the certificate and key. */
  https?: SecureContextOptions & { requestCert?: boolean; rejectUnauthorized?: boolean };
}

export function buildAdmissionApp(options: AdmissionAppOptions): FastifyInstance {
  const { logger } = options;
  const app = fastify({
    // No logger for fastify: we write one line per review below, and the few other lines with `logger` itself. Given
    // a logger, fastify makes a child of it and listeners on every request, even with request logging off. Its
    // "Server listening" line is replaced by run.ts's "egress-guard is serving".
    bodyLimit: options.bodyLimitBytes,
    // The API server gives up after the webhook's timeoutSeconds (at most 30); never hold a socket longer.
    requestTimeout: 30_000,
    return503OnClosing: true,
    ...(options.https ? { https: { ...options.https, minVersion: 'TLSv1.2' } } : {}),
  } as FastifyServerOptions) as unknown as FastifyInstance;

  limitBodiesInFlight(app, {
    smallBodyBytes: SMALL_BODY_BYTES,
    totalBytes: LARGE_BODIES_AT_ONCE * options.bodyLimitBytes,
    bodyLimitBytes: options.bodyLimitBytes,
    onRefused: () => options.metrics.rejectedRequests.inc({ status: '429' }),
  });
  acceptJsonOnly(app, options.bodyLimitBytes);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    options.metrics.rejectedRequests.inc({ status: String(status) });
    if (status >= 500) logger.error({ err: error }, 'request failed');
    else logger.warn({ status, problem: error.message, path: request.url }, 'request rejected');
    // The message of a client error says what is wrong with the request; a server error says nothing about us.
    const message = status >= 500 ? 'egress-guard failed to handle this request; see its logs' : error.message;
    return reply.code(status).send({ error: reasonPhrase(status), message });
  });
  app.setNotFoundHandler((request, reply) => {
    options.metrics.rejectedRequests.inc({ status: '404' });
    return reply.code(404).send({ error: 'NotFound', message: `no webhook at ${request.method} ${request.url}` });
  });

  for (const webhook of options.webhooks) {
    const recorder = reviewRecorder(options, webhook);
    app.post(webhook.path, (request, reply) => {
      const started = process.hrtime.bigint();
      const decoded = decodeReview(request.body);
      if (!decoded.ok) {
        options.metrics.rejectedRequests.inc({ status: '400' });
        logger.warn({ webhook: webhook.name, problem: decoded.problem }, 'malformed AdmissionReview');
        return reply.code(400).send({ error: 'BadRequest', message: `not an AdmissionReview v1: ${decoded.problem}` });
      }
      const { request: review, identity } = decoded;
      let outcome: ReviewOutcome;
      try {
        outcome = dispatch(webhook, review);
      } catch (error) {
        // A bug of ours: 500, so the API server's failurePolicy decides (Ignore for pods, Fail for ServiceEntries).
        options.metrics.rejectedRequests.inc({ status: '500' });
        const { uid, namespace, name } = identity;
        logger.error({ err: error, uid, webhook: webhook.name, namespace, name }, 'review failed');
        return reply
          .code(500)
          .send({ error: 'InternalError', message: `egress-guard failed to review ${uid}; see its logs` });
      }
      // The line is made from the identity, whose texts are clipped, never from the review's own values.
      recorder(identity, outcome, Number(process.hrtime.bigint() - started) / 1e9);
      // A string body with a JSON content type is sent as it is: fastify's serializer would walk the answer again.
      return reply.type(JSON_CONTENT_TYPE).send(serializeReview(review.uid, outcome.answer));
    });
  }
  return app;
}

/**
 * V8's JSON.parse messages quote the body around the error ("Unexpected token 'Z', \"{\"a\": Zq9}\" is not
 * valid JSON"), and the body is someone's object: say what went wrong, and where, in our own words.
 */
function jsonProblem(message: string): string {
  if (/end of JSON input/.test(message)) return 'it ends before the JSON value does';
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position !== undefined) return `unexpected character at position ${position}`;
  return /^Unexpected token/.test(message) ? 'unexpected token' : 'syntax error';
}

/** Replace fastify's parsers: JSON only (anything else is 415), parsed with JSON.parse so `__proto__` keys stay plain data. */
function acceptJsonOnly(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_request, body, done) => {
    // JSON.parse's time and memory follow the body's shape: refuse the costly shapes before parsing. A small body
    // is parsed unscanned: the scan would cost most of what parsing one costs, and no shape of it costs much.
    const shape = (body as string).length > SMALL_BODY_BYTES ? bodyShapeProblem(body as string) : undefined;
    if (shape !== undefined) {
      done(Object.assign(new Error(`body refused before parsing: ${shape}`), { statusCode: 413 }), undefined);
      return;
    }
    try {
      done(null, JSON.parse(body as string));
    } catch (error) {
      const problem = Object.assign(new Error(`body is not valid JSON: ${jsonProblem((error as Error).message)}`), {
        statusCode: 400,
      });
      done(problem, undefined);
    }
  });
}

/** Metrics and the log line of each review; its logger carries the webhook's name. */
function reviewRecorder(options: AdmissionAppOptions, webhook: Webhook) {
  const logger = options.logger.child({ webhook: webhook.name });
  const { reviews, reviewDuration, findings } = options.metrics;
  // Every webhook's series exists from the start, at zero, so a rate() works before its first review.
  reviewDuration.zero({ webhook: webhook.name });
  return (review: ReviewIdentity, outcome: ReviewOutcome, seconds: number): void => {
    const { decision } = outcome;
    reviews.inc({ webhook: webhook.name, decision, reason: outcome.reason ?? '' });
    reviewDuration.observe({ webhook: webhook.name }, seconds);
    for (const rule of outcome.rules ?? []) findings.inc({ webhook: webhook.name, rule });
    const level = decision === 'misrouted' ? 'error' : toldTheRequester(outcome) ? 'info' : 'debug';
    if (!logger.isLevelEnabled(level)) return;
    const line = reviewLine(review, outcome, Math.round(seconds * 1e6));
    logger[level](line, decision === 'misrouted' ? 'review of a kind this webhook does not handle' : 'review');
  };
}

/**
 * Whether the person at kubectl was told something: a denial or a warning. Those reviews are logged at info; the
 * routine ones (allowed, patched, skipped by the owner's choice) at debug, counted by the metrics either way.
 */
function toldTheRequester(outcome: ReviewOutcome): boolean {
  return !outcome.answer.allowed || (outcome.answer.warnings?.length ?? 0) > 0;
}

function reasonPhrase(status: number): string {
  const phrases: Record<number, string> = {
    400: 'BadRequest',
    404: 'NotFound',
    405: 'MethodNotAllowed',
    413: 'PayloadTooLarge',
    415: 'UnsupportedMediaType',
    429: 'TooManyRequests',
    431: 'RequestHeaderFieldsTooLarge',
  };
  return phrases[status] ?? (status >= 500 ? 'InternalError' : 'BadRequest');
}
