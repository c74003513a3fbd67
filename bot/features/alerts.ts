import { Composer, InlineKeyboard } from 'grammy';
import { canAct } from '../../core/permissions.ts';
import { snoozeEnd } from '../../core/silences.ts';
import { recordAudit } from '../../db/audit.ts';
import { getIncidentViews, type IncidentView } from '../../db/incidents.ts';
import { getInstallation } from '../../db/installations.ts';
import { ruleTitle } from '../../i18n/index.ts';
import { getClientStatus } from '../../db/status.ts';
import { acknowledge, acknowledgeMany, snoozeIncident } from '../../registry/incidents.ts';
import { putOffWitnesses } from '../../incidents/lifecycle.ts';
import { addSilence } from '../../registry/silences.ts';
import { actorOf, cardButtons, clientsVisibleIn, responsibleFor, type BotContext } from '../context.ts';
import { formatTime, formatUntil } from '../../i18n/format.ts';
import { incidentsOfMessage } from '../../db/telegram-messages.ts';
import { redrawMessage, runbookLink } from '../redraw.ts';
import { renderDetails, renderItemSteps, renderRuleSteps } from '../render/alert.ts';
import { massRuleOf } from '../../core/external-alerts.ts';
import { renderClientStatus, statusKeyboard } from '../render/status.ts';

/**
 * The buttons under alerts. Every press is checked against the incident's
 * client as it is now, whatever the button says: only the responsible
 * manager, their lead and admins may act; refusals go to the audit log.
 */
export const alerts = new Composer<BotContext>();

/** A reply's place: under the message whose button was pressed, when there is one (sent anyway if it is gone). */
function underPressed(pressed: { message_id: number } | undefined) {
  return pressed ? { reply_parameters: { message_id: pressed.message_id, allow_sending_without_reply: true } } : {};
}

async function allowed(ctx: BotContext, view: IncidentView, action: string): Promise<boolean> {
  if (canAct(ctx.staff, { managerId: view.managerId, managerLeadId: view.managerLeadId })) return true;
  const { db, clock } = ctx.services;
  await recordAudit(db, {
    at: clock(),
    actor: actorOf(ctx.from!.id),
    action: `${action}.denied`,
    subjectType: 'incident',
    subjectId: view.incident.id,
  });
  return false;
}

function renderOptions(ctx: BotContext) {
  const { settings, clock } = ctx.services;
  return { lang: ctx.lang, tz: settings.displayTz, now: clock(), runbookUrl: runbookLink(settings.runbookBaseUrl), ...(settings.massEvent ? { massEvent: settings.massEvent } : {}) };
}

/** Redraw the message the button was pressed under, from the incidents' current state. */
async function redrawPressed(ctx: BotContext): Promise<void> {
  const message = ctx.callbackQuery?.message;
  if (!message) return;
  const rendered = await redrawMessage(ctx.services.db, message.chat.id, message.message_id, renderOptions(ctx));
  if (!rendered) return;
  await ctx
    .editMessageText(rendered.text, { parse_mode: 'HTML', reply_markup: rendered.keyboard, link_preview_options: { is_disabled: true } })
    .catch((err: unknown) => ctx.log.debug({ err }, 'message not redrawn'));
}

/** A button naming an incident that does not exist: stale or forged. */
async function refuseUnknownIncident(ctx: BotContext, id: string) {
  await recordAudit(ctx.services.db, { at: ctx.services.clock(), actor: actorOf(ctx.from!.id), action: 'callback.unknown-incident', subjectType: 'incident', subjectId: id });
  return ctx.answerCallbackQuery({ text: ctx.t.alreadyResolved });
}

alerts.callbackQuery(/^ack:(\d+)$/, async (ctx) => {
  const { db, clock } = ctx.services;
  const [view] = await getIncidentViews(db, [Number(ctx.match[1])]);
  if (!view) return refuseUnknownIncident(ctx, ctx.match[1]!);
  if (!(await allowed(ctx, view, 'incident.acknowledge'))) return ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
  if (view.incident.status === 'resolved') {
    await redrawPressed(ctx);
    return ctx.answerCallbackQuery({ text: ctx.t.alreadyResolved });
  }
  const result = await acknowledge({ db, clock, actor: actorOf(ctx.from.id) }, view.incident.id);
  ctx.services.onIncidentChange();
  await redrawPressed(ctx);
  if (result.outcome === 'already') {
    const [current] = await getIncidentViews(db, [view.incident.id]);
    const when = current!.incident.acknowledgedAt ? formatTime(current!.incident.acknowledgedAt, ctx.services.settings.displayTz) : '';
    return ctx.answerCallbackQuery({ text: ctx.t.alreadyAcknowledged(current!.acknowledgedByName ?? '?', when), show_alert: true });
  }
  return ctx.answerCallbackQuery({ text: ctx.t.ackDone });
});

alerts.callbackQuery('ackall', async (ctx) => {
  const { db, clock } = ctx.services;
  const pressed = ctx.callbackQuery.message;
  if (!pressed) return ctx.answerCallbackQuery();
  // The incidents are those of the very message the button is under.
  const views = await getIncidentViews(db, await incidentsOfMessage(db, pressed.chat.id, pressed.message_id));
  const open = views.filter((view) => view.incident.status === 'open');
  const mine: IncidentView[] = [];
  for (const view of open) if (await allowed(ctx, view, 'incident.acknowledge')) mine.push(view);
  const refused = open.length - mine.length;
  const acknowledged = await acknowledgeMany({ db, clock, actor: actorOf(ctx.from.id) }, mine.map((view) => view.incident.id));
  if (acknowledged > 0) ctx.services.onIncidentChange();
  await redrawPressed(ctx);
  if (acknowledged === 0 && refused > 0) return ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
  return ctx.answerCallbackQuery({ text: ctx.t.ackAllDone(acknowledged) });
});

/**
 * «⏰ Напомнить через час» (`h`) and «💤 До утра» (`m`). A critical put off
 * till morning is the overslept key of the field: it is asked again
 * («Отложить критичное до 09:00? Руководитель узнает: …», naming whoever
 * will be told, or nobody) and done only on «Да» (`M`, pressed under that
 * question), and they are told.
 */
alerts.callbackQuery(/^snz:(h|m|M):(\d+)$/, async (ctx) => {
  const { db, clock, settings } = ctx.services;
  const [view] = await getIncidentViews(db, [Number(ctx.match[2])]);
  if (!view) return refuseUnknownIncident(ctx, ctx.match[2]!);
  if (view.incident.status === 'resolved') return ctx.answerCallbackQuery({ text: ctx.t.alreadyResolved });
  if (!(await allowed(ctx, view, 'incident.snooze'))) return ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
  const mode = ctx.match[1]!;
  const now = clock();
  const until = snoozeEnd(mode === 'h' ? 'hour' : 'morning', now, settings.displayTz, settings.morningHour);
  const untilText = formatUntil(ctx.lang, until, now, settings.displayTz);
  const pressed = ctx.callbackQuery.message;
  const actor = actorOf(ctx.from.id);
  if (mode === 'm' && view.incident.severity === 'critical') {
    await ctx.answerCallbackQuery();
    const told = ctx.t.putOffTold(await putOffWitnesses(db, view.clientId, actor));
    return ctx.reply(ctx.t.confirmCriticalSnooze(ruleTitle(ctx.lang, view.incident.ruleId), untilText, told), {
      reply_markup: new InlineKeyboard().text(ctx.t.confirmCriticalSnoozeYes(untilText), `snz:M:${view.incident.id}`).text(ctx.t.confirmCriticalSnoozeNo, 'snz:no'),
      ...underPressed(pressed),
    });
  }
  const told = await snoozeIncident({ db, clock, actor }, view.incident.id, {
    endsAt: until,
    reason: ctx.t.snoozeReason(view.incident.id),
    tz: settings.displayTz,
    tillMorning: mode !== 'h',
  });
  ctx.services.onIncidentChange();
  if (mode === 'M') {
    // Pressed under the question: it becomes the answer, naming who was told; the alert itself is redrawn by the delivery.
    await ctx.editMessageText(ctx.t.criticalSnoozeDone(untilText, ctx.t.putOffTold(told))).catch((err: unknown) => ctx.log.debug({ err }, 'question not edited'));
  } else {
    // The alert shows the snooze from now on (its state line): this message is redrawn at once, the others by the delivery.
    await redrawPressed(ctx);
  }
  return ctx.answerCallbackQuery({ text: ctx.t.snoozed(untilText) });
});

/** «Не откладывать» under the question about a critical: nothing is put off, and the question says so. */
alerts.callbackQuery('snz:no', async (ctx) => {
  await ctx.editMessageText(ctx.t.criticalSnoozeCancelled).catch((err: unknown) => ctx.log.debug({ err }, 'question not edited'));
  return ctx.answerCallbackQuery();
});

/** «⏰ Ромашка на 1 ч» under an item of a grouped message: everything of that installation waits an hour, and the message says so. */
alerts.callbackQuery(/^sni:(\d+)$/, async (ctx) => {
  const { db, clock, settings } = ctx.services;
  const installation = await getInstallation(db, Number(ctx.match[1]));
  const visible = await clientsVisibleIn(ctx);
  if (!installation || (visible !== null && !visible.has(installation.clientId)) || !canAct(ctx.staff, await responsibleFor(ctx, installation.clientId))) {
    return ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
  }
  const silence = await addSilence(
    { db, clock, actor: actorOf(ctx.from.id) },
    { installation: installation.id, for: '1h', reason: ctx.t.snoozeInstallationReason, tz: settings.displayTz },
  );
  ctx.services.onIncidentChange();
  await redrawPressed(ctx);
  return ctx.answerCallbackQuery({ text: ctx.t.snoozed(formatUntil(ctx.lang, silence.endsAt, clock(), settings.displayTz)) });
});

alerts.callbackQuery(/^st:(\d+)$/, async (ctx) => {
  const { db, clock, settings } = ctx.services;
  const installationId = Number(ctx.match[1]);
  const installation = await getInstallation(db, installationId);
  const visible = await clientsVisibleIn(ctx);
  if (installation && visible !== null && !visible.has(installation.clientId)) return ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
  const status = installation ? await getClientStatus(db, installation.clientId, clock()) : undefined;
  await ctx.answerCallbackQuery();
  if (!status) return;
  const keyboard = statusKeyboard(status, ctx.lang, cardButtons(ctx), installationId);
  return ctx.reply(renderClientStatus(status, ctx.lang, settings.displayTz, clock(), installationId), { parse_mode: 'HTML', ...(keyboard ? { reply_markup: keyboard } : {}) });
});

/** «ℹ️ Подробнее»: the names of the alert (or of every alert of the message) in dozor and SMART, as a reply. */
alerts.callbackQuery(/^more(?::(\d+))?$/, async (ctx) => {
  const { db } = ctx.services;
  const pressed = ctx.callbackQuery.message;
  const ids = ctx.match[1] ? [Number(ctx.match[1])] : pressed ? await incidentsOfMessage(db, pressed.chat.id, pressed.message_id) : [];
  const visible = await clientsVisibleIn(ctx);
  const views = (await getIncidentViews(db, ids)).filter((view) => visible === null || visible.has(view.clientId));
  await ctx.answerCallbackQuery();
  if (views.length === 0) return;
  return ctx.reply(renderDetails(views, renderOptions(ctx)), {
    parse_mode: 'HTML',
    ...underPressed(pressed),
  });
});

/** «📋 Ромашка: что делать» under an item of a grouped message: its alerts in full, every step, as a reply to the message. */
alerts.callbackQuery(/^how:(\d+)$/, async (ctx) => {
  const { db } = ctx.services;
  const installationId = Number(ctx.match[1]);
  const installation = await getInstallation(db, installationId);
  const visible = await clientsVisibleIn(ctx);
  const pressed = ctx.callbackQuery.message;
  if (!installation || !pressed || (visible !== null && !visible.has(installation.clientId))) return ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
  const shown = await getIncidentViews(db, await incidentsOfMessage(db, pressed.chat.id, pressed.message_id));
  const views = shown.filter((view) => view.incident.installationId === installationId && view.incident.status !== 'resolved');
  await ctx.answerCallbackQuery(views.length === 0 ? { text: ctx.t.alreadyResolved } : undefined);
  if (views.length === 0) return;
  const rendered = renderItemSteps(views, renderOptions(ctx));
  return ctx.reply(rendered.text, {
    parse_mode: 'HTML',
    link_preview_options: { is_disabled: true },
    ...underPressed(pressed),
    ...(rendered.keyboard ? { reply_markup: rendered.keyboard } : {}),
  });
});

/** «📋 …: что делать» under a folded list (many installations, one rule): the rule once, every step, as a reply to the message. */
alerts.callbackQuery(/^howr:(\d+)$/, async (ctx) => {
  const { db } = ctx.services;
  const incidentId = Number(ctx.match[1]);
  const pressed = ctx.callbackQuery.message;
  if (!pressed) return ctx.answerCallbackQuery();
  const visible = await clientsVisibleIn(ctx);
  const shown = (await getIncidentViews(db, await incidentsOfMessage(db, pressed.chat.id, pressed.message_id))).filter((view) => visible === null || visible.has(view.clientId));
  // The button names an incident of the message; what it shows is that incident's rule, for every installation the message folds.
  const named = shown.find((view) => view.incident.id === incidentId);
  const views = named ? shown.filter((view) => massRuleOf(view.incident.ruleId) === massRuleOf(named.incident.ruleId) && view.incident.status !== 'resolved') : [];
  await ctx.answerCallbackQuery(views.length === 0 ? { text: ctx.t.alreadyResolved } : undefined);
  if (views.length === 0) return;
  const rendered = renderRuleSteps(views, renderOptions(ctx));
  return ctx.reply(rendered.text, {
    parse_mode: 'HTML',
    link_preview_options: { is_disabled: true },
    ...underPressed(pressed),
  });
});
