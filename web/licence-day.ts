import { DateTime } from 'luxon';
import { startOfDate } from '../core/calendar.ts';
import { daysLeft } from '../core/server-rules.ts';
import { formatWhen } from '../i18n/format.ts';
import { texts, type Lang } from '../i18n/index.ts';

/**
 * A licence's last day (YYYY-MM-DD) as the cabinet's cells say it, the way
 * the card does: the day («31.03.2027», «завтра») and how far off it is, or
 * that it has ended. The CSV keeps the date as it is.
 */
export function formatLicenceDay(lang: Lang, expires: string, installationTz: string, now: Date, tz: string): string {
  const day = startOfDate(expires, installationTz);
  if (!day) return expires;
  return texts(lang).web.licenceDay(formatWhen(lang, day, now, tz, true), daysLeft(expires, installationTz, now));
}

/** A month (YYYY-MM) as people name it: «март 2027», "March 2027". */
export function formatMonth(lang: Lang, month: string): string {
  const at = DateTime.fromFormat(month, 'yyyy-MM', { locale: lang });
  return at.isValid ? at.toFormat('LLLL yyyy') : month;
}
