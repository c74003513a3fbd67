import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Api, InputFile } from 'grammy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkTelegramHtml } from '../tools/standin/html-check.ts';
import { SERVED_METHODS, TelegramStandIn } from '../tools/standin/telegram.ts';
import { startServiceProcess, type ServiceProcess } from './process-helpers.ts';

describe('the Bot API stand-in', () => {
  let standIn: TelegramStandIn;
  const call = async (method: string, body: Record<string, unknown> = {}) => {
    const response = await fetch(`${standIn.url}/bot${standIn.token}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as { ok: boolean; result?: unknown; error_code?: number; description?: string } };
  };

  beforeEach(async () => {
    standIn = await TelegramStandIn.start();
  });
  afterEach(async () => {
    await standIn.close();
  });

  it('answers unknown methods and a wrong token the way Telegram does', async () => {
    expect(await call('sendSticker')).toEqual({ status: 404, body: { ok: false, error_code: 404, description: 'Not Found: method not found' } });
    const wrong = await fetch(`${standIn.url}/bot123:nope/getMe`, { method: 'POST' });
    expect(wrong.status).toBe(401);
  });

  it('refuses HTML that Telegram would refuse', async () => {
    const bad = await call('sendMessage', { chat_id: 1, text: '<b>unclosed', parse_mode: 'HTML' });
    expect(bad.status).toBe(400);
    expect(bad.body.description).toMatch(/can't parse entities/);
    expect((await call('sendMessage', { chat_id: 1, text: '<b>ok</b> &amp; <a href="x">y</a>', parse_mode: 'HTML' })).status).toBe(200);
    expect(checkTelegramHtml('<b><i>crossed</b></i>')).toMatch(/Can't find end tag/);
    expect(checkTelegramHtml('<div>no</div>')).toMatch(/Unsupported start tag "div"/);
    expect(checkTelegramHtml('a &nbsp; b')).toMatch(/Unsupported entity/);
    expect(checkTelegramHtml('plain <b>bold</b> &lt;tag&gt;')).toBeNull();
  });

  it('long-polls getUpdates: waits for an update, then confirms by offset', async () => {
    const polling = call('getUpdates', { offset: 0, timeout: 5 });
    standIn.userSays({ id: 7, first_name: 'U' }, '/status Ромашка');
    const first = await polling;
    const updates = first.body.result as { update_id: number; message: { text: string; entities: unknown[] } }[];
    expect(updates).toHaveLength(1);
    expect(updates[0]!.message.text).toBe('/status Ромашка');
    expect(updates[0]!.message.entities).toEqual([{ type: 'bot_command', offset: 0, length: 7 }]);
    const next = await call('getUpdates', { offset: updates[0]!.update_id + 1, timeout: 0 });
    expect(next.body.result).toEqual([]);
  });

  it('records sends and edits, and lets a test press a button', async () => {
    const sent = await call('sendMessage', { chat_id: 7, text: 'alert', reply_markup: { inline_keyboard: [[{ text: 'OK', callback_data: 'ack:1' }]] } });
    const messageId = (sent.body.result as { message_id: number }).message_id;
    expect(standIn.message(7, messageId)?.buttons).toEqual([[{ text: 'OK', callback_data: 'ack:1' }]]);
    const notModified = await call('editMessageText', { chat_id: 7, message_id: messageId, text: 'alert', reply_markup: { inline_keyboard: [[{ text: 'OK', callback_data: 'ack:1' }]] } });
    expect(notModified.body.description).toMatch(/message is not modified/);
    expect((await call('editMessageText', { chat_id: 7, message_id: messageId, text: 'taken' })).status).toBe(200);
    expect(standIn.message(7, messageId)).toMatchObject({ text: 'taken', buttons: [], edits: 1 });
    standIn.press({ id: 7, first_name: 'U' }, standIn.message(7, messageId)!, 'ack:1');
    const updates = (await call('getUpdates', { timeout: 0 })).body.result as { callback_query: { data: string } }[];
    expect(updates[0]!.callback_query.data).toBe('ack:1');
  });

  it('fails every method during an outage, and recovers', async () => {
    standIn.failWith(502);
    expect((await call('getMe')).status).toBe(502);
    standIn.recover();
    expect((await call('getMe')).body.ok).toBe(true);
  });
});

/**
 * The Bot API methods dozor calls, read from its source: `api.<method>(` calls,
 * and the grammY context shortcuts it uses (`ctx.reply(` is sendMessage), as
 * grammY's own Context defines them.
 */
function methodsTheBotCalls(): Set<string> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const context = readFileSync(join(root, 'node_modules/grammy/out/context.js'), 'utf8');
  const shortcuts = new Map<string, string>();
  for (const match of context.matchAll(/^ {4}([a-zA-Z]+)\([^)]*\) \{\n([\s\S]*?)^ {4}\}/gm)) {
    // An edit shortcut calls the *Inline variant for messages sent in inline mode, which dozor has none of.
    const api = [...match[2]!.matchAll(/this\.api\.([a-zA-Z]+)\(/g)].map((m) => m[1]!).find((name) => !name.endsWith('Inline'));
    if (api) shortcuts.set(match[1]!, api);
  }
  expect(shortcuts.get('reply')).toBe('sendMessage');
  const methods = new Set<string>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const source = readFileSync(join(root, path), 'utf8');
        for (const [, method] of source.matchAll(/\bapi\.([a-zA-Z]+)\(/g)) methods.add(method!);
        for (const [, shortcut] of source.matchAll(/\bctx\.([a-zA-Z]+)\(/g)) if (shortcuts.has(shortcut!)) methods.add(shortcuts.get(shortcut!)!);
      }
    }
  };
  for (const folder of ['app', 'bot', 'delivery', 'jobs', 'registry', 'web']) walk(folder);
  // grammY itself: bot.init() asks getMe; the runner and bot.start() poll with getUpdates.
  methods.add('getMe');
  methods.add('getUpdates');
  return methods;
}

describe('the stand-in serves what the bot uses', () => {
  it('serves every Bot API method dozor calls', () => {
    const used = methodsTheBotCalls();
    expect(used.has('sendDocument')).toBe(true);
    expect([...used].filter((method) => !SERVED_METHODS.includes(method as (typeof SERVED_METHODS)[number])).sort()).toEqual([]);
  });

  it('takes a document as grammY uploads it, with its name and caption', async () => {
    const standIn = await TelegramStandIn.start();
    try {
      const api = new Api(standIn.token, { apiRoot: standIn.url });
      const sent = await api.sendDocument(1001, new InputFile(Buffer.alloc(3000, 7), 'ROMASHKA.zip'), { caption: 'sysinfo «Ромашка»' });
      expect(sent.message_id).toBe(1);
      const [message] = standIn.sentTo(1001);
      expect(message).toMatchObject({ text: 'sysinfo «Ромашка»', document: { fileName: 'ROMASHKA.zip', bytes: 3000 } });
    } finally {
      await standIn.close();
    }
  });
});

describe('npm run standin', () => {
  it('prints the .env lines that point npm start at it, and shows the chat as the service answers', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const standIn = spawn(process.execPath, ['--import', 'tsx', 'tools/standin/main.ts'], { cwd: root, env: { ...process.env, STANDIN_PORT: '0' } });
    let screen = '';
    standIn.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const seen = (pattern: RegExp, what: string) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the stand-in never showed ${what}; it showed:\n${screen}`)), 20_000);
        const look = () => {
          const found = pattern.exec(screen);
          if (!found) return;
          clearTimeout(timer);
          standIn.stdout.off('data', look);
          resolve(found);
        };
        standIn.stdout.on('data', look);
        look();
      });
    const dir = mkdtempSync(join(tmpdir(), 'dozor-standin-'));
    let service: ServiceProcess | undefined;
    try {
      const lines = await seen(/BOT_TOKEN=(\S+)\n\s+TELEGRAM_API_ROOT=(\S+)\n\s+ADMIN_IDS=(\d+)/, 'the .env lines');
      service = await startServiceProcess({ BOT_TOKEN: lines[1]!, TELEGRAM_API_ROOT: lines[2]!, ADMIN_IDS: lines[3]!, DATABASE_PATH: join(dir, 'dozor.sqlite') });
      await seen(/the service connected/, 'that the service connected');
      standIn.stdin.write('/whoami\n');
      await seen(/→ Анна Админова \(admin\)[^\n]*\n[^\n]*Администратор/, "the bot's answer to /whoami");
    } finally {
      await service?.stop();
      standIn.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
