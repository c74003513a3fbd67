import { watchStandIn } from './russian-words.ts';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.ts';
import { closeDatabase } from '../db/open.ts';
import { outbox } from '../db/schema.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { TelegramStandIn, type BotEvent, type StoredMessage } from '../tools/standin/telegram.ts';
import { postReport, seedFleet, tempDir } from './helpers.ts';
import { serviceDatabase, startServiceProcess, type ServiceDatabase, type ServiceProcess } from './process-helpers.ts';

/**
 * The whole process, as `npm start` runs it, against the Bot API stand-in,
 * with agents as HTTP clients.
 */
const manager = { id: 1001, first_name: 'Ксения' };
const sentTo = (chatId: number, text: string) => (e: BotEvent): e is Extract<BotEvent, { type: 'sent' }> =>
  e.type === 'sent' && e.message.chatId === chatId && e.message.text.includes(text);

describe('end to end', () => {
  const dir = tempDir();
  let database: ServiceDatabase;
  let standIn: TelegramStandIn;
  let romashka = '';
  let vector = '';
  let north = '';
  const env = () => ({
    ...database.env,
    BOT_TOKEN: standIn.token,
    TELEGRAM_API_ROOT: standIn.url,
    OUTBOX_RETRY_BASE: '1s',
    OUTBOX_RETRY_MAX: '2s',
    ALERT_GROUP_WINDOW: '1s',
  });

  beforeAll(async () => {
    standIn = await TelegramStandIn.start();
    watchStandIn(standIn);
    database = await serviceDatabase(dir.path);
    const db = await database.open();
    const ctx = { db, clock: systemClock, actor: 'test' };
    romashka = (await seedFleet(ctx)).token;
    const vectorClient = await addClient(ctx, { name: 'АО «Вектор»', managerId: 1001 });
    vector = (await addInstallation(ctx, { client: String(vectorClient.id), name: 'Бухгалтерия', kind: 'local' })).token;
    const northClient = await addClient(ctx, { name: 'ООО «Север»', managerId: 1001 });
    north = (await addInstallation(ctx, { client: String(northClient.id), name: 'Сервер', kind: 'network' })).token;
    await closeDatabase(db);
  });
  afterAll(async () => {
    await standIn.close();
    await database.drop();
    dir.cleanup();
  });

  async function withService<T>(run: (service: ServiceProcess) => Promise<T>): Promise<T> {
    const service = await startServiceProcess(env());
    try {
      return await run(service);
    } finally {
      await service.stop();
    }
  }

  /** The next alert of the lost key, after the one given. */
  async function newAlertAfter(previous: StoredMessage): Promise<StoredMessage> {
    const event = await standIn.waitFor((e) => e.type === 'sent' && e.message.messageId !== previous.messageId && e.message.text.includes('Ключ SenseLock не виден'));
    if (event.type !== 'sent') throw new Error('not a message');
    return event.message;
  }

  it('key lost → alert → «Беру» → edited → key back → marked resolved; untaken, its end also comes as a reply, once', async () => {
    await withService(async (service) => {
      await postReport(service.url, '<report id="e1"><senselock state="lost"/></report>', { token: romashka });
      const { message: alert } = await standIn.waitFor(sentTo(manager.id, 'Ключ SenseLock не виден'));
      standIn.press(manager, alert, alert.buttons.flat().find((b) => b.text === '🙋 Беру')!.callback_data!);
      await standIn.waitFor((e) => e.type === 'edited' && e.message.messageId === alert.messageId && e.message.text.includes('🛠 В работе'));
      expect(standIn.message(manager.id, alert.messageId)!.buttons.flat().map((b) => b.text)).toEqual(['🏢 Статус', 'ℹ️ Подробнее']);
      await postReport(service.url, '<report id="e2"><senselock state="ok"/></report>', { token: romashka });
      await standIn.waitFor((e) => e.type === 'edited' && e.message.messageId === alert.messageId && e.message.text.includes('☑️ Решено'));
      expect(standIn.message(manager.id, alert.messageId)!.buttons).toEqual([]);
      // Lost again, and nobody takes it this time: an edit notifies nobody, so its end also comes as a reply to its alert.
      await postReport(service.url, '<report id="e3"><senselock state="lost"/></report>', { token: romashka });
      const again = await newAlertAfter(alert);
      await postReport(service.url, '<report id="e4"><senselock state="ok"/></report>', { token: romashka });
      const { message: reply } = await standIn.waitFor(sentTo(manager.id, 'ключ SenseLock снова виден'));
      expect(reply.text).toMatch(/^☑️ <b>ООО «Ромашка»<\/b> · Сервер офиса: ключ SenseLock снова виден, сегодня в \d\d:\d\d; длилось /);
      expect(reply.replyTo).toBe(again.messageId);
      // The first time, taken in hand, ended without a reply: one end said in all.
      expect(standIn.sentTo(manager.id).filter((m) => m.text.startsWith('☑️'))).toHaveLength(1);
    });
  });

  it('/status for a healthy and for a broken client', async () => {
    await withService(async (service) => {
      await postReport(service.url, '<report id="n1"><shell version="6.4.3.59"/><service state="running"/><senselock state="ok"/></report>', { token: north });
      await postReport(service.url, '<report id="v1"><service state="stopped" account="system"/><storage reachable="false"/></report>', { token: vector });
      standIn.userSays(manager, '/status Север');
      const healthy = await standIn.waitFor(sentTo(manager.id, 'ООО «Север»'));
      expect(healthy.message.text).toContain('✅ Всё в порядке');
      standIn.userSays(manager, '/status вектор');
      const broken = await standIn.waitFor(sentTo(manager.id, '🏢 <b>АО «Вектор»</b>'));
      expect(broken.message.text).toContain('❌ 2 проблемы\n • 🔴 Служба ПК остановлена');
      expect(broken.message.text).toContain(' • 🔴 Хранилище баз недоступно');
      expect(broken.message.text).toContain('⚠️ Служба: остановлена (системная учётная запись) — вероятная причина проблем\n⚠️ Хранилище: недоступно');
      // Free text in a private chat is a question about a client.
      standIn.userSays(manager, 'Север');
      await standIn.waitFor((e) => e.type === 'sent' && e.message.chatId === manager.id && e.message.text.includes('🏢 <b>ООО «Север»</b>') && e.message !== healthy.message);
    });
  });

  it('an outage of Telegram: alerts produced meanwhile arrive after it recovers, none lost, none doubled', async () => {
    await withService(async (service) => {
      standIn.failWith(502);
      await postReport(service.url, '<report id="o1"><kit assembled="false"/></report>', { token: north });
      // The dispatcher tried and failed at least once.
      await standIn.waitFor((e) => e.type === 'called' && e.method === 'sendMessage' && e.failed);
      standIn.recover();
      await standIn.waitFor(sentTo(manager.id, 'Комплект не собран'));
      await waitUntilDelivered();
      expect(standIn.sentTo(manager.id).filter((m) => m.text.includes('Комплект не собран'))).toHaveLength(1);
    });
  });

  it('killed with SIGKILL between storing an incident and delivering it: after a restart the alert arrives exactly once', async () => {
    standIn.failWith(502);
    const first = await startServiceProcess(env());
    await postReport(first.url, '<report id="k1"><storage reachable="false"/></report>', { token: north });
    await standIn.waitFor((e) => e.type === 'called' && e.method === 'sendMessage' && e.failed);
    expect(await first.stop('SIGKILL')).toBeNull();
    // The alert itself has its title in bold on a line of its own (an earlier alert of the installation may list it, not in bold).
    const isStorageAlert = (text: string) => /^🔴 <b>Хранилище баз недоступно<\/b>$/m.test(text) && text.includes('Север');
    const storageAlerts = () => standIn.sentTo(manager.id).filter((m) => isStorageAlert(m.text));
    expect(storageAlerts()).toHaveLength(0);

    standIn.recover();
    await withService(async () => {
      await standIn.waitFor((e) => e.type === 'sent' && e.message.chatId === manager.id && isStorageAlert(e.message.text));
      await waitUntilDelivered();
    });
    const delivered: StoredMessage[] = storageAlerts();
    expect(delivered).toHaveLength(1);
  });

  /** Everything in the outbox is marked delivered (read from the shared database). */
  async function waitUntilDelivered(): Promise<void> {
    const db = await database.open();
    try {
      for (let i = 0; i < 200; i++) {
        if ((await db.select().from(outbox).where(eq(outbox.status, 'pending'))).length === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('the outbox did not empty');
    } finally {
      await closeDatabase(db);
    }
  }
});
