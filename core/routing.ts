/**
 * Who hears about a client's incident. Announcements go to the client's
 * notification chat if it has one, else to the responsible manager's private
 * chat; escalations go to the manager's team lead. When nobody fits, the admins
 * hear it, so an alert is never addressed to no one.
 */
export interface Person {
  telegramId: number;
  active: boolean;
  /** Where their alerts go (see `channelsFor`); Telegram when not given, or when they have no address. */
  channel?: AlertChannel;
}

export type AlertChannel = 'telegram' | 'email' | 'both';

export interface Audience {
  clientChatId: number | null;
  manager: (Person & { leadId: number | null }) | null;
  lead: Person | null;
  admins: readonly Person[];
}

/**
 * `updated`: what an open incident is about changed (a new database error
 * code); its messages are redrawn. `wake`: a critical incident of the night
 * nobody took, sent again before work starts to the people who answer for it.
 */
export type AnnouncementKind = 'opened' | 'acknowledged' | 'resolved' | 'reminder' | 'escalated' | 'updated' | 'wake';

/**
 * `escalated`: the incident was escalated, so whoever got the escalation also
 * hears that it was acknowledged or resolved.
 */
export function recipientsFor(kind: AnnouncementKind, audience: Audience, escalated = false): number[] {
  const admins = audience.admins.filter((a) => a.active).map((a) => a.telegramId);
  const escalation = audience.lead?.active ? [audience.lead.telegramId] : admins;
  if (kind === 'escalated') return escalation;
  if (kind === 'wake') {
    // The people themselves, in private, whatever the client's chat: the manager and their lead.
    const people = [audience.manager, audience.lead].filter((p): p is NonNullable<typeof p> => p?.active === true).map((p) => p.telegramId);
    return people.length > 0 ? [...new Set(people)] : admins;
  }
  // A private chat's id is the user's Telegram id.
  const primary =
    audience.clientChatId !== null ? [audience.clientChatId] : audience.manager?.active ? [audience.manager.telegramId] : admins;
  if (escalated && (kind === 'acknowledged' || kind === 'resolved' || kind === 'updated')) return [...new Set([...primary, ...escalation])];
  return primary;
}

/**
 * How one announcement reaches a person with this channel: in Telegram or
 * not, and whether as an alert mail. In Telegram every kind goes as always.
 * By mail a person hears that an alert began (`both`: once, beside Telegram;
 * `email`: also when it is escalated or woken, since nothing else calls
 * them), and that a critical they were mailed about ended (the outbox side
 * writes that one; reminders and redraws do not go by mail).
 */
export function channelsFor(kind: AnnouncementKind, channel: AlertChannel): { telegram: boolean; alertMail: boolean } {
  if (channel === 'telegram') return { telegram: true, alertMail: false };
  if (channel === 'both') return { telegram: true, alertMail: kind === 'opened' };
  return { telegram: false, alertMail: kind === 'opened' || kind === 'escalated' || kind === 'wake' };
}

/** The channel of the person behind a private chat, as the audience knows them (groups, and people it does not list, are Telegram). */
export function channelOf(audience: Audience, chatId: number): AlertChannel {
  const people = [audience.manager, audience.lead, ...audience.admins];
  return people.find((p) => p?.telegramId === chatId)?.channel ?? 'telegram';
}
