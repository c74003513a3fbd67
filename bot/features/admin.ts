import { createConversation, type Conversation } from '@grammyjs/conversations';
import { Composer, InlineKeyboard, type Context } from 'grammy';
import { z } from 'zod';
import { InputError } from '../../core/errors.ts';
import { listPendingRequests } from '../../db/access-requests.ts';
import { recordAudit } from '../../db/audit.ts';
import { getUser, listUsers } from '../../db/users.ts';
import { INSTALLATION_KINDS } from '../../db/schema.ts';
import { describeError, texts, type Lang } from '../../i18n/index.ts';
import { addClient, assignManager, resolveClient } from '../../registry/clients.ts';
import {
  displayName,
  hostName,
  inn as innField,
  ipAddress,
  kind as kindField,
  telegramChatId,
  telegramUserId,
  validate,
  webUrl,
} from '../../registry/fields.ts';
import type { Subject } from '../../core/errors.ts';
import { addInstallation } from '../../registry/installations.ts';
import { setUploadName } from '../../registry/uploads.ts';
import { listInstallationsOfClient } from '../../db/installations.ts';
import { getUpload } from '../../db/uploads.ts';
import { listAlertRoutes } from '../../db/alert-routes.ts';
import { findAlertTargets, type AlertTarget } from '../../db/installations.ts';
import { getUnmatchedAlert, listUnmatchedAlerts, type UnmatchedAlert } from '../../db/unmatched-alerts.ts';
import { alertSource, sourceKey } from '../../core/external-alerts.ts';
import { routeAlerts, unrouteAlerts } from '../../registry/alert-routes.ts';
import { setUserActive } from '../../registry/users.ts';
import { actorOf, type BotContext, type BotServices } from '../context.ts';
import { escapeHtml } from '../html.ts';

/** An answer the dialogue refuses, with the reason already in the admin's language. */
class Refusal extends Error {}

/** The chat a forwarded message came from, when Telegram says (a channel, or a group's anonymous admin). */
function forwardedChat(answer: Context): { id: number; title?: string } | null {
  const origin = answer.message?.forward_origin;
  if (origin?.type === 'channel') return { id: origin.chat.id, title: origin.chat.title };
  if (origin?.type === 'chat') return { id: origin.sender_chat.id, ...('title' in origin.sender_chat ? { title: origin.sender_chat.title } : {}) };
  return null;
}

/**
 * Admin work in the chat: dialogues to add a client, add an installation (its
 * agent token shown once) and assign a manager, plus access requests and
 * switching people off. Dialogues are replayed from SQLite, so a restart in
 * the middle loses nothing; every side effect goes through `external`.
 */
export function adminFeature(services: BotServices): Composer<BotContext> {
  const admin = new Composer<BotContext>();
  const isAdmin = (ctx: BotContext) => ctx.staff?.active === true && ctx.staff.role === 'admin';
  const actor = (telegramId: number) => ({ db: services.db, clock: services.clock, actor: actorOf(telegramId) });

  type Convo = Conversation<BotContext, Context>;
  /** The outcome of registry work inside a dialogue: what it made, or what is wrong, said in the admin's language. */
  type Done<T> = { ok: true; value: T } | { ok: false; message: string };

  /** Run registry work as a side effect of the dialogue; an input error becomes a message (dialogue state must stay plain data). */
  function attempt<T>(conversation: Convo, lang: Lang, work: () => T | Promise<T>): Promise<Done<T>> {
    return conversation.external(async (): Promise<Done<T>> => {
      try {
        return { ok: true, value: await work() };
      } catch (err) {
        if (err instanceof InputError) return { ok: false, message: describeError(err, lang) };
        throw err;
      }
    });
  }

  /**
   * Ask until the answer passes `accept` (which throws InputError with what is
   * wrong). Only text, or a press on this question's own buttons, is an answer:
   * a press on anything else (an alert's «Принять») and any command (/cancel,
   * /status) go on to their own handlers, and the question keeps waiting.
   */
  async function ask<T>(
    conversation: Convo,
    ctx: Context,
    lang: Lang,
    question: string,
    accept: (text: string, answer: Context) => T | Promise<T>,
    keyboard?: InlineKeyboard,
  ): Promise<T> {
    await ctx.reply(question, keyboard ? { reply_markup: keyboard } : {});
    const ownButtons = new Set((keyboard?.inline_keyboard ?? []).flat().map((button) => ('callback_data' in button ? button.callback_data : '')));
    for (;;) {
      const answer = await conversation.wait();
      const pressed = answer.callbackQuery?.data;
      // A message forwarded from a channel answers with its chat (its text does not matter).
      const forwarded = forwardedChat(answer);
      const typed = answer.message?.text ?? (forwarded ? '' : undefined);
      if (pressed !== undefined ? !ownButtons.has(pressed) : typed === undefined || typed.startsWith('/')) await conversation.skip({ next: true });
      const text = pressed ?? typed ?? '';
      if (answer.callbackQuery) await answer.answerCallbackQuery();
      try {
        return await accept(text.trim(), answer);
      } catch (err) {
        if (err instanceof Refusal) await answer.reply(texts(lang).conv.invalid(err.message));
        else if (err instanceof InputError) await answer.reply(texts(lang).conv.invalid(describeError(err, lang)));
        else throw err;
      }
    }
  }
  const optional = (text: string) => (text === '-' || text === '' ? undefined : text);

  /** Check one answer as it is given, with the rule the registry applies to that field: the question is asked again on the spot. */
  function checked<S extends z.ZodType>(schema: S, subject: Subject, field: string) {
    return (text: string): string | undefined => {
      const value = optional(text);
      if (value === undefined) return undefined;
      validate(z.object({ [field]: schema }), { [field]: value }, subject);
      return value;
    };
  }

  async function addClientDialogue(conversation: Convo, ctx: Context) {
    const { lang, adminId } = await conversation.external((outer: BotContext) => ({ lang: outer.lang, adminId: outer.from!.id }));
    const c = texts(lang).conv;
    const name = await ask(conversation, ctx, lang, c.clientName, (t) => checked(displayName(200), 'client', 'name')(t) ?? t);
    const inn = await ask(conversation, ctx, lang, c.clientInn, checked(innField, 'client', 'inn'));
    const managerId = await ask(conversation, ctx, lang, c.clientManager, async (t) => {
      const id = checked(telegramUserId, 'client', 'managerId')(t);
      if (id === undefined) return undefined;
      const known = await conversation.external(async () => (await getUser(services.db, Number(id))) !== undefined);
      if (!known) throw new Refusal(c.notStaff(id));
      return id;
    });
    const chatId = await ask(conversation, ctx, lang, c.clientChat, (t, answer) => {
      const forwarded = forwardedChat(answer);
      return forwarded ? String(forwarded.id) : checked(telegramChatId, 'client', 'chatId')(t);
    });
    const created = await attempt(conversation, lang, async () => {
      const client = await addClient(actor(adminId), { name, inn, managerId, chatId });
      return { id: client.id, name: client.name };
    });
    await ctx.reply(created.ok ? c.clientAdded(created.value.name, created.value.id) : c.failed(created.message, '/addclient'));
  }

  async function addInstallationDialogue(conversation: Convo, ctx: Context) {
    const { lang, adminId } = await conversation.external((outer: BotContext) => ({ lang: outer.lang, adminId: outer.from!.id }));
    const t = texts(lang);
    const c = t.conv;
    const client = await ask(conversation, ctx, lang, c.installationClient, async (text) => {
      const found = await attempt(conversation, lang, async () => (await resolveClient(services.db, text)).id);
      if (!found.ok) throw new Refusal(found.message);
      return found.value;
    });
    const name = await ask(conversation, ctx, lang, c.installationName, (text) => checked(displayName(200), 'installation', 'name')(text) ?? text);
    const kinds = new InlineKeyboard();
    for (const kind of INSTALLATION_KINDS) kinds.text(t.installationKinds[kind] ?? kind, `kind:${kind}`);
    const kind = await ask(
      conversation,
      ctx,
      lang,
      c.installationKind,
      (text) => validate(z.object({ kind: kindField }), { kind: text.replace(/^kind:/, '') }, 'installation').kind,
      kinds,
    );
    const host = await ask(conversation, ctx, lang, c.installationHost, checked(hostName, 'installation', 'host'));
    const ip = await ask(conversation, ctx, lang, c.installationIp, checked(ipAddress, 'installation', 'ip'));
    const url = await ask(conversation, ctx, lang, c.installationUrl, checked(webUrl, 'installation', 'url'));
    const provider = await ask(conversation, ctx, lang, c.installationProvider, checked(displayName(100), 'installation', 'provider'));
    const created = await attempt(conversation, lang, async () => {
      const issued = await addInstallation(actor(adminId), { client: String(client), name, kind, host, ip, url, provider });
      return { id: issued.installation.id, name: issued.installation.name, token: issued.token };
    });
    // The token exists in clear only in this one message.
    await ctx.reply(
      created.ok ? c.installationAdded(escapeHtml(created.value.name), created.value.id, created.value.token) : escapeHtml(c.failed(created.message, '/addinstallation')),
      { parse_mode: 'HTML' },
    );
  }

  async function assignDialogue(conversation: Convo, ctx: Context) {
    const { lang, adminId } = await conversation.external((outer: BotContext) => ({ lang: outer.lang, adminId: outer.from!.id }));
    const c = texts(lang).conv;
    const clientRef = await ask(conversation, ctx, lang, c.assignClient, (text) => text);
    const managerRef = await ask(conversation, ctx, lang, c.assignManager, (text) => text);
    const result = await attempt(conversation, lang, async () => {
      const { client, manager } = await assignManager(actor(adminId), clientRef, managerRef);
      return { client: client.name, manager: manager.name };
    });
    await ctx.reply(result.ok ? c.assigned(result.value.client, result.value.manager) : c.failed(result.message, '/assign'));
  }

  /** Whose installation the files uploaded under a name nobody has are: the client, then one of its installations. */
  async function attachUploadDialogue(conversation: Convo, ctx: Context, name: string) {
    const { lang, adminId } = await conversation.external((outer: BotContext) => ({ lang: outer.lang, adminId: outer.from!.id }));
    const c = texts(lang).conv;
    const installations = await ask(conversation, ctx, lang, c.attachClient(name), async (text) => {
      const found = await attempt(conversation, lang, async () => {
        const client = await resolveClient(services.db, text);
        return (await listInstallationsOfClient(services.db, client.id)).map((i) => ({ id: i.id, name: i.name }));
      });
      if (!found.ok) throw new Refusal(found.message);
      if (found.value.length === 0) throw new Refusal(c.attachNoInstallations);
      return found.value;
    });
    const choices = new InlineKeyboard();
    for (const installation of installations.slice(0, 20)) choices.text(installation.name.slice(0, 40), `upi:${installation.id}`).row();
    const installationId = await ask(conversation, ctx, lang, c.attachInstallation(name), (text) => {
      const id = /^upi:(\d+)$/.exec(text)?.[1];
      if (!id) throw new Refusal(c.attachPress);
      return Number(id);
    }, choices);
    const done = await attempt(conversation, lang, async () => {
      const { installation, attached } = await setUploadName(actor(adminId), installationId, name);
      return { installation: installation.name, attached };
    });
    await ctx.reply(done.ok ? c.attached(name, done.value.installation, done.value.attached) : c.failed(done.message, c.attachAgain));
  }

  /**
   * Whose the Alertmanager alerts of one source are: one of the installations
   * that fit (when several did), or the client and then one of its installations.
   */
  async function routeAlertsDialogue(conversation: Convo, ctx: Context, fingerprint: string) {
    const { lang, adminId } = await conversation.external((outer: BotContext) => ({ lang: outer.lang, adminId: outer.from!.id }));
    const c = texts(lang).conv;
    const alert = await conversation.external(async () => {
      const row = await getUnmatchedAlert(services.db, fingerprint);
      if (!row) return null;
      const candidates: AlertTarget[] = [];
      for (const id of row.candidates) candidates.push(...(await findAlertTargets(services.db, { id })));
      return { source: alertSource(row.labels), candidates: candidates.map((i) => ({ id: i.id, name: `${i.clientName} · ${i.name}` })) };
    });
    if (!alert) return ctx.reply(c.routeGone);
    if (alert.source === null) return ctx.reply(c.routeNoSource, { parse_mode: 'HTML' });
    const source = alert.source;
    const fits = new InlineKeyboard();
    for (const candidate of alert.candidates.slice(0, 10)) fits.text(candidate.name.slice(0, 60), `ami:${candidate.id}`).row();
    const picked = await ask(
      conversation,
      ctx,
      lang,
      alert.candidates.length > 0 ? c.routeClientOrCandidate(source) : c.routeClient(source),
      async (text): Promise<{ installationId: number } | { installations: { id: number; name: string }[] }> => {
        const id = /^ami:(\d+)$/.exec(text)?.[1];
        if (id) return { installationId: Number(id) };
        const found = await attempt(conversation, lang, async () => {
          const client = await resolveClient(services.db, text);
          return (await listInstallationsOfClient(services.db, client.id)).map((i) => ({ id: i.id, name: i.name }));
        });
        if (!found.ok) throw new Refusal(found.message);
        if (found.value.length === 0) throw new Refusal(c.attachNoInstallations);
        return { installations: found.value };
      },
      alert.candidates.length > 0 ? fits : undefined,
    );
    let installationId: number;
    if ('installationId' in picked) installationId = picked.installationId;
    else {
      const choices = new InlineKeyboard();
      for (const installation of picked.installations.slice(0, 20)) choices.text(installation.name.slice(0, 40), `ami:${installation.id}`).row();
      installationId = await ask(conversation, ctx, lang, c.routeInstallation(source), (text) => {
        const id = /^ami:(\d+)$/.exec(text)?.[1];
        if (!id) throw new Refusal(c.attachPress);
        return Number(id);
      }, choices);
    }
    const done = await attempt(conversation, lang, async () => {
      const routed = await routeAlerts(actor(adminId), services.incidentSettings, source, installationId);
      if (routed.opened > 0) services.onIncidentChange();
      return { installation: routed.installation.name, opened: routed.opened };
    });
    if (!done.ok) return ctx.reply(c.failed(done.message, c.routeAgain));
    await ctx.reply(c.routed(source, done.value.installation, done.value.opened), {
      reply_markup: new InlineKeyboard().text(c.unrouteButton, `amu:${sourceKey(source)}`),
    });
  }

  admin.use(createConversation(addClientDialogue, 'addClient'));
  admin.use(createConversation(routeAlertsDialogue, 'routeAlerts'));
  admin.use(createConversation(attachUploadDialogue, 'attachUpload'));
  admin.use(createConversation(addInstallationDialogue, 'addInstallation'));
  admin.use(createConversation(assignDialogue, 'assign'));

  // Admin work (and the agent token it shows) happens only in a private chat with the bot, never in a client's group.
  const privateAdmin = admin.chatType('private');
  admin.chatType(['group', 'supergroup', 'channel']).command(['addclient', 'addinstallation', 'assign', 'requests', 'users', 'unmatched'], (ctx) =>
    ctx.reply(ctx.t.adminPrivateOnly),
  );
  const adminCommand = (command: string, conversation: string) =>
    privateAdmin.command(command, async (ctx) => {
      if (!isAdmin(ctx)) return ctx.reply(ctx.t.adminsOnly);
      await ctx.conversation.exitAll();
      await ctx.conversation.enter(conversation);
    });
  // «🔗 Указать установку» under the notice of an unmatched upload.
  privateAdmin.callbackQuery(/^upn:(\d+)$/, async (ctx) => {
    if (!isAdmin(ctx)) return ctx.answerCallbackQuery({ text: ctx.t.adminsOnly, show_alert: true });
    const upload = await getUpload(services.db, Number(ctx.match[1]));
    if (!upload || upload.installationId !== null) return ctx.answerCallbackQuery({ text: ctx.t.conv.attachDone });
    await ctx.answerCallbackQuery();
    await ctx.conversation.exitAll();
    await ctx.conversation.enter('attachUpload', upload.name);
  });

  /** The firing Alertmanager alerts nobody's installation took, one line per source, with «🔗 N» to say whose they are. */
  async function listUnmatched(ctx: BotContext) {
    const t = ctx.t.notices;
    const bySource = new Map<string | null, UnmatchedAlert[]>();
    for (const alert of await listUnmatchedAlerts(services.db)) {
      const source = alertSource(alert.labels);
      bySource.set(source, [...(bySource.get(source) ?? []), alert]);
    }
    if (bySource.size === 0) return ctx.reply(t.unmatchedNone);
    const lines = [`<b>${escapeHtml(t.unmatchedTitle(bySource.size))}</b>`, ''];
    const keyboard = new InlineKeyboard();
    const nameless: string[] = [];
    let n = 0;
    for (const [source, alerts] of [...bySource].slice(0, 20)) {
      const names = [...new Set(alerts.map((a) => a.alertname || t.unnamedAlert))].map((name) => `<code>${escapeHtml(name)}</code>`).join(', ');
      if (source === null) {
        nameless.push(`• ${names} — ${t.unmatchedNoSource}`);
        continue;
      }
      n++;
      const candidates: AlertTarget[] = [];
      for (const id of new Set(alerts.flatMap((a) => a.candidates))) candidates.push(...(await findAlertTargets(services.db, { id })));
      const fits = candidates.length > 0 ? ` (${escapeHtml(t.unmatchedFits(candidates.map((i) => `${i.clientName} · ${i.name}`).join('; ')))})` : '';
      lines.push(`${n}. <code>${escapeHtml(source)}</code> — ${names}${fits}`);
      keyboard.text(`🔗 ${n}`, `amr:${alerts[0]!.fingerprint}`);
      if (n % 5 === 0) keyboard.row();
    }
    lines.push(...nameless);
    if (n > 0) lines.push('', escapeHtml(t.unmatchedHint));
    return ctx.reply(lines.join('\n'), { parse_mode: 'HTML', reply_markup: keyboard });
  }
  privateAdmin.command('unmatched', (ctx) => (isAdmin(ctx) ? listUnmatched(ctx) : ctx.reply(ctx.t.adminsOnly)));
  privateAdmin.callbackQuery('aml', async (ctx) => {
    if (!isAdmin(ctx)) return ctx.answerCallbackQuery({ text: ctx.t.adminsOnly, show_alert: true });
    await ctx.answerCallbackQuery();
    await listUnmatched(ctx);
  });
  privateAdmin.callbackQuery(/^amr:([0-9a-f]{16})$/, async (ctx) => {
    if (!isAdmin(ctx)) return ctx.answerCallbackQuery({ text: ctx.t.adminsOnly, show_alert: true });
    await ctx.answerCallbackQuery();
    await ctx.conversation.exitAll();
    await ctx.conversation.enter('routeAlerts', ctx.match[1]!);
  });
  privateAdmin.callbackQuery(/^amu:([0-9a-f]{16})$/, async (ctx) => {
    if (!isAdmin(ctx)) return ctx.answerCallbackQuery({ text: ctx.t.adminsOnly, show_alert: true });
    const route = (await listAlertRoutes(services.db)).find((r) => sourceKey(r.source) === ctx.match[1]);
    if (!route) return ctx.answerCallbackQuery({ text: ctx.t.conv.unrouted('—') });
    await unrouteAlerts(actor(ctx.from.id), route.source);
    await ctx.answerCallbackQuery();
    await ctx.editMessageReplyMarkup().catch((err: unknown) => ctx.log.debug({ err }, 'buttons not removed'));
    return ctx.reply(ctx.t.conv.unrouted(route.source));
  });

  adminCommand('addclient', 'addClient');
  adminCommand('addinstallation', 'addInstallation');
  adminCommand('assign', 'assign');

  privateAdmin.command('requests', async (ctx) => {
    if (!isAdmin(ctx)) return ctx.reply(ctx.t.adminsOnly);
    const pending = await listPendingRequests(services.db);
    if (pending.length === 0) return ctx.reply(ctx.t.requestsNone);
    for (const request of pending.slice(0, 20)) {
      await ctx.reply(ctx.t.accessRequestForAdmins(escapeHtml(request.name), request.telegramId, request.username ? escapeHtml(request.username) : null), {
        parse_mode: 'HTML',
        reply_markup: new InlineKeyboard()
          .text(ctx.t.approveManager, `req:manager:${request.telegramId}`)
          .text(ctx.t.approveLead, `req:lead:${request.telegramId}`)
          .row()
          .text(ctx.t.refuse, `req:refuse:${request.telegramId}`),
      });
    }
  });

  privateAdmin.command('users', async (ctx) => {
    if (!isAdmin(ctx)) return ctx.reply(ctx.t.adminsOnly);
    const users = (await listUsers(services.db)).filter((u) => u.active);
    const keyboard = new InlineKeyboard();
    const lines = [ctx.t.usersTitle];
    for (const user of users) {
      lines.push(`• ${escapeHtml(user.name)} — ${ctx.t.roles[user.role] ?? user.role}, <code>${user.telegramId}</code>`);
      if (user.telegramId !== ctx.from!.id) keyboard.text(ctx.t.disableButton(user.name).slice(0, 60), `udis:${user.telegramId}`).row();
    }
    return ctx.reply(lines.join('\n'), { parse_mode: 'HTML', reply_markup: keyboard });
  });

  admin.callbackQuery(/^udis:(\d+)$/, async (ctx) => {
    if (!isAdmin(ctx)) {
      await recordAudit(services.db, { at: services.clock(), actor: actorOf(ctx.from.id), action: 'user.disable.denied', subjectType: 'user', subjectId: ctx.match[1] });
      return ctx.answerCallbackQuery({ text: ctx.t.adminsOnly, show_alert: true });
    }
    const user = await setUserActive(actor(ctx.from.id), Number(ctx.match[1]), false);
    return ctx.answerCallbackQuery({ text: ctx.t.userDisabled(user.name), show_alert: true });
  });

  return admin;
}
