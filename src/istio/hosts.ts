// Host-name helpers shared by the rules and the cluster index.

/** Any `*` makes a host a wildcard: `*`, `*.example.com`, and the partial form `*foo.com` Istio also matches. */
export function isWildcardHost(host: string): boolean {
  return host.includes('*');
}

/**
 * Host names are DNS names: compare case-insensitively and ignore a trailing root dot. Called for every host
 * question of every review, so the common case (already lower case, no dot, no blanks) allocates nothing.
 */
export function normalizeHost(host: string): string {
  const trimmed = host.length > 0 && (host.charCodeAt(0) <= 32 || host.charCodeAt(host.length - 1) <= 32) ? host.trim() : host;
  const lower = trimmed.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

export function sameHost(a: string, b: string): boolean {
  return normalizeHost(a) === normalizeHost(b);
}
