import { DateTime } from 'luxon';
import { parseDuration } from '../core/duration.ts';
import { InputError, NotFoundError } from '../core/errors.ts';
import { isRuleId } from '../core/rules.ts';
import { recordAudit } from '../db/audit.ts';
import { endSilence, getSilence, insertSilence, type SilenceRow } from '../db/silences.ts';
import type { RegistryContext } from './context.ts';
import { resolveClient } from './clients.ts';
import { requireInstallation } from './installations.ts';
import { displayName, validate } from './fields.ts';

export interface NewSilenceInput {
  installation?: string | number;
  client?: string;
  rule?: string;
  /** A duration such as 2h, or… */
  for?: string;
  /** …an end time (ISO 8601; without an offset read in `tz`). */
  until?: string;
  reason: string;
  tz: string;
}

const MAX_SILENCE_MS = 90 * 24 * 3_600_000;

/** Hold back announcements for an installation, a client and/or a rule until the silence ends. */
export function addSilence(ctx: RegistryContext, input: NewSilenceInput): SilenceRow {
  if (input.installation === undefined && input.client === undefined && input.rule === undefined) {
    throw new InputError('a silence needs an installation, a client or a rule to cover');
  }
  if ((input.for === undefined) === (input.until === undefined)) {
    throw new InputError('give either a duration (for) or an end time (until)');
  }
  if (input.rule !== undefined && !isRuleId(input.rule) && !/^[A-Za-z][A-Za-z0-9_]*$/.test(input.rule)) {
    throw new InputError(`"${input.rule}" is not a rule id`);
  }
  const reason = validate(displayName(500), input.reason, 'reason');
  const now = ctx.clock();
  const endsAt = input.for !== undefined ? new Date(now.getTime() + parseDuration(input.for)) : parseEnd(input.until!, input.tz);
  if (endsAt.getTime() <= now.getTime()) throw new InputError('the silence would end before it starts');
  if (endsAt.getTime() - now.getTime() > MAX_SILENCE_MS) throw new InputError('a silence can last at most 90 days');

  return ctx.db.transaction(
    (tx) => {
      const installationId = input.installation === undefined ? null : requireInstallation(tx, input.installation).id;
      const clientId = input.client === undefined ? null : resolveClient(tx, input.client).id;
      const silence = insertSilence(tx, {
        installationId,
        clientId,
        ruleId: input.rule ?? null,
        startsAt: now,
        endsAt,
        author: ctx.actor,
        reason,
        createdAt: now,
      });
      recordAudit(tx, { at: now, actor: ctx.actor, action: 'silence.add', subjectType: 'silence', subjectId: silence.id, details: { installationId, clientId, ruleId: silence.ruleId, endsAt, reason } });
      return silence;
    },
    { behavior: 'immediate' },
  );
}

/** End a silence now; what it held back and is still open is announced at the next sweep. */
export function removeSilence(ctx: RegistryContext, id: number): SilenceRow {
  return ctx.db.transaction(
    (tx) => {
      const silence = getSilence(tx, id);
      if (!silence) throw new NotFoundError(`no silence with id ${id}`);
      const now = ctx.clock();
      if (silence.removedAt || silence.endsAt.getTime() <= now.getTime()) throw new InputError(`silence ${id} has already ended`);
      endSilence(tx, id, now, ctx.actor);
      recordAudit(tx, { at: now, actor: ctx.actor, action: 'silence.remove', subjectType: 'silence', subjectId: id });
      return getSilence(tx, id)!;
    },
    { behavior: 'immediate' },
  );
}

function parseEnd(text: string, tz: string): Date {
  const parsed = DateTime.fromISO(text.trim(), { zone: tz });
  if (!parsed.isValid) throw new InputError(`"${text}" is not a time; write it like 2023-02-16T09:00 or 2023-02-16T09:00+03:00`);
  return parsed.toJSDate();
}
