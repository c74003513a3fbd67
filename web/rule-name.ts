import type { Facts } from '../core/rules.ts';
import { smartStanding, type Lang } from '../i18n/index.ts';

/**
 * An alert's names, small under its title in the cabinet: dozor's rule id
 * and where it stands against SMART («KodeksDns (в SMART такого оповещения
 * нет)»), as «ℹ️ Подробнее» says it in Telegram. Plain text: the page escapes it.
 */
export function ruleNames(lang: Lang, ruleId: string, details: Facts): string {
  return `${ruleId} (${smartStanding(lang, ruleId, details)})`;
}
