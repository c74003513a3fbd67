import { Composer, InlineKeyboard } from 'grammy';
import { recordAudit } from '../../db/audit.ts';
import { isClientChat } from '../../db/clients.ts';
import { listActiveAdmins } from '../../db/users.ts';
import { langOf, texts } from '../../i18n/index.ts';
import { decideAccess, requestAccess, type AccessDecision } from '../../registry/access.ts';
import { actorOf, type BotContext } from '../context.ts';
import { escapeHtml } from '../html.ts';

/**
 * Who gets in. Strangers who send /start learn their Telegram id and their
 * request goes to every admin with buttons (manager / lead / refuse). Nobody
 * else who is not active staff gets an answer, except a short refusal in a
 * private chat.
 */
export const access = new Composer<BotContext>();

access.chatType('private').command('start', async (ctx) => {
  const { staff, t } = ctx;
  if (staff?.active) return ctx.reply(t.hello(staff.name, t.roles[staff.role] ?? staff.role));
  if (staff) return ctx.reply(t.disabled);
  const { db, clock } = ctx.services;
  const from = ctx.from;
  const name = [from.first_name, from.last_name].filter(Boolean).join(' ').slice(0, 100) || String(from.id);
  const asked = await requestAccess(
    { db, clock, actor: actorOf(from.id) },
    { telegramId: from.id, name, username: from.username ?? null, language: from.language_code ?? null },
  );
  if (asked === 'refused') return ctx.reply(t.accessRefusedBefore);
  if (asked === 'pending') return ctx.reply(t.accessPending(from.id), { parse_mode: 'HTML' });
  const admins = await listActiveAdmins(db);
  if (admins.length === 0) return ctx.reply(`${t.accessRequested(from.id)}\n${t.noAdmins}`, { parse_mode: 'HTML' });
  for (const admin of admins) {
    const at = texts(langOf(admin.language));
    await ctx.api
      .sendMessage(admin.telegramId, at.accessRequestForAdmins(escapeHtml(name), from.id, from.username ? escapeHtml(from.username) : null), {
        parse_mode: 'HTML',
        reply_markup: new InlineKeyboard()
          .text(at.approveManager, `req:manager:${from.id}`)
          .text(at.approveLead, `req:lead:${from.id}`)
          .row()
          .text(at.refuse, `req:refuse:${from.id}`),
      })
      .catch((err: unknown) => ctx.log.warn({ err, admin: admin.telegramId }, 'could not tell an admin about an access request'));
  }
  return ctx.reply(t.accessRequested(from.id), { parse_mode: 'HTML' });
});

access.callbackQuery(/^req:(manager|lead|refuse):(\d+)$/, async (ctx) => {
  const { staff, t } = ctx;
  const { db, clock } = ctx.services;
  if (!staff?.active || staff.role !== 'admin') {
    await recordAudit(db, { at: clock(), actor: actorOf(ctx.from.id), action: 'access.decide.denied', subjectType: 'user', subjectId: ctx.match[2] });
    return ctx.answerCallbackQuery({ text: t.adminsOnly, show_alert: true });
  }
  const decision = ctx.match[1] as AccessDecision;
  const telegramId = Number(ctx.match[2]);
  const decided = await decideAccess({ db, clock, actor: actorOf(staff.telegramId) }, staff.telegramId, telegramId, decision);
  if (decided.outcome === 'already') {
    await ctx.answerCallbackQuery({ text: t.alreadyDecided });
    return ctx.editMessageReplyMarkup({ reply_markup: undefined }).catch(() => undefined);
  }
  if (decided.outcome === 'refused') {
    await ctx.editMessageText(`${ctx.callbackQuery.message?.text ?? ''}\n${t.refusedBy(staff.name)}`).catch(() => undefined);
    return ctx.answerCallbackQuery({ text: t.refusedBy(staff.name) });
  }
  const role = t.roles[decision] ?? decision;
  await ctx.editMessageText(`${ctx.callbackQuery.message?.text ?? ''}\n${t.approvedAs(role, staff.name)}`).catch(() => undefined);
  const requester = texts(langOf(decided.request.language));
  await ctx.api.sendMessage(telegramId, requester.welcome(decided.request.name)).catch((err: unknown) => ctx.log.warn({ err }, 'could not greet a new user'));
  return ctx.answerCallbackQuery({ text: t.approvedAs(role, staff.name) });
});

/**
 * Everything past this point is for active staff only, and in groups only in
 * the clients' notification chats: a group the bot was added to by someone
 * else hears nothing from it, whoever asks.
 */
export const staffOnly = new Composer<BotContext>();
staffOnly.use(async (ctx, next) => {
  const chat = ctx.chat;
  if (chat && chat.type !== 'private' && !(await isClientChat(ctx.services.db, chat.id))) {
    if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: ctx.t.noAccess, show_alert: true });
    return;
  }
  if (ctx.staff?.active) return next();
  const t = ctx.t;
  if (ctx.callbackQuery) {
    ctx.log.info({ from: ctx.from?.id, data: ctx.callbackQuery.data }, 'press from someone who is not staff refused');
    return ctx.answerCallbackQuery({ text: ctx.staff ? t.disabled : t.noAccess, show_alert: true });
  }
  // In groups strangers are simply not answered; in a private chat they learn how to ask.
  if (ctx.chat?.type === 'private' && ctx.message) return ctx.reply(ctx.staff ? t.disabled : t.noAccess);
});
