import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { Composer } from 'grammy';
import { mailAddress, maskedAddress } from '../../core/mail-address.ts';
import { deleteValue, readValue, writeValue } from '../../db/key-value.ts';
import { InputError } from '../../core/errors.ts';
import { describeError, inputError } from '../../i18n/index.ts';
import { setUserMail } from '../../registry/users.ts';
import { actorOf, typedText, type BotContext } from '../context.ts';

/**
 * `/email адрес`: a person gives their own address, and it is theirs only
 * once they send back the code mailed to it (so nobody's alerts can be sent
 * to an address its owner never read). `/email -` clears it; `/email` alone
 * says what is set. At most three codes an hour are mailed for one person.
 */
export const email = new Composer<BotContext>();

/** How long a code is good for, and how many wrong ones end it. */
const CODE_TTL_MS = 15 * 60_000;
const MAX_WRONG_CODES = 5;
/** At most this many codes mailed for one person within the window: nobody's inbox is flooded, and guesses stay few. */
const MAX_CODES = 3;
const CODES_WINDOW_MS = 60 * 60_000;

interface PendingAddress {
  address: string;
  /** The code's SHA-256: the code itself is only in the mail. */
  codeHash: string;
  expiresAt: number;
  wrong: number;
}

const keyOf = (telegramId: number) => `email-confirmation:${telegramId}`;
/** When the codes of the last `CODES_WINDOW_MS` were mailed (ms since the epoch). */
const sentKeyOf = (telegramId: number) => `email-codes-sent:${telegramId}`;
const hashOf = (code: string) => createHash('sha256').update(code).digest('hex');

email.command('email', async (ctx) => {
  const { db, clock, sendMail } = ctx.services;
  const staff = ctx.staff!;
  const arg = typedText(ctx.match, 300);
  const t = ctx.t.email;
  if (arg === '') return ctx.reply(staff.email ? t.current(staff.email, ctx.t.channels[staff.channel] ?? staff.channel) : t.none);
  if (arg === '-') {
    await setUserMail({ db, clock, actor: actorOf(staff.telegramId) }, staff.telegramId, { email: null });
    await deleteValue(db, keyOf(staff.telegramId));
    return ctx.reply(t.cleared);
  }
  if (/^\d{6}$/.test(arg)) return confirm(ctx, arg);
  const address = mailAddress(arg);
  if (address === null) return ctx.reply(describeError(inputError('emailInvalid', { text: arg }), ctx.lang));
  if (!sendMail) return ctx.reply(t.notConfigured);
  const now = clock();
  const sent = ((await readValue<number[]>(db, sentKeyOf(staff.telegramId))) ?? []).filter((at) => at > now.getTime() - CODES_WINDOW_MS);
  if (sent.length >= MAX_CODES) return ctx.reply(t.tooManyCodes(Math.max(1, Math.ceil((Math.min(...sent) + CODES_WINDOW_MS - now.getTime()) / 60_000))));
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  await writeValue(db, keyOf(staff.telegramId), { address, codeHash: hashOf(code), expiresAt: now.getTime() + CODE_TTL_MS, wrong: 0 } satisfies PendingAddress, now);
  try {
    await sendMail({ to: address, subject: t.codeSubject, text: t.codeMail(staff.name, code) });
  } catch (err) {
    await deleteValue(db, keyOf(staff.telegramId));
    ctx.log.warn({ to: maskedAddress(address), reason: err instanceof Error ? err.message : String(err) }, 'confirmation code not mailed');
    return ctx.reply(t.notSent(err instanceof Error ? err.message : String(err)));
  }
  await writeValue(db, sentKeyOf(staff.telegramId), [...sent, now.getTime()], now);
  return ctx.reply(t.codeSent(address));
});

async function confirm(ctx: BotContext, code: string) {
  const { db, clock } = ctx.services;
  const staff = ctx.staff!;
  const t = ctx.t.email;
  const pending = await readValue<PendingAddress>(db, keyOf(staff.telegramId));
  const now = clock();
  if (!pending || pending.expiresAt <= now.getTime()) {
    if (pending) await deleteValue(db, keyOf(staff.telegramId));
    return ctx.reply(t.noPending);
  }
  const given = Buffer.from(hashOf(code), 'hex');
  if (!timingSafeEqual(given, Buffer.from(pending.codeHash, 'hex'))) {
    const wrong = pending.wrong + 1;
    if (wrong >= MAX_WRONG_CODES) {
      await deleteValue(db, keyOf(staff.telegramId));
      return ctx.reply(t.tooManyWrong);
    }
    await writeValue(db, keyOf(staff.telegramId), { ...pending, wrong }, now);
    return ctx.reply(t.wrongCode(MAX_WRONG_CODES - wrong));
  }
  await deleteValue(db, keyOf(staff.telegramId));
  try {
    await setUserMail({ db, clock, actor: actorOf(staff.telegramId) }, staff.telegramId, { email: pending.address });
  } catch (err) {
    if (err instanceof InputError) return ctx.reply(describeError(err, ctx.lang));
    throw err;
  }
  return ctx.reply(t.confirmed(pending.address));
}
