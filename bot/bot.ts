import { conversations } from '@grammyjs/conversations';
import { sequentialize } from '@grammyjs/runner';
import { Bot, Composer, type ApiClientOptions, type BotError, type Context, type Transformer } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { deleteValue, readValue, writeValue } from '../db/key-value.ts';
import { getUser, listActiveAdmins, updateUser } from '../db/users.ts';
import { enqueue, NOTICE } from '../db/outbox.ts';
import { access, staffOnly } from './features/access.ts';
import { adminFeature } from './features/admin.ts';
import { alerts } from './features/alerts.ts';
import { commands } from './features/commands.ts';
import { reports } from './features/reports.ts';
import { web } from './features/web.ts';
import { files } from './features/files.ts';
import { agent } from './features/agent.ts';
import { silences } from './features/silences.ts';
import { email } from './features/email.ts';
import { actorOf, type BotContext, type BotServices } from './context.ts';
import { recordAudit } from '../db/audit.ts';
import { langOf } from '../i18n/index.ts';
import { texts } from '../i18n/index.ts';
import { distance } from 'fastest-levenshtein';
import { escapeHtml } from './html.ts';

export interface BotOptions {
  /** Given in tests so the bot needs no getMe call. */
  botInfo?: UserFromGetMe;
  /** A self-hosted Bot API server (TELEGRAM_API_ROOT). */
  apiRoot?: string;
  /** How long any Bot API call may take (longer than the long poll, when the bot polls). */
  timeoutSeconds?: number;
  /**
   * API transformers (auto-retry; a recorder in tests). Installed on the bot's
   * API and inside conversations, which build their own API object.
   */
  transformers?: Transformer[];
}

/** Bump when a conversation's code changes in a way old saved dialogues would not replay. */
const CONVERSATIONS_VERSION = 3;

/** The bot, built from its dependencies: the service runs it, tests feed it updates. */
export function createBot(token: string, services: BotServices, options: BotOptions = {}): Bot<BotContext> {
  // A call that hangs is given up (and retried by the outbox) rather than blocking its chat for minutes.
  const client: ApiClientOptions = { timeoutSeconds: options.timeoutSeconds ?? 30, ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}) };
  const bot = new Bot<BotContext>(token, { client, ...(options.botInfo ? { botInfo: options.botInfo } : {}) });
  const transformers = options.transformers ?? [];
  for (const transformer of transformers) bot.api.config.use(transformer);

  // Updates of one chat are handled one after another (conversations rely on it); chats run side by side.
  bot.use(sequentialize((ctx) => ctx.chat?.id.toString()));

  // Every handler error ends here, in polling and webhook mode alike: logged, and the user gets a short apology.
  const guarded = bot.errorBoundary(apologize);

  // Who is this, in which language: read fresh on every update, so a disabled person is cut off at once.
  guarded.use(async (ctx, next) => {
    ctx.services = services;
    ctx.log = services.logger.child({ updateId: ctx.update.update_id });
    const from = ctx.from;
    ctx.staff = from ? ((await getUser(services.db, from.id)) ?? null) : null;
    if (ctx.staff && from?.language_code && ctx.staff.language !== from.language_code) {
      ctx.staff = await updateUser(services.db, ctx.staff.telegramId, { language: from.language_code });
    }
    ctx.lang = langOf(from?.language_code ?? ctx.staff?.language);
    ctx.t = texts(ctx.lang);
    await next();
  });

  // Alerts sent to a group that Telegram migrated are re-sent by the delivery; nothing to do for the service message itself.
  guarded.on('message:migrate_to_chat_id', () => undefined);

  // Added to a group or channel: the admins are told its id and title, the way to give it to a client (/addclient).
  guarded.on('my_chat_member', async (ctx) => {
    const added = ['member', 'administrator'].includes(ctx.myChatMember.new_chat_member.status) && !['member', 'administrator'].includes(ctx.myChatMember.old_chat_member.status);
    const chat = ctx.myChatMember.chat;
    // Only staff adding it counts: a stranger adding the bot to groups must not fill the admins' chats.
    if (!added || chat.type === 'private' || !ctx.staff?.active) return;
    const now = services.clock();
    for (const admin of await listActiveAdmins(services.db)) {
      const text = texts(langOf(admin.language)).botAddedToChat('title' in chat ? (chat.title ?? '') : '', chat.id, ctx.from?.first_name ?? '');
      await enqueue(services.db, { kind: NOTICE, chatId: admin.telegramId, incidentId: null, payload: { text } }, now);
    }
    services.onIncidentChange();
  });

  guarded.use(access);
  guarded.use(staffOnly);
  guarded.use(
    conversations<BotContext, Context>({
      plugins: [
        async (ctx, next) => {
          for (const transformer of transformers) ctx.api.config.use(transformer);
          await next();
        },
      ],
      storage: {
        type: 'key',
        version: CONVERSATIONS_VERSION,
        getStorageKey: (ctx) => (ctx.chat && ctx.from ? `conversation:${ctx.chat.id}:${ctx.from.id}` : undefined),
        adapter: {
          read: (key) => readValue(services.db, key),
          write: (key, state) => writeValue(services.db, key, state, services.clock()),
          delete: (key) => deleteValue(services.db, key),
        },
      },
    }),
  );
  guarded.command('cancel', async (ctx) => {
    const active = Object.keys(ctx.conversation.active()).length > 0;
    await ctx.conversation.exitAll();
    return ctx.reply(active ? ctx.t.cancelled : ctx.t.nothingToCancel);
  });
  guarded.use(adminFeature(services));
  guarded.use(alerts);
  guarded.use(commands);
  guarded.use(reports);
  guarded.use(web);
  guarded.use(files);
  guarded.use(agent);
  guarded.use(silences);
  guarded.use(email);
  guarded.use(unhandled);
  bot.catch(apologize);
  return bot;

  async function apologize(err: BotError<BotContext>): Promise<void> {
    const ctx = err.ctx;
    (ctx.log ?? services.logger).error({ err: err.error, update: ctx.update.update_id }, 'handler failed');
    const sorry = (ctx.t ?? texts('ru')).sorry;
    try {
      if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: sorry });
      else if (ctx.chat) await ctx.reply(sorry);
    } catch {
      // Telegram itself is failing; the log line above is all we can do.
    }
  }
}

/** Presses on buttons nobody handles (stale or forged) are refused, written to the audit log, and answered so the spinner stops. */
const unhandled = new Composer<BotContext>();
unhandled.on('callback_query:data', async (ctx) => {
  const data = ctx.callbackQuery.data.slice(0, 64);
  ctx.log.info({ data }, 'unknown button');
  await recordAudit(ctx.services.db, { at: ctx.services.clock(), actor: actorOf(ctx.from.id), action: 'callback.unknown', subjectType: 'callback', subjectId: data });
  return ctx.answerCallbackQuery({ text: ctx.t.forbidden });
});

/**
 * A command nobody handles is not met with silence: in a private chat (or
 * addressed to the bot in a group) the answer names the closest command
 * there is, and what the bot can do.
 */
unhandled.on('message:text', async (ctx) => {
  const match = /^\/([\p{L}\w]+)(?:@(\w+))?/u.exec(ctx.message.text);
  if (!match) return;
  const [, typed, addressee] = match;
  if (ctx.chat.type !== 'private' && addressee?.toLowerCase() !== ctx.me.username.toLowerCase()) return;
  const known = Object.keys(ctx.t.commands);
  const closest = known.map((command) => ({ command, d: distance(command, typed!.toLowerCase()) })).sort((a, b) => a.d - b.d)[0];
  const guess = closest && closest.d <= 2 ? closest.command : null;
  return ctx.reply(`${ctx.t.unknownCommand(escapeHtml(typed!), guess)}\n\n${ctx.t.help}`, { parse_mode: 'HTML' });
});

/** The command menu, in Russian and English. */
export async function registerCommands(bot: Bot<BotContext>): Promise<void> {
  for (const lang of ['ru', 'en'] as const) {
    const t = texts(lang);
    await bot.api.setMyCommands(
      Object.entries(t.commands).map(([command, description]) => ({ command, description })),
      lang === 'en' ? { language_code: 'en' } : {},
    );
  }
}
