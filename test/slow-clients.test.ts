import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../app/http.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { postReport, seedFleet, silentLogger, testClock, testDb, type TestDb } from './helpers.ts';

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
    t = testDb();
    token = seedFleet({ db: t.db, clock, actor: 'test' }).token;
    const app = buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, requestTimeoutMs: 500, maxConnectionsPerAddress: 20 });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    port = Number(new URL(url).port);
    close = () => app.close();
  });
  afterEach(async () => {
    await close();
    t.close();
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
