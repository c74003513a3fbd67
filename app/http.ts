import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { TelegramHealth } from '../bot/runtime.ts';
import type { ClusterView } from './cluster.ts';
import { pingDatabase } from '../db/open.ts';
import { writeHealth } from '../db/transaction.ts';
import type { Logger } from './logger.ts';
import { RequestLogger } from './request-logger.ts';
import { intakeRoutes, MAX_REPORT_BYTES, type IntakeDeps } from '../intake/routes.ts';
import { isStorageUnavailable } from '../db/storage-errors.ts';
import { alertmanagerRoutes } from '../intake/alertmanager.ts';
import { failureCounter } from '../db/failure-counts.ts';
import { uploadRoutes, type UploadDeps } from '../intake/uploads.ts';
import { downloadRoutes } from './downloads.ts';
import { keepRequestDeadlines, slowBodyAllowance } from './request-deadlines.ts';
import type { WebSettings } from '../web/kit.ts';
import { webRoutes } from '../web/routes.ts';
import type { SysinfoMappingInUse } from '../intake/sysinfo-facts.ts';
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
  /** This instance's name and who holds each role, for /healthz (several instances on one database). */
  cluster?: { instance: string; view(): Promise<ClusterView> };
  /** A request (headers and body) must arrive whole within this long, or the connection is closed (408); an upload's body, while it keeps moving, may take longer. */
  requestTimeoutMs?: number;
  /** How long a connection may stay idle between two requests (keep-alive) before it is closed; above any balancer's own. */
  keepAliveTimeoutMs?: number;
  /** Connections one address may hold open at once; more are closed at once (0: no limit). Trusted proxies are exempt. */
  maxConnectionsPerAddress?: number;
  /** The browser cabinet (`/web/…`): its pages and the links from the bot that open them. */
  web?: WebSettings;
  /** File uploads from the field (`POST /upload`), kept under `dataDir`. */
  uploads?: { dataDir: string; maxBytes: number; sysinfo?: SysinfoMappingInUse; downloadKey?: Buffer; minBytesPerSecond?: number } & Pick<UploadDeps, 'limits' | 'freeBytes'>;
}

/** Connections the server holds open at most, whoever opens them. */
const MAX_CONNECTIONS = 10_000;
/** Bytes a second: an upload of the largest size may take as long as it takes at this rate (a 3G or ADSL line at its worst). */
export const SLOWEST_UPLOAD_RATE = 32 * 1024;
/** Above the idle timeouts balancers keep upstream connections for (nginx's and the clouds' 60 s). */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 75_000;

const RUNBOOKS = fileURLToPath(new URL('../docs/alerts/', import.meta.url));

/**
 * The service's one HTTP server: agent intake, health, runbook pages, and
 * (added by the service) the Telegram webhook. Errors are answered as JSON
 * with a status that tells the caller whether to fix the request or retry.
 */
export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const { db, logger } = deps;
  const requestTimeoutMs = deps.requestTimeoutMs ?? 30_000;
  const keepAliveTimeoutMs = deps.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  // The slowest body any route allows: a file of the largest size at the slowest rate a client on a poor line keeps up.
  const slowBodyMaxMs = deps.uploads ? slowBodyAllowance(deps.uploads.maxBytes, deps.uploads.minBytesPerSecond ?? SLOWEST_UPLOAD_RATE, requestTimeoutMs) : requestTimeoutMs;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (parent, bindings, options) => new RequestLogger(parent, bindings, options),
    return503OnClosing: true,
    trustProxy: deps.trustProxy ?? false,
    // A request that trickles in (a slow-loris, a chunked body that never ends) is cut off with 408, and so is a silent
    // connection (keepRequestDeadlines, below; Node's own limit is the slowest upload's). Node checks for overdue
    // requests on a timer of its own, every 30 s by default: here much more often.
    // Between two requests a connection is idle, and only keepAliveTimeout counts (Node closes it a second after):
    // the inactivity timeout below is put aside while it runs, and the headers' time starts at the next request's
    // first byte, not at the previous answer (Node 20; test/slow-clients.test.ts holds both). So the keep-alive may
    // be long, as a balancer's kept connections need (it must outlast the balancer's idle timeout, or a request sent
    // just as dozor closes the connection is answered 502; test/balancer.test.ts), while headersTimeout stays short.
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout: slowBodyMaxMs,
          headersTimeout: Math.min(requestTimeoutMs, 10_000),
          keepAliveTimeout: keepAliveTimeoutMs,
          connectionsCheckingInterval: Math.max(250, Math.min(5_000, requestTimeoutMs / 4)),
        },
        handler,
      ),
  });
  // A connection silent this long before or during a request is closed (between requests the keep-alive counts).
  app.server.setTimeout(requestTimeoutMs * 2);
  keepRequestDeadlines(app, { requestTimeoutMs, idleTimeoutMs: requestTimeoutMs, slowBodyMaxMs });
  app.server.maxConnections = MAX_CONNECTIONS;
  limitConnectionsPerAddress(app, deps.maxConnectionsPerAddress ?? 64, deps.trustProxy, logger);

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
    return reply.code(status).send({ error: clientMessage(error, status, request.routeOptions.bodyLimit ?? MAX_REPORT_BYTES, request.routeOptions.url) });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route ${request.method} ${request.url}` }));

  // The service is healthy when its database answers. Telegram being unreachable is said, not counted against it:
  // the intake and the checks go on without it, and the outbox keeps what it could not send.
  app.get('/healthz', async (_request, reply) => {
    const telegram = deps.telegramHealth?.();
    const about = { ...(deps.cluster ? { instance: deps.cluster.instance } : {}), ...(telegram ? { telegram } : {}) };
    try {
      await pingDatabase(db);
    } catch (err) {
      logger.error({ err }, 'health check: database does not answer');
      return reply.code(503).send({ status: 'unavailable', reason: 'the database does not answer', ...about });
    }
    // Reading works on a full disk; what counts is whether the last write went through.
    const writes = writeHealth(db);
    if (!writes.ok) {
      return reply.code(503).send({ status: 'unavailable', reason: `writes fail (${writes.lastError}) since ${writes.failingSince?.toISOString()}`, ...about });
    }
    const cluster = deps.cluster ? await deps.cluster.view() : undefined;
    return {
      status: 'ok',
      ...about,
      ...(cluster
        ? {
            roles: Object.fromEntries(cluster.roles.map((r) => [r.role, r.holder])),
            jobs: Object.fromEntries(cluster.jobs.map((j) => [j.job, { instance: j.holder, slot: j.slot === null ? null : new Date(j.slot).toISOString(), finished: j.finished }])),
          }
        : {}),
    };
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
      // The series name every client and installation: without a token only this machine may read them.
      if (!token && !fromThisMachine(request)) {
        return reply.code(403).send({ error: 'METRICS_TOKEN is not set, so /metrics answers only on this machine (loopback); set METRICS_TOKEN to scrape it from elsewhere' });
      }
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  }

  // One count of invalid tokens per address for every door agents use.
  const failures = deps.failures ?? failureCounter(db, 'agent-token', deps.failedAuthLimit ?? 30, 60_000);
  app.register(intakeRoutes({ ...deps, failures }));
  if (deps.web) app.register(webRoutes({ ...deps.web, db, clock: deps.clock, ...(deps.onIncidentChange ? { onIncidentChange: deps.onIncidentChange } : {}) }));
  if (deps.uploads) app.register(uploadRoutes({ ...deps, ...deps.uploads, failures }));
  if (deps.uploads?.downloadKey) app.register(downloadRoutes({ ...deps, dataDir: deps.uploads.dataDir, key: deps.uploads.downloadKey }));
  if (deps.alertmanagerToken) {
    app.register(alertmanagerRoutes({ ...deps, token: deps.alertmanagerToken }));
  }
  return app;
}

/**
 * Whether a request came from this very machine: by the connection's own
 * address (never X-Forwarded-For), and not relayed by a proxy here, which would
 * make anyone's request look local.
 */
function fromThisMachine(request: FastifyRequest): boolean {
  const peer = request.socket.remoteAddress ?? '';
  const loopback = /^(127\.|::ffff:127\.)/.test(peer) || peer === '::1';
  const relayed = ['x-forwarded-for', 'forwarded', 'x-real-ip'].some((header) => request.headers[header] !== undefined);
  return loopback && !relayed;
}

function clientMessage(error: Error & { code?: string }, status: number, bodyLimit: number, route: string | undefined): string {
  // A file comes to /upload as multipart, not as the reports' XML or JSON.
  if (route === '/upload' && error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'send the file as multipart/form-data in the field "file" (curl -F file=@NAME.zip)';
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

/**
 * One address may hold only so many connections open at once: a client that
 * opens thousands and never finishes them cannot use up the descriptors every
 * agent needs. Addresses of trusted proxies are exempt (every agent comes
 * through them). Refusals are logged once a minute per address.
 */
function limitConnectionsPerAddress(app: FastifyInstance, max: number, trustProxy: boolean | string | undefined, logger: Logger): void {
  if (max <= 0) return;
  const trusted = typeof trustProxy === 'string' ? new Set(trustProxy.split(',').map((a) => a.trim())) : new Set<string>();
  if (trustProxy === true) return;
  const open = new Map<string, number>();
  const reported = new Map<string, number>();
  app.server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    if (trusted.has(address)) return;
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      socket.destroy();
      const now = Date.now();
      if ((reported.get(address) ?? 0) < now - 60_000) {
        reported.set(address, now);
        logger.warn({ address, max }, 'too many connections from one address; closing the newest');
      }
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
