// Host-name helpers shared by the rules and the cluster index.
import { trimmed } from './read.js';

/**
 * A leading `*` makes a host a wildcard: `*`, `*.example.com`, and the partial form `*foo.com` Istio also matches.
 * As istiod decides (host.Name.IsWildCarded, pkg/config/host/name.go), which is what auto-allocation and Envoy's
 * matching follow; a `*` anywhere else is not a DNS character, and Istio's validation rejects the host. Also a
 * single comparison, where includes() was a call for every host of every review.
 */
export function isWildcardHost(host: string): boolean {
  return host.charCodeAt(0) === 0x2a;
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
