// pino JSON logs, written in batches: one write per batch keeps logging off the review's hot path; flush on shutdown.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Lines are written in batches of at least this many bytes (about two hundred review lines). A write per line cost
 * more CPU than formatting the line (measured when writes were asynchronous: 25-50 us of process CPU per write on a
 * 2-core VM); a batch costs one. With a review's line held as a small record until its batch is written
 * (writeLater), 64 KiB served 20-host ServiceEntries at a median 5.5% more than 16 KiB (seven interleaved runs,
 * -3.8% to +6.4%); while every held line was its text, 64 KiB had measured no better and 256 KiB worse.
 */
export const WRITE_BATCH_BYTES = 64 * 1024;
/** Largest single write sonic-boom makes; above a full batch's size, so a batch is one write. */
const MAX_WRITE_BYTES = 256 * 1024;
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

/** A line whose text is made when its batch is written (see BatchedLines.writeLater). */
export interface DeferredLine {
  text(): string;
}

/**
 * Collects lines in an array and hands sonic-boom one buffer per batch. sonic-boom's own batching (minLength)
 * appends each line to its pending string and measures that string's byte length on every write, which copies
 * the whole batch each time: 6-7 us per line at a 16 KiB batch, more than pino spends formatting it (1 us).
 */
export class BatchedLines implements DestinationStream {
  private lines: (string | DeferredLine)[] = [];
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

  /**
   * A line whose text is made when its batch is written, in order with the lines around it; `length` estimates it,
   * for the batch's size. For the line of every review: built in the request, between the HTTP parser and TLS, it ran
   * with cold caches (4.3 us a line inside the server against 1.3 us in a loop); a batch's lines are built together.
   */
  writeLater(line: DeferredLine, length: number): void {
    this.lines.push(line);
    this.length += length;
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
    const { lines } = this;
    if (lines.length === 0) return;
    this.lines = [];
    this.length = 0;
    for (let index = 0; index < lines.length; index++) {
      const line = lines[index] as string | DeferredLine;
      if (typeof line !== 'string') lines[index] = line.text();
    }
    const batch = lines.length === 1 ? (lines[0] as string) : lines.join('');
    this.sink.write(Buffer.from(batch, 'utf8'));
  }
}

/**
 * Where the server's lines go: stdout (fd 1) by default, or a file path. Each batch is one synchronous write, as
 * pino.destination does by default. An asynchronous write is a round trip through libuv's thread pool: writing
 * 300,000 lines in-process took 1.5 us of process CPU per line that way against 1.1 us in place (building the line
 * included). The write blocks only while the kernel takes the batch, or while a full stdout pipe drains.
 */
export function logDestination(dest: number | string = 1): BatchedLines {
  return new BatchedLines(
    pino.destination({ dest, sync: true, maxWrite: MAX_WRITE_BYTES, contentMode: 'buffer' }) as unknown as ByteSink,
  );
}

/** A line of fixed shape whose fields are serialised by a formatter that knows them; see preformattedLines. */
export interface LineWriter<R> {
  /** Whether the logger writes this line's level now: check it before gathering the record. */
  enabled(): boolean;
  /** Writes the line for `record`; it must hold only what the line shows, as it may be kept until its batch is written. */
  write(record: R): void;
}

/** What a review line was in length before the first one is formatted: the batch's size is estimated from it. */
const FIRST_LENGTH_ESTIMATE = 320;

/**
 * Writes one line as `logger[level](object, message)` would (same level, time, bindings, message key, destination),
 * from fields that `fields` serialises, as `,"key":value` pairs with each value already JSON. For the one line per
 * review: pino's generic serialiser looks up serialisers and escapes each key of the object, and under callgrind that
 * was 15k instructions of a review against 3k for a formatter that knows the line's shape. On a BatchedLines
 * destination the text is made when the batch is written (writeLater); the time is taken now. It reads the logger's
 * state through `pino.symbols`, which pino exports for integrations, and skips pino's hooks, mixins and redaction:
 * createLogger sets none.
 */
export function preformattedLines<R>(
  logger: Logger,
  level: 'info' | 'error',
  message: string,
  fields: (record: R) => string,
): LineWriter<R> {
  const state = logger as unknown as Record<symbol, unknown>;
  const { streamSym, lsCacheSym, timeSym, chindingsSym, messageKeySym, endSym } = pino.symbols;
  const stream = state[streamSym] as DestinationStream;
  const time = state[timeSym] as () => string;
  const head = (state[lsCacheSym] as Record<number, string>)[logger.levels.values[level] as number] as string;
  const bindings = state[chindingsSym] as string;
  const tail = `,${JSON.stringify(state[messageKeySym])}:${JSON.stringify(message)}${state[endSym] as string}`;
  let lastLength = FIRST_LENGTH_ESTIMATE;
  const text = (at: string, record: R) => {
    const line = head + at + bindings + fieldsOrProblem(fields, record) + tail;
    lastLength = line.length;
    return line;
  };
  const enabled = () => logger.isLevelEnabled(level);
  if (!(stream instanceof BatchedLines)) return { enabled, write: (record) => stream.write(text(time(), record)) };
  return { enabled, write: (record) => stream.writeLater(new PendingLine(text, time(), record), lastLength) };
}

/**
 * A formatter that throws must not lose the line, nor surface in whichever review or timer writes the batch: the line
 * is written with what is known (level, time, bindings, message) and says so.
 */
function fieldsOrProblem<R>(fields: (record: R) => string, record: R): string {
  try {
    return fields(record);
  } catch {
    return ',"problem":"egress-guard could not format this line\'s fields"';
  }
}

/** A preformatted line held until its batch is written: its time, and the record its fields come from. */
class PendingLine<R> implements DeferredLine {
  constructor(
    private readonly format: (at: string, record: R) => string,
    private readonly at: string,
    private readonly record: R,
  ) {}

  text(): string {
    return this.format(this.at, this.record);
  }
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
  return {
    type: error.name,
    message: error.message,
    stack: error.stack,
    ...(typeof code === 'string' ? { code } : {}),
  };
}
