import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensureBuilt, ROOT } from '../test/cli/run-cli.js';
import { createLogger, errorSummary, logDestination } from './log.js';

const dir = mkdtempSync(join(tmpdir(), 'egress-guard-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
/** Ends the destination and resolves once its file is closed, every line written. */
const closed = (stream: ReturnType<typeof logDestination>) =>
  new Promise<void>((resolve) => {
    stream.once('close', () => resolve());
    stream.end();
  });

describe('the log destination', () => {
  it('writes every line, in order', async () => {
    const file = join(dir, 'order.log');
    const stream = logDestination(file);
    const logger = createLogger('info', stream);
    for (let i = 0; i < 10; i++) logger.info({ uid: `uid-${i}` }, 'review');
    await closed(stream);
    expect(lines(file).map((line) => JSON.parse(line).uid)).toEqual(Array.from({ length: 10 }, (_, i) => `uid-${i}`));
  });

  it('writes UTF-8, whatever the lines hold', async () => {
    const file = join(dir, 'utf8.log');
    const stream = logDestination(file);
    const logger = createLogger('info', stream);
    const names = ['café', 'name-\u2603', 'emoji-\u{1F600}', 'plain'];
    for (const name of names) logger.info({ name }, 'review');
    await closed(stream);
    expect(lines(file).map((line) => JSON.parse(line).name)).toEqual(names);
    expect(readFileSync(file).includes(Buffer.from('caf\u00e9', 'utf8'))).toBe(true);
  });

  it('writes the lines still pending when the process exits', () => {
    ensureBuilt();
    const file = join(dir, 'exiting.log');
    // A process that logs and exits at once, while the asynchronous writes are still pending.
    const script = `
      const { createLogger, logDestination } = await import(${JSON.stringify(join(ROOT, 'dist/src/log.js'))});
      const stream = logDestination(${JSON.stringify(file)});
      await new Promise((resolve) => stream.once('ready', resolve));
      const logger = createLogger('info', stream);
      for (let i = 0; i < 25; i++) logger.info({ uid: 'uid-' + i }, 'review');
      process.exit(0);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(lines(file).map((line) => JSON.parse(line).uid)).toEqual(Array.from({ length: 25 }, (_, i) => `uid-${i}`));
  });
});

describe('a line', () => {
  it('carries level, time, the service and the message, as pino writes them', () => {
    const written: string[] = [];
    const before = Date.now();
    createLogger('info', { write: (line: string) => void written.push(line) }).info({ uid: 'u' }, 'review');
    const line = JSON.parse(written[0] as string) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, service: 'egress-guard', uid: 'u', msg: 'review' });
    expect(line.time).toBeGreaterThanOrEqual(before);
    expect(line.time).toBeLessThanOrEqual(Date.now());
  });

  it('shows an error by type, message, stack and code, never the properties a library attached to it', () => {
    const error = Object.assign(new TypeError('Invalid URL'), { code: 'ERR_INVALID_URL', input: 'secret-object' });
    const written: string[] = [];
    createLogger('info', { write: (line: string) => void written.push(line) }).error({ err: error }, 'failed');
    const { err } = JSON.parse(written[0] as string) as { err: Record<string, unknown> };
    expect(err).toMatchObject({ type: 'TypeError', message: 'Invalid URL', code: 'ERR_INVALID_URL' });
    expect(err.stack).toContain('Invalid URL');
    expect(JSON.stringify(err)).not.toContain('secret-object');
    expect(errorSummary('a string')).toEqual({ type: 'string' });
  });
});
