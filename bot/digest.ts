import { DateTime } from 'luxon';
import type { Queryable } from '../db/open.ts';
import { listIncidentSpans, scopeOf } from '../db/digest.ts';
import { DIGEST_CHART, DIGEST_TEXT, MAIL_DIGEST } from '../db/outbox.ts';
import { mailable } from '../db/audience.ts';
import type { User } from '../db/users.ts';
import { assembleDigest, type Digest } from '../digest/assemble.ts';
import { chartSeries, daysOfHistory, renderChart } from '../digest/chart.ts';

/** A chart needs this many days of history to say anything. */
const MIN_CHART_DAYS = 7;
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
  /** The 30-day chart; null with less than a week of history, when it would say nothing. */
  png: Buffer | null;
  chartCaption: string;
}

/** A person's digest as of `now`, for Telegram: the figures, the message and the 30-day chart. */
export async function buildDigest(db: Queryable, user: User, now: Date, settings: DigestSettings, options: { personal?: boolean; day?: string } = {}): Promise<BuiltDigest> {
  const lang = langOf(user.language);
  const day = options.day ?? DateTime.fromJSDate(now).setZone(settings.tz).toISODate()!;
  const scope = await scopeOf(db, user, options.personal ?? false);
  const digest = await assembleDigest(db, scope, now, { day, tz: settings.tz, salesMinDays: settings.salesMinDays });
  const from = DateTime.fromISO(day, { zone: settings.tz }).startOf('day').minus({ days: 29 }).toJSDate();
  const to = DateTime.fromISO(day, { zone: settings.tz }).startOf('day').plus({ days: 1 }).toJSDate();
  const labels = texts(lang).digest.chart;
  const series = chartSeries(await listIncidentSpans(db, scope, digest.scopeInstallationIds, from, to), day, settings.tz);
  const png = daysOfHistory(series) >= MIN_CHART_DAYS ? renderChart(series, labels) : null;
  return { digest, lang, text: renderDigest(digest, user.name, lang, settings.tz), png, chartCaption: labels.title };
}

/**
 * The digest job's messages, where the person reads them (their channel):
 * in Telegram the text, then the chart; by mail one message with the chart
 * inline.
 */
export function composeDigestForChannels(db: Queryable, settings: DigestSettings, { mail }: { mail: boolean }) {
  return async (user: User, options: { personal: boolean; day: string }, now: Date) => {
    const built = await buildDigest(db, user, now, settings, options);
    const png = built.png?.toString('base64');
    // Without a mail server (SMTP_URL), everyone's digest is in Telegram.
    const byMail = mail && user.channel !== 'telegram' && mailable(user);
    const inTelegram = user.channel !== 'email' || !byMail;
    return {
      digest: built.digest,
      messages: [
        ...(inTelegram ? [{ kind: DIGEST_TEXT, payload: { text: built.text } }] : []),
        ...(inTelegram && png ? [{ kind: DIGEST_CHART, payload: { png, caption: built.chartCaption } }] : []),
        ...(byMail ? [{ kind: MAIL_DIGEST, payload: { text: built.text, ...(png ? { png, caption: built.chartCaption } : {}) } }] : []),
      ],
    };
  };
}
