// Prometheus metrics, on a registry per server instance (no global state: tests build many servers).
import { Counter, Registry, collectDefaultMetrics, Gauge, Histogram } from 'prom-client';

export interface Metrics {
  registry: Registry;
  reviews: Counter<'webhook' | 'decision' | 'reason'>;
  reviewDuration: Histogram<'webhook'>;
  findings: Counter<'webhook' | 'rule'>;
  rejectedRequests: Counter<'status'>;
  ready: Gauge;
  /** Seconds until the served certificate's notAfter; negative once it has expired. */
  tlsCertificateExpiry: Gauge;
  tlsReloads: Counter<'result'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'egress_guard_' });
  return {
    registry,
    reviews: new Counter({
      name: 'egress_guard_admission_reviews_total',
      help: 'AdmissionReviews answered, by webhook, decision and (for skips) reason.',
      labelNames: ['webhook', 'decision', 'reason'],
      registers: [registry],
    }),
    reviewDuration: new Histogram({
      name: 'egress_guard_admission_review_duration_seconds',
      help: 'Time from decoded review to encoded answer, by webhook.',
      // Reviews take well under a millisecond; the API server's own timeout is seconds.
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1],
      labelNames: ['webhook'],
      registers: [registry],
    }),
    findings: new Counter({
      name: 'egress_guard_rule_hits_total',
      help: 'Reviews in which a rule fired (validation) or a key was added (mutation), by webhook and rule.',
      labelNames: ['webhook', 'rule'],
      registers: [registry],
    }),
    rejectedRequests: new Counter({
      name: 'egress_guard_rejected_requests_total',
      help: 'Requests answered without an AdmissionReview (4xx for bad input, 5xx for our bugs), by status.',
      labelNames: ['status'],
      registers: [registry],
    }),
    ready: new Gauge({
      name: 'egress_guard_ready',
      help: '1 when /readyz answers ready.',
      registers: [registry],
    }),
    tlsCertificateExpiry: new Gauge({
      name: 'egress_guard_tls_certificate_expiry_seconds',
      help: 'Seconds until the served TLS certificate expires (negative once expired); updated on load and every re-check.',
      registers: [registry],
    }),
    tlsReloads: reloadCounter(registry),
  };
}

/** Both results start at 0, so a rate() or an alert on `rejected` works before the first rotation. */
function reloadCounter(registry: Registry): Counter<'result'> {
  const counter = new Counter({
    name: 'egress_guard_tls_reloads_total',
    help: 'Changed TLS files seen by the certificate reloader, by result: success (now served) or rejected (each refused version counted once).',
    labelNames: ['result'],
    registers: [registry],
  });
  counter.inc({ result: 'success' }, 0);
  counter.inc({ result: 'rejected' }, 0);
  return counter;
}
