import { Composer, InputFile } from 'grammy';
import { DateTime } from 'luxon';
import { formatQuietWindow, parseQuietWindow } from '../../core/quiet-hours.ts';
import { InputError } from '../../core/errors.ts';
import { recordAudit } from '../../db/audit.ts';
import { updateUser } from '../../db/users.ts';
import { assembleDigest } from '../../digest/assemble.ts';
import { buildDigest } from '../../digest/build.ts';
import { scopeOf } from '../../digest/scope.ts';
import { actorOf, type BotContext } from '../context.ts';
import { escapeHtml, fitMessage } from '../html.ts';
import { formatSpan } from '../i18n.ts';

/** /digest on demand, /versions, /sales, and each person's own settings: /quiet and /mydigest. */
export const reports = new Composer<BotContext>();

reports.command('digest', async (ctx) => {
  const { db, clock, settings } = ctx.services;
  const built = buildDigest(db, ctx.staff!, clock(), settings.digest);
  await ctx.reply(built.text, { parse_mode: 'HTML' });
  await ctx.replyWithPhoto(new InputFile(built.png, 'incidents.png'), { caption: built.chartCaption });
});

/** The caller's clients as the digest sees them now (for /versions and /sales). */
function digestOfCaller(ctx: BotContext) {
  const { db, clock, settings } = ctx.services;
  const now = clock();
  return assembleDigest(db, scopeOf(db, ctx.staff!), now, {
    day: DateTime.fromJSDate(now).setZone(settings.digest.tz).toISODate()!,
    tz: settings.digest.tz,
    salesMinDays: settings.digest.salesMinDays,
  });
}

reports.command('versions', async (ctx) => {
  const now = ctx.services.clock();
  const digest = digestOfCaller(ctx);
  const en = ctx.lang === 'en';
  const c = digest.campaign;
  if (!c) return ctx.reply(en ? 'No minimum shell version is set: dozor policy set min-shell-version 6.4.3.59' : 'Минимальная версия ПК не задана: dozor policy set min-shell-version 6.4.3.59');
  const lines = [
    en ? `<b>Version campaign</b>: at least ${escapeHtml(c.minVersion)}, ${c.compliant} of ${c.total} comply` : `<b>Кампания версий</b>: не ниже ${escapeHtml(c.minVersion)}, соответствуют ${c.compliant} из ${c.total}`,
  ];
  if (c.lagging.length === 0) lines.push(en ? '✅ Nobody lags behind.' : '✅ Отстающих нет.');
  const byManager = new Map<string, typeof c.lagging>();
  for (const item of c.lagging) {
    const key = item.managerName ?? (en ? 'no manager' : 'без менеджера');
    byManager.set(key, [...(byManager.get(key) ?? []), item]);
  }
  for (const [manager, items] of byManager) {
    lines.push('', `👤 <b>${escapeHtml(manager)}</b> (${items.length})`);
    for (const item of items) {
      const lag = item.lagSince ? formatSpan(ctx.lang, now.getTime() - item.lagSince.getTime()) : '—';
      lines.push(`• ${escapeHtml(item.clientName)} / ${escapeHtml(item.installationName)}: ${escapeHtml(item.shellVersion)} · ${en ? 'lagging' : 'отстаёт'} ${lag}`);
    }
  }
  return ctx.reply(fitMessage(lines.join('\n')), { parse_mode: 'HTML' });
});

reports.command('sales', async (ctx) => {
  const digest = digestOfCaller(ctx);
  const en = ctx.lang === 'en';
  if (digest.sales.length === 0) {
    return ctx.reply(en ? 'No installation hit its licence limit often in the last 7 days.' : 'За 7 дней никто не упирался в лимит лицензий часто.');
  }
  const lines = [en ? `<b>Sales opportunities</b> (${digest.sales.length}):` : `<b>Возможности продаж</b> (${digest.sales.length}):`];
  for (const s of digest.sales) {
    lines.push(
      en
        ? `💰 ${escapeHtml(s.clientName)} / ${escapeHtml(s.installationName)} — limit ${s.licenseLimit ?? '?'}, peak ${s.peak ?? '?'}, limit hit on ${s.daysAtLimit} of 7 days · ${escapeHtml(s.managerName ?? '')}`
        : `💰 ${escapeHtml(s.clientName)} / ${escapeHtml(s.installationName)} — лимит ${s.licenseLimit ?? '?'}, пик ${s.peak ?? '?'}, лимит исчерпан ${s.daysAtLimit} из 7 дней · ${escapeHtml(s.managerName ?? '')}`,
    );
  }
  return ctx.reply(fitMessage(lines.join('\n')), { parse_mode: 'HTML' });
});

reports.command('quiet', async (ctx) => {
  const { db, clock, settings } = ctx.services;
  const staff = ctx.staff!;
  const en = ctx.lang === 'en';
  const arg = (typeof ctx.match === 'string' ? ctx.match : '').trim().toLowerCase();
  let from: number | null = staff.quietFrom;
  let to: number | null = staff.quietTo;
  if (arg === 'off') [from, to] = [0, 0];
  else if (arg === 'default') [from, to] = [null, null];
  else if (arg) {
    try {
      ({ from, to } = parseQuietWindow(arg));
    } catch (err) {
      if (err instanceof InputError) return ctx.reply(en ? 'Usage: /quiet 22:00-08:00, /quiet off or /quiet default' : 'Формат: /quiet 22:00-08:00, /quiet off или /quiet default');
      throw err;
    }
  }
  if (arg) {
    updateUser(db, staff.telegramId, { quietFrom: from, quietTo: to });
    recordAudit(db, { at: clock(), actor: actorOf(staff.telegramId), action: 'user.quiet-hours', subjectType: 'user', subjectId: staff.telegramId, details: { from, to } });
  }
  const window = from !== null && to !== null ? { from, to } : settings.defaultQuietHours;
  const text =
    window.from === window.to
      ? en ? 'Quiet hours are off: warnings come at any hour.' : 'Тихие часы выключены: предупреждения приходят в любое время.'
      : en
        ? `Quiet hours: ${formatQuietWindow(window)}. Warnings in this time wait until the end and come as one message; critical alerts always come at once.`
        : `Тихие часы: ${formatQuietWindow(window)}. Предупреждения в это время ждут утра и приходят одним сообщением; критичные алерты приходят сразу.`;
  return ctx.reply(text);
});

reports.command('mydigest', async (ctx) => {
  const { db, clock } = ctx.services;
  const staff = ctx.staff!;
  const en = ctx.lang === 'en';
  const arg = (typeof ctx.match === 'string' ? ctx.match : '').trim().toLowerCase();
  if (arg === 'on' || arg === 'off') {
    updateUser(db, staff.telegramId, { personalDigest: arg === 'on' });
    recordAudit(db, { at: clock(), actor: actorOf(staff.telegramId), action: 'user.personal-digest', subjectType: 'user', subjectId: staff.telegramId, details: { on: arg === 'on' } });
  }
  const on = arg ? arg === 'on' : staff.personalDigest;
  return ctx.reply(
    on
      ? en ? 'Your personal morning digest is on (/mydigest off to stop).' : 'Личная утренняя сводка по вашим клиентам включена (/mydigest off — выключить).'
      : en ? 'Your personal morning digest is off (/mydigest on to get it).' : 'Личная утренняя сводка выключена (/mydigest on — включить).',
  );
});
