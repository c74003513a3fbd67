import type { Severity } from './rules.ts';

/**
 * One look for one thing wherever people see it (the bot, the cabinet, the
 * digest): a mark means the same everywhere, and a client's installation is
 * always written the same way. The words themselves are the catalogues' (i18n/).
 */
export const MARK = {
  critical: '🔴',
  warning: '🟡',
  /** A notice, never sent as an alert. */
  info: '🔵',
  /** Open and nobody has taken it. */
  untaken: '⏳',
  /** Someone took it in hand. */
  taken: '🛠',
  resolved: '☑️',
  /** Fine: only ever what is in order, never «taken». */
  fine: '✅',
  snoozed: '💤',
  /** Something is off that is not an alert of its own. */
  off: '⚠️',
} as const;

/** How bad, at a glance. */
export function severityMark(severity: Severity): string {
  return MARK[severity];
}

/** Where: «ООО «Ромашка» · Сервер офиса», the same in every message and page. */
export function placeOf(clientName: string, installationName: string): string {
  return `${clientName} · ${installationName}`;
}
