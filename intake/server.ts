import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { hashAgentToken, hashesEqual } from '../core/agent-token.ts';
import type { Clock } from '../core/clock.ts';
import { InputError } from '../core/errors.ts';
import type { Logger } from '../app/logger.ts';
import type { DB } from '../db/open.ts';
import { findInstallationByTokenHash, type TokenOwner } from '../db/installations.ts';
import { recordRejection } from '../db/rejections.ts';
import { ingestReport } from './ingest.ts';
import { parseReport, type ReportFormat } from './parse-report.ts';
import { isStorageUnavailable } from './storage-errors.ts';
import type { IncidentSettings } from '../incidents/settings.ts';

export const MAX_REPORT_BYTES = 256 * 1024;

export interface IntakeDeps {
  db: DB;
  clock: Clock;
  logger: Logger;
  settings: IncidentSettings;
  /** Called after a report opened or resolved incidents, so their announcements go out at once. */
  onIncidentChange?: () => void;
}

const FORMATS: Record<string, ReportFormat> = {
  'application/xml': 'xml',
  'text/xml': 'xml',
  'application/json': 'json',
};

declare module 'fastify' {
  interface FastifyRequest {
    installation?: TokenOwner;
  }
}

/** The HTTP server agents report to. Later features (metrics, webhooks) register their routes on it. */
export function buildIntakeServer(deps: IntakeDeps): FastifyInstance {
  const { db, clock, logger } = deps;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_REPORT_BYTES,
    return503OnClosing: true,
  });

  // Bodies are read raw: the report parser decodes and validates them itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(Object.keys(FORMATS), { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

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
    return reply.code(status).send({ error: clientMessage(error, status) });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url}` }));

  app.get('/healthz', async (_request, reply) => {
    try {
      db.$client.prepare('SELECT 1').get();
      return { status: 'ok' };
    } catch (err) {
      logger.error({ err }, 'health check: database does not answer');
      return reply.code(503).send({ status: 'unavailable' });
    }
  });

  app.post('/api/v1/reports', { onRequest: authenticateAgent }, async (request, reply) => {
    const installation = request.installation as TokenOwner;
    const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const format = FORMATS[mediaType] as ReportFormat;
    const receivedAt = clock();
    let report;
    try {
      report = parseReport(request.body as Buffer, format, {
        charset: charsetOf(request.headers['content-type']),
        tz: installation.tz,
        now: receivedAt,
      });
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      request.log.warn({ installation: installation.id, reason: err.message }, 'report rejected');
      recordRejection(db, installation.id, receivedAt, err.message);
      return reply.code(400).send({ error: err.message });
    }
    const result = ingestReport(db, deps.settings, installation.id, report, receivedAt);
    if (result.opened.length > 0 || result.resolved.length > 0) deps.onIncidentChange?.();
    return reply.code(202).send(
      result.status === 'stored'
        ? { status: 'stored', installation: installation.id, report: result.reportRowId }
        : { status: 'duplicate', installation: installation.id },
    );
  });

  async function authenticateAgent(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const presented = match?.[1];
    const hash = presented ? hashAgentToken(presented) : null;
    const owner = hash ? findInstallationByTokenHash(db, hash) : undefined;
    if (!hash || !owner || !hashesEqual(owner.tokenHash, hash)) {
      // One answer for missing, malformed and unknown tokens: no hint which. The body
      // is never read, so the connection is closed rather than left holding it.
      await reply.code(401).header('www-authenticate', 'Bearer').header('connection', 'close').send({ error: 'missing or invalid agent token' });
      return;
    }
    request.installation = owner;
  }

  return app;
}

function charsetOf(contentType: string | undefined): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '')?.[1];
}

function clientMessage(error: Error & { code?: string }, status: number): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `the report is larger than ${MAX_REPORT_BYTES / 1024} KiB`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported content type: send application/xml, text/xml or application/json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_BODY':
      return 'the body is empty';
    default:
      return status === 415 ? 'unsupported content type' : error.message;
  }
}
