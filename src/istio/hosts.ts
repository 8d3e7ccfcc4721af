// Host-name helpers shared by the rules and the cluster index.
import { trimmed } from './read.js';

/** Any `*` makes a host a wildcard: `*`, `*.example.com`, and the partial form `*foo.com` Istio also matches. */
export function isWildcardHost(host: string): boolean {
  return host.includes('*');
}

/**
 * Host names are DNS names: compare case-insensitively and ignore a trailing root dot. Called for every host
 * question of every review, so the common case (already lower case, no dot, no blanks) allocates nothing.
 */
export function normalizeHost(host: string): string {
  const lower = trimmed(host).toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

export function sameHost(a: string, b: string): boolean {
  return normalizeHost(a) === normalizeHost(b);
}
