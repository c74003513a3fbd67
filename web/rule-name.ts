import { smartNameOf } from '../core/smart-names.ts';
import type { Facts } from '../core/rules.ts';
import { texts, type Lang } from '../i18n/index.ts';

/**
 * An alert's names, small under its title in the cabinet: dozor's rule id
 * and where it stands against SMART («KodeksDns (в SMART такого оповещения
 * нет)»), as «ℹ️ Подробнее» says it in Telegram. Plain text: the page escapes it.
 */
export function ruleNames(lang: Lang, ruleId: string, details: Facts): string {
  const t = texts(lang);
  const smart = smartNameOf(ruleId, details);
  const where = smart === undefined ? t.detailsFromOutside : smart === null ? t.detailsNotInSmart : smart === ruleId ? t.detailsSameInSmart : t.detailsInSmart(smart);
  return `${ruleId} (${where})`;
}
