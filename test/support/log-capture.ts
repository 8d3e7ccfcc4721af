// Collects pino's JSON lines in memory so tests can assert on what the server logged.
import { createLogger, type Logger } from '../../src/log.js';

export interface CapturedLog {
  logger: Logger;
  lines(): Array<Record<string, unknown>>;
  text(): string;
}

export function captureLog(level = 'info'): CapturedLog {
  const chunks: string[] = [];
  const logger = createLogger(level, { write: (chunk: string) => void chunks.push(chunk) });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    text: () => chunks.join(''),
  };
}
