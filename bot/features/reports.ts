import { Composer, InputFile } from 'grammy';
import { DateTime } from 'luxon';
import { InputError } from '../../core/errors.ts';
import { commandWord } from '../../core/command-words.ts';
import { placeOf } from '../../core/vocabulary.ts';
import { formatQuietWindow, parseQuietWindow, type QuietWindow } from '../../core/quiet-hours.ts';
import { scopeOf } from '../../db/digest.ts';
import { assembleDigest, LICENCE_HORIZON_DAYS } from '../../digest/assemble.ts';
import { licenceStanding } from '../../digest/licences.ts';
import { licenceLine } from '../render/digest.ts';
import { formatSpan } from '../../i18n/format.ts';
import { setPersonalDigest, setQuietHours } from '../../registry/users.ts';
import { changePolicy } from '../../registry/policies.ts';
import { describeError } from '../../i18n/index.ts';
import { actorOf, typedText, type BotContext } from '../context.ts';
import { buildDigest } from '../digest.ts';
import { escapeHtml, fitMessage } from '../html.ts';

/** /digest on demand, /versions, /sales, and each person's own settings: /quiet and /mydigest. */
export const reports = new Composer<BotContext>();

reports.command('digest', async (ctx) => {
  const { db, clock, settings } = ctx.services;
  const built = await buildDigest(db, ctx.staff!, clock(), settings.digest);
  await ctx.reply(built.text, { parse_mode: 'HTML' });
  if (built.png) await ctx.replyWithPhoto(new InputFile(built.png, 'incidents.png'), { caption: built.chartCaption });
});

/** The caller's clients as the digest sees them now (for /versions and /sales). */
async function digestOfCaller(ctx: BotContext) {
  const { db, clock, settings } = ctx.services;
  const now = clock();
  return assembleDigest(db, await scopeOf(db, ctx.staff!), now, {
    day: DateTime.fromJSDate(now).setZone(settings.digest.tz).toISODate()!,
    tz: settings.digest.tz,
    salesMinDays: settings.digest.salesMinDays,
  });
}

reports.command('versions', async (ctx) => {
  const now = ctx.services.clock();
  const digest = await digestOfCaller(ctx);
  const v = ctx.t.versions;
  const c = digest.campaign;
  if (!c) return ctx.reply(v.noPolicy);
  const lines = [v.title(escapeHtml(c.minVersion), c.compliant, c.total)];
  if (c.lagging.length === 0) lines.push(v.nobodyLags);
  const byManager = new Map<string, typeof c.lagging>();
  for (const item of c.lagging) {
    const key = item.managerName ?? v.noManager;
    byManager.set(key, [...(byManager.get(key) ?? []), item]);
  }
  for (const [manager, items] of byManager) {
    lines.push('', `👤 <b>${escapeHtml(manager)}</b> (${items.length})`);
    for (const item of items) {
      const lag = item.lagSince ? formatSpan(ctx.lang, now.getTime() - item.lagSince.getTime()) : ctx.t.unknown;
      lines.push(`• ${escapeHtml(placeOf(item.clientName, item.installationName))}: ${escapeHtml(item.shellVersion)} · ${v.lagging(lag)}`);
    }
  }
  return ctx.reply(fitMessage(lines.join('\n')), { parse_mode: 'HTML' });
});

/** An admin sets the fleet's minimum shell version in chat: `/minversion 6.4.3.59` (`/minversion -` drops it). */
reports.command('minversion', async (ctx) => {
  const staff = ctx.staff;
  if (!staff?.active || staff.role !== 'admin') return ctx.reply(ctx.t.adminsOnly);
  const value = (typeof ctx.match === 'string' ? ctx.match : '').trim();
  if (!value) return ctx.reply(ctx.t.versions.minVersionUsage);
  try {
    await changePolicy({ db: ctx.services.db, clock: ctx.services.clock, actor: actorOf(staff.telegramId) }, 'min-shell-version', value === '-' ? null : value);
  } catch (err) {
    if (err instanceof InputError) return ctx.reply(describeError(err, ctx.lang));
    throw err;
  }
  return ctx.reply(value === '-' ? ctx.t.versions.minVersionDropped : ctx.t.versions.minVersionSet(value));
});

reports.command('sales', async (ctx) => {
  const digest = await digestOfCaller(ctx);
  const s = ctx.t.sales;
  if (digest.sales.length === 0) return ctx.reply(s.none);
  const lines = [s.title(digest.sales.length)];
  for (const signal of digest.sales) {
    const where = escapeHtml(placeOf(signal.clientName, signal.installationName));
    lines.push(s.line(where, String(signal.licenseLimit ?? ctx.t.web.noData), String(signal.peak ?? ctx.t.web.noData), signal.daysAtLimit, escapeHtml(signal.managerName ?? '')));
  }
  return ctx.reply(fitMessage(lines.join('\n')), { parse_mode: 'HTML' });
});

/** Renewal planning: the caller's installations whose licence ends within the days asked (30 by default), by manager. */
reports.command('licenses', async (ctx) => {
  const { db, clock, settings } = ctx.services;
  const arg = typedText(ctx.match);
  const days = arg === '' ? LICENCE_HORIZON_DAYS : /^\d{1,3}$/.test(arg) ? Number(arg) : NaN;
  if (!(days >= 1 && days <= 366)) return ctx.reply(ctx.t.licenses.usage);
  const now = clock();
  const { ending, undated, monitored } = await licenceStanding(db, await scopeOf(db, ctx.staff!), now, days);
  // «No licence ends» is said only of what is known: installations whose dates are unknown are counted, with why.
  const unknown = undated.noReports + undated.noSysinfo + undated.noDates;
  const unknownLine = unknown > 0 ? ctx.t.licenses.undated(unknown, monitored, undated) : null;
  if (ending.length === 0) {
    const text = unknown === monitored ? ctx.t.licenses.noneKnown(monitored) : ctx.t.licenses.none(days);
    return ctx.reply([text, ...(unknownLine ? [unknownLine] : [])].join('\n'));
  }
  const byManager = new Map<string, typeof ending>();
  for (const item of ending) {
    const key = item.managerName ?? ctx.t.licenses.noManager;
    byManager.set(key, [...(byManager.get(key) ?? []), item]);
  }
  const lines = [ctx.t.licenses.title(days, ending.length)];
  for (const [manager, items] of byManager) {
    lines.push('', `👤 <b>${escapeHtml(manager)}</b> (${items.length})`, ...items.map((item) => `• ${licenceLine(item, ctx.lang, now, settings.displayTz)}`));
  }
  if (unknownLine) lines.push('', escapeHtml(unknownLine));
  return ctx.reply(fitMessage(lines.join('\n')), { parse_mode: 'HTML' });
});

reports.command('quiet', async (ctx) => {
  const { db, clock, settings } = ctx.services;
  const staff = ctx.staff!;
  const arg = (typeof ctx.match === 'string' ? ctx.match : '').trim().toLowerCase();
  let own: QuietWindow | null = staff.quietFrom !== null && staff.quietTo !== null ? { from: staff.quietFrom, to: staff.quietTo } : null;
  if (arg) {
    const word = commandWord(arg);
    if (word === 'off') own = { from: 0, to: 0 };
    else if (word === 'default') own = null;
    else {
      try {
        own = parseQuietWindow(arg);
      } catch (err) {
        if (err instanceof InputError) return ctx.reply(ctx.t.quiet.usage);
        throw err;
      }
    }
    await setQuietHours({ db, clock, actor: actorOf(staff.telegramId) }, staff.telegramId, own);
  }
  const window = own ?? settings.defaultQuietHours;
  return ctx.reply(window.from === window.to ? ctx.t.quiet.off : ctx.t.quiet.on(formatQuietWindow(window)));
});

reports.command('mydigest', async (ctx) => {
  const { db, clock } = ctx.services;
  const staff = ctx.staff!;
  const arg = (typeof ctx.match === 'string' ? ctx.match : '').trim();
  const word = commandWord(arg);
  if (arg && word !== 'on' && word !== 'off') {
    return ctx.reply(`${ctx.t.myDigest.usage}\n${staff.personalDigest ? ctx.t.myDigest.on : ctx.t.myDigest.off}`);
  }
  const on = arg ? word === 'on' : staff.personalDigest;
  if (arg) await setPersonalDigest({ db, clock, actor: actorOf(staff.telegramId) }, staff.telegramId, on);
  return ctx.reply(on ? ctx.t.myDigest.on : ctx.t.myDigest.off);
});
