// The floor: a bare fastify HTTPS server with egress-guard's TLS settings and body limit. It parses the review
// with fastify's own JSON parser and answers a fixed "allowed" AdmissionReview (only the uid is echoed, as the
// API server requires). Run as its own process by run.ts: PORT, HOST, TLS_CERT_FILE, TLS_KEY_FILE.
// EXTRA_CPU_US (default 0) makes it burn that much CPU per review: the floor plus a known cost, which shows what
// ratio a given number of microseconds of work per review comes out as (BENCH_CALIBRATE_US in run.ts).
import { readFileSync } from 'node:fs';
import { fastify } from 'fastify';

const env = process.env;
const app = fastify({
  https: {
    cert: readFileSync(env.TLS_CERT_FILE ?? ''),
    key: readFileSync(env.TLS_KEY_FILE ?? ''),
    minVersion: 'TLSv1.2',
  },
  bodyLimit: 7 * 1024 * 1024,
});

const extraCpuMs = Number(env.EXTRA_CPU_US ?? 0) / 1000;

const answer = (request: { body: unknown }) => {
  if (extraCpuMs > 0) for (const until = performance.now() + extraCpuMs; performance.now() < until;);
  const uid = (request.body as { request?: { uid?: unknown } } | null)?.request?.uid;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: typeof uid === 'string' ? uid : '', allowed: true },
  };
};
app.post('/mutate/pods', async (request) => answer(request));
app.post('/validate/serviceentries', async (request) => answer(request));

await app.listen({ port: Number(env.PORT), host: env.HOST ?? '127.0.0.1' });
process.stdout.write('listening\n');
const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
