import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { backoffDelay, DEFAULT_BACKOFF, nextAttempt, type BackoffPolicy } from './backoff.js';

const policy: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.5, resetAfterMs: 60_000 };

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap (at the top of the jitter range)', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 20].map((attempt) => backoffDelay(policy, attempt, 1));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('with equal jitter, stays within [d/2, d]', () => {
    expect(backoffDelay(policy, 1, 0)).toBe(500);
    expect(backoffDelay(policy, 3, 0.5)).toBe(3_000);
    expect(backoffDelay(policy, 50, 0)).toBe(15_000);
  });

  it('never exceeds the cap, never goes negative, for any attempt and random value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 10_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, random) => {
          const delay = backoffDelay(policy, attempt, random);
          return Number.isFinite(delay) && delay >= 0 && delay <= policy.maxMs;
        },
      ),
    );
  });

  it('honours full jitter and no jitter', () => {
    expect(backoffDelay({ ...policy, jitter: 1 }, 2, 0)).toBe(0);
    expect(backoffDelay({ ...policy, jitter: 0 }, 2, 0)).toBe(2_000);
  });

  it('has defaults close to client-go', () => {
    expect(backoffDelay(DEFAULT_BACKOFF, 100, 0.999)).toBeLessThanOrEqual(30_000);
  });
});

describe('nextAttempt', () => {
  it('counts consecutive failures', () => {
    expect(nextAttempt(policy, 0, undefined, 1_000)).toBe(1);
    expect(nextAttempt(policy, 3, undefined, 1_000)).toBe(4);
  });

  it('counts on when the connection was healthy only briefly', () => {
    expect(nextAttempt(policy, 3, 10_000, 10_000 + 59_999)).toBe(4);
  });

  it('starts over after a long healthy stretch', () => {
    expect(nextAttempt(policy, 7, 10_000, 10_000 + 60_000)).toBe(1);
  });
});
