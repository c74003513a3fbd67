import { Composer, InlineKeyboard } from 'grammy';
import { InputError } from '../../core/errors.ts';
import { canAct } from '../../core/permissions.ts';
import { normalize } from '../../core/search.ts';
import { readSilenceEnd } from '../../core/silence-phrase.ts';
import { getClient, type Client } from '../../db/clients.ts';
import { getInstallation, listInstallationsOfClient, type Installation } from '../../db/installations.ts';
import { searchIndexFor } from '../../db/search-index.ts';
import { getSilence, listActiveSilences, type SilenceRow } from '../../db/silences.ts';
import { clip, shortClientName } from '../../core/text.ts';
import { formatUntil, formatWhen } from '../../i18n/format.ts';
import { describeError, givenReason, ruleTitle } from '../../i18n/index.ts';
import { addSilence, addSilenceOverCriticals, criticalsPutOff, MAX_SILENCE_DAYS, removeSilence } from '../../registry/silences.ts';
import { putOffWitnesses } from '../../incidents/lifecycle.ts';
import { putsOff } from '../../core/silences.ts';
import { placeOf } from '../../core/vocabulary.ts';
import { deleteValue, readValue, writeValue } from '../../db/key-value.ts';
import { randomBytes } from 'node:crypto';
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

/** What the words of /silence name: a client, or one installation of it; or the reply that says why not. */
async function targetOf(ctx: BotContext, target: string): Promise<{ client: Client; installation: Installation | null } | { refusal: () => Promise<unknown> }> {
  const { db } = ctx.services;
  const visible = await clientsVisibleIn(ctx);
  const hits = (await searchIndexFor(db)).searchQuestion(target).filter((hit) => visible === null || visible.has(hit.clientId));
  if (hits.length === 0) return { refusal: () => ctx.reply(ctx.t.statusNoMatch(target)) };
  if (hits.length > 1 && hits[0]!.score === hits[1]!.score) {
    const names: string[] = [];
    for (const h of hits.slice(0, 8)) names.push(`• ${escapeHtml((await getClient(db, h.clientId))?.name ?? '')}`);
    return { refusal: () => ctx.reply(`${ctx.t.silenceAmbiguous}\n${names.join('\n')}`, { parse_mode: 'HTML' }) };
  }
  const client = (await getClient(db, hits[0]!.clientId))!;
  if (!canAct(ctx.staff, await responsibleFor(ctx, client.id))) return { refusal: () => ctx.reply(ctx.t.forbidden) };
  const installations = await listInstallationsOfClient(db, client.id);
  return { client, installation: installations.length > 1 ? namedInstallation(installations, target) : null };
}

const whatOf = (client: Client, installation: Installation | null) => (installation ? placeOf(client.name, installation.name) : client.name);

/**
 * Put off what the target covers until `endsAt`, and say so with a button
 * that lifts it. When that puts off an open critical nobody took (past an
 * hour, or till a moment named: core/silences.ts `putsOff`), it is asked
 * first, as «💤 До утра» under the alert asks, naming who will be told.
 */
async function silenceTarget(ctx: BotContext, client: Client, installation: Installation | null, endsAt: Date, reason: string, tillNamedMoment: boolean) {
  const { db, clock, settings } = ctx.services;
  const now = clock();
  const scope = { clientId: client.id, installationId: installation?.id ?? null };
  const criticals = putsOff(endsAt, now, tillNamedMoment) ? await criticalsPutOff(db, scope, endsAt, now) : [];
  if (criticals.length > 0) {
    const until = formatUntil(ctx.lang, endsAt, now, settings.displayTz);
    const told = ctx.t.putOffTold(await putOffWitnesses(db, client.id, actorOf(ctx.from!.id)));
    // The question's buttons name what it asked by a key: a typed reason does not fit in a button's data.
    const key = randomBytes(9).toString('base64url');
    await writeValue(db, `${ASKED}${key}`, { ...scope, endsAt: endsAt.toISOString(), reason } satisfies Asked, now);
    const titles = [...new Set(criticals.map((incident) => ruleTitle(ctx.lang, incident.ruleId)))];
    return ctx.reply(ctx.t.silenceConfirmCritical(whatOf(client, installation), until, titles, told), {
      reply_markup: new InlineKeyboard().text(ctx.t.confirmCriticalSnoozeYes(until), `sil:y:${key}`).text(ctx.t.confirmCriticalSnoozeNo, `sil:n:${key}`),
    });
  }
  try {
    const silence = await addSilence(
      { db, clock, actor: actorOf(ctx.from!.id) },
      { ...(installation ? { installation: installation.id } : { client: String(client.id) }), endsAt, reason, tz: settings.displayTz },
    );
    return ctx.reply(ctx.t.silenceDone(whatOf(client, installation), formatUntil(ctx.lang, silence.endsAt, now, settings.displayTz), givenReason(silence.reason)), {
      reply_markup: new InlineKeyboard().text(ctx.t.liftButton, `sil:x:${silence.id}`),
    });
  } catch (err) {
    if (err instanceof InputError) return ctx.reply(describeError(err, ctx.lang));
    throw err;
  }
}

/** A silence over an open critical, asked about and waiting for «Да» (kept under `ASKED` + the key its buttons carry). */
interface Asked {
  clientId: number;
  installationId: number | null;
  endsAt: string;
  reason: string;
}
const ASKED = 'silence-asked:';

/** The client and installation a question was about, if the person may still act on them; else the refusal is answered. */
async function askedTarget(ctx: BotContext, asked: Asked): Promise<{ client: Client; installation: Installation | null } | null> {
  const { db } = ctx.services;
  const installation = asked.installationId === null ? null : ((await getInstallation(db, asked.installationId)) ?? null);
  const client = await getClient(db, asked.clientId);
  const visible = await clientsVisibleIn(ctx);
  if (!client || (asked.installationId !== null && !installation) || (visible !== null && !visible.has(client.id)) || !canAct(ctx.staff, await responsibleFor(ctx, client.id))) {
    await ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
    return null;
  }
  return { client, installation };
}

/** «💤 Да, до …» under the question: the silence is added, the criticals it puts off are told, and the question becomes the answer. */
silences.callbackQuery(/^sil:([yn]):([\w-]{1,20})$/, async (ctx) => {
  const { db, clock, settings } = ctx.services;
  const key = `${ASKED}${ctx.match[2]}`;
  const asked = await readValue<Asked>(db, key);
  if (!asked) return ctx.answerCallbackQuery({ text: ctx.t.questionAnswered });
  const target = await askedTarget(ctx, asked);
  if (!target) return;
  await deleteValue(db, key);
  await ctx.answerCallbackQuery();
  if (ctx.match[1] === 'n') return ctx.editMessageText(ctx.t.criticalSnoozeCancelled).catch((err: unknown) => ctx.log.debug({ err }, 'question not edited'));
  try {
    const { silence, told } = await addSilenceOverCriticals(
      { db, clock, actor: actorOf(ctx.from.id) },
      { clientId: asked.clientId, installationId: asked.installationId },
      { endsAt: new Date(asked.endsAt), reason: asked.reason, tz: settings.displayTz },
    );
    ctx.services.onIncidentChange();
    const until = formatUntil(ctx.lang, silence.endsAt, clock(), settings.displayTz);
    return ctx.editMessageText(ctx.t.silenceDone(whatOf(target.client, target.installation), until, givenReason(silence.reason), ctx.t.putOffTold(told)), {
      reply_markup: new InlineKeyboard().text(ctx.t.liftButton, `sil:x:${silence.id}`),
    });
  } catch (err) {
    if (err instanceof InputError) return ctx.reply(describeError(err, ctx.lang));
    throw err;
  }
});

/** The terms offered as buttons when /silence names a client but not for how long. */
const OFFERED_TERMS = ['1h', '4h', 'morning', 'monday'] as const;
type OfferedTerm = (typeof OFFERED_TERMS)[number];

function offeredEnd(term: OfferedTerm, now: Date, tz: string, morningHour: number): Date {
  if (term === '1h' || term === '4h') return new Date(now.getTime() + (term === '1h' ? 1 : 4) * 3_600_000);
  return readSilenceEnd(['до', term === 'morning' ? 'утра' : 'понедельника'], now, tz, morningHour)!.endsAt;
}

silences.command('silence', async (ctx) => {
  const { clock, settings } = ctx.services;
  const words = argument(ctx).split(' ').filter(Boolean);
  const now = clock();
  let at = -1;
  let end = null;
  for (let i = 1; i < words.length && !end; i++) {
    end = readSilenceEnd(words.slice(i), now, settings.displayTz, settings.morningHour);
    if (end) at = i;
  }
  if (!end) {
    // A client named without a term: the usual terms, a tap away, rather than the format to learn.
    if (words.length === 0) return ctx.reply(ctx.t.silenceUsage, { parse_mode: 'HTML' });
    const found = await targetOf(ctx, words.join(' '));
    if ('refusal' in found) return found.refusal();
    const scope = found.installation ? `i${found.installation.id}` : `c${found.client.id}`;
    const keyboard = new InlineKeyboard();
    for (const term of OFFERED_TERMS) keyboard.text(ctx.t.silenceTerms[term], `sil:a:${scope}:${term}`);
    return ctx.reply(ctx.t.silenceAskTerm(whatOf(found.client, found.installation)), { reply_markup: keyboard });
  }
  const target = words.slice(0, at).join(' ');
  const reason = words.slice(at + end.words).join(' ') || ctx.t.defaultReason;
  const found = await targetOf(ctx, target);
  if ('refusal' in found) return found.refusal();
  // «до 01.12» said on 06.12 is next year's 01.12: past the longest silence, that is what is said, not a rule.
  if (end.nextYear && end.endsAt.getTime() - now.getTime() > MAX_SILENCE_DAYS * 86_400_000) {
    return ctx.reply(ctx.t.silenceDateNextYear(formatWhen(ctx.lang, end.endsAt, now, settings.displayTz, true), MAX_SILENCE_DAYS));
  }
  // «до утра», «до 18:00»: a moment named, however near; «2ч» is a wait.
  return silenceTarget(ctx, found.client, found.installation, end.endsAt, reason, ['до', 'until'].includes(words[at]!.toLowerCase()));
});

/** A term pressed under «На сколько отложить…?». */
silences.callbackQuery(/^sil:a:([ci])(\d+):(1h|4h|morning|monday)$/, async (ctx) => {
  const { db, clock, settings } = ctx.services;
  const byInstallation = ctx.match[1] === 'i';
  const installation = byInstallation ? await getInstallation(db, Number(ctx.match[2])) : undefined;
  // An installation gone since the question was asked is not taken for a client of the same number.
  const client = byInstallation ? (installation ? await getClient(db, installation.clientId) : undefined) : await getClient(db, Number(ctx.match[2]));
  const visible = await clientsVisibleIn(ctx);
  if (!client || (visible !== null && !visible.has(client.id)) || !canAct(ctx.staff, await responsibleFor(ctx, client.id))) {
    return ctx.answerCallbackQuery({ text: ctx.t.forbidden, show_alert: true });
  }
  await ctx.answerCallbackQuery();
  const term = ctx.match[3] as OfferedTerm;
  const endsAt = offeredEnd(term, clock(), settings.displayTz, settings.morningHour);
  return silenceTarget(ctx, client, installation ?? null, endsAt, ctx.t.defaultReason, term === 'morning' || term === 'monday');
});

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
