import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { hashAgentToken, hashesEqual } from '../core/agent-token.ts';
import type { Clock } from '../core/clock.ts';
import { InputError } from '../core/errors.ts';
import type { DB } from '../db/open.ts';
import { findInstallationByTokenHash } from '../db/installations.ts';
import { recordRejection } from '../db/rejections.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import { IngestBatcher } from './batcher.ts';
import { TokenCache, type KnownToken } from './token-cache.ts';
import { lingerForUnreadBody } from './unread-body.ts';
import type { FailureCounter } from '../core/failure-limiter.ts';
import { failureCounter } from '../db/failure-counts.ts';
import { parseReport, type ReportFormat } from './parse-report.ts';

export const MAX_REPORT_BYTES = 256 * 1024;

export interface IntakeDeps {
  db: DB;
  clock: Clock;
  settings: IncidentSettings;
  /** Called after a report opened or resolved incidents, so their announcements go out at once. */
  onIncidentChange?: () => void;
  /** Invalid tokens per source address and minute before it gets 429. */
  failedAuthLimit?: number;
  /** The count of invalid tokens per address, when shared with other doors (uploads); one of its own otherwise. */
  failures?: FailureCounter;
}

const FORMATS: Record<string, ReportFormat> = {
  'application/xml': 'xml',
  'text/xml': 'xml',
  'application/json': 'json',
};

declare module 'fastify' {
  interface FastifyRequest {
    installation?: KnownToken;
  }
}

/** The door agents report through: `POST /api/v1/reports`. */
export function intakeRoutes(deps: IntakeDeps): FastifyPluginAsync {
  const { db, clock } = deps;
  const batcher = new IngestBatcher(db, deps.settings);
  const tokens = new TokenCache();
  const failures = deps.failures ?? failureCounter(db, 'agent-token', deps.failedAuthLimit ?? 30, 60_000);
  return async (scope) => {
    // Bodies are read raw here: the report parser decodes and validates them itself.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(Object.keys(FORMATS), { parseAs: 'buffer', bodyLimit: MAX_REPORT_BYTES }, (_req, body, done) =>
      done(null, body),
    );

    scope.post('/api/v1/reports', { onRequest: authenticateAgent, bodyLimit: MAX_REPORT_BYTES }, async (request, reply) => {
      const installation = request.installation as KnownToken;
      const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const format = FORMATS[mediaType] as ReportFormat;
      const receivedAt = clock();
      let report;
      try {
        report = parseReport(request.body as Buffer, format, {
          charset: charsetOf(request.headers['content-type']),
          tz: installation.tz,
        });
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        request.log.warn({ installation: installation.id, reason: err.message }, 'report rejected');
        await recordRejection(db, installation.id, receivedAt, err.message);
        return reply.code(400).send({ error: err.message });
      }
      const result = await batcher.submit({ installationId: installation.id, tokenHash: installation.tokenHash, report, receivedAt });
      if (result.status === 'refused') {
        tokens.forget(installation.tokenHash);
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or invalid agent token' });
      }
      // The batch read the installation afresh: a time zone changed since the token was remembered is taken up.
      if (result.status === 'stored' && result.installation.tz !== installation.tz) tokens.remember(result.installation);
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
      const known = hash ? tokens.get(hash) : undefined;
      const owner = known ?? (hash ? await findInstallationByTokenHash(db, hash) : undefined);
      // A remembered token was found by its hash itself; one from the database is compared in constant time.
      if (!hash || !owner || (!known && !hashesEqual(owner.tokenHash, hash))) {
        // The body is never read.
        lingerForUnreadBody(request, reply);
        const verdict = await failures.fail(request.ip, clock().getTime());
        if (verdict.over) {
          request.log.warn({ address: request.ip }, 'too many invalid agent tokens from one address');
          await reply.code(429).header('retry-after', String(verdict.retryAfterSeconds)).send({ error: 'too many requests with invalid tokens; retry later' });
          return;
        }
        // One answer for missing, malformed and unknown tokens: no hint which.
        await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or invalid agent token' });
        return;
      }
      if (!known) tokens.remember(owner);
      request.installation = owner;
    }
  };
}

function charsetOf(contentType: string | undefined): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '')?.[1];
}
