import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { watchStandIn } from './russian-words.ts';
import { createServer, type Socket } from 'node:net';
import Fastify from 'fastify';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotServices } from '../bot/context.ts';
import { POLL_OFFSET_KEY, startTelegram } from '../bot/runtime.ts';
import { readValue } from '../db/key-value.ts';
import { systemClock } from '../core/clock.ts';
import { closeDatabase, type DB } from '../db/open.ts';
import { enqueue, NOTICE } from '../db/outbox.ts';
import { TelegramStandIn } from '../tools/standin/telegram.ts';
import { listInstallations } from '../db/installations.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { postReport, seedFleet, tempDir, testDb } from './helpers.ts';
import { serviceDatabase, startServiceProcess, type ServiceDatabase } from './process-helpers.ts';

/** A server that takes connections and never answers: Telegram blocked in a way that hangs, the worst kind. */
async function hangingServer(): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const requests: string[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (chunk: Buffer) => requests.push(chunk.toString().split('\r\n')[0] ?? ''));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function botServices(db: DB, logger: Logger): BotServices {
  return {
    db,
    clock: systemClock,
    logger,
    settings: {
      displayTz: 'Europe/Moscow',
      runbookBaseUrl: null,
      morningHour: 9,
      defaultQuietHours: { from: 0, to: 0 },
      digest: { tz: 'Europe/Moscow', salesMinDays: 3 },
    },
    incidentSettings: DEFAULT_INCIDENT_SETTINGS,
    onIncidentChange: () => {},
  };
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${what} did not happen`);
}

describe('Telegram unreachable', () => {
  const dir = tempDir();
  let database: ServiceDatabase;
  let standIn: TelegramStandIn;
  let token = '';

  beforeAll(async () => {
    standIn = await TelegramStandIn.start();
    watchStandIn(standIn);
    database = await serviceDatabase(dir.path);
    token = await database.seed();
  });
  afterAll(async () => {
    await standIn.close();
    await database?.drop();
    dir.cleanup();
  });

  it('SIGTERM ends the process within 10 s while every call to Telegram hangs; the alert waiting goes out once at the next start', async () => {
    const hanging = await hangingServer();
    try {
      const service = await startServiceProcess({ ...database.env, BOT_TOKEN: standIn.token, TELEGRAM_API_ROOT: hanging.url });
      expect((await postReport(service.url, '<report id="t1"><senselock state="lost"/></report>', { token })).status).toBe(202);
      const health = (await (await fetch(`${service.url}/healthz`)).json()) as { status: string; telegram: { state: string } };
      expect(health).toMatchObject({ status: 'ok', telegram: { state: 'connecting' } });
      // The alert is on its way: its sendMessage hangs.
      await until(() => hanging.requests.some((line) => line.includes('/sendMessage')), 'a sendMessage call');
      const started = Date.now();
      expect(await service.stop('SIGTERM')).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
      // Every line it wrote is JSON, nothing went to stderr, and the token is nowhere.
      for (const line of service.log) expect(() => JSON.parse(line) as unknown).not.toThrow();
      expect(service.stderr()).toBe('');
      expect(service.log.join('\n')).not.toContain(standIn.token.split(':')[1]);
    } finally {
      await hanging.close();
    }

    const again = await startServiceProcess({ ...database.env, BOT_TOKEN: standIn.token, TELEGRAM_API_ROOT: standIn.url });
    try {
      await standIn.waitFor((e) => e.type === 'sent' && e.message.chatId === 1001 && e.message.text.includes('Ключ SenseLock не виден'));
    } finally {
      await again.stop();
    }
    expect(standIn.sentTo(1001).filter((m) => m.text.includes('Ключ SenseLock не виден'))).toHaveLength(1);
  }, 40_000);

  it('never writes the bot token anywhere while every call to Telegram fails', async () => {
    // A port nothing listens on: every call is refused, and every failure is logged with its cause.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const service = await startServiceProcess({ ...database.env, BOT_TOKEN: standIn.token, TELEGRAM_API_ROOT: `http://127.0.0.1:${port}`, OUTBOX_RETRY_BASE: '1s' });
    try {
      await postReport(service.url, '<report id="leak1"><kit assembled="false"/></report>', { token });
      await until(() => service.log.some((line) => line.includes('delivery failed, will retry')), 'a failed delivery in the log');
      await until(() => service.log.filter((line) => line.includes('cannot reach Telegram')).length >= 2, 'failed calls to Telegram in the log');
    } finally {
      expect(await service.stop()).toBe(0);
    }
    const everything = `${service.log.join('\n')}\n${service.stderr()}`;
    expect(everything).toContain('ECONNREFUSED');
    expect(everything).not.toContain(standIn.token.split(':')[1]!);
    expect(service.stderr()).toBe('');
  }, 40_000);

  it('delivers a critical alert for an idle chat within 2 s while an admin\'s chat drains 500 notices at one a second', async () => {
    const db = await database.open();
    try {
      for (let n = 1; n <= 500; n++) await enqueue(db, { kind: NOTICE, chatId: 3001, incidentId: null, payload: { text: `Уведомление ${n}` } }, new Date());
    } finally {
      await closeDatabase(db);
    }
    const service = await startServiceProcess({ ...database.env, BOT_TOKEN: standIn.token, TELEGRAM_API_ROOT: standIn.url });
    try {
      await until(() => standIn.sentTo(3001).length >= 3, 'the backlog draining');
      const reported = Date.now();
      expect((await postReport(service.url, '<report id="busy1"><senselock state="absent"/></report>', { token })).status).toBe(202);
      await standIn.waitFor((e) => e.type === 'sent' && e.message.chatId === 1001 && e.message.text.includes('Ключ SenseLock'));
      expect(Date.now() - reported).toBeLessThan(2000);
      expect(standIn.sentTo(3001).length).toBeLessThan(20);
      // The backlog keeps its order.
      const backlog = standIn.sentTo(3001).map((m) => Number(/Уведомление (\d+)/.exec(m.text)?.[1]));
      expect(backlog).toEqual(backlog.map((_, i) => i + 1));
    } finally {
      await service.stop();
    }
  }, 40_000);

  it('keeps trying for as long as it runs, says so in its health, and answers again once Telegram is back', async () => {
    const t = await testDb();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const http = Fastify();
    standIn.failWith(502);
    const runtime = startTelegram(
      { token: standIn.token, apiRoot: standIn.url, retryBaseMs: 5, retryMaxMs: 20 },
      botServices(t.db, logger),
      http,
    );
    try {
      // Many more failures than any retry limit would allow: it never gives up, and nothing is thrown at the process.
      await until(() => lines.filter((line) => line.includes('cannot reach Telegram')).length >= 40, 'forty failed attempts');
      expect(runtime.health()).toMatchObject({ mode: 'polling', state: 'disconnected', lastError: expect.stringContaining('Bad Gateway') });
      standIn.recover();
      await runtime.ready;
      await until(() => runtime.health().state === 'connected', 'a connection');
      await seedFleet({ db: t.db, clock: systemClock, actor: 'test' });
      standIn.userSays({ id: 1001, first_name: 'Ксения' }, '/help');
      await standIn.waitFor((e) => e.type === 'sent' && e.message.chatId === 1001 && e.message.text.includes('/status'));
      expect(lines.every((line) => !line.includes(standIn.token.split(':')[1]!))).toBe(true);
    } finally {
      standIn.recover();
      await runtime.stop();
      await http.close();
      await t.close();
    }
  });
});

describe('an Alertmanager storm', () => {
  it('delivers a critical within 10 s of its webhook while 10,000 warnings for 500 installations of the same manager arrive folded', async () => {
    const standIn = await TelegramStandIn.start();
    watchStandIn(standIn);
    const dir = tempDir();
    const database = await serviceDatabase(dir.path);
    await database.seed();
    // 500 installations of Ксения's clients: the seeded one and 499 more, five to a client.
    const db = await database.open();
    const ids: number[] = [];
    try {
      const ctx = { db, clock: systemClock, actor: 'test' };
      ids.push(...(await listInstallations(db)).map((i) => i.id));
      for (let c = 0; ids.length < 500; c++) {
        const client = await addClient(ctx, { name: `ООО «Клиент ${c}»`, managerId: 1001 });
        for (let i = 0; i < 5 && ids.length < 500; i++) ids.push((await addInstallation(ctx, { client: String(client.id), name: `Сервер ${i}`, kind: 'local' })).installation.id);
      }
    } finally {
      await closeDatabase(db);
    }
    const token = 'alertmanager-shared-secret';
    // No flap hold and no quiet hours, whatever the time of day: the warnings are due at once, the worst case for the critical.
    const service = await startServiceProcess({ ...database.env, BOT_TOKEN: standIn.token, TELEGRAM_API_ROOT: standIn.url, ALERTMANAGER_TOKEN: token, FLAP_HOLD: '0', QUIET_HOURS: '00:00-00:00' });
    const post = (alerts: { labels: Record<string, string> }[]) =>
      fetch(`${service.url}/api/v1/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ version: '4', alerts: alerts.map((a) => ({ status: 'firing', annotations: {}, ...a })) }),
      });
    const toKsenia = () => standIn.sentTo(1001);
    try {
      const storm = Array.from({ length: 10_000 }, (_, i) => ({ labels: { alertname: 'Высокая нагрузка', installation_id: String(ids[i % 500]), cpu: String(Math.floor(i / 500)) } }));
      const answer = await post(storm);
      expect(await answer.json()).toMatchObject({ received: 10_000, opened: 10_000 });
      await standIn.waitFor((e) => e.type === 'sent' && e.message.chatId === 1001 && e.message.text.includes('Высокая нагрузка'), 20_000);

      const posted = Date.now();
      expect((await post([{ labels: { alertname: 'Диск заполнен', installation_id: String(ids[7]), severity: 'critical' } }])).status).toBe(200);
      await standIn.waitFor((e) => e.type === 'sent' && e.message.chatId === 1001 && e.message.text.includes('Диск заполнен'), 10_000);
      expect(Date.now() - posted).toBeLessThan(10_000);

      // The storm is one message: after the grouping window (30 s) the rest of it joins, redrawing it, until every installation is on it.
      await standIn.waitFor((e) => e.type === 'edited' && e.message.chatId === 1001 && e.message.text.includes('Высокая нагрузка — 500 установок одновременно</b>'), 60_000);
      // Two messages in all: the storm's, and the critical (a reply to it, as another problem of one of its installations).
      expect(toKsenia().map((m) => m.text.split('\n')[2])).toEqual(['🟡 <b>🌊 Массовое событие: Высокая нагрузка — 500 установок одновременно</b>', '🔴 <b>Диск заполнен</b>']);
    } finally {
      await service.stop();
      await standIn.close();
      await database.drop();
      dir.cleanup();
    }
  }, 150_000);
});

describe('a quiet bot', () => {
  it('takes idle long polls as answers, not failures, and answers /help at once after a quiet spell', async () => {
    const standIn = await TelegramStandIn.start();
    watchStandIn(standIn);
    const t = await testDb();
    await seedFleet({ db: t.db, clock: systemClock, actor: 'test' });
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const http = Fastify();
    // One-second polls stand for a night of silence: every poll ends empty after its full wait.
    const runtime = startTelegram({ token: standIn.token, apiRoot: standIn.url, pollSeconds: 1 }, botServices(t.db, logger), http);
    try {
      await runtime.ready;
      await until(() => standIn.idlePolls >= 4, 'four idle polls');
      expect(lines.filter((line) => line.includes('cannot reach Telegram'))).toEqual([]);
      expect(runtime.health().state).toBe('connected');
      const asked = Date.now();
      standIn.userSays({ id: 1001, first_name: 'Ксения' }, '/help');
      await standIn.waitFor((e) => e.type === 'sent' && e.message.chatId === 1001 && e.message.text.includes('/status'));
      expect(Date.now() - asked).toBeLessThan(2000);
    } finally {
      await runtime.stop();
      await http.close();
      await standIn.close();
      await t.close();
    }
  });
});

describe('the poll offset', () => {
  it('is kept in the database, so the poller that comes next asks Telegram for what was not handled yet', async () => {
    const standIn = await TelegramStandIn.start();
    watchStandIn(standIn);
    const t = await testDb();
    await seedFleet({ db: t.db, clock: systemClock, actor: 'test' });
    const logger = pino({ level: 'silent' });
    const http = Fastify();
    const first = startTelegram({ token: standIn.token, apiRoot: standIn.url, pollSeconds: 1 }, botServices(t.db, logger), http);
    try {
      standIn.userSays({ id: 1001, first_name: 'Ксения' }, '/help');
      await standIn.waitFor((e) => e.type === 'sent' && e.message.chatId === 1001 && e.message.text.includes('/status'));
      // The next poll confirms the update, and the offset it confirms is stored first.
      await until(async () => (await readValue<number>(t.db, POLL_OFFSET_KEY)) !== undefined, 'the offset being stored');
      const stored = (await readValue<number>(t.db, POLL_OFFSET_KEY))!;
      expect(stored).toBeGreaterThan(1);
      await first.stop();

      // Another poller (a restart, or the instance that took polling over) starts from it, not from 0.
      const polls = standIn.calls.filter((c) => c.method === 'getUpdates').length;
      const second = startTelegram({ token: standIn.token, apiRoot: standIn.url, pollSeconds: 1 }, botServices(t.db, logger), Fastify());
      try {
        await until(() => standIn.calls.filter((c) => c.method === 'getUpdates').length > polls, 'a poll by the second poller');
        expect(Number(standIn.calls.filter((c) => c.method === 'getUpdates')[polls]!.payload.offset)).toBe(stored);
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
      await http.close();
      await standIn.close();
      await t.close();
    }
  });
});
