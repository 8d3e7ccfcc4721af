// Istio's ServiceEntry schema bounds its lists; the API server enforces the schema before validating webhooks run,
// so only a caller that bypasses it (or a cluster with an older CRD) sends more. Checked before any rule reads the
// entry: the rules' work grows with the lists (a million hosts held the event loop for 30 s).

/** maxItems of networking.istio.io ServiceEntry v1 (and v1beta1, v1alpha3); exportTo has none, this one is ours. */
export const SERVICE_ENTRY_LIST_LIMITS = {
  hosts: 256,
  ports: 256,
  addresses: 256,
  endpoints: 4096,
  exportTo: 256,
} as const;

const LIMITS = Object.entries(SERVICE_ENTRY_LIST_LIMITS);

/** Which list of `object.spec` is longer than its limit, said for a denial message; undefined when none is. */
export function serviceEntryLimitProblem(object: unknown): string | undefined {
  const spec = (object as { spec?: unknown } | null | undefined)?.spec;
  if (typeof spec !== 'object' || spec === null) return undefined;
  for (const [field, limit] of LIMITS) {
    const list = (spec as Record<string, unknown>)[field];
    if (Array.isArray(list) && list.length > limit)
      return `spec.${field} has ${list.length} items; at most ${limit} are reviewed`;
  }
  return undefined;
}
