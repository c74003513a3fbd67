import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import { checkTelegramHtml } from './html-check.ts';

/**
 * A local stand-in for the Telegram Bot API, for the demo and end-to-end
 * tests. It serves the methods the bot uses, answers unknown ones the way
 * Telegram does, checks HTML parse mode, and lets a test (or a person at the
 * demo's terminal) act as a user and read what the bot sent, edited and answered.
 */

export interface StandInUser {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface Button {
  text: string;
  callback_data?: string;
  url?: string;
}

export interface StoredMessage {
  chatId: number;
  messageId: number;
  text: string;
  parseMode?: string;
  buttons: Button[][];
  /** A photo's or a document's caption lives in `text`. */
  photo?: { bytes: number; isPng: boolean };
  document?: { bytes: number; fileName: string };
  replyTo?: number;
  edits: number;
}

export type BotEvent =
  | { type: 'called'; method: string; failed: boolean }
  | { type: 'sent'; message: StoredMessage }
  | { type: 'edited'; message: StoredMessage }
  | { type: 'answered'; callbackQueryId: string; text?: string; showAlert: boolean };

interface Outage {
  status: number;
  description: string;
}

type Json = Record<string, unknown>;

const BOT_USER = { id: 424242, is_bot: true, first_name: 'Дозор', username: 'dozor_standin_bot' };

/** The Bot API methods the stand-in serves; any other is answered 404, as Telegram answers a method it does not have. */
export const SERVED_METHODS = [
  'getMe',
  'getUpdates',
  'setWebhook',
  'deleteWebhook',
  'getWebhookInfo',
  'setMyCommands',
  'sendMessage',
  'sendPhoto',
  'sendDocument',
  'editMessageText',
  'editMessageReplyMarkup',
  'answerCallbackQuery',
] as const;
type ServedMethod = (typeof SERVED_METHODS)[number];
const served = new Set<string>(SERVED_METHODS);

export class TelegramStandIn {
  readonly token: string;
  readonly events: BotEvent[] = [];
  readonly calls: { method: string; payload: Json }[] = [];
  private readonly messages = new Map<string, StoredMessage>();
  private readonly nextMessageId = new Map<number, number>();
  private updates: Json[] = [];
  private nextUpdateId = 1;
  private pollers: (() => void)[] = [];
  /** Long polls that waited their whole time and ended with nothing: a quiet bot, not a failure. */
  idlePolls = 0;
  /** getUpdates calls that overlapped another still open, as two bots polling at once would: Telegram ends the older with 409. */
  conflicts = 0;
  /** The long poll waiting now, if any: its caller still connected unless `gone`. */
  private openPoll: { gone: boolean; terminate(): void } | null = null;
  private listeners: ((event: BotEvent) => void)[] = [];
  private webhook: { url: string; secret?: string } | null = null;
  private outage: Outage | null = null;
  private commands: unknown[] = [];
  private app!: FastifyInstance;
  /** The Bot API root to give the bot (TELEGRAM_API_ROOT). */
  url = '';

  private constructor(token: string) {
    this.token = token;
  }

  static async start(options: { token?: string; port?: number } = {}): Promise<TelegramStandIn> {
    const standIn = new TelegramStandIn(options.token ?? '123456789:STANDIN-token-for-local-tests_only');
    await standIn.listen(options.port ?? 0);
    return standIn;
  }

  private async listen(port: number): Promise<void> {
    const app = Fastify({ logger: false });
    await app.register(multipart, { attachFieldsToBody: true, limits: { fileSize: 10 * 1024 * 1024 } });
    app.post<{ Params: { token: string; method: string } }>('/bot:token/:method', async (request, reply) => {
      if (request.params.token !== this.token) return reply.code(401).send({ ok: false, error_code: 401, description: 'Unauthorized' });
      const payload = await readPayload(request.body);
      this.calls.push({ method: request.params.method, payload });
      if (request.params.method === 'getUpdates' && !this.outage && !this.webhook) {
        const polled = await this.poll(payload, reply.raw);
        if ('error' in polled) return reply.code(polled.error.error_code).send({ ok: false, ...polled.error });
        return { ok: true, result: polled.value };
      }
      if (request.params.method !== 'getUpdates') this.emit({ type: 'called', method: request.params.method, failed: this.outage !== null });
      if (this.outage) {
        return reply.code(this.outage.status).send({ ok: false, error_code: this.outage.status, description: this.outage.description });
      }
      const result = await this.handle(request.params.method, payload);
      if ('error' in result) return reply.code(result.error.error_code).send({ ok: false, ...result.error });
      return { ok: true, result: result.value };
    });
    // grammY's client uses GET for methods without parameters only in some versions; accept both.
    app.get<{ Params: { token: string; method: string } }>('/bot:token/:method', async (request, reply) => {
      if (request.params.token !== this.token) return reply.code(401).send({ ok: false, error_code: 401, description: 'Unauthorized' });
      const result = await this.handle(request.params.method, (request.query ?? {}) as Json);
      if ('error' in result) return reply.code(result.error.error_code).send({ ok: false, ...result.error });
      return { ok: true, result: result.value };
    });
    this.url = (await app.listen({ host: '127.0.0.1', port })).replace(/\/$/, '');
    this.app = app;
  }

  async close(): Promise<void> {
    for (const wake of this.pollers.splice(0)) wake();
    await this.app.close();
  }

  // ------------------------------------------------------------ acting as users

  /** A user writes in a chat (their private chat unless `chatId` says otherwise). Commands get their entity. */
  userSays(user: StandInUser, text: string, chatId = user.id): void {
    const command = /^\/[^\s@]+(@\S+)?/.exec(text)?.[0];
    this.push({
      message: {
        message_id: this.allocateMessageId(chatId),
        date: now(),
        chat: chatOf(chatId, user),
        from: { is_bot: false, ...user },
        text,
        ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command.length }] } : {}),
      },
    });
  }

  /** A user presses a button under one of the bot's messages. */
  press(user: StandInUser, message: StoredMessage, callbackData: string): string {
    const id = String(this.nextUpdateId * 1000 + Math.floor(Math.random() * 1000));
    this.push({
      callback_query: {
        id,
        from: { is_bot: false, ...user },
        chat_instance: String(message.chatId),
        data: callbackData,
        message: { message_id: message.messageId, date: now(), chat: chatOf(message.chatId, user), text: message.text },
      },
    });
    return id;
  }

  /** Every method fails with this status until `recover` (an outage of Telegram). */
  failWith(status: number, description = 'Bad Gateway'): void {
    this.outage = { status, description };
  }

  recover(): void {
    this.outage = null;
  }

  // ------------------------------------------------------------ reading what the bot did

  sentTo(chatId: number): StoredMessage[] {
    return this.events.filter((e): e is Extract<BotEvent, { type: 'sent' }> => e.type === 'sent' && e.message.chatId === chatId).map((e) => e.message);
  }

  message(chatId: number, messageId: number): StoredMessage | undefined {
    return this.messages.get(`${chatId}:${messageId}`);
  }

  get registeredCommands(): unknown[] {
    return this.commands;
  }

  onEvent(listener: (event: BotEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Resolves with the first event (past or future) that matches, or rejects after `timeoutMs`. */
  waitFor<T extends BotEvent>(predicate: (event: BotEvent) => event is T, timeoutMs?: number): Promise<T>;
  waitFor(predicate: (event: BotEvent) => boolean, timeoutMs?: number): Promise<BotEvent>;
  waitFor(predicate: (event: BotEvent) => boolean, timeoutMs = 10_000): Promise<BotEvent> {
    const past = this.events.find(predicate);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`the bot did not do what was expected within ${timeoutMs} ms; it did: ${JSON.stringify(this.events.slice(-5))}`));
      }, timeoutMs);
      const off = this.onEvent((event) => {
        if (!predicate(event)) return;
        clearTimeout(timer);
        off();
        resolve(event);
      });
    });
  }

  // ------------------------------------------------------------ the Bot API

  private async handle(name: string, p: Json): Promise<{ value: unknown } | { error: { error_code: number; description: string; parameters?: Json } }> {
    if (!served.has(name)) return fail(404, 'Not Found: method not found');
    const method = name as ServedMethod;
    switch (method) {
      case 'getMe':
        return { value: { ...BOT_USER, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false } };
      case 'getUpdates':
        if (this.webhook) return fail(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
        return { value: await this.getUpdates(Number(p.offset ?? 0), Number(p.timeout ?? 0), Number(p.limit ?? 100)) };
      case 'setWebhook':
        this.webhook = { url: String(p.url), ...(p.secret_token ? { secret: String(p.secret_token) } : {}) };
        this.flushToWebhook();
        return { value: true };
      case 'deleteWebhook':
        this.webhook = null;
        return { value: true };
      case 'getWebhookInfo':
        return { value: { url: this.webhook?.url ?? '', has_custom_certificate: false, pending_update_count: this.updates.length } };
      case 'setMyCommands':
        this.commands = (p.commands as unknown[]) ?? [];
        return { value: true };
      case 'sendMessage':
      case 'sendPhoto':
      case 'sendDocument': {
        const captioned = method !== 'sendMessage';
        const text = String(captioned ? (p.caption ?? '') : (p.text ?? ''));
        if (!captioned && text.length === 0) return fail(400, 'Bad Request: message text is empty');
        if (text.length > (captioned ? 1024 : 4096)) return fail(400, `Bad Request: ${captioned ? 'caption' : 'message'} is too long`);
        const document = method === 'sendDocument' ? documentOf(attached(p, p.document), p) : undefined;
        if (method === 'sendDocument' && !document) return fail(400, 'Bad Request: there is no document in the request');
        const htmlError = p.parse_mode === 'HTML' ? checkTelegramHtml(text) : null;
        if (htmlError) return fail(400, htmlError);
        const chatId = Number(p.chat_id);
        const replyTo = (p.reply_parameters as Json | undefined)?.message_id;
        const message: StoredMessage = {
          chatId,
          messageId: this.allocateMessageId(chatId),
          text,
          ...(typeof p.parse_mode === 'string' ? { parseMode: p.parse_mode } : {}),
          buttons: buttonsOf(p.reply_markup),
          ...(method === 'sendPhoto' ? { photo: photoOf(attached(p, p.photo)) } : {}),
          ...(document ? { document } : {}),
          ...(typeof replyTo === 'number' ? { replyTo } : {}),
          edits: 0,
        };
        this.messages.set(`${chatId}:${message.messageId}`, message);
        this.emit({ type: 'sent', message });
        return { value: { message_id: message.messageId, date: now(), chat: chatOf(chatId), text, from: BOT_USER } };
      }
      case 'editMessageText':
      case 'editMessageReplyMarkup': {
        const message = this.messages.get(`${Number(p.chat_id)}:${Number(p.message_id)}`);
        if (!message) return fail(400, 'Bad Request: message to edit not found');
        const text = method === 'editMessageText' ? String(p.text ?? '') : message.text;
        const buttons = buttonsOf(p.reply_markup);
        if (text === message.text && JSON.stringify(buttons) === JSON.stringify(message.buttons)) {
          return fail(400, 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');
        }
        const htmlError = method === 'editMessageText' && p.parse_mode === 'HTML' ? checkTelegramHtml(text) : null;
        if (htmlError) return fail(400, htmlError);
        message.text = text;
        message.buttons = buttons;
        message.edits++;
        this.emit({ type: 'edited', message: { ...message } });
        return { value: { message_id: message.messageId, date: now(), chat: chatOf(message.chatId), text } };
      }
      case 'answerCallbackQuery':
        this.emit({
          type: 'answered',
          callbackQueryId: String(p.callback_query_id),
          ...(typeof p.text === 'string' ? { text: p.text } : {}),
          showAlert: p.show_alert === true || p.show_alert === 'true',
        });
        return { value: true };
    }
  }

  private push(update: Json): void {
    this.updates.push({ update_id: this.nextUpdateId++, ...update });
    if (this.webhook) this.flushToWebhook();
    for (const wake of this.pollers.splice(0)) wake();
  }

  /**
   * A getUpdates over HTTP: while it waits, a second one (another bot polling with the same token) ends it with
   * 409, as Telegram does. A poll whose caller went away (a killed process) is not counted as a conflict.
   */
  private async poll(p: Json, response: { once(event: 'close', listener: () => void): unknown; writableFinished: boolean }): Promise<{ value: unknown } | { error: { error_code: number; description: string } }> {
    if (this.openPoll && !this.openPoll.gone) {
      this.conflicts++;
      this.openPoll.terminate();
    }
    let terminated = false;
    const mine = {
      gone: false,
      terminate: () => {
        terminated = true;
        for (const wake of this.pollers.splice(0)) wake();
      },
    };
    response.once('close', () => {
      if (!response.writableFinished) mine.gone = true;
    });
    this.openPoll = mine;
    try {
      const updates = await this.getUpdates(Number(p.offset ?? 0), Number(p.timeout ?? 0), Number(p.limit ?? 100));
      if (terminated) return fail(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running');
      return { value: updates };
    } finally {
      if (this.openPoll === mine) this.openPoll = null;
    }
  }

  private async getUpdates(offset: number, timeoutSeconds: number, limit: number): Promise<Json[]> {
    // Asking with an offset confirms every earlier update.
    if (offset > 0) this.updates = this.updates.filter((u) => (u.update_id as number) >= offset);
    if (this.updates.length === 0 && timeoutSeconds > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(timeoutSeconds, 30) * 1000);
        this.pollers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.outage) return [];
    if (this.updates.length === 0) this.idlePolls++;
    return this.updates.slice(0, limit);
  }

  private flushToWebhook(): void {
    const webhook = this.webhook;
    if (!webhook) return;
    const pending = this.updates.splice(0);
    void (async () => {
      for (const update of pending) {
        await fetch(webhook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(webhook.secret ? { 'x-telegram-bot-api-secret-token': webhook.secret } : {}) },
          body: JSON.stringify(update),
        }).catch(() => this.updates.push(update));
      }
    })();
  }

  private allocateMessageId(chatId: number): number {
    const id = (this.nextMessageId.get(chatId) ?? 0) + 1;
    this.nextMessageId.set(chatId, id);
    return id;
  }

  private emit(event: BotEvent): void {
    this.events.push(event);
    for (const listener of [...this.listeners]) listener(event);
  }
}

function fail(error_code: number, description: string) {
  return { error: { error_code, description } };
}

const now = () => Math.floor(Date.now() / 1000);

function chatOf(chatId: number, user?: StandInUser): Json {
  if (chatId > 0) return { id: chatId, type: 'private', first_name: user?.first_name ?? 'user' };
  return { id: chatId, type: String(chatId).startsWith('-100') ? 'supergroup' : 'group', title: `chat ${chatId}` };
}

function buttonsOf(markup: unknown): Button[][] {
  const parsed = typeof markup === 'string' ? (JSON.parse(markup) as unknown) : markup;
  const rows = (parsed as { inline_keyboard?: Button[][] } | undefined)?.inline_keyboard ?? [];
  return rows.map((row) => row.map((b) => ({ text: b.text, ...(b.callback_data ? { callback_data: b.callback_data } : {}), ...(b.url ? { url: b.url } : {}) })));
}

/** grammY uploads files as separate parts and refers to them as attach://<name>. */
function attached(payload: Json, value: unknown): unknown {
  return typeof value === 'string' && value.startsWith('attach://') ? payload[value.slice('attach://'.length)] : value;
}

function photoOf(photo: unknown): { bytes: number; isPng: boolean } {
  const buffer = Buffer.isBuffer(photo) ? photo : Buffer.alloc(0);
  return { bytes: buffer.length, isPng: buffer.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) };
}

/** A document as grammY uploads it: the file's part, named by the file name grammY gives that part. */
function documentOf(file: unknown, payload: Json): { bytes: number; fileName: string } | undefined {
  if (!Buffer.isBuffer(file)) return undefined;
  const name = typeof payload[DOCUMENT_NAME] === 'string' ? (payload[DOCUMENT_NAME] as string) : 'document';
  return { bytes: file.length, fileName: name };
}

/** Where readPayload leaves the file name of an uploaded part. */
const DOCUMENT_NAME = '__file_name';

/** JSON bodies come as objects; multipart bodies (sendPhoto, sendDocument) as fields, files as buffers. */
async function readPayload(body: unknown): Promise<Json> {
  if (!body || typeof body !== 'object') return {};
  const payload: Json = {};
  for (const [key, field] of Object.entries(body as Json)) {
    const part = field as { type?: string; value?: unknown; toBuffer?: () => Promise<Buffer> };
    if (part && typeof part === 'object' && part.type === 'file' && part.toBuffer) {
      payload[key] = await part.toBuffer();
      const fileName = (part as { filename?: unknown }).filename;
      if (typeof fileName === 'string') payload[DOCUMENT_NAME] = fileName;
    }
    else if (part && typeof part === 'object' && part.type === 'field') payload[key] = parseField(part.value);
    else payload[key] = field;
  }
  return payload;
}

function parseField(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}
