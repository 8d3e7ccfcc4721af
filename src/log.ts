// pino JSON logs, written in batches: one write per batch keeps logging off the review's hot path; flush on shutdown.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Lines are written in batches of at least this many bytes (about fifty review lines). A write per line cost more CPU
 * than formatting the line (measured when writes were asynchronous: 25-50 us of process CPU per write on a 2-core
 * VM); a batch costs one.
 */
export const WRITE_BATCH_BYTES = 16 * 1024;
/** Largest single write sonic-boom makes; above the batch size, so a batch is one write. */
const MAX_WRITE_BYTES = 64 * 1024;
/** A quiet server still writes each line within this delay. */
export const FLUSH_INTERVAL_MS = 100;

/**
 * What BatchedLines uses of a sonic-boom opened with contentMode 'buffer' (its types know only string writes). The
 * batch is encoded once, here: handed a string, sonic-boom 4 measures its UTF-8 length, fs.writeSync encodes it, and
 * after every write it is encoded into a Buffer again (releaseWritingBuf), three passes over each 16 KiB batch.
 */
interface ByteSink {
  readonly fd: number;
  write(bytes: Buffer): boolean;
  flush(callback: (error?: Error) => void): void;
  flushSync(): void;
  end(): void;
  once(event: 'ready', listener: () => void): unknown;
}

/**
 * Collects lines in an array and hands sonic-boom one buffer per batch. sonic-boom's own batching (minLength)
 * appends each line to its pending string and measures that string's byte length on every write, which copies
 * the whole batch each time: 6-7 us per line at a 16 KiB batch, more than pino spends formatting it (1 us).
 */
export class BatchedLines implements DestinationStream {
  private lines: string[] = [];
  private length = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly onExit = () => this.flushSync();

  constructor(private readonly sink: ByteSink) {
    this.timer = setInterval(() => this.hand(), FLUSH_INTERVAL_MS).unref();
    // pino makes sonic-boom flush on exit; the lines still held here must reach it first.
    process.on('exit', this.onExit);
  }

  /** Resolves once the destination is open; a file path opens asynchronously. */
  opened(): Promise<void> {
    const { sink } = this;
    return sink.fd >= 0 ? Promise.resolve() : new Promise((resolve) => sink.once('ready', () => resolve()));
  }

  write(line: string): void {
    this.lines.push(line);
    // UTF-16 length: a lower bound of the bytes, good enough to decide when a batch is full.
    this.length += line.length;
    if (this.length >= WRITE_BATCH_BYTES) this.hand();
  }

  /** What pino's logger.flush(callback) calls: every line written so far is on disk when `callback` runs. */
  flush(callback?: (error?: Error) => void): void {
    this.hand();
    if (callback) this.sink.flush(callback);
  }

  flushSync(): void {
    this.hand();
    this.sink.flushSync();
  }

  end(): void {
    this.hand();
    clearInterval(this.timer);
    process.removeListener('exit', this.onExit);
    this.sink.end();
  }

  /** Passes the held lines on, encoded once (see ByteSink); sonic-boom writes them now, or after the write in progress. */
  private hand(): void {
    if (this.lines.length === 0) return;
    const batch = this.lines.length === 1 ? (this.lines[0] as string) : this.lines.join('');
    this.lines = [];
    this.length = 0;
    this.sink.write(Buffer.from(batch, 'utf8'));
  }
}

/**
 * Where the server's lines go: stdout (fd 1) by default, or a file path. Each batch is one synchronous write, as
 * pino.destination does by default. An asynchronous write is a round trip through libuv's thread pool: writing
 * 300,000 lines in-process took 1.5 us of process CPU per line that way against 1.1 us in place (building the line
 * included). The write blocks only while the kernel takes 16 KiB, or while a full stdout pipe drains.
 */
export function logDestination(dest: number | string = 1): BatchedLines {
  return new BatchedLines(pino.destination({ dest, sync: true, maxWrite: MAX_WRITE_BYTES, contentMode: 'buffer' }) as unknown as ByteSink);
}

/** A line of fixed shape whose fields the caller serialises itself; see preformattedLines. */
export interface LineWriter {
  /** Whether the logger writes this line's level now: check it before formatting the fields. */
  enabled(): boolean;
  /** `fields` is `,"key":value` pairs, each value already JSON; the line around them is the logger's. */
  write(fields: string): void;
}

/**
 * Writes one line as `logger[level](object, message)` would (same level, time, bindings, message key, destination),
 * from fields the caller has already serialised. For the one line per review: pino's generic serialiser looks up
 * serialisers and escapes each key of the object, and under callgrind that was 15k instructions of a review
 * against 3k for a formatter that knows the line's shape. It reads the logger's state through `pino.symbols`,
 * which pino exports for integrations, and skips pino's hooks, mixins and redaction: createLogger sets none.
 */
export function preformattedLines(logger: Logger, level: 'info' | 'error', message: string): LineWriter {
  const state = logger as unknown as Record<symbol, unknown>;
  const { streamSym, lsCacheSym, timeSym, chindingsSym, messageKeySym, endSym } = pino.symbols;
  const stream = state[streamSym] as DestinationStream;
  const time = state[timeSym] as () => string;
  const head = (state[lsCacheSym] as Record<number, string>)[logger.levels.values[level] as number] as string;
  const bindings = state[chindingsSym] as string;
  const tail = `,${JSON.stringify(state[messageKeySym])}:${JSON.stringify(message)}${state[endSym] as string}`;
  return {
    enabled: () => logger.isLevelEnabled(level),
    write: (fields) => stream.write(head + time() + bindings + fields + tail),
  };
}

/**
 * pino's default `"time"` (milliseconds since the epoch), remembering the text of the last millisecond. Date.now() is
 * a double, and turning one into text cost about 500 instructions a line under callgrind (V8's FastDtoa); at
 * thousands of reviews a second, many lines share a millisecond, and the rest pay one comparison more.
 */
export function epochTime(): () => string {
  let millisecond = -1;
  let text = '';
  return () => {
    const now = Date.now();
    if (now !== millisecond) {
      millisecond = now;
      text = `,"time":${now}`;
    }
    return text;
  };
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'egress-guard' },
    timestamp: epochTime(),
    // Error objects carry stacks: keep them in the log (for us), never in responses (for clients).
    serializers: { err: errorSummary },
  };
  return pino(options, destination ?? logDestination());
}

/**
 * What identifies an error and where it came from. pino's standard serializer copies every enumerable property,
 * and libraries attach the offending input there (new URL() puts it in error.input): object contents, in our logs.
 */
export function errorSummary(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const code = (error as NodeJS.ErrnoException).code;
  return { type: error.name, message: error.message, stack: error.stack, ...(typeof code === 'string' ? { code } : {}) };
}
