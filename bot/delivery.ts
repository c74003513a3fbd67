import { GrammyError, InlineKeyboard, InputFile, type Api } from 'grammy';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { massRuleOf } from '../core/external-alerts.ts';
import { getIncidentViews, listActiveIncidents, type IncidentView } from '../db/incidents.ts';
import type { DB } from '../db/open.ts';
import { CRITICAL_SNOOZED, DIGEST_CHART, DIGEST_TEXT, enqueue, incidentsMailed, mailedAlertRecipients, NOTICE } from '../db/outbox.ts';
import { FOLLOWS, RECOVERY_SAID, findRecentGroupOfRule, recoverySaid, followChatMigration, incidentsOfMessage, laterIncidentsOfMessage, messagesOfIncident, rememberMessage } from '../db/telegram-messages.ts';
import { getUser, listActiveAdmins } from '../db/users.ts';
import type { Delivery, DeliveryOutcome, OutboxMessage } from '../delivery/dispatcher.ts';
import { langOf, texts, type Lang } from '../i18n/index.ts';
import type { BotSettings } from './context.ts';
import { htmlToPlain } from './html.ts';
import { massTotalsOf, redrawMessage, runbookLink } from './redraw.ts';
import { renderAlert, renderAlertGroup, renderContinuation, renderFollowUp, renderRecovery, renderSnoozeNotice, type FollowUpKind, type Rendered, type RenderOptions } from './render/alert.ts';

type ShimSignal = Parameters<Api['sendPhoto']>[3];

export interface TelegramDeliveryDeps {
  api: Api;
  db: DB;
  clock: Clock;
  logger: Logger;
  settings: BotSettings;
}


/** Follow-ups of an alert, by the outbox kind that brings them. */
const FOLLOW_UPS = { 'incident.reminder': 'reminder', 'incident.escalated': 'escalated', 'incident.wake': 'wake' } as const satisfies Record<string, FollowUpKind>;

/** How often admins hear that the same chat cannot be reached. */
const UNREACHABLE_REPORT_EVERY_MS = 6 * 3_600_000;

/**
 * Turns outbox messages into Telegram messages: new alerts (alone or grouped),
 * edits of the original alert when it is acknowledged or resolved, reminders
 * and escalations that point back to it. Throws when Telegram does not take a
 * message, so the dispatcher keeps it queued and retries.
 */
export class TelegramDelivery implements Delivery {
  private readonly unreachableReported = new Map<number, number>();

  constructor(private readonly deps: TelegramDeliveryDeps) {}

  async deliver(batch: OutboxMessage[], abort: AbortSignal): Promise<DeliveryOutcome> {
    // grammY types its signal parameter with the abort-controller shim's AbortSignal; Node's own is what its fetch takes at run time.
    const signal = abort as unknown as ShimSignal;
    const first = batch[0]!;
    try {
      return await this.deliverTo(first.chatId, batch, signal);
    } catch (err) {
      const newChatId = err instanceof GrammyError ? err.parameters.migrate_to_chat_id : undefined;
      if (newChatId === undefined) {
        await this.reportIfUnreachable(first.chatId, err);
        const retryAfter = err instanceof GrammyError ? err.parameters.retry_after : undefined;
        if (retryAfter !== undefined) throw Object.assign(err as GrammyError, { retryAfterMs: retryAfter * 1000 });
        throw err;
      }
      // The group became a supergroup: follow it, and send there now.
      await followChatMigration(this.deps.db, first.chatId, newChatId);
      this.deps.logger.info({ from: first.chatId, to: newChatId }, 'chat migrated to a supergroup');
      return this.deliverTo(newChatId, batch, signal);
    }
  }

  /** `'mass'`: new alerts went as a mass event's message; `'joined'`: into one the chat already has. */
  private async deliverTo(chatId: number, batch: OutboxMessage[], signal: ShimSignal): Promise<DeliveryOutcome> {
    const kind = batch[0]!.kind;
    const incidentIds = batch.map((m) => m.incidentId).filter((id): id is number => id !== null);
    switch (kind) {
      case 'incident.opened':
        return this.sendAlerts(chatId, incidentIds, signal);
      case 'incident.acknowledged':
      case 'incident.updated':
      case 'incident.resolved':
        return this.updateAlerts(chatId, incidentIds, kind === 'incident.resolved', signal);
      case 'incident.reminder':
      case 'incident.escalated':
      case 'incident.wake':
        for (const id of incidentIds) await this.sendFollowUp(chatId, id, FOLLOW_UPS[kind], signal);
        return;
      case CRITICAL_SNOOZED:
        for (const message of batch) if (message.incidentId !== null) await this.sendSnoozeNotice(chatId, message.incidentId, message.payload, signal);
        return;
      case DIGEST_TEXT:
        await this.send(chatId, { text: String((batch[0]!.payload as { text: string }).text), keyboard: undefined }, signal);
        return;
      case DIGEST_CHART: {
        const { png, caption } = batch[0]!.payload as { png: string; caption: string };
        await this.deps.api.sendPhoto(chatId, new InputFile(Buffer.from(png, 'base64'), 'incidents.png'), { caption }, signal);
        return;
      }
      default: {
        const { text, keyboard } = batch[0]!.payload as { text?: unknown; keyboard?: { text: string; data: string }[][] };
        const markup = Array.isArray(keyboard) ? InlineKeyboard.from(keyboard.map((row) => row.map((b) => InlineKeyboard.text(b.text, b.data)))) : undefined;
        if (typeof text === 'string') await this.deps.api.sendMessage(chatId, text, markup ? { reply_markup: markup } : {}, signal);
        else this.deps.logger.warn({ kind }, 'outbox message of a kind Telegram delivery does not know; skipped');
      }
    }
  }

  private async options(chatId: number): Promise<RenderOptions> {
    return {
      lang: await this.langOfChat(chatId),
      tz: this.deps.settings.displayTz,
      now: this.deps.clock(),
      runbookUrl: runbookLink(this.deps.settings.runbookBaseUrl),
      ...(this.deps.settings.massEvent ? { massEvent: this.deps.settings.massEvent } : {}),
    };
  }

  /** Private chats get the person's language; groups and channels get Russian. */
  private async langOfChat(chatId: number): Promise<Lang> {
    return chatId > 0 ? langOf((await getUser(this.deps.db, chatId))?.language) : 'ru';
  }

  private async sendAlerts(chatId: number, incidentIds: number[], signal: ShimSignal): Promise<DeliveryOutcome> {
    const views = await getIncidentViews(this.deps.db, incidentIds);
    if (views.length === 0) return;
    // An alert that waited so long it also went by mail says so.
    const options = { ...(await this.options(chatId)), mailed: await incidentsMailed(this.deps.db, incidentIds) };
    // A late member of a mass event joins its message, even when its installation has an alert of its own open here
    // (an Alertmanager alert firing for one more label set is one more of the event, not a new story).
    const massTotals = await massTotalsOf(this.deps.db, views, options.massEvent);
    if (await this.joinMassMessage(chatId, views, massTotals, signal)) return 'joined';
    const earlier = views.length === 1 ? await this.openAlertOf(chatId, views[0]!.incident.installationId, views[0]!.incident.id) : null;
    if (earlier) return this.continueStory(chatId, views[0]!, earlier, signal);
    const rendered = views.length === 1 ? renderAlert(views[0]!, options) : renderAlertGroup(views, options, { massTotals });
    const messageId = await this.send(chatId, rendered, signal);
    await rememberMessage(this.deps.db, { chatId, messageId, kind: 'alert', incidentIds: views.map((v) => v.incident.id) }, this.deps.clock());
    // The message later alerts of its mass event join (see joinMassMessage).
    const rules = new Set(views.map((v) => massRuleOf(v.incident.ruleId)));
    if (views.length > 1 && rules.size === 1 && massTotals.has([...rules][0]!)) return 'mass';
  }

  /**
   * A new problem of an installation that already has an open alert in this
   * chat continues that story: it is sent as a reply to it, and the earlier
   * alert is redrawn to list it (and the likely cause they share).
   */
  private async continueStory(chatId: number, view: IncidentView, earlierMessageId: number, signal: ShimSignal): Promise<void> {
    const { db } = this.deps;
    const options = await this.options(chatId);
    const shown = await incidentsOfMessage(db, chatId, earlierMessageId);
    const later = await laterIncidentsOfMessage(db, chatId, earlierMessageId);
    const story = (await getIncidentViews(db, [...shown, ...later])).filter((v) => v.incident.installationId === view.incident.installationId);
    const messageId = await this.send(chatId, renderContinuation(view, story, options), signal, earlierMessageId);
    const now = this.deps.clock();
    await rememberMessage(db, { chatId, messageId, kind: 'alert', incidentIds: [view.incident.id] }, now);
    await rememberMessage(db, { chatId, messageId: earlierMessageId, kind: FOLLOWS, incidentIds: [view.incident.id] }, now);
    // The reply has gone; a failure to redraw the earlier alert must not make the dispatcher send it again.
    const redrawn = await redrawMessage(db, chatId, earlierMessageId, options);
    if (redrawn) await this.edit(chatId, earlierMessageId, redrawn, signal).catch((err: unknown) => this.deps.logger.warn({ err, chatId }, 'earlier alert not redrawn'));
  }

  /**
   * Alerts of a mass event that come after its message went join that
   * message (redrawn with them) instead of arriving as another: one message
   * per chat for the event. False when there is no such message to join.
   */
  private async joinMassMessage(chatId: number, views: IncidentView[], massTotals: ReadonlyMap<string, number>, signal: ShimSignal): Promise<boolean> {
    const { db } = this.deps;
    const options = await this.options(chatId);
    const rules = new Set(views.map((v) => massRuleOf(v.incident.ruleId)));
    if (rules.size !== 1 || !options.massEvent) return false;
    const [rule] = rules;
    if (!massTotals.has(rule!)) return false;
    const since = new Date(Math.min(...views.map((v) => v.incident.openedAt.getTime())) - options.massEvent.windowMs);
    const messageId = await findRecentGroupOfRule(db, chatId, rule!, since);
    if (messageId === null) return false;
    await rememberMessage(db, { chatId, messageId, kind: 'alert', incidentIds: views.map((v) => v.incident.id) }, this.deps.clock());
    const redrawn = await redrawMessage(db, chatId, messageId, options);
    // The alerts are on record as shown by that message; a failed edit is retried by the dispatcher, which sends them anew only if the message is gone.
    if (redrawn && !(await this.edit(chatId, messageId, redrawn, signal))) return false;
    return true;
  }

  /** The alert message in this chat of another open incident of the installation, if one was sent. */
  private async openAlertOf(chatId: number, installationId: number, exceptIncidentId: number): Promise<number | null> {
    for (const incident of await listActiveIncidents(this.deps.db, installationId)) {
      if (incident.id === exceptIncidentId) continue;
      const alert = (await messagesOfIncident(this.deps.db, incident.id, chatId)).find((m) => m.kind === 'alert');
      if (alert) return alert.messageId;
    }
    return null;
  }

  /**
   * Redraw every message in this chat that shows these incidents, each
   * message once however many of them it shows (a mass event's message, when
   * its 10,000 alerts resolve); an incident no message shows is said in a new
   * one. The end of an event is also said, once, as a short reply to its
   * message (see announceEnd): an edit notifies nobody.
   */
  private async updateAlerts(chatId: number, incidentIds: number[], resolved: boolean, signal: ShimSignal): Promise<void> {
    const { db } = this.deps;
    const options = await this.options(chatId);
    const stored = new Map<number, Awaited<ReturnType<typeof messagesOfIncident>>>();
    for (const id of incidentIds) stored.set(id, await messagesOfIncident(db, id, chatId));
    // Whether each message now shows the new state (or already did): null when there was nothing to draw.
    const redrawn = new Map<number, boolean | null>();
    for (const message of [...stored.values()].flat()) {
      if (redrawn.has(message.messageId)) continue;
      const rendered = await redrawMessage(db, chatId, message.messageId, options);
      redrawn.set(message.messageId, rendered ? await this.edit(chatId, message.messageId, rendered, signal) : null);
    }
    const considered = new Set<number>();
    for (const view of await getIncidentViews(db, incidentIds)) {
      const messages = stored.get(view.incident.id) ?? [];
      // An earlier alert that only lists this one does not count as showing it.
      const shown = messages.some((m) => m.kind !== FOLLOWS && m.kind !== RECOVERY_SAID && redrawn.get(m.messageId) === true);
      if (!shown) {
        const messageId = await this.send(chatId, renderAlert(view, options), signal);
        await rememberMessage(db, { chatId, messageId, kind: 'alert', incidentIds: [view.incident.id] }, this.deps.clock());
        continue;
      }
      if (!resolved || view.incident.status !== 'resolved') continue;
      // The event's message: the earlier alert that lists this one as a later problem, else its own.
      const root = (messages.find((m) => m.kind === FOLLOWS) ?? messages.find((m) => m.kind === 'alert'))?.messageId;
      if (root === undefined || considered.has(root)) continue;
      considered.add(root);
      await this.announceEnd(chatId, root, options, signal);
    }
  }

  /**
   * The end of an event, said once as a reply to its message, for the whole
   * message (every installation and problem of it): only when all of it is
   * over, only when it had a critical problem, and only when nobody took it
   * (whoever did knows, and sees the message redrawn). The manager who got
   * the alert at 21:00 must hear that it is over, and hear it once.
   */
  private async announceEnd(chatId: number, messageId: number, options: RenderOptions, signal: ShimSignal): Promise<void> {
    const { db } = this.deps;
    const shown = await incidentsOfMessage(db, chatId, messageId);
    const event = await getIncidentViews(db, [...shown, ...(await laterIncidentsOfMessage(db, chatId, messageId))]);
    if (shown.length === 0 || event.some((v) => v.incident.status !== 'resolved')) return;
    const criticals = event.filter((v) => v.incident.severity === 'critical');
    if (criticals.length === 0 || criticals.some((v) => v.incident.acknowledgedAt !== null)) return;
    if (await recoverySaid(db, chatId, messageId)) return;
    await this.send(chatId, renderRecovery(event, options), signal, messageId);
    await rememberMessage(db, { chatId, messageId, kind: RECOVERY_SAID, incidentIds: [shown[0]!] }, this.deps.clock());
  }

  /** The lead hears that a critical alert was put off: by whom, until when, and the alert itself with its buttons. */
  private async sendSnoozeNotice(chatId: number, incidentId: number, payload: unknown, signal: ShimSignal): Promise<void> {
    const [view] = await getIncidentViews(this.deps.db, [incidentId]);
    if (!view || view.incident.status === 'resolved') return;
    const { snoozedByName, until } = payload as { snoozedByName?: string | null; until?: string };
    const original = (await messagesOfIncident(this.deps.db, incidentId)).find((m) => m.kind === 'alert');
    const sameChat = original?.chatId === chatId ? original : undefined;
    const options = await this.options(chatId);
    const link = sameChat ? null : original ? linkTo(original.chatId, original.messageId) : null;
    const rendered = renderSnoozeNotice(view, snoozedByName ?? '?', new Date(until ?? Number.NaN), options, link);
    const messageId = await this.send(chatId, rendered, signal, sameChat?.messageId);
    await rememberMessage(this.deps.db, { chatId, messageId, kind: 'escalation', incidentIds: [incidentId] }, this.deps.clock());
  }

  private async sendFollowUp(chatId: number, incidentId: number, kind: FollowUpKind, signal: ShimSignal): Promise<void> {
    const [view] = await getIncidentViews(this.deps.db, [incidentId]);
    if (!view || view.incident.status !== 'open') return;
    const original = (await messagesOfIncident(this.deps.db, incidentId)).find((m) => m.kind === 'alert');
    const sameChat = original?.chatId === chatId ? original : undefined;
    // An escalation or a call that waited so long it went to this person by mail too says so.
    const mailed = new Set((await mailedAlertRecipients(this.deps.db, incidentId)).includes(chatId) ? [incidentId] : []);
    const rendered = renderFollowUp(view, kind, { ...(await this.options(chatId)), mailed }, sameChat ? null : original ? linkTo(original.chatId, original.messageId) : null);
    const messageId = await this.send(chatId, rendered, signal, sameChat?.messageId);
    await rememberMessage(this.deps.db, { chatId, messageId, kind: kind === 'escalated' ? 'escalation' : kind, incidentIds: [incidentId] }, this.deps.clock());
  }

  private async send(chatId: number, rendered: Rendered, signal: ShimSignal, replyTo?: number): Promise<number> {
    const extra = {
      reply_markup: rendered.keyboard,
      link_preview_options: { is_disabled: true },
      ...(replyTo ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {}),
    };
    try {
      return (await this.deps.api.sendMessage(chatId, rendered.text, { parse_mode: 'HTML', ...extra }, signal)).message_id;
    } catch (err) {
      if (!isParseError(err)) throw err;
      // Our HTML should never be refused; if it is, the alert still goes, as plain text.
      this.deps.logger.error({ err, chatId }, 'Telegram refused the HTML of a message; sending it as plain text');
      return (await this.deps.api.sendMessage(chatId, htmlToPlain(rendered.text), extra, signal)).message_id;
    }
  }

  /** True when the message now shows the new state (or already did). */
  private async edit(chatId: number, messageId: number, rendered: Rendered, signal: ShimSignal): Promise<boolean> {
    try {
      await this.deps.api.editMessageText(
        chatId,
        messageId,
        rendered.text,
        { parse_mode: 'HTML', reply_markup: rendered.keyboard, link_preview_options: { is_disabled: true } },
        signal,
      );
      return true;
    } catch (err) {
      if (err instanceof GrammyError && /message is not modified/i.test(err.description)) return true;
      if (err instanceof GrammyError && err.error_code === 400 && /message (to edit )?not found|can't be edited/i.test(err.description)) return false;
      throw err;
    }
  }

  /** Tell the admins (at most every few hours per chat) that a chat blocked the bot or is gone. */
  private async reportIfUnreachable(chatId: number, err: unknown): Promise<void> {
    if (!(err instanceof GrammyError) || !isUnreachable(err)) return;
    const now = this.deps.clock().getTime();
    const last = this.unreachableReported.get(chatId);
    if (last !== undefined && now - last < UNREACHABLE_REPORT_EVERY_MS) return;
    this.unreachableReported.set(chatId, now);
    this.deps.logger.warn({ chatId, description: err.description }, 'chat unreachable; its alerts stay queued');
    for (const admin of await listActiveAdmins(this.deps.db)) {
      if (admin.telegramId === chatId) continue;
      const text = texts(langOf(admin.language)).chatUnreachable(chatId, describeTelegramRefusal(langOf(admin.language), err));
      await enqueue(this.deps.db, { kind: NOTICE, chatId: admin.telegramId, incidentId: null, payload: { text } }, this.deps.clock());
    }
  }
}

/** Why Telegram will not deliver to a chat, in the admin's words rather than Telegram's. */
function describeTelegramRefusal(lang: Lang, err: GrammyError): string {
  const why = texts(lang).telegramRefusal;
  const description = err.description.toLowerCase();
  if (description.includes('blocked by the user')) return why.blocked;
  if (description.includes('kicked') || description.includes('not a member')) return why.removed;
  if (description.includes('chat not found')) return why.notFound;
  if (description.includes('deactivated')) return why.deactivated;
  if (description.includes('have no rights') || description.includes('not enough rights')) return why.noRights;
  return why.other(err.error_code);
}

function isParseError(err: unknown): boolean {
  return err instanceof GrammyError && err.error_code === 400 && /can't parse entities/i.test(err.description);
}

function isUnreachable(err: GrammyError): boolean {
  return err.error_code === 403 || (err.error_code === 400 && /chat not found|group chat was deactivated|have no rights/i.test(err.description));
}

/** A link to a message in a supergroup or channel; private chats and basic groups have none. */
function linkTo(chatId: number, messageId: number): string | null {
  const text = String(chatId);
  return text.startsWith('-100') ? `https://t.me/c/${text.slice(4)}/${messageId}` : null;
}

