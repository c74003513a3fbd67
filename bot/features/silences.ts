import { Composer, InlineKeyboard } from 'grammy';
import { InputError } from '../../core/errors.ts';
import { canAct } from '../../core/permissions.ts';
import { normalize } from '../../core/search.ts';
import { readSilenceEnd } from '../../core/silence-phrase.ts';
import { getClient } from '../../db/clients.ts';
import { getInstallation, listInstallationsOfClient, type Installation } from '../../db/installations.ts';
import { searchIndexFor } from '../../db/search-index.ts';
import { getSilence, listActiveSilences, type SilenceRow } from '../../db/silences.ts';
import { shortClientName } from '../../core/text.ts';
import { formatUntil } from '../../i18n/format.ts';
import { describeError, givenReason, ruleTitle } from '../../i18n/index.ts';
import { addSilence, removeSilence } from '../../registry/silences.ts';
import { actorOf, clientsVisibleIn, responsibleFor, typedText, type BotContext } from '../context.ts';
import { escapeHtml, fitMessage } from '../html.ts';

/**
 * Silences in chat: `/silence <клиент|установка> <срок> [причина]` with the
 * terms people use («2ч», «30мин», «до утра», «до 18:00», «до 01.12»), an
 * installation alone when it is named; `/silences` lists those in force, each
 * with a button that lifts it.
 */
export const silences = new Composer<BotContext>();

const LISTED = 20;

const argument = (ctx: BotContext & { match: string | RegExpMatchArray }) => typedText(ctx.match, 300);

/** The installation the words name within a client, if they name one (the longest name found in them wins). */
function namedInstallation(installations: Installation[], target: string): Installation | null {
  const words = ` ${normalize(target)} `;
  const named = installations.filter((i) => words.includes(` ${normalize(i.name)} `)).sort((a, b) => b.name.length - a.name.length);
  return named[0] ?? null;
}

silences.command('silence', async (ctx) => {
  const { db, clock, settings } = ctx.services;
  const words = argument(ctx).split(' ').filter(Boolean);
  const now = clock();
  let at = -1;
  let end = null;
  for (let i = 1; i < words.length && !end; i++) {
    end = readSilenceEnd(words.slice(i), now, settings.displayTz, settings.morningHour);
    if (end) at = i;
  }
  if (!end) return ctx.reply(ctx.t.silenceUsage, { parse_mode: 'HTML' });
  const target = words.slice(0, at).join(' ');
  const reason = words.slice(at + end.words).join(' ') || ctx.t.defaultReason;
  const visible = await clientsVisibleIn(ctx);
  const hits = (await searchIndexFor(db)).search(target).filter((hit) => visible === null || visible.has(hit.clientId));
  if (hits.length === 0) return ctx.reply(ctx.t.statusNoMatch(target));
  if (hits.length > 1 && hits[0]!.score === hits[1]!.score) {
    const names: string[] = [];
    for (const h of hits.slice(0, 8)) names.push(`• ${escapeHtml((await getClient(db, h.clientId))?.name ?? '')}`);
    return ctx.reply(`${ctx.t.silenceAmbiguous}\n${names.join('\n')}`, { parse_mode: 'HTML' });
  }
  const client = (await getClient(db, hits[0]!.clientId))!;
  if (!canAct(ctx.staff, await responsibleFor(ctx, client.id))) return ctx.reply(ctx.t.forbidden);
  const installations = await listInstallationsOfClient(db, client.id);
  const installation = installations.length > 1 ? namedInstallation(installations, target) : null;
  try {
    const silence = await addSilence(
      { db, clock, actor: actorOf(ctx.from!.id) },
      { ...(installation ? { installation: installation.id } : { client: String(client.id) }), endsAt: end.endsAt, reason, tz: settings.displayTz },
    );
    const what = installation ? `${client.name} · ${installation.name}` : client.name;
    return ctx.reply(ctx.t.silenceDone(what, formatUntil(ctx.lang, silence.endsAt, now, settings.displayTz), givenReason(silence.reason)), {
      reply_markup: new InlineKeyboard().text(ctx.t.liftButton, `sil:x:${silence.id}`),
    });
  } catch (err) {
    if (err instanceof InputError) return ctx.reply(describeError(err, ctx.lang));
    throw err;
  }
});

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1).trimEnd()}…` : text);

/** What a silence covers, in words: a client, one installation, a rule (`short`: the client as people say it, for a button). */
async function scopeOf(ctx: BotContext, silence: SilenceRow): Promise<{ text: string; short: string; clientId: number | null }> {
  const { db } = ctx.services;
  const installation = silence.installationId === null ? undefined : await getInstallation(db, silence.installationId);
  const clientId = installation?.clientId ?? silence.clientId;
  const client = clientId === null ? undefined : await getClient(db, clientId);
  const parts = [client?.name, installation?.name, silence.ruleId ? ruleTitle(ctx.lang, silence.ruleId) : null].filter((p): p is string => !!p);
  const shortParts = [client ? shortClientName(client.name) : null, ...parts.slice(client ? 1 : 0)].filter((p): p is string => !!p);
  return { text: parts.join(' · ') || ctx.t.silenceEverything, short: shortParts.join(' · ') || ctx.t.silenceEverything, clientId: clientId ?? null };
}

silences.command('silences', async (ctx) => {
  const { db, clock, settings } = ctx.services;
  const now = clock();
  const visible = await clientsVisibleIn(ctx);
  const scoped: { silence: SilenceRow; scope: Awaited<ReturnType<typeof scopeOf>> }[] = [];
  for (const silence of await listActiveSilences(db, now)) scoped.push({ silence, scope: await scopeOf(ctx, silence) });
  const shown = scoped.filter(({ scope }) => visible === null || (scope.clientId !== null && visible.has(scope.clientId)));
  if (shown.length === 0) return ctx.reply(ctx.t.silencesNone);
  const keyboard = new InlineKeyboard();
  const lines = [`<b>${ctx.t.silencesTitle(shown.length)}</b>`, ''];
  shown.slice(0, LISTED).forEach(({ silence, scope }, i) => {
    const until = formatUntil(ctx.lang, silence.endsAt, now, settings.displayTz);
    lines.push(`${i + 1}. 💤 ${escapeHtml(scope.text)} — ${escapeHtml(ctx.t.silenceUntil(until, givenReason(silence.reason)))}`);
    // Two silences of one client differ in what they cover or until when: the button says both, and its number in the list.
    keyboard.text(ctx.t.liftNamed(`${i + 1}. ${clip(scope.short, 32)} ${ctx.t.untilShort(until)}`), `sil:x:${silence.id}`).row();
  });
  if (shown.length > LISTED) lines.push('…');
  return ctx.reply(fitMessage(lines.join('\n')), { parse_mode: 'HTML', reply_markup: keyboard });
});

silences.callbackQuery(/^sil:x:(\d+)$/, async (ctx) => {
  const { db, clock, settings } = ctx.services;
  const silence = await getSilence(db, Number(ctx.match[1]));
  if (!silence || silence.removedAt || silence.endsAt.getTime() <= clock().getTime()) {
    return ctx.answerCallbackQuery({ text: ctx.t.silenceAlreadyOver });
  }
  const scope = await scopeOf(ctx, silence);
  const visible = await clientsVisibleIn(ctx);
  const allowed = scope.clientId === null ? ctx.staff?.role === 'admin' && ctx.staff.active : canAct(ctx.staff, await responsibleFor(ctx, scope.clientId));
  if (!allowed || (visible !== null && (scope.clientId === null || !visible.has(scope.clientId)))) {
    return ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
  }
  await removeSilence({ db, clock, actor: actorOf(ctx.from.id) }, silence.id);
  await ctx.answerCallbackQuery({ text: ctx.t.silenceLifted });
  // What still holds over the same client (or over everything) is said, so nobody expects alerts that will not come.
  const now = clock();
  const stillHeld: string[] = [];
  for (const other of await listActiveSilences(db, now)) {
    const otherScope = await scopeOf(ctx, other);
    if (otherScope.clientId !== null && otherScope.clientId !== scope.clientId) continue;
    stillHeld.push(`${otherScope.text} — ${ctx.t.silenceUntil(formatUntil(ctx.lang, other.endsAt, now, settings.displayTz), givenReason(other.reason))}`);
  }
  const until = formatUntil(ctx.lang, silence.endsAt, now, settings.displayTz);
  return ctx.reply(ctx.t.silenceLiftedBy(scope.text, until, ctx.staff?.name ?? ctx.from.first_name, stillHeld));
});
