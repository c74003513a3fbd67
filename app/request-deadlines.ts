import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * How long a request's body may take. Most requests (reports, webhooks, forms)
 * are small and must arrive whole within `requestTimeoutMs`, so a slow-loris
 * holds nothing for long. A file upload from a client on ADSL or 3G may take
 * many minutes: its body may take as long as it keeps moving (no byte for
 * `idleTimeoutMs` ends it), up to `slowBodyMaxMs` in all.
 */
export interface RequestDeadlines {
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  /** The most any request may take; Node's own request timeout, which no route can extend. */
  slowBodyMaxMs: number;
}

/** Routes whose body may take longer than a request usually may: `config: { slowBody: true }`. */
export interface SlowBodyConfig {
  slowBody?: boolean;
}

/** The error Node's own request timeout gives, which fastify's client error handler answers with a 408 and a closed connection. */
function requestTimeout(): Error & { code: string } {
  return Object.assign(new Error('the request did not arrive in time'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
}

/**
 * The deadline of each request's body, kept by a timer per request (Node's
 * own `requestTimeout` is one figure for the whole server, so it is set to the
 * slowest any route allows and the stricter deadlines are kept here). Time
 * runs from when the request's headers have arrived; a body that arrived
 * whole is past any deadline of this kind, whatever its handler then does.
 */
export function keepRequestDeadlines(app: FastifyInstance, deadlines: RequestDeadlines): void {
  app.addHook('onRequest', async (request, reply) => {
    const slow = (request.routeOptions.config as SlowBodyConfig | undefined)?.slowBody === true;
    const socket = request.raw.socket as Socket | null;
    if (!socket || request.raw.complete) return;
    const timer = slow ? watchIdleBody(request, socket, deadlines.idleTimeoutMs) : watchWholeBody(request, socket, deadlines.requestTimeoutMs);
    reply.raw.once('close', () => clearTimeout(timer.current));
  });
}

function expire(request: FastifyRequest, socket: Socket): void {
  if (request.raw.complete || socket.destroyed) return;
  request.log.info({ address: request.ip }, 'request body did not arrive in time; answered 408');
  request.server.server.emit('clientError', requestTimeout(), socket);
}

function watchWholeBody(request: FastifyRequest, socket: Socket, ms: number): { current: NodeJS.Timeout } {
  return { current: setTimeout(() => expire(request, socket), ms).unref() };
}

/** Ends a body that stops moving: the socket's byte count is looked at a few times per idle period. */
function watchIdleBody(request: FastifyRequest, socket: Socket, idleMs: number): { current: NodeJS.Timeout } {
  const every = Math.max(50, Math.floor(idleMs / 4));
  let seen = socket.bytesRead;
  let movedAt = Date.now();
  const timer = { current: setTimeout(check, every).unref() };
  function check() {
    if (request.raw.complete || socket.destroyed) return;
    const now = Date.now();
    if (socket.bytesRead !== seen) {
      seen = socket.bytesRead;
      movedAt = now;
    } else if (now - movedAt >= idleMs) {
      return expire(request, socket);
    }
    timer.current = setTimeout(check, every).unref();
  }
  return timer;
}

/** The longest a body of `maxBytes` may take at `minBytesPerSecond`, plus a request's usual allowance. */
export function slowBodyAllowance(maxBytes: number, minBytesPerSecond: number, requestTimeoutMs: number): number {
  return Math.ceil((maxBytes / minBytesPerSecond) * 1000) + requestTimeoutMs;
}
