import { DateTime } from 'luxon';
import { langOf, type Lang } from '../bot/i18n.ts';
import { chartLabels, renderDigest } from '../bot/render/digest.ts';
import type { Queryable } from '../db/open.ts';
import type { User } from '../db/users.ts';
import { assembleDigest, type Digest } from './assemble.ts';
import { chartSeries, loadIncidentSpans, renderChart } from './chart.ts';
import { scopeOf } from './scope.ts';

export interface DigestSettings {
  tz: string;
  salesMinDays: number;
}

export interface BuiltDigest {
  digest: Digest;
  lang: Lang;
  /** Telegram HTML. */
  text: string;
  png: Buffer;
  chartCaption: string;
}

/** A person's digest as of `now`: the figures, the message and the 30-day chart. */
export function buildDigest(db: Queryable, user: User, now: Date, settings: DigestSettings, options: { personal?: boolean; day?: string } = {}): BuiltDigest {
  const lang = langOf(user.language);
  const day = options.day ?? DateTime.fromJSDate(now).setZone(settings.tz).toISODate()!;
  const scope = scopeOf(db, user, options.personal ?? false);
  const digest = assembleDigest(db, scope, now, { day, tz: settings.tz, salesMinDays: settings.salesMinDays });
  const from = DateTime.fromISO(day, { zone: settings.tz }).startOf('day').minus({ days: 29 }).toJSDate();
  const to = DateTime.fromISO(day, { zone: settings.tz }).startOf('day').plus({ days: 1 }).toJSDate();
  const labels = chartLabels(lang);
  const png = renderChart(chartSeries(loadIncidentSpans(db, scope, from, to, digest.scopeInstallationIds), day, settings.tz), labels);
  return { digest, lang, text: renderDigest(digest, user.name, lang), png, chartCaption: labels.title };
}
