import { Composer, InlineKeyboard } from 'grammy';
import { recordAudit } from '../../db/audit.ts';
import { decideAccessRequest, getAccessRequest, saveAccessRequest } from '../../db/access-requests.ts';
import { isClientChat } from '../../db/clients.ts';
import { listActiveAdmins } from '../../db/users.ts';
import { addUser } from '../../registry/users.ts';
import { actorOf, type BotContext } from '../context.ts';
import { escapeHtml } from '../html.ts';
import { langOf } from '../i18n.ts';
import { texts } from '../texts.ts';

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
  const previous = getAccessRequest(db, from.id);
  if (previous?.status === 'refused') return ctx.reply(t.accessRefusedBefore);
  if (previous?.status === 'pending') return ctx.reply(t.accessPending(from.id), { parse_mode: 'HTML' });

  const name = [from.first_name, from.last_name].filter(Boolean).join(' ').slice(0, 100) || String(from.id);
  saveAccessRequest(db, {
    telegramId: from.id,
    name,
    username: from.username ?? null,
    language: from.language_code ?? null,
    requestedAt: clock(),
    status: 'pending',
    decidedBy: null,
    decidedAt: null,
  });
  recordAudit(db, { at: clock(), actor: actorOf(from.id), action: 'access.request', subjectType: 'user', subjectId: from.id });
  const admins = listActiveAdmins(db);
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
    recordAudit(db, { at: clock(), actor: actorOf(ctx.from.id), action: 'access.decide.denied', subjectType: 'user', subjectId: ctx.match[2] });
    return ctx.answerCallbackQuery({ text: t.adminsOnly, show_alert: true });
  }
  const decision = ctx.match[1] as 'manager' | 'lead' | 'refuse';
  const telegramId = Number(ctx.match[2]);
  const request = getAccessRequest(db, telegramId);
  if (!request || request.status !== 'pending') {
    await ctx.answerCallbackQuery({ text: t.alreadyDecided });
    return ctx.editMessageReplyMarkup({ reply_markup: undefined }).catch(() => undefined);
  }
  const requester = texts(langOf(request.language));
  if (decision === 'refuse') {
    decideAccessRequest(db, telegramId, 'refused', staff.telegramId, clock());
    recordAudit(db, { at: clock(), actor: actorOf(staff.telegramId), action: 'access.refuse', subjectType: 'user', subjectId: telegramId });
    await ctx.editMessageText(`${ctx.callbackQuery.message?.text ?? ''}\n${t.refusedBy(staff.name)}`).catch(() => undefined);
    return ctx.answerCallbackQuery({ text: t.refusedBy(staff.name) });
  }
  addUser({ db, clock, actor: actorOf(staff.telegramId) }, { telegramId, name: request.name, role: decision });
  decideAccessRequest(db, telegramId, 'approved', staff.telegramId, clock());
  const role = t.roles[decision] ?? decision;
  await ctx.editMessageText(`${ctx.callbackQuery.message?.text ?? ''}\n${t.approvedAs(role, staff.name)}`).catch(() => undefined);
  await ctx.api.sendMessage(telegramId, requester.welcome(request.name)).catch((err: unknown) => ctx.log.warn({ err }, 'could not greet a new user'));
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
  if (chat && chat.type !== 'private' && !isClientChat(ctx.services.db, chat.id)) {
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
