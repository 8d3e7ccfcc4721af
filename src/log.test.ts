import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { createLogger, FLUSH_INTERVAL_MS, logDestination, WRITE_BATCH_BYTES } from './log.js';

type Stream = DestinationStream & { end(): void; flushSync(): void; once(event: string, listener: () => void): void };

const dir = mkdtempSync(join(tmpdir(), 'egress-guard-log-'));
const streams: Stream[] = [];
afterEach(() => {
  for (const stream of streams.splice(0)) stream.end();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openLog(name: string): { file: string; stream: Stream } {
  const file = join(dir, name);
  const stream = logDestination(file) as Stream;
  streams.push(stream);
  return { file, stream };
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the log destination', () => {
  it('holds lines back until a batch is full, so a busy server writes once per batch', async () => {
    const { file, stream } = openLog('batch.log');
    await new Promise<void>((resolve) => stream.once('ready', resolve));
    const logger = createLogger('info', stream);
    logger.info({ uid: 'first' }, 'review');
    expect(readFileSync(file, 'utf8')).toBe('');
    // Enough lines to pass the batch size: written without waiting for the timer.
    const count = Math.ceil(WRITE_BATCH_BYTES / 60) + 1;
    for (let i = 0; i < count; i++) logger.info({ uid: `uid-${i}` }, 'review');
    await sleep(20);
    expect(lines(file).length).toBeGreaterThan(1);
  });

  it(`writes a lone line within ${FLUSH_INTERVAL_MS} ms`, async () => {
    const { file, stream } = openLog('quiet.log');
    createLogger('info', stream).info({ uid: 'lonely' }, 'review');
    await sleep(FLUSH_INTERVAL_MS * 3);
    expect(lines(file).map((line) => JSON.parse(line).uid)).toEqual(['lonely']);
  });

  it('loses nothing on a synchronous flush (what pino does when the process exits)', async () => {
    const { file, stream } = openLog('exit.log');
    await new Promise<void>((resolve) => stream.once('ready', resolve));
    const logger = createLogger('info', stream);
    for (let i = 0; i < 10; i++) logger.info({ uid: `uid-${i}` }, 'review');
    stream.flushSync();
    expect(lines(file).map((line) => JSON.parse(line).uid)).toEqual(Array.from({ length: 10 }, (_, i) => `uid-${i}`));
  });
});
