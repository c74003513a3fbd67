import { watchStandIn } from './russian-words.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelegramStandIn } from '../tools/standin/telegram.ts';
import { tempDir } from './helpers.ts';
import { onPostgres } from './pg-helpers.ts';
import { freePort } from './nginx-helpers.ts';
import { serviceDatabase, startServiceProcess, type ServiceDatabase } from './process-helpers.ts';

describe('webhook mode', () => {
  const dir = tempDir();
  let database: ServiceDatabase;
  let standIn: TelegramStandIn;

  beforeAll(async () => {
    standIn = await TelegramStandIn.start();
    watchStandIn(standIn);
    database = await serviceDatabase(dir.path);
    await database.seed();
  });
  afterAll(async () => {
    await standIn.close();
    await database?.drop();
    dir.cleanup();
  });

  it('receives updates on WEBHOOK_URL through the same HTTP server and checks the secret header', async () => {
    const port = await freePort();
    const webhookUrl = `http://127.0.0.1:${port}/telegram/webhook`;
    const service = await startServiceProcess({
      ...database.env,
      HTTP_PORT: String(port),
      BOT_TOKEN: standIn.token,
      TELEGRAM_API_ROOT: standIn.url,
      WEBHOOK_URL: webhookUrl,
      WEBHOOK_SECRET: 'the-shared-secret',
    });
    try {
      await standIn.waitFor((e) => e.type === 'called' && e.method === 'setWebhook');
      const setWebhook = standIn.calls.find((c) => c.method === 'setWebhook')!;
      expect(setWebhook.payload).toMatchObject({ url: webhookUrl, secret_token: 'the-shared-secret' });
      expect(standIn.calls.some((c) => c.method === 'getUpdates')).toBe(false);

      // The stand-in posts the update with the secret header; the bot answers.
      standIn.userSays({ id: 1001, first_name: 'Ксения' }, '/whoami');
      await standIn.waitFor((e) => e.type === 'sent' && e.message.chatId === 1001 && e.message.text.includes('Ксения Шабанова'));

      const update = { update_id: 999, message: { message_id: 1, date: 0, chat: { id: 1001, type: 'private' }, from: { id: 1001, is_bot: false, first_name: 'X' }, text: '/whoami' } };
      const forged = await fetch(webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'wrong' },
        body: JSON.stringify(update),
      });
      expect(forged.status).toBe(401);
      const missing = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(update) });
      expect(missing.status).toBe(401);
    } finally {
      expect(await service.stop()).toBe(0);
    }
    expect(service.log.join('\n')).not.toContain('the-shared-secret');
  });

  it.skipIf(!onPostgres())('with two instances on one database, sets the webhook from one, answers updates at either, and the other sets it when the first dies', async () => {
    const port = await freePort();
    const webhookUrl = `http://127.0.0.1:${port}/telegram/webhook`;
    const env = { ...database.env, BOT_TOKEN: standIn.token, TELEGRAM_API_ROOT: standIn.url, WEBHOOK_URL: webhookUrl, WEBHOOK_SECRET: 'the-shared-secret', LEASE_TTL: '2s' };
    const setWebhooks = () => standIn.calls.filter((c) => c.method === 'setWebhook').length;
    const before = setWebhooks();
    const a = await startServiceProcess({ ...env, HTTP_PORT: String(port), INSTANCE_NAME: 'dozor-a' });
    const b = await startServiceProcess({ ...env, INSTANCE_NAME: 'dozor-b' });
    const health = async () => (await (await fetch(`${b.url}/healthz`)).json()) as { roles: Record<string, string | null>; telegram: { active: boolean } };
    const setWebhooksReach = async (n: number) => {
      for (let waited = 0; setWebhooks() - before < n; waited += 50) {
        if (waited > 10_000) throw new Error(`setWebhook was called ${setWebhooks() - before} times, not ${n}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      await setWebhooksReach(1);
      expect(await health()).toMatchObject({ roles: { 'telegram-webhook': 'dozor-a', outbox: 'dozor-a' }, telegram: { active: false } });
      expect(setWebhooks() - before).toBe(1);

      // Telegram's update reaches B (through a balancer, say): B answers it.
      const update = { update_id: 5001, message: { message_id: 7, date: 0, chat: { id: 1001, type: 'private' }, from: { id: 1001, is_bot: false, first_name: 'Ксения' }, text: '/whoami', entities: [{ type: 'bot_command', offset: 0, length: 7 }] } };
      const answered = standIn.sentTo(1001).length;
      const posted = await fetch(`${b.url}/telegram/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'the-shared-secret' }, body: JSON.stringify(update) });
      expect(posted.status).toBe(200);
      await standIn.waitFor(() => standIn.sentTo(1001).length > answered);
      expect(standIn.sentTo(1001).at(-1)!.text).toContain('Ксения Шабанова');

      // A dies: B holds both roles once A's lease (2 s) runs out, and sets the webhook itself.
      a.child.kill('SIGKILL');
      await setWebhooksReach(2);
      expect(await health()).toMatchObject({ roles: { 'telegram-webhook': 'dozor-b', outbox: 'dozor-b' }, telegram: { active: true } });
      expect(setWebhooks() - before).toBe(2);
      expect(standIn.calls.some((c) => c.method === 'getUpdates')).toBe(false);
    } finally {
      await a.stop('SIGKILL');
      expect(await b.stop()).toBe(0);
    }
  });
});
