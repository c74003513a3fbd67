import { watchStandIn } from './russian-words.ts';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelegramStandIn } from '../tools/standin/telegram.ts';
import { tempDir } from './helpers.ts';
import { serviceDatabase, startServiceProcess, type ServiceDatabase } from './process-helpers.ts';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

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
});
