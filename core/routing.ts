/**
 * Who hears about a client's incident. Announcements go to the client's
 * notification chat if it has one, else to the responsible manager's private
 * chat; escalations go to the manager's team lead. When nobody fits, the admins
 * hear it, so an alert is never addressed to no one.
 */
export interface Person {
  telegramId: number;
  active: boolean;
}

export interface Audience {
  clientChatId: number | null;
  manager: (Person & { leadId: number | null }) | null;
  lead: Person | null;
  admins: readonly Person[];
}

export type AnnouncementKind = 'opened' | 'acknowledged' | 'resolved' | 'reminder' | 'escalated';

export function recipientsFor(kind: AnnouncementKind, audience: Audience): number[] {
  const admins = audience.admins.filter((a) => a.active).map((a) => a.telegramId);
  if (kind === 'escalated') {
    if (audience.lead?.active) return [audience.lead.telegramId];
    return admins;
  }
  if (audience.clientChatId !== null) return [audience.clientChatId];
  // A private chat's id is the user's Telegram id.
  if (audience.manager?.active) return [audience.manager.telegramId];
  return admins;
}
