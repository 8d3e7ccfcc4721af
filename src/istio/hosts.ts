// Host-name helpers shared by the rules and the cluster index.

/** Any `*` makes a host a wildcard: `*`, `*.example.com`, and the partial form `*foo.com` Istio also matches. */
export function isWildcardHost(host: string): boolean {
  return host.includes('*');
}

/** Host names are DNS names: compare case-insensitively and ignore a trailing root dot. */
export function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

export function sameHost(a: string, b: string): boolean {
  return normalizeHost(a) === normalizeHost(b);
}
