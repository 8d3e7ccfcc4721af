// /metrics of the production entry point (node dist/src/main.js, what the image runs), watching a real API server
// and after real reviews, passes `promtool check metrics`; and carries the names the chart's alerts and
// dashboard query.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { installIstioCrds, startCluster, type Cluster } from '../e2e/cluster.js';
import {
  makeCertificates,
  startEgressGuard,
  type CertificateFiles,
  type EgressGuard,
} from '../e2e/support/egress-guard.js';
import { ossServiceEntry, replicaSetPod, review, serviceEntryReview } from '../fixtures/reviews.js';
import { ensureTools, run } from './tools.js';

let cluster: Cluster | undefined;
let guard: EgressGuard | undefined;
let certificates: CertificateFiles;
let exposition = '';

beforeAll(async () => {
  await ensureTools();
  cluster = await startCluster();
  await installIstioCrds(cluster);
  const dir = mkdtempSync(join(cluster.dir, 'metrics-'));
  certificates = await makeCertificates(join(dir, 'certs'));
  guard = await startEgressGuard({
    kubeconfigPath: cluster.kubeconfigPath,
    certificates,
    logFile: join(cluster.logDir, 'egress-guard-metrics.log'),
  });
  const ca = readFileSync(certificates.caCert, 'utf8');
  // Reviews, so the labelled counters and the histogram have series.
  for (const [path, body] of [
    ['/mutate/pods', review(replicaSetPod())],
    ['/validate/serviceentries', serviceEntryReview(ossServiceEntry('DNS'))],
    ['/validate/serviceentries', serviceEntryReview(ossServiceEntry('NONE'))],
  ] as const) {
    const reply = await post(`https://127.0.0.1:${guard.port}${path}`, body, ca);
    if (reply.status !== 200) throw new Error(`${path}: ${reply.status} ${reply.body}`);
  }
  const response = await fetch(`http://127.0.0.1:${guard.opsPort}/metrics`);
  exposition = await response.text();
}, 10 * 60_000);

afterAll(async () => {
  await guard?.dispose();
  await cluster?.stop();
});

/** POSTs an AdmissionReview to the server's 127.0.0.1 address, trusting only its CA; resolves with the status. */
function post(url: string, payload: unknown, ca: string): Promise<{ status: number; body: string }> {
  const body = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function checkMetrics(text: string) {
  const { promtool } = await ensureTools();
  return run(promtool, ['check', 'metrics'], { stdin: text });
}

describe('/metrics of a running server', () => {
  it('passes promtool check metrics without a single finding', async () => {
    expect(exposition).toContain('egress_guard_admission_reviews_total{');
    const result = await checkMetrics(exposition);
    expect({ code: result.code, findings: result.stdout + result.stderr }).toEqual({ code: 0, findings: '' });
  });

  it('promtool does flag what prom-client exposes by default (a gauge named *_total), so the check above bites', async () => {
    const prefixed =
      '# HELP nodejs_active_handles_total Total number of active handles.\n# TYPE nodejs_active_handles_total gauge\nnodejs_active_handles_total 4\n';
    const result = await checkMetrics(prefixed);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain(
      'nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
    );
  });

  it('has the standard process_* and nodejs_* names unprefixed, and none of ours prefixed to them', () => {
    expect(exposition).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(exposition).toMatch(/^process_start_time_seconds \d+/m);
    expect(exposition).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
    expect(exposition).not.toMatch(/^egress_guard_(process|nodejs)_/m);
    expect(exposition).not.toMatch(/^nodejs_active_\w+_total/m);
  });

  it('says which version runs', () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(exposition).toMatch(
      new RegExp(`^egress_guard_build_info\\{version="${version.replaceAll('.', '\\.')}"\\} 1$`, 'm'),
    );
  });

  it("exports the served certificate's notAfter as a Unix timestamp", () => {
    const notAfter = new X509Certificate(readFileSync(certificates.cert)).validToDate.getTime() / 1000;
    expect(exposition).toMatch(
      new RegExp(`^egress_guard_tls_certificate_expiration_timestamp_seconds ${notAfter}$`, 'm'),
    );
  });

  it("carries every egress_guard_* series the chart's alerts and dashboard query", () => {
    const chart = join(import.meta.dirname, '..', '..', 'deploy', 'helm', 'egress-guard');
    const queried = new Set(
      [
        readFileSync(join(chart, 'templates', 'prometheusrule.yaml'), 'utf8'),
        readFileSync(join(chart, 'files', 'dashboard.json'), 'utf8'),
      ]
        .join('\n')
        .match(/\begress_guard_[a-z_]+/g),
    );
    expect(queried.size).toBeGreaterThan(8);
    const exposed = new Set(
      [...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
        type === 'histogram' ? [name ?? '', `${name}_bucket`, `${name}_sum`, `${name}_count`] : [name ?? ''],
      ),
    );
    expect([...queried].filter((name) => !exposed.has(name))).toEqual([]);
  });
});
