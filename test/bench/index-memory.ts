// Child process (node --expose-gc): loads the server's modules, indexes COUNT realistic ServiceEntries, and prints
// one JSON line with RSS and heap before and after, so the figure is not mixed with the benchmark's own heap.
import { buildWebhooks } from '../../src/server.js';
import { loadConfig } from '../../src/config.js';
import { buildIndex } from './index-cost.js';

const count = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function snapshot() {
  gc();
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external };
}

// The same modules the server loads, so the "before" figure is a server process without an index.
const webhooks = buildWebhooks(loadConfig({}));
const before = snapshot();
const started = performance.now();
const index = buildIndex(count);
const indexingMs = performance.now() - started;
const after = snapshot();
process.stdout.write(
  `${JSON.stringify({ count: index.serviceEntryCount, webhooks: webhooks.length, indexingMs: Math.round(indexingMs), before, after })}\n`,
);
