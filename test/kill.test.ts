import { watchStandIn } from './russian-words.ts';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.ts';
import { closeDatabase, type DB } from '../db/open.ts';
import { outbox, reports } from '../db/schema.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { addUser } from '../registry/users.ts';
import { TelegramStandIn } from '../tools/standin/telegram.ts';
import { sqlRows, tempDir } from './helpers.ts';
import { serviceDatabase, startServiceProcess, type ServiceDatabase } from './process-helpers.ts';

const AGENTS = 20;

describe('SIGKILL during load', () => {
  const dir = tempDir();
  let database: ServiceDatabase;
  let standIn: TelegramStandIn;
  const tokens: string[] = [];

  beforeAll(async () => {
    standIn = await TelegramStandIn.start();
    watchStandIn(standIn);
    database = await serviceDatabase(dir.path);
    const db = await database.open();
    const ctx = { db, clock: systemClock, actor: 'test' };
    await addUser(ctx, { telegramId: 1001, role: 'manager', name: 'Ксения' });
    for (let i = 0; i < AGENTS; i++) {
      const client = await addClient(ctx, { name: `Клиент ${i}`, managerId: 1001 });
      tokens.push((await addInstallation(ctx, { client: String(client.id), name: `Сервер-${i}`, kind: 'local' })).token);
    }
    await closeDatabase(db);
  });
  afterAll(async () => {
    await standIn.close();
    await database.drop();
    dir.cleanup();
  });

  it('keeps every accepted report and announces every incident exactly once after a restart', async () => {
    const env = { ...database.env, BOT_TOKEN: standIn.token, TELEGRAM_API_ROOT: standIn.url, OUTBOX_RETRY_BASE: '1s', ALERT_GROUP_WINDOW: '1s' };
    const first = await startServiceProcess(env);
    const accepted: string[] = [];
    let seq = 0;
    let stop = false;
    const agent = async (i: number) => {
      // Each agent loses its key once, at a random moment.
      const loseAt = 5 + Math.floor(Math.random() * 30);
      for (let n = 0; !stop; n++) {
        const id = `k${i}-${seq++}`;
        const lost = n >= loseAt;
        try {
          const response = await fetch(`${first.url}/api/v1/reports`, {
            method: 'POST',
            headers: { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/xml' },
            body: `<report id="${id}"><senselock state="${lost ? 'lost' : 'ok'}"/></report>`,
          });
          if (response.status === 202) accepted.push(id);
        } catch {
          return; // the service is gone
        }
      }
    };
    let opened: string[];
    const load = Promise.all(Array.from({ length: AGENTS }, (_, i) => agent(i)));
    // The kill lands while alerts are being produced: after the first one reached the manager, at a random moment.
    for (let i = 0; i < 400 && standIn.sentTo(1001).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    const alertsBeforeKill = standIn.sentTo(1001).length;
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 800));
    await first.stop('SIGKILL');
    stop = true;
    await load;
    expect(accepted.length).toBeGreaterThan(0);
    expect(alertsBeforeKill).toBeGreaterThan(0);

    const second = await startServiceProcess(env);
    const db = await database.open();
    const pending = async () => (await db.select().from(outbox).where(eq(outbox.status, 'pending'))).length;
    try {
      // Every report answered 202 is there.
      const stored = new Set<string>();
      for (let i = 0; i < accepted.length; i += 500) {
        const chunk = accepted.slice(i, i + 500);
        for (const row of await db.select({ id: reports.reportId }).from(reports).where(inArray(reports.reportId, chunk))) stored.add(row.id);
      }
      expect(accepted.filter((id) => !stored.has(id))).toEqual([]);

      // Every announcement goes out, then none is pending.
      for (let i = 0; i < 400 && (await pending()) > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await pending()).toBe(0);
      // Each installation that lost its key was announced once (one message in flight at the kill may repeat).
      opened = await installationsWithLostKey(db);
    } finally {
      await closeDatabase(db);
      await second.stop();
    }

    expect(opened.length).toBeGreaterThan(0);
    const alertTexts = standIn.sentTo(1001).map((m) => m.text);
    let duplicates = 0;
    for (const name of opened) {
      // Named after its client, in whatever layout the alert took: alone («… · Сервер-3\n»), as an item of a group
      // («🏢 <b>… · Сервер-3</b>»), in a folded list of many («… · Сервер-3; …», «… · Сервер-3 и ещё 2»); not «Сервер-30».
      const named = new RegExp(` · ${name}(?!\\d)`);
      const mentions = alertTexts.filter((text) => named.test(text)).length;
      expect(mentions).toBeGreaterThanOrEqual(1);
      duplicates += mentions - 1;
    }
    expect(duplicates).toBeLessThanOrEqual(1);
  }, 60_000);
});

/** Names of installations with a key-lost incident. */
async function installationsWithLostKey(db: DB): Promise<string[]> {
  const rows = await sqlRows<{ name: string }>(
    db,
    `SELECT DISTINCT i.name FROM incidents x JOIN installations i ON i.id = x.installation_id WHERE x.rule_id = 'KodeksXmlSensLockStatus'`,
  );
  return rows.map((r) => r.name);
}
