import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Paths that could carry a secret; pino replaces their values before anything is written. */
const REDACT = [
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers["x-telegram-bot-api-secret-token"]',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
}
