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
  'password',
  '*.password',
  'metricsPassword',
  '*.metricsPassword',
];

/** A Bot API token wherever it appears in a line, in a request address (`/bot<token>/`) or alone; and dozor's own agent and upload tokens (`?token=` of an upload). */
/** The signature of a download link (`/download/<id>?…&sig=…`): the link is its own credential. */
const LINK_SIGNATURE = /([?&]sig=)[A-Za-z0-9_-]+/g;
const BOT_TOKEN_PATTERN = /\d{5,}:[A-Za-z0-9_-]{30,}|dz[ru]_[A-Za-z0-9_-]{20,}/g;

/**
 * JSON lines on stdout. Besides the fields above, every line is searched for
 * the secrets given (the configured tokens) and for anything shaped like a bot
 * token, however deep in an error it sits, before it is written.
 */
export function createLogger(level: string, destination?: DestinationStream, secrets: readonly string[] = []): Logger {
  const known = secrets.filter((secret) => secret.length >= 8);
  return pino(
    {
      level,
      redact: { paths: REDACT, censor: '[redacted]' },
      hooks: {
        streamWrite: (line) => {
          let clean = line.replace(BOT_TOKEN_PATTERN, '[redacted]').replace(LINK_SIGNATURE, '$1[redacted]');
          for (const secret of known) clean = clean.split(secret).join('[redacted]');
          return clean;
        },
      },
    },
    destination,
  );
}
