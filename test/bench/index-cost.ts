// The cluster-wide index at scale, in-process: what one ServiceEntry review costs against an index of 1,000 and of
// 100,000 ServiceEntries (the same review, whose hosts meet the same stored entries in both), and the memory the
// 100,000-entry index takes (measured in a child process, index-memory.ts, so nothing else is on the heap).
import type { AdmissionRequest } from '../../src/admission/types.js';
import { HostIndex } from '../../src/cluster/host-index.js';
import { toServiceEntryView, type ServiceEntryView } from '../../src/istio/service-entry.js';
import { serviceEntryValidator } from '../../src/webhooks/validate-serviceentries.js';
import { median } from './load.js';
import { SERVICE_ENTRY_20_HOSTS_REVIEW } from './payloads.js';

/**
 * ServiceEntry number `i` as it arrives from the informer: labels, kubectl's last-applied copy, one to three
 * hosts (`api-<i>.partner-<i % 1000>.example.com` first), one or two ports; every tenth is private to its namespace.
 */
export function realisticServiceEntry(i: number): unknown {
  const namespace = `team-${i % 500}`;
  const name = `egress-${i}`;
  const hosts = [`api-${i}.partner-${i % 1000}.example.com`];
  if (i % 3 === 1) hosts.push(`cdn-${i}.partner-${i % 1000}.example.net`);
  if (i % 5 === 2) hosts.push(`*.svc-${i}.partner-${i % 1000}.example.org`);
  const ports =
    i % 4 === 0
      ? [{ name: 'tcp-9444', number: 9444, protocol: 'TCP' }]
      : [{ name: 'https', number: 443, protocol: 'TLS' }];
  if (i % 2 === 0) ports.push({ name: 'http', number: 80, protocol: 'HTTP' });
  const spec = {
    hosts,
    location: 'MESH_EXTERNAL',
    ports,
    resolution: i % 5 === 2 ? 'NONE' : 'DNS',
    ...(i % 10 === 0 ? { exportTo: ['.'] } : {}),
  };
  const metadata = {
    name,
    namespace,
    uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    resourceVersion: String(1_000_000 + i),
    generation: 1,
    labels: { team: namespace, 'app.kubernetes.io/managed-by': 'argocd' },
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
        apiVersion: 'networking.istio.io/v1',
        kind: 'ServiceEntry',
        metadata: { name, namespace },
        spec,
      }),
    },
  };
  return { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata, spec };
}

export function* realisticViews(count: number): Generator<ServiceEntryView> {
  for (let i = 0; i < count; i++) yield toServiceEntryView(realisticServiceEntry(i));
}

export function buildIndex(count: number): HostIndex {
  const index = new HostIndex();
  index.replaceAll(realisticViews(count), []);
  return index;
}

export interface IndexCostResult {
  /** Median microseconds per review, per index size. */
  microsPerReview: Record<string, number>;
  /** cost at the larger size / cost at the smaller. */
  ratio: number;
  indexingMs: Record<string, number>;
  decision: string;
}

/**
 * Reviews the 20-host ServiceEntry (its hosts are `api-<37k>...`, stored in both indexes) against each index,
 * alternating sizes round by round so drift (turbo, GC of the other index) falls on both.
 */
export function measureIndexCost(sizes: readonly [number, number], rounds = 15, iterations = 2_000): IndexCostResult {
  const request = SERVICE_ENTRY_20_HOSTS_REVIEW.request as unknown as AdmissionRequest;
  const settings = {
    expectedPorts: [80, 443],
    undeclaredPortsAction: 'warn' as const,
    istio: { version: { major: 1, minor: 31 }, allocator: 'istiod' as const },
  };
  const indexingMs: Record<string, number> = {};
  const validators = sizes.map((size) => {
    const started = performance.now();
    const index = buildIndex(size);
    indexingMs[size] = Math.round(performance.now() - started);
    return serviceEntryValidator(settings, (entry) => index.viewFor(entry, { scope: 'cluster' }));
  });
  const samples: number[][] = sizes.map(() => []);
  let decision = '';
  // Warm-up: let the JIT settle on both before measuring.
  for (const validator of validators)
    for (let i = 0; i < iterations; i++) decision = validator.review(request).decision;
  for (let round = 0; round < rounds; round++) {
    validators.forEach((validator, which) => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) validator.review(request);
      samples[which]?.push(Number(process.hrtime.bigint() - started) / 1e3 / iterations);
    });
  }
  const micros = samples.map((values) => median(values));
  return {
    microsPerReview: Object.fromEntries(sizes.map((size, which) => [size, round3(micros[which] ?? NaN)])),
    ratio: round3((micros[1] ?? NaN) / (micros[0] ?? NaN)),
    indexingMs,
    decision,
  };
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
