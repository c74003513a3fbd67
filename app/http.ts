import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TelegramHealth } from '../bot/runtime.ts';
import { pingDatabase } from '../db/open.ts';
import { writeHealth } from '../db/transaction.ts';
import type { Logger } from './logger.ts';
import { intakeRoutes, MAX_REPORT_BYTES, type IntakeDeps } from '../intake/routes.ts';
import { isStorageUnavailable } from '../db/storage-errors.ts';
import { alertmanagerRoutes } from '../intake/alertmanager.ts';
import type { Registry } from 'prom-client';

export interface HttpDeps extends IntakeDeps {
  logger: Logger;
  /** Behind a reverse proxy: whose X-Forwarded-For to believe (fastify's trustProxy). */
  trustProxy?: boolean | string;
  /** Prometheus metrics; `token` protects them when set. */
  metrics?: { registry: Registry; token?: string };
  /** The Alertmanager receiver, when a token is configured. */
  alertmanagerToken?: string;
  /** How the bot stands with Telegram (none without a bot token). */
  telegramHealth?: () => TelegramHealth | undefined;
}

const RUNBOOKS = fileURLToPath(new URL('../docs/alerts/', import.meta.url));

/**
 * The service's one HTTP server: agent intake, health, runbook pages, and
 * (added by the service) the Telegram webhook. Errors are answered as JSON
 * with a status that tells the caller whether to fix the request or retry.
 */
export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const { db, logger } = deps;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    trustProxy: deps.trustProxy ?? false,
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (isStorageUnavailable(error)) {
      request.log.error({ err: error }, 'storage unavailable');
      return reply.code(503).header('retry-after', '30').send({ error: 'storage is unavailable, retry later' });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(500).send({ error: 'internal error' });
    }
    return reply.code(status).send({ error: clientMessage(error, status, request.routeOptions.bodyLimit ?? MAX_REPORT_BYTES) });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url}` }));

  // The service is healthy when its database answers. Telegram being unreachable is said, not counted against it:
  // the intake and the checks go on without it, and the outbox keeps what it could not send.
  app.get('/healthz', async (_request, reply) => {
    const telegram = deps.telegramHealth?.();
    try {
      pingDatabase(db);
    } catch (err) {
      logger.error({ err }, 'health check: database does not answer');
      return reply.code(503).send({ status: 'unavailable', reason: 'the database does not answer', ...(telegram ? { telegram } : {}) });
    }
    // Reading works on a full disk; what counts is whether the last write went through.
    const writes = writeHealth(db);
    if (!writes.ok) {
      return reply.code(503).send({ status: 'unavailable', reason: `writes fail (${writes.lastError}) since ${writes.failingSince?.toISOString()}`, ...(telegram ? { telegram } : {}) });
    }
    return { status: 'ok', ...(telegram ? { telegram } : {}) };
  });

  app.get<{ Params: { file: string } }>('/runbooks/:file', async (request, reply) => {
    const file = request.params.file;
    if (!/^[A-Za-z0-9]+\.md$/.test(file)) return reply.code(404).send({ error: 'no such runbook' });
    try {
      const text = await readFile(`${RUNBOOKS}${file}`, 'utf8');
      return reply.type('text/markdown; charset=utf-8').send(text);
    } catch {
      return reply.code(404).send({ error: 'no such runbook' });
    }
  });

  if (deps.metrics) {
    const { registry, token } = deps.metrics;
    app.get('/metrics', async (request, reply) => {
      if (token && request.headers.authorization !== `Bearer ${token}`) return reply.code(401).send({ error: 'missing or invalid token' });
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  }

  app.register(intakeRoutes(deps));
  if (deps.alertmanagerToken) {
    app.register(alertmanagerRoutes({ ...deps, token: deps.alertmanagerToken }));
  }
  return app;
}

function clientMessage(error: Error & { code?: string }, status: number, bodyLimit: number): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `the body is larger than ${bodyLimit >= 1024 * 1024 ? `${bodyLimit / 1024 / 1024} MiB` : `${bodyLimit / 1024} KiB`}, the most this address takes`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported content type: send application/xml, text/xml or application/json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_BODY':
      return 'the body is empty';
    default:
      return status === 415 ? 'unsupported content type' : error.message;
  }
}
