import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import type { Transformer } from 'grammy';
import type { Update, UserFromGetMe } from 'grammy/types';
import { createBot } from '../bot/bot.ts';
import type { BotServices, BotSettings } from '../bot/context.ts';
import type { DB } from '../db/open.ts';
import { Dispatcher } from '../delivery/dispatcher.ts';
import { unpaced } from '../delivery/pacer.ts';
import { TelegramDelivery } from '../bot/delivery.ts';
import { silentLogger } from './helpers.ts';
import { noteOutgoing } from './russian-words.ts';
import { getUser } from '../db/users.ts';

async function isEnglish(db: DB, chatId: number): Promise<boolean> {
  try {
    return (await getUser(db, chatId))?.language === 'en';
  } catch {
    // The database may be closed on purpose by the test (a handler error); the message is then not a staff member's.
    return false;
  }
}

export const BOT_INFO: UserFromGetMe = {
  id: 42,
  is_bot: true,
  first_name: 'Дозор',
  username: 'dozor_test_bot',
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
} as UserFromGetMe;

export interface ApiCall {
  method: string;
  payload: Record<string, unknown>;
}

export interface Person {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

/** A failure the fake Bot API answers with instead of success, once per matching call. */
export interface PlannedFailure {
  method: string;
  chatId?: number;
  error_code: number;
  description: string;
  parameters?: Record<string, unknown>;
  times?: number;
}

/**
 * The real bot, built by its factory with `botInfo` given, its outgoing calls
 * recorded by an API transformer that answers like Telegram would (a Message
 * for sendMessage, true for answerCallbackQuery), and updates fed through
 * handleUpdate.
 */
export function botHarness(db: DB, clock: () => Date, settings: Partial<BotSettings> = {}, extra: Pick<BotServices, 'sendMail'> = {}) {
  const calls: ApiCall[] = [];
  const failures: PlannedFailure[] = [];
  let nextMessageId = 1000;
  let nextUpdateId = 1;
  let incidentChanges = 0;
  /** While set, every call is answered by it (an outage): a failure to return, or an error to throw. */
  let outage: ((method: string) => PlannedFailure | Error) | null = null;
  const services: BotServices = {
    db,
    clock,
    logger: silentLogger(),
    settings: {
      displayTz: 'Europe/Moscow',
      runbookBaseUrl: 'https://dozor.example.ru/runbooks/',
      morningHour: 9,
      defaultQuietHours: { from: 22 * 60, to: 8 * 60 },
      digest: { tz: 'Europe/Moscow', salesMinDays: 3 },
      ...settings,
    },
    incidentSettings: DEFAULT_INCIDENT_SETTINGS,
    onIncidentChange: () => incidentChanges++,
    ...extra,
  };

  const build = () => {
    const recorder: Transformer = async (_prev, method, payload) => {
      const body = (payload ?? {}) as Record<string, unknown>;
      calls.push({ method, payload: body });
      // What a Russian speaker reads is checked for stray Latin words (test/setup.ts).
      const chatId = typeof body.chat_id === 'number' ? body.chat_id : null;
      const english = chatId === null ? lastPerson?.language_code === 'en' : chatId > 0 && (await isEnglish(db, chatId));
      if (!english) noteOutgoing(method, body);
      if (outage) {
        const answer = outage(method);
        if (answer instanceof Error) throw answer;
        const { error_code, description, parameters } = answer;
        return { ok: false, error_code, description, ...(parameters ? { parameters } : {}) } as never;
      }
      const failure = failures.find((f) => f.method === method && (f.chatId === undefined || f.chatId === body.chat_id));
      if (failure) {
        failure.times = (failure.times ?? 1) - 1;
        if (failure.times <= 0) failures.splice(failures.indexOf(failure), 1);
        const { error_code, description, parameters } = failure;
        // The transformer's answer stands in for Telegram's JSON; its type is the method's, hence the casts.
        return { ok: false, error_code, description, ...(parameters ? { parameters } : {}) } as never;
      }
      return { ok: true, result: answer(method, body) } as never;
    };
    return createBot('123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz', services, { botInfo: BOT_INFO, transformers: [recorder] });
  };

  const answer = (method: string, body: Record<string, unknown>): unknown => {
    const chat = { id: body.chat_id as number, type: (body.chat_id as number) < 0 ? 'supergroup' : 'private' };
    switch (method) {
      case 'sendMessage':
      case 'sendPhoto':
        return { message_id: nextMessageId++, date: Math.floor(clock().getTime() / 1000), chat, text: body.text };
      case 'editMessageText':
        return { message_id: body.message_id, date: Math.floor(clock().getTime() / 1000), chat, text: body.text };
      default:
        return true;
    }
  };

  let bot = build();

  let lastPerson: Person | undefined;
  const update = async (partial: Omit<Update, 'update_id'>) => {
    await bot.handleUpdate({ update_id: nextUpdateId++, ...partial } as Update);
  };

  // Positive ids are private chats, negative ones groups, as in Telegram.
  const chatOf = (person: Person, chatId?: number) =>
    chatId === undefined || chatId > 0
      ? { id: chatId ?? person.id, type: 'private' as const, first_name: person.first_name }
      : { id: chatId, type: 'supergroup' as const, title: 'Алерты' };

  return {
    calls,
    failures,
    services,
    get bot() {
      return bot;
    },
    get incidentChanges() {
      return incidentChanges;
    },
    /** Make every API call fail (or throw) until called with null. */
    setOutage(next: ((method: string) => PlannedFailure | Error) | null) {
      outage = next;
    },
    /** A fresh bot on the same database, as after a restart of the process. */
    restart() {
      bot = build();
    },
    /** A person types a message (a command if it starts with "/"). */
    async say(person: Person, text: string, chatId?: number) {
      lastPerson = person;
      const command = /^\/\S+/.exec(text)?.[0];
      await update({
        message: {
          message_id: nextMessageId++,
          date: Math.floor(clock().getTime() / 1000),
          chat: chatOf(person, chatId),
          from: { is_bot: false, ...person },
          text,
          ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command.length }] } : {}),
        },
      } as Omit<Update, 'update_id'>);
    },
    /** A person presses a button under a message the bot sent. */
    async press(person: Person, data: string, message: { chatId: number; messageId: number }) {
      lastPerson = person;
      await update({
        callback_query: {
          id: String(nextUpdateId),
          from: { is_bot: false, ...person },
          chat_instance: 'ci',
          data,
          message: {
            message_id: message.messageId,
            date: Math.floor(clock().getTime() / 1000),
            chat: chatOf(person, message.chatId),
            text: 'сообщение',
          },
        },
      } as Omit<Update, 'update_id'>);
    },
    /** The outbox delivered through this bot's API, as the service does. */
    dispatcher(groupWindowMs = 30_000) {
      const delivery = new TelegramDelivery({ api: bot.api, db, clock, logger: silentLogger(), settings: services.settings });
      return new Dispatcher({ db, delivery, clock, logger: silentLogger(), pacer: unpaced, groupWindowMs, retryBaseMs: 1000 });
    },
    sent(method = 'sendMessage') {
      return calls.filter((c) => c.method === method);
    },
    lastSent(method = 'sendMessage') {
      const list = calls.filter((c) => c.method === method);
      return list[list.length - 1];
    },
    clear() {
      calls.length = 0;
    },
  };
}

/** Button texts and callback data of a recorded call's inline keyboard. */
export function buttonsOf(call: ApiCall | undefined): { text: string; data: string }[] {
  const markup = call?.payload.reply_markup as { inline_keyboard?: { text: string; callback_data: string }[][] } | undefined;
  return (markup?.inline_keyboard ?? []).flat().map((b) => ({ text: b.text, data: b.callback_data }));
}
