// pino JSON logs on pino's own destination (sonic-boom): the server's lines go to stdout, written asynchronously.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * stdout (fd 1) by default, or a file path. Asynchronous, so a review never waits for the write: lines logged while
 * one write is in flight go out together in the next; pino flushes what is left when the process exits.
 */
export function logDestination(dest: number | string = 1) {
  return pino.destination({ dest, sync: false });
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
  return {
    type: error.name,
    message: error.message,
    stack: error.stack,
    ...(typeof code === 'string' ? { code } : {}),
  };
}
