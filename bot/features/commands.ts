import { Composer, InlineKeyboard } from 'grammy';
import { canAct } from '../../core/permissions.ts';
import { commandWord } from '../../core/command-words.ts';
import { getClient } from '../../db/clients.ts';
import { listHolds, listIncidentsWithNames, type IncidentListRow } from '../../db/incidents.ts';
import { searchIndexFor } from '../../db/search-index.ts';
import { getClientStatus, listClientsWithProblems } from '../../db/status.ts';
import { cardButtons, clientsVisibleIn, responsibleFor, typedText, type BotContext } from '../context.ts';
import { escapeHtml, fitMessage } from '../html.ts';
import { formatDateTime, formatSpan } from '../../i18n/format.ts';
import { ruleTitle } from '../../i18n/index.ts';
import { renderClientStatus, statusKeyboard } from '../render/status.ts';
import { MARK, placeOf, severityMark } from '../../core/vocabulary.ts';
import { holdText } from '../render/hold.ts';

/** Staff commands: /status (and free text in private), /incidents, /help, /whoami. */
export const commands = new Composer<BotContext>();

/** Arguments from outside are trimmed, stripped of control characters and capped. */
const argument = (ctx: BotContext & { match: string | RegExpMatchArray }) => typedText(ctx.match);

async function sendStatus(ctx: BotContext, clientId: number): Promise<void> {
  const { db, clock, settings } = ctx.services;
  const status = await getClientStatus(db, clientId, ctx.services.clock());
  if (!status) return;
  const keyboard = statusKeyboard(status, ctx.lang, cardButtons(ctx));
  await ctx.reply(renderClientStatus(status, ctx.lang, settings.displayTz, clock()), { parse_mode: 'HTML', ...(keyboard ? { reply_markup: keyboard } : {}) });
}

commands.command('help', (ctx) =>
  ctx.reply(ctx.t.help + (ctx.staff?.role === 'admin' ? `\n${ctx.t.adminHelp}` : ''), { parse_mode: 'HTML' }),
);

commands.command('whoami', (ctx) => {
  const staff = ctx.staff!;
  return ctx.reply(ctx.t.whoami(escapeHtml(staff.name), staff.telegramId, ctx.t.roles[staff.role] ?? staff.role), { parse_mode: 'HTML' });
});

commands.command('status', (ctx) => answerStatus(ctx, argument(ctx)));

/** Free text in a private chat is a question about a client: «Ромашка» is `/status Ромашка`. */
commands.on('message:text', async (ctx, next) => {
  if (ctx.chat.type !== 'private' || ctx.message.text.startsWith('/')) return next();
  const query = typedText(ctx.message.text);
  if (!query) return next();
  return answerStatus(ctx, query);
});

async function answerStatus(ctx: BotContext, query: string) {
  const { db } = ctx.services;
  const visible = await clientsVisibleIn(ctx);
  const seen = (clientId: number) => visible === null || visible.has(clientId);
  if (!query) {
    const mine = (await listClientsWithProblems(db)).filter((c) => canAct(ctx.staff, c) && seen(c.clientId));
    if (mine.length === 0) return ctx.reply(ctx.t.statusAllGood);
    const keyboard = new InlineKeyboard();
    const lines = [ctx.t.statusProblems];
    for (const c of mine.slice(0, 30)) {
      lines.push(`${c.critical > 0 ? '🔴' : '🟡'} ${escapeHtml(c.clientName)}: ${ctx.t.problemsSummary(c.open, c.unacknowledged)}`);
      if (mine.indexOf(c) < 8) keyboard.text(c.clientName.slice(0, 40), `stc:${c.clientId}`).row();
    }
    return ctx.reply(fitMessage(lines.join('\n')), { parse_mode: 'HTML', reply_markup: keyboard });
  }
  const hits = (await searchIndexFor(db)).searchQuestion(query).filter((hit) => seen(hit.clientId));
  if (hits.length === 0) return ctx.reply(ctx.t.statusNoMatch(query));
  if (hits.length === 1) return sendStatus(ctx, hits[0]!.clientId);
  const keyboard = new InlineKeyboard();
  for (const hit of hits.slice(0, 8)) {
    const client = await getClient(db, hit.clientId);
    if (client) keyboard.text(client.name.slice(0, 60), `stc:${client.id}`).row();
  }
  return ctx.reply(ctx.t.statusChoose, { reply_markup: keyboard });
}

commands.callbackQuery(/^stc:(\d+)$/, async (ctx) => {
  const clientId = Number(ctx.match[1]);
  const visible = await clientsVisibleIn(ctx);
  if (visible !== null && !visible.has(clientId)) return ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
  await ctx.answerCallbackQuery();
  return sendStatus(ctx, clientId);
});

commands.command('incidents', async (ctx) => {
  const { db, clock, settings } = ctx.services;
  const staff = ctx.staff!;
  const wantsAll = commandWord(argument(ctx)) === 'all' && staff.role !== 'manager';
  const responsible = new Map<number, Awaited<ReturnType<typeof responsibleFor>>>();
  const visible = await clientsVisibleIn(ctx);
  const rows: IncidentListRow[] = [];
  for (const row of await listIncidentsWithNames(db, { includeResolved: false, limit: 5000 })) {
    if (visible !== null && !visible.has(row.clientId)) continue;
    if (!wantsAll) {
      if (!responsible.has(row.clientId)) responsible.set(row.clientId, await responsibleFor(ctx, row.clientId));
      if (!canAct(staff, responsible.get(row.clientId)!)) continue;
    }
    rows.push(row);
  }
  if (rows.length === 0) return ctx.reply(ctx.t.incidentsNone);
  const now = clock();
  const lines = [`<b>${escapeHtml(ctx.t.incidentsTitle(rows.length))}</b>`];
  const shown = rows.slice(0, 40);
  const holds = await listHolds(db, shown, now);
  for (const row of shown) {
    const age = formatSpan(ctx.lang, now.getTime() - row.openedAt.getTime());
    const state = row.status === 'acknowledged' ? MARK.taken : MARK.untaken;
    const hold = holds.get(row.id);
    lines.push(
      `${severityMark(row.severity)} ${state} #${row.id} ${escapeHtml(ruleTitle(ctx.lang, row.ruleId))} — ${escapeHtml(placeOf(row.clientName, row.installationName))}, ${age}` +
        (hold ? `, ${escapeHtml(holdText(hold, ctx.lang, now, settings.displayTz))}` : ''),
    );
  }
  if (rows.length > 40) lines.push('…');
  lines.push('', `${formatDateTime(now, settings.displayTz)}`);
  return ctx.reply(fitMessage(lines.join('\n')), { parse_mode: 'HTML' });
});

