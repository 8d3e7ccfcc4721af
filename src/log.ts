// pino JSON logs. Asynchronous, batched writes keep logging off the review's hot path; flush on shutdown.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Lines are written in batches of at least this many bytes (about fifty review lines). One asynchronous write per
 * line, a thread-pool round trip each, cost more CPU than formatting the line (measured: 25-50 us of process CPU
 * per write on a 2-core VM); a batch costs one. pino writes what is left when the process exits, and run.ts
 * flushes on shutdown.
 */
export const WRITE_BATCH_BYTES = 16 * 1024;
/** Largest single write; sonic-boom requires it above the batch size. */
const MAX_WRITE_BYTES = 64 * 1024;
/** A quiet server still writes each line within this delay. */
export const FLUSH_INTERVAL_MS = 100;

/** Where the server's lines go: stdout (fd 1) by default, or a file path. */
export function logDestination(dest: number | string = 1): DestinationStream {
  return pino.destination({ dest, sync: false, minLength: WRITE_BATCH_BYTES, maxWrite: MAX_WRITE_BYTES, periodicFlush: FLUSH_INTERVAL_MS });
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'egress-guard' },
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
