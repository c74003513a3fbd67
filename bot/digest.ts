import { DateTime } from 'luxon';
import type { Queryable } from '../db/open.ts';
import { listIncidentSpans, scopeOf } from '../db/digest.ts';
import { DIGEST_CHART, DIGEST_TEXT } from '../db/outbox.ts';
import type { User } from '../db/users.ts';
import { assembleDigest, type Digest } from '../digest/assemble.ts';
import { chartSeries, renderChart } from '../digest/chart.ts';
import { langOf, texts, type Lang } from '../i18n/index.ts';
import { renderDigest } from './render/digest.ts';

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

/** A person's digest as of `now`, for Telegram: the figures, the message and the 30-day chart. */
export function buildDigest(db: Queryable, user: User, now: Date, settings: DigestSettings, options: { personal?: boolean; day?: string } = {}): BuiltDigest {
  const lang = langOf(user.language);
  const day = options.day ?? DateTime.fromJSDate(now).setZone(settings.tz).toISODate()!;
  const scope = scopeOf(db, user, options.personal ?? false);
  const digest = assembleDigest(db, scope, now, { day, tz: settings.tz, salesMinDays: settings.salesMinDays });
  const from = DateTime.fromISO(day, { zone: settings.tz }).startOf('day').minus({ days: 29 }).toJSDate();
  const to = DateTime.fromISO(day, { zone: settings.tz }).startOf('day').plus({ days: 1 }).toJSDate();
  const labels = texts(lang).digest.chart;
  const png = renderChart(chartSeries(listIncidentSpans(db, scope, digest.scopeInstallationIds, from, to), day, settings.tz), labels);
  return { digest, lang, text: renderDigest(digest, user.name, lang), png, chartCaption: labels.title };
}

/** The digest job's messages for Telegram: the text, then the chart. */
export function composeDigestForTelegram(db: Queryable, settings: DigestSettings) {
  return (user: User, options: { personal: boolean; day: string }, now: Date) => {
    const built = buildDigest(db, user, now, settings, options);
    return {
      digest: built.digest,
      messages: [
        { kind: DIGEST_TEXT, payload: { text: built.text } },
        { kind: DIGEST_CHART, payload: { png: built.png.toString('base64'), caption: built.chartCaption } },
      ],
    };
  };
}
