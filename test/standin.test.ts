import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkTelegramHtml } from '../tools/standin/html-check.ts';
import { TelegramStandIn } from '../tools/standin/telegram.ts';

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
