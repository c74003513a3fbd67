import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../app/http.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { postReport, seedFleet, silentLogger, sqlValue, testClock, testDb, type TestDb } from './helpers.ts';

/** A client that starts a chunked POST and never finishes it, from another loopback address than the agents'. */
interface Held {
  socket: Socket;
  closed: Promise<void>;
  /** The status line the server answered with, if any. */
  answer(): string;
}

/** An agent's report that starts and never finishes (a valid token, a chunked body that stops after one chunk). */
function heldRequest(port: number, token: string): Promise<Held> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer ||= chunk.toString().split('\r\n')[0] ?? ''));
    const held: Held = { socket, closed, answer: () => answer };
    // Refused at once (past the share) or connected: either way it is there to wait for.
    socket.once('connect', () => {
      socket.write(
        `POST /api/v1/reports HTTP/1.1\r\nHost: dozor\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n<report>\r\n`,
      );
      resolve(held);
    });
    socket.once('close', () => resolve(held));
    socket.on('error', () => undefined);
  });
}

describe('clients that hold connections open', () => {
  const clock = testClock('2023-02-15T06:15:00Z');
  let t: TestDb;
  let url = '';
  let port = 0;
  let token = '';
  let close: () => Promise<void>;

  beforeEach(async () => {
    t = await testDb();
    token = (await seedFleet({ db: t.db, clock, actor: 'test' })).token;
    const app = buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, requestTimeoutMs: 500, maxConnectionsPerAddress: 20 });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    port = Number(new URL(url).port);
    close = () => app.close();
  });
  afterEach(async () => {
    await close();
    await t.close();
  });

  it('cuts off one address past its share of connections, serves agents meanwhile, and closes what never finishes', async () => {
    const held = await Promise.all(Array.from({ length: 60 }, () => heldRequest(port, token)));
    // An agent on another address is served while they hang.
    const res = await postReport(url, '<report id="during"><senselock state="ok"/></report>', { token });
    expect(res.status).toBe(202);
    // Every held request is closed: those past the address's share at once, the others when their time is up (408).
    await Promise.all(held.map((h) => h.closed));
    const answers = held.map((h) => h.answer());
    expect(answers.filter((a) => a === '').length).toBeGreaterThanOrEqual(40);
    expect(answers.filter((a) => a.startsWith('HTTP/1.1 408')).length).toBeGreaterThan(0);
    // And the address may connect again afterwards.
    const again = await heldRequest(port, token);
    expect(again.socket.destroyed).toBe(false);
    again.socket.destroy();
  });
});

/** A report with a wrong token from a given local address, claiming to be `forwardedFor`: its status code. */
function badTokenFrom(port: number, localAddress: string, forwardedFor: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        localAddress,
        method: 'POST',
        path: '/api/v1/reports',
        headers: { authorization: 'Bearer dzr_wrong', 'content-type': 'application/xml', 'x-forwarded-for': forwardedFor },
        agent: false,
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('error', reject);
    request.end('<report/>');
  });
}

describe('the limit on invalid tokens behind a proxy', () => {
  const clock = testClock('2023-02-15T06:15:00Z');

  it('believes X-Forwarded-For only from the listed proxy: a client cannot rotate it past the limit', async () => {
    const t = await testDb();
    await seedFleet({ db: t.db, clock, actor: 'test' });
    const app = buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, failedAuthLimit: 5, trustProxy: '127.0.0.2' });
    const port = Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port);
    try {
      // Straight from a client (127.0.0.1), a new forwarded address each time changes nothing: it is counted by its own.
      const direct: number[] = [];
      for (let i = 0; i < 8; i++) direct.push(await badTokenFrom(port, '127.0.0.1', `203.0.113.${i}`));
      expect(direct.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(direct.slice(5)).toEqual([429, 429, 429]);
      // Through the proxy (127.0.0.2), the address it forwards is the one counted: others behind it are served.
      const proxied: number[] = [];
      for (let i = 0; i < 8; i++) proxied.push(await badTokenFrom(port, '127.0.0.2', '198.51.100.7'));
      expect(proxied.slice(5)).toEqual([429, 429, 429]);
      expect(await badTokenFrom(port, '127.0.0.2', '198.51.100.8')).toBe(401);
    } finally {
      await app.close();
      await t.close();
    }
  });
});

/**
 * A request sent over a raw socket at a set pace: the headers at once, then
 * the body in chunks of `chunk` bytes every `everyMs` (a slow line), stopping
 * after `stopAfter` bytes when given (a line that died). Resolves with the
 * server's status line once the connection closes or the answer came.
 */
function trickle(port: number, head: string, body: Buffer, pace: { chunk: number; everyMs: number; stopAfter?: number }): Promise<{ status: number; ms: number; closed: boolean }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1] ?? 0), ms: Date.now() - started, closed });
    };
    const next = () => {
      if (socket.destroyed || sent >= body.length || (pace.stopAfter !== undefined && sent >= pace.stopAfter)) return;
      socket.write(body.subarray(sent, sent + pace.chunk));
      sent += pace.chunk;
      timer = setTimeout(next, pace.everyMs);
    };
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
      if (answer.includes('\r\n\r\n') && /\r\n\r\n[\s\S]*\}/.test(answer)) finish(false);
    });
    socket.once('close', () => finish(true));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.write(head);
      next();
    });
  });
}

describe('uploads from a slow line', () => {
  const clock = testClock('2023-02-15T06:15:00Z');
  let t: TestDb;
  let port = 0;
  let token = '';
  let close: () => Promise<void>;
  const boundary = 'dozorboundary';
  const multipart = (name: string, content: Buffer) =>
    Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      content,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
  const uploadHead = (length: number) =>
    `POST /upload?token=${token} HTTP/1.1\r\nHost: dozor\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;

  beforeEach(async () => {
    t = await testDb();
    token = (await seedFleet({ db: t.db, clock, actor: 'test' })).token;
    // Requests must arrive whole within half a second; a 64 KiB upload may take 8 s at the slowest (8 KiB/s).
    const app = buildHttpServer({
      db: t.db,
      clock,
      logger: silentLogger(),
      settings: DEFAULT_INCIDENT_SETTINGS,
      requestTimeoutMs: 500,
      uploads: { dataDir: join(t.dir, 'data'), maxBytes: 64 * 1024, minBytesPerSecond: 8 * 1024 },
    });
    port = Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port);
    close = () => app.close();
  });
  afterEach(async () => {
    await close();
    await t.close();
  });

  it('takes a sysinfo that keeps moving however long it takes, while a report at the same pace is still cut off at the request timeout', async () => {
    // 24 KiB at about 12 KiB/s: two seconds, four times the request timeout.
    const body = multipart('ROMASHKA.xml', Buffer.from(`<sysinfo>${'x'.repeat(24 * 1024)}</sysinfo>`));
    const upload = await trickle(port, uploadHead(body.length), body, { chunk: 1024, everyMs: 80 });
    expect(upload.status).toBe(200);
    expect(upload.ms).toBeGreaterThan(1500);
    expect(await sqlValue(t.db, 'SELECT count(*) FROM uploads')).toBe(1);

    const report = Buffer.from(`<report id="slow"><!-- ${'x'.repeat(24 * 1024)} --></report>`);
    const head = `POST /api/v1/reports HTTP/1.1\r\nHost: dozor\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/xml\r\nContent-Length: ${report.length}\r\n\r\n`;
    const slowReport = await trickle(port, head, report, { chunk: 1024, everyMs: 80 });
    expect(slowReport.status).toBe(408);
    expect(slowReport.ms).toBeLessThan(1500);
  });

  it('answers 408 and closes the connection when an upload stops moving', async () => {
    const body = multipart('ROMASHKA.xml', Buffer.from(`<sysinfo>${'x'.repeat(24 * 1024)}</sysinfo>`));
    const stalled = await trickle(port, uploadHead(body.length), body, { chunk: 1024, everyMs: 50, stopAfter: 4096 });
    expect(stalled.status).toBe(408);
    // Cut after half a second without a byte (checked every eighth of a second), not at the 8.5 s an upload may take.
    expect(stalled.ms).toBeLessThan(2000);
    expect(await sqlValue(t.db, 'SELECT count(*) FROM uploads')).toBe(0);
  });
});

/** A connection that sends requests when told and records what came back and when it closed. */
function rawConnection(port: number) {
  const socket = connect({ host: '127.0.0.1', port });
  let received = '';
  let lastAnswerAt = 0;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString();
    lastAnswerAt = Date.now();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  const statuses = () => [...received.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => Number(m[1]));
  const write = (text: string) => {
    if (!socket.destroyed) socket.write(text);
  };
  const answered = async (count: number) => {
    while (statuses().length < count && !socket.destroyed) await new Promise((done) => setTimeout(done, 10));
  };
  return { socket, closed, statuses, write, answered, lastAnswerAt: () => lastAnswerAt };
}

describe('connections kept alive between requests', () => {
  const clock = testClock('2023-02-15T06:15:00Z');
  const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));
  const healthz = 'GET /healthz HTTP/1.1\r\nHost: dozor\r\n\r\n';

  it('keeps an idle connection for the keep-alive timeout, past the headers and inactivity timeouts, while a request must still come in time once it starts', async () => {
    const t = await testDb();
    // Headers within 300 ms, a silent request closed after 600 ms; an idle connection between requests kept 1 s.
    const app = buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, requestTimeoutMs: 300, keepAliveTimeoutMs: 1_000 });
    const port = Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port);
    try {
      const kept = rawConnection(port);
      const trickled = rawConnection(port);
      const silent = rawConnection(port);
      const opened = Date.now();
      kept.write(healthz);
      trickled.write(healthz);
      await Promise.all([kept.answered(1), trickled.answered(1)]);
      await pause(800);
      // Idle longer than the headers' time and the inactivity timeout: the next request is served on the same connection.
      kept.write(healthz);
      // One that starts after the same pause and then stops halfway through its headers is cut.
      trickled.write('GET /healthz HTTP/1.1\r\nHo');
      await kept.answered(2);
      expect(kept.statuses()).toEqual([200, 200]);
      // And once idle for the keep-alive (and the second Node adds), it is closed.
      const keptClosed = await kept.closed;
      expect(keptClosed - kept.lastAnswerAt()).toBeGreaterThanOrEqual(1_000);
      expect(keptClosed - kept.lastAnswerAt()).toBeLessThan(3_000);
      await trickled.closed;
      expect(trickled.statuses()).toEqual([200, 408]);
      // A connection that never sends a byte is closed too, after the headers' time.
      expect((await silent.closed) - opened).toBeLessThan(1_500);
      expect(silent.statuses()).toEqual([408]);
    } finally {
      await app.close();
      await t.close();
    }
  });
});
