// pino JSON logs. Asynchronous writes keep logging off the review's hot path; flush on shutdown.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'egress-guard' },
    // Error objects carry stacks: keep them in the log (for us), never in responses (for clients).
    serializers: { err: pino.stdSerializers.err },
  };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}
