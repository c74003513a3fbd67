import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../app/config.ts';
import { buildHttpServer, type HttpDeps } from '../app/http.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { seedFleet, silentLogger, sqlValue, tempDir, testClock, testDb, type TestDb } from './helpers.ts';
import { onPostgres } from './pg-helpers.ts';
import { makeCertificate, NGINX, NGINX_CONF, NGINX_SKIPPED, startNginx as startNginxBefore, type RunningNginx } from './nginx-helpers.ts';

/**
 * dozor behind nginx, run from docs/nginx.conf as a distributor would install it (rewritten only for the addresses,
 * the certificate's paths and, to keep the test short, the upstream idle timeout), with two real dozor HTTP servers
 * behind it and agents talking to nginx over TLS.
 */

const SKIPPED = NGINX_SKIPPED;
if (!NGINX) console.warn(`test/balancer.test.ts ${SKIPPED}`);

/** nginx's idle timeout for its upstream connections here (60 s in docs/nginx.conf). */
const NGINX_KEEPALIVE_S = 9;
/** The idle gap between an agent's posts: longer than Node's old default keep-alive (5 s, closed a second later), shorter than nginx's above. */
const GAP_MS = 6_500;

const clock = testClock('2023-02-15T06:15:00Z');

interface Answer {
  status: number;
  body: string;
}

/** An agent's TLS connection to nginx, kept open between requests. `send` writes the request at once, synchronously. */
class Agent {
  private buffer = Buffer.alloc(0);
  private readonly waiting: ((answer: Answer) => void)[] = [];

  private constructor(private readonly socket: TLSSocket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.deliver();
    });
    socket.on('close', () => this.waiting.splice(0).forEach((resolve) => resolve({ status: 0, body: 'connection closed' })));
    socket.on('error', () => undefined);
  }

  static open(port: number, localAddress: string, ca: string): Promise<Agent> {
    return new Promise((resolve, reject) => {
      const tcp = connectTcp({ host: '127.0.0.1', port, localAddress });
      const socket = connectTls({ socket: tcp, servername: 'dozor.example.ru', ca }, () => resolve(new Agent(socket)));
      socket.once('error', reject);
    });
  }

  send(request: Buffer | string): Promise<Answer> {
    const answered = new Promise<Answer>((resolve) => this.waiting.push(resolve));
    this.socket.write(request);
    return answered;
  }

  close(): void {
    this.socket.destroy();
  }

  private deliver(): void {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0 || this.waiting.length === 0) return;
    const head = this.buffer.subarray(0, end).toString();
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buffer.length < end + 4 + length) return;
    const body = this.buffer.subarray(end + 4, end + 4 + length).toString();
    this.buffer = this.buffer.subarray(end + 4 + length);
    this.waiting.shift()!({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0), body });
    this.deliver();
  }
}

const report = (token: string, id: string) => {
  const body = `<report id="${id}"><senselock state="ok"/></report>`;
  return `POST /api/v1/reports HTTP/1.1\r\nHost: dozor.example.ru\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};

/** A dozor HTTP server behind nginx, counting the connections nginx opens to it. */
interface Instance {
  app: FastifyInstance;
  port: number;
  connections: number;
}

describe('docs/nginx.conf', () => {
  it('closes its idle connections to dozor before dozor would: 60 s against HTTP_KEEP_ALIVE_TIMEOUT, 75 s', () => {
    const balancer = Number(/keepalive_timeout (\d+)s;/.exec(readFileSync(NGINX_CONF, 'utf8'))?.[1]);
    expect(balancer * 1000).toBeLessThan(parseConfig({}).HTTP_KEEP_ALIVE_TIMEOUT);
  });
});

describe.skipIf(!NGINX)(NGINX ? 'dozor behind nginx, as docs/nginx.conf sets it up' : `dozor behind nginx (${SKIPPED})`, () => {
  let t: TestDb;
  let dir: { path: string; cleanup(): void };
  let token = '';
  let ca = '';
  let instances: Instance[] = [];
  let nginx: RunningNginx | undefined;
  let agents: Agent[] = [];
  /** Called just before dozor closes a connection that stayed idle past its keep-alive timeout. */
  let whenDozorClosesIdle: (() => void) | undefined;

  beforeEach(async () => {
    t = await testDb();
    dir = tempDir();
    token = (await seedFleet({ db: t.db, clock, actor: 'test' })).token;
    ca = makeCertificate(dir.path);
  });
  afterEach(async () => {
    whenDozorClosesIdle = undefined;
    agents.forEach((agent) => agent.close());
    agents = [];
    await nginx?.stop();
    nginx = undefined;
    await Promise.all(instances.map((instance) => instance.app.close()));
    instances = [];
    await t.close();
    dir.cleanup();
  });

  /** Two dozor servers on the same database, trusting nginx (127.0.0.1) for X-Forwarded-For, as TRUST_PROXY would. */
  async function startInstances(options: Partial<HttpDeps> = {}): Promise<void> {
    for (let i = 0; i < 2; i++) {
      const app = buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, trustProxy: '127.0.0.1', ...options });
      const instance: Instance = { app, port: 0, connections: 0 };
      app.server.on('connection', (socket: Socket) => {
        instance.connections++;
        // Node's own listener, added before this one, closes the socket when it stays idle past the keep-alive.
        socket.prependListener('timeout', () => whenDozorClosesIdle?.());
      });
      instance.port = Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port);
      instances.push(instance);
    }
  }

  /** nginx with docs/nginx.conf in front of the instances; its port. */
  async function startNginx(): Promise<number> {
    const running = await startNginxBefore(dir.path, instances.map((i) => i.port), { keepaliveSeconds: NGINX_KEEPALIVE_S });
    nginx = running;
    return running.port;
  }

  async function openAgents(port: number, ...addresses: string[]): Promise<Agent[]> {
    agents = await Promise.all(addresses.map((address) => Agent.open(port, address, ca)));
    return agents;
  }

  /**
   * Each agent posts a report, at the worst moment for a kept connection: the instant dozor closes one that stayed
   * idle past its keep-alive (written before Node closes it, so the race is hit every time), if that comes within
   * `gapMs`; otherwise at the end of the gap.
   */
  async function postAfterIdleGap(gapMs: number, id: string): Promise<{ moment: 'dozor closed an idle connection' | 'end of the gap'; statuses: number[] }> {
    let answers: Promise<Answer[]> | undefined;
    let moment: 'dozor closed an idle connection' | 'end of the gap' = 'end of the gap';
    const postAll = () => {
      answers ??= Promise.all(agents.map((agent, i) => agent.send(report(token, `${id}-${i}`))));
    };
    await new Promise<void>((resolve) => {
      const gap = setTimeout(() => {
        postAll();
        resolve();
      }, gapMs);
      whenDozorClosesIdle = () => {
        clearTimeout(gap);
        moment = 'dozor closed an idle connection';
        postAll();
        resolve();
      };
    });
    whenDozorClosesIdle = undefined;
    return { moment, statuses: (await answers!).map((answer) => answer.status) };
  }

  it(`reuses its idle connections to dozor after a gap longer than Node's old 5 s keep-alive, and no agent gets a 502`, async () => {
    await startInstances();
    await openAgents(await startNginx(), '127.0.0.2', '127.0.0.3');
    expect((await postAfterIdleGap(0, 'first')).statuses).toEqual([202, 202]);
    expect(instances.map((instance) => instance.connections)).toEqual([1, 1]);
    // dozor keeps them (75 s) longer than nginx (9 s here) does: nginx sends the next posts on them, and both are taken.
    expect(await postAfterIdleGap(GAP_MS, 'after-gap')).toEqual({ moment: 'end of the gap', statuses: [202, 202] });
    expect(instances.map((instance) => instance.connections)).toEqual([1, 1]);
  });

  it('answers 502 to a post nginx sends just as dozor closes the idle connection, when dozor keeps it shorter than nginx (why HTTP_KEEP_ALIVE_TIMEOUT must be the longer)', async () => {
    await startInstances({ keepAliveTimeoutMs: 2_000 });
    await openAgents(await startNginx(), '127.0.0.2', '127.0.0.3');
    expect((await postAfterIdleGap(0, 'first')).statuses).toEqual([202, 202]);
    const after = await postAfterIdleGap(GAP_MS, 'after-gap');
    expect(after.moment).toBe('dozor closed an idle connection');
    expect(after.statuses).toContain(502);
  });

  it("passes the agent's address to dozor, which counts invalid tokens by it rather than by nginx's", async () => {
    await startInstances({ failedAuthLimit: 3 });
    const [one, other] = await openAgents(await startNginx(), '127.0.0.2', '127.0.0.3');
    const statuses: number[] = [];
    // nginx takes turns between the two instances. On PostgreSQL they count the address together (its limit, not
    // twice it); on SQLite, where one instance is all there is, these two in one process count it each on its own.
    for (let i = 0; i < 8; i++) statuses.push((await one!.send(report('dzr_wrong', `bad-${i}`))).status);
    expect(statuses).toEqual(onPostgres() ? [401, 401, 401, 429, 429, 429, 429, 429] : [401, 401, 401, 401, 401, 401, 429, 429]);
    expect((await other!.send(report('dzr_wrong', 'other'))).status).toBe(401);
  });

  it('streams an upload to dozor as it arrives: a file above nginx\'s default 1 MiB is taken, and one that stops is cut by dozor', async () => {
    await startInstances({ requestTimeoutMs: 1_000, uploads: { dataDir: join(dir.path, 'data'), maxBytes: 4 * 1024 * 1024 } });
    const [agent] = await openAgents(await startNginx(), '127.0.0.2');
    const boundary = 'dozorboundary';
    const file = Buffer.from(`<sysinfo>${'x'.repeat(2 * 1024 * 1024)}</sysinfo>`);
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="ROMASHKA.xml"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const head = `POST /upload?token=${token} HTTP/1.1\r\nHost: dozor.example.ru\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const taken = await agent!.send(Buffer.concat([Buffer.from(head), body]));
    expect(taken.status).toBe(200);
    expect(Number(await sqlValue(t.db, 'SELECT count(*) FROM uploads'))).toBe(1);

    // A line that dies a third of the way: dozor, which sees the bytes as they come, answers 408 after a second
    // without any (nginx, had it kept the body to pass on whole, would have waited its own 60 s).
    let giveUp: NodeJS.Timeout | undefined;
    const stalled = await Promise.race([
      agent!.send(Buffer.concat([Buffer.from(head), body.subarray(0, Math.floor(body.length / 3))])),
      new Promise<Answer>((resolve) => (giveUp = setTimeout(() => resolve({ status: 0, body: 'no answer within 5 s' }), 5_000))),
    ]);
    clearTimeout(giveUp);
    expect(stalled.status).toBe(408);
    expect(stalled.body).toContain('"statusCode":408');
  });

  it('serves agents from the other instance while one is down', async () => {
    await startInstances();
    const [agent] = await openAgents(await startNginx(), '127.0.0.2');
    await instances[1]!.app.close();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await agent!.send(report(token, `one-down-${i}`))).status);
    expect(statuses).toEqual([202, 202, 202, 202]);
  });
});
