/**
 * Who may act on a client's incidents (acknowledge, snooze, silence): the
 * responsible manager, that manager's team lead, and admins. Anyone on the
 * staff may look. Checked on every press and command, whatever a button says.
 */
export interface Actor {
  telegramId: number;
  role: 'admin' | 'lead' | 'manager';
  active: boolean;
}

export interface Responsible {
  managerId: number | null;
  managerLeadId: number | null;
}

export function canView(actor: Actor | null | undefined): boolean {
  return !!actor?.active;
}

export function canAct(actor: Actor | null | undefined, responsible: Responsible): boolean {
  if (!actor?.active) return false;
  if (actor.role === 'admin') return true;
  if (responsible.managerId === actor.telegramId) return true;
  return actor.role === 'lead' && responsible.managerLeadId === actor.telegramId;
}

/** How a staff member is named in the audit log and on incidents they touched. */
export const actorOf = (telegramId: number) => `tg:${telegramId}`;
