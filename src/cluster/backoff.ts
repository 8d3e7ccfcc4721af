// Retry delays for the cluster watch: exponential with jitter, so a fleet of replicas that lost the API server
// together does not come back in lockstep. Pure functions; the caller supplies the random number.

export interface BackoffPolicy {
  /** Delay before the first retry (ms). */
  initialMs: number;
  /** Upper bound of any delay (ms). */
  maxMs: number;
  /** Growth per consecutive failure. */
  factor: number;
  /**
   * Fraction of the delay that is random: 0.5 gives a delay in [d/2, d] ("equal jitter"), 1 gives [0, d]
   * ("full jitter"), 0 none.
   */
  jitter: number;
  /** After a connection has been healthy this long, the next failure starts again at `initialMs`. */
  resetAfterMs: number;
}

/** client-go's reflector backs off from 800 ms to 30 s and resets after 2 minutes of health; this is close. */
export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 1_000,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.5,
  resetAfterMs: 60_000,
};

/**
 * The delay before retry number `attempt` (1 for the first retry after a failure). `random` is in [0, 1),
 * Math.random() in production; a fixed value in tests.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: number): number {
  const step = Math.max(0, Math.floor(attempt) - 1);
  // Capped before multiplying, so a long outage never overflows to Infinity.
  const ceiling = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, Math.min(step, 64)));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const r = Math.min(1, Math.max(0, random));
  return Math.round(ceiling * (1 - jitter) + ceiling * jitter * r);
}

/**
 * The attempt number for a failure at `now`: one more than before, unless the connection had been healthy for
 * `resetAfterMs` since `healthySince` (then this is a fresh first failure). Keeps a server that accepts a watch
 * and drops it at once from being hammered with relists at the initial delay.
 */
export function nextAttempt(
  policy: BackoffPolicy,
  previous: number,
  healthySince: number | undefined,
  now: number,
): number {
  if (healthySince !== undefined && now - healthySince >= policy.resetAfterMs) return 1;
  return previous + 1;
}
