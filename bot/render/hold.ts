import type { IncidentHold } from '../../db/incidents.ts';
import { formatUntil, type Lang } from '../../i18n/format.ts';
import { ruleTitle, texts } from '../../i18n/index.ts';

/** What keeps people from hearing of an alert, in words (plain text: escape it where it goes). */
export function holdText(hold: IncidentHold, lang: Lang, now: Date, tz: string): string {
  const t = texts(lang).held;
  if (hold.by === 'silence') return t.silence(formatUntil(lang, hold.until, now, tz));
  if (hold.by === 'cause') return t.cause(ruleTitle(lang, hold.ruleId));
  return t.nothing;
}
