import { afterAll, afterEach, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensureBuilt, ROOT } from '../test/cli/run-cli.js';
import type { BatchedLines } from './log.js';
import {
  createLogger,
  epochTime,
  FLUSH_INTERVAL_MS,
  logDestination,
  preformattedLines,
  WRITE_BATCH_BYTES,
} from './log.js';

type Stream = BatchedLines;

const dir = mkdtempSync(join(tmpdir(), 'egress-guard-log-'));
const streams: Stream[] = [];
afterEach(() => {
  for (const stream of streams.splice(0)) stream.end();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openLog(name: string): { file: string; stream: Stream } {
  const file = join(dir, name);
  const stream = logDestination(file);
  streams.push(stream);
  return { file, stream };
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the log destination', () => {
  it('holds lines back until a batch is full, so a busy server writes once per batch', async () => {
    const { file, stream } = openLog('batch.log');
    await stream.opened();
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
    await stream.opened();
    const logger = createLogger('info', stream);
    for (let i = 0; i < 10; i++) logger.info({ uid: `uid-${i}` }, 'review');
    stream.flushSync();
    expect(lines(file).map((line) => JSON.parse(line).uid)).toEqual(Array.from({ length: 10 }, (_, i) => `uid-${i}`));
  });

  it('calls back from logger.flush only once every line is in the file (how run.ts flushes before exit)', async () => {
    const { file, stream } = openLog('flush.log');
    await stream.opened();
    const logger = createLogger('info', stream);
    for (let i = 0; i < 10; i++) logger.info({ uid: `uid-${i}` }, 'review');
    await new Promise<void>((resolve, reject) => logger.flush((error) => (error ? reject(error) : resolve())));
    expect(lines(file)).toHaveLength(10);
  });

  it('writes each batch as UTF-8, whatever the lines hold', async () => {
    const { file, stream } = openLog('utf8.log');
    await stream.opened();
    const logger = createLogger('info', stream);
    const names = ['café', 'name-\u2603', 'emoji-\u{1F600}', 'plain'];
    for (const name of names) logger.info({ name }, 'review');
    stream.flushSync();
    expect(lines(file).map((line) => JSON.parse(line).name)).toEqual(names);
    expect(readFileSync(file).includes(Buffer.from('caf\u00e9', 'utf8'))).toBe(true);
  });

  it('writes the lines it still holds when the process exits', () => {
    ensureBuilt();
    const file = join(dir, 'exiting.log');
    // A process that logs and exits at once, before any batch is full or the flush timer runs.
    const script = `
      const { createLogger, logDestination } = await import(${JSON.stringify(join(ROOT, 'dist/src/log.js'))});
      const stream = logDestination(${JSON.stringify(file)});
      await stream.opened();
      const logger = createLogger('info', stream);
      for (let i = 0; i < 25; i++) logger.info({ uid: 'uid-' + i }, 'review');
      process.exit(0);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(lines(file).map((line) => JSON.parse(line).uid)).toEqual(Array.from({ length: 25 }, (_, i) => `uid-${i}`));
  });
});

describe('a preformatted line on the batched destination', () => {
  const fields = (record: { uid: string; n: number }) => `,"uid":${JSON.stringify(record.uid)},"n":${record.n}`;

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('is made when its batch is written, in order with the lines around it, and reads as if written at once', async () => {
    const { file, stream } = openLog('deferred.log');
    await stream.opened();
    const logger = createLogger('info', stream).child({ webhook: 'validate-serviceentries' });
    const later = preformattedLines(logger, 'info', 'review', fields);
    const made: string[] = [];
    const counting = preformattedLines(
      logger,
      'info',
      'review',
      (record: { uid: string; n: number }) => (made.push(record.uid), fields(record)),
    );
    logger.info({ uid: 'before' }, 'ordinary');
    counting.write({ uid: 'a', n: 1 });
    logger.warn({ uid: 'between' }, 'ordinary');
    later.write({ uid: 'b\u00e9"', n: 2 });
    expect(made).toEqual([]);
    stream.flushSync();
    expect(made).toEqual(['a']);

    const immediate: string[] = [];
    const direct = createLogger('info', { write: (line: string) => void immediate.push(line) }).child({
      webhook: 'validate-serviceentries',
    });
    direct.info({ uid: 'a', n: 1 }, 'review');
    direct.info({ uid: 'b\u00e9"', n: 2 }, 'review');
    const blank = (line: string) => line.replace(/"time":\d+/, '"time":0');
    const written = lines(file).map(blank);
    expect(written.map((line) => JSON.parse(line).uid)).toEqual(['before', 'a', 'between', 'b\u00e9"']);
    expect([written[1], written[3]]).toEqual(immediate.map((line) => blank(line.trimEnd())));
  });

  it('carries the time it was written at, not the time its batch was written', async () => {
    const { file, stream } = openLog('deferred-time.log');
    await stream.opened();
    let now = 1_796_000_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const line = preformattedLines(createLogger('info', stream), 'info', 'review', fields);
    line.write({ uid: 'early', n: 0 });
    now += 5_000;
    stream.flushSync();
    expect(JSON.parse(lines(file)[0] as string).time).toBe(1_796_000_000_000);
  });

  it('is written once its batch is full, without waiting for the timer', async () => {
    const { file, stream } = openLog('deferred-batch.log');
    await stream.opened();
    const line = preformattedLines(createLogger('info', stream), 'info', 'review', fields);
    const count = Math.ceil(WRITE_BATCH_BYTES / 60) + 1;
    for (let i = 0; i < count; i++) line.write({ uid: `uid-${i}`, n: i });
    expect(lines(file).length).toBeGreaterThan(1);
    expect(JSON.parse(lines(file)[0] as string)).toMatchObject({ uid: 'uid-0', n: 0, msg: 'review' });
  });

  it('is still written, saying so, when its fields cannot be formatted, and the lines around it are kept', async () => {
    const { file, stream } = openLog('deferred-broken.log');
    await stream.opened();
    const logger = createLogger('info', stream);
    const broken = preformattedLines(logger, 'info', 'review', (): string => {
      throw new Error('a bug in a formatter');
    });
    logger.info({ uid: 'first' }, 'ordinary');
    broken.write({});
    logger.info({ uid: 'last' }, 'ordinary');
    expect(() => stream.flushSync()).not.toThrow();
    const written = lines(file).map((line) => JSON.parse(line));
    expect(written.map((line) => line.uid ?? line.problem)).toEqual([
      'first',
      "egress-guard could not format this line's fields",
      'last',
    ]);
    expect(written[1]).toMatchObject({ level: 30, msg: 'review' });
  });
});

describe('the time of a line', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('is the millisecond it was written in, as pino writes it, also after the clock moves on', () => {
    let now = 1_796_000_000_123;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const time = epochTime();
    expect(time()).toBe(',"time":1796000000123');
    expect(time()).toBe(',"time":1796000000123');
    now += 1;
    expect(time()).toBe(',"time":1796000000124');
    now = 5;
    expect(time()).toBe(',"time":5');
  });

  it('is what the logger writes', async () => {
    const { file, stream } = openLog('time.log');
    await stream.opened();
    const before = Date.now();
    createLogger('info', stream).info('hello');
    stream.flushSync();
    const { time } = JSON.parse(lines(file)[0] as string) as { time: number };
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
  });
});
