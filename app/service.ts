import { randomBytes } from 'node:crypto';
import { DateTime } from 'luxon';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.ts';
import type { BotSettings } from '../bot/context.ts';
import { startTelegram, type TelegramRuntime } from '../bot/runtime.ts';
import { startCheckpointer } from '../db/checkpointer.ts';
import { closeDatabase, openDatabase, restrictDatabaseFiles, type DB, type ModeChanges } from '../db/open.ts';
import { shownDatabaseUrl } from '../db/storage-errors.ts';
import { restrictUploadFiles } from '../db/upload-files.ts';
import { lockSqliteFile } from '../db/service-lock.ts';
import { Dispatcher, type Delivery } from '../delivery/dispatcher.ts';
import { TelegramDelivery } from '../bot/delivery.ts';
import { composeDigestForChannels } from '../bot/digest.ts';
import { JobScheduler, type JobRun } from '../jobs/scheduler.ts';
import { pruneUploads } from '../jobs/prune-uploads.ts';
import { tellAdminsOfUnmatchedUploads } from '../jobs/unmatched-uploads.ts';
import { runDigests } from '../jobs/digest.ts';
import { runSweepYielding } from '../jobs/sweep.ts';
import { runProbeRound } from '../jobs/probe-round.ts';
import { pullMetrics } from '../intake/pull-metrics.ts';
import { pullAddressPolicy } from '../core/pull-address.ts';
import { useSysinfoMapping } from '../intake/sysinfo-facts.ts';
import { downloadKeyOf } from '../core/download-link.ts';
import { loadSysinfoMapping } from '../intake/sysinfo-mapping-file.ts';
import { readsLicenceDates } from '../core/sysinfo-mapping.ts';
import { pruneReports } from '../jobs/prune-reports.ts';
import { parseStatusList, systemProbers, type Probers } from '../checks/probes/probers.ts';
import { createMetrics } from './metrics.ts';
import { bootstrapAdmins } from '../registry/users.ts';
import { dataDirOf, incidentSettings, workingHours, type Config } from './config.ts';
import { runWake } from '../jobs/wake.ts';
import { wakeCron, type WorkingHours } from '../core/working-hours.ts';
import { ClockWatch } from '../core/clock-watch.ts';
import { buildHttpServer } from './http.ts';
import { Cluster, defaultInstanceName } from './cluster.ts';
import { checkSharedDataDir } from './shared-data-dir.ts';
import { listenForOutbox, outboxNotifier } from '../db/outbox-signal.ts';
import type { Logger } from './logger.ts';
import { Mailer } from '../mail/mailer.ts';
import { MailDelivery } from '../mail/delivery.ts';
import { runMailFallback } from '../jobs/mail-fallback.ts';
import { SlidingWindowPacer } from '../delivery/pacer.ts';
import { signTakeLink, takeLinkKeyOf } from '../core/take-link.ts';
import { claimValue } from '../db/key-value.ts';
import { dropPendingMail } from '../db/outbox.ts';
import { noteMailConfigured } from '../db/audience.ts';
import { countMailChannels } from '../db/users.ts';
import { runbookLink } from '../bot/redraw.ts';

export interface Service {
  db: DB;
  http: FastifyInstance;
  /** The address the HTTP server listens on (with the real port when 0 was asked for). */
  url: string;
  dispatcher: Dispatcher | undefined;
  /** Mail's own lanes of the outbox, when SMTP_URL is set. */
  mailDispatcher: Dispatcher | undefined;
  telegram: TelegramRuntime | undefined;
  cluster: Cluster;
  stop(): Promise<void>;
}

export interface ServiceDeps {
  clock: Clock;
  logger: Logger;
  /** Where announcements go when there is no bot token (tests); with a token, Telegram. */
  delivery?: Delivery;
  /** Network probes; the system's by default. */
  probers?: Probers;
}

/** A probe round ends this long before the next one is due, leaving time to write its results. */
const PROBE_ROUND_MARGIN_MS = 2_000;

/**
 * Open the database, start the HTTP server, the Telegram bot, the scheduled
 * checks and the outbox dispatcher. Stopping reverses it: polling stops, no
 * new requests, scheduled and in-flight work ends, the database closes.
 */
export async function startService(config: Config, deps: ServiceDeps): Promise<Service> {
  // One service per SQLite file (several instances share PostgreSQL): a second one refuses here, before touching the file.
  const lock = config.DATABASE_URL === undefined && config.DATABASE_PATH !== ':memory:' ? lockSqliteFile(config.DATABASE_PATH) : undefined;
  try {
    const service = await runService(config, deps);
    return { ...service, stop: () => service.stop().finally(() => lock?.release()) };
  } catch (err) {
    lock?.release();
    throw err;
  }
}

async function runService(config: Config, deps: ServiceDeps): Promise<Service> {
  const { clock, logger } = deps;
  // Read first: a mapping file that cannot be used stops the start before anything is opened.
  const sysinfoMapping = useSysinfoMapping(loadSysinfoMapping(config.SYSINFO_MAPPING));
  const downloadKey = downloadKeyOf(config.SECRET_KEY);
  // Owner-only before anything is read or written: the database and the uploads hold the clients' data.
  const onPostgres = config.DATABASE_URL !== undefined;
  const modes: ModeChanges = onPostgres ? { tightened: [], failed: [], openFolders: [] } : restrictDatabaseFiles(config.DATABASE_PATH);
  const db = await openDatabase({ url: config.DATABASE_URL, path: config.DATABASE_PATH, busyTimeoutMs: config.DB_BUSY_TIMEOUT, poolSize: config.DATABASE_POOL_SIZE });
  const checkpointer = startCheckpointer(db, { intervalMs: 1_000, logger });
  const settings = incidentSettings(config, new ClockWatch());
  const digestSettings = { tz: config.DIGEST_TZ, salesMinDays: config.SALES_SIGNAL_DAYS };
  const dataDir = dataDirOf(config);
  if (onPostgres) {
    try {
      await checkSharedDataDir(db, dataDir, clock);
    } catch (err) {
      await closeDatabase(db);
      throw err;
    }
  }
  const uploadModes = await restrictUploadFiles(dataDir);
  const tightened = [...modes.tightened, ...uploadModes.tightened];
  const failed = [...modes.failed, ...uploadModes.failed];
  if (tightened.length > 0) logger.warn({ count: tightened.length, paths: tightened.slice(0, 10) }, 'file modes tightened: the database and the uploads are now readable by this user only');
  if (failed.length > 0) logger.error({ count: failed.length, paths: failed.slice(0, 10) }, 'file modes could not be tightened (not owned by this user?): others may read the database or the uploads');
  const openFolders = [...new Set([...modes.openFolders, ...uploadModes.openFolders])];
  if (openFolders.length > 0) {
    logger.warn({ paths: openFolders }, "other users may list these folders (dozor's files in them are readable by this user only); chmod 700 them to hide the files' names");
  }
  const botSettings: BotSettings = {
    displayTz: config.DISPLAY_TZ,
    runbookBaseUrl: config.RUNBOOK_BASE_URL ?? null,
    morningHour: config.MORNING_HOUR,
    defaultQuietHours: config.QUIET_HOURS,
    digest: digestSettings,
    dataDir,
    ...(config.PUBLIC_URL ? { publicUrl: config.PUBLIC_URL } : {}),
    downloadKey,
    ...(config.SECRET_KEY ? { secretKey: config.SECRET_KEY } : {}),
    massEvent: { min: config.MASS_EVENT_MIN, windowMs: config.ALERT_GROUP_WINDOW },
  };
  await bootstrapAdmins({ db, clock, actor: 'system' }, config.ADMIN_IDS);
  const takeLinkKey = await mailTakeLinkKey(db, config.SECRET_KEY, clock());
  if (config.TRUST_PROXY === 'true') {
    logger.warn('TRUST_PROXY=true believes X-Forwarded-For from anyone: a client can rotate it past the limit on invalid tokens; list the proxy addresses instead');
  }

  const cluster = new Cluster({ db, instance: config.INSTANCE_NAME ?? defaultInstanceName(), ttlMs: config.LEASE_TTL, logger, alone: !onPostgres });
  let dispatcher: Dispatcher | undefined;
  let mailDispatcher: Dispatcher | undefined;
  let lastSweepAt: Date | null = null;
  // The sender is this instance's dispatcher while it holds the outbox role; otherwise another instance's, told through the database.
  const notifyOtherSender = outboxNotifier(db, logger);
  const wakeDispatcher = () => {
    if (cluster.holds('outbox')) {
      dispatcher?.wake();
      mailDispatcher?.wake();
    } else if (dispatcher || mailDispatcher) notifyOtherSender();
  };
  const http = buildHttpServer({
    db,
    clock,
    logger,
    settings,
    onIncidentChange: wakeDispatcher,
    trustProxy: config.TRUST_PROXY === 'true' ? true : config.TRUST_PROXY === 'false' ? false : config.TRUST_PROXY,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT,
    keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT,
    maxConnectionsPerAddress: config.HTTP_MAX_CONNECTIONS_PER_ADDRESS,
    uploads: {
      dataDir,
      maxBytes: config.UPLOAD_MAX_BYTES,
      minBytesPerSecond: config.UPLOAD_MIN_RATE,
      sysinfo: sysinfoMapping,
      downloadKey,
      limits: { minFreeBytes: config.UPLOAD_MIN_FREE, dailyQuotaBytes: config.UPLOAD_DAILY_QUOTA, fleetDailyQuotaBytes: config.UPLOAD_FLEET_DAILY_QUOTA },
    },
    metrics: {
      // Read only at scrapes, once the dispatcher, the sweep and the bot below exist.
      registry: createMetrics(db, clock, {
        deliveries: () => dispatcher?.deliveries() ?? { sent: 0, failed: 0, withdrawn: 0 },
        ...(config.SMTP_URL !== undefined ? { mailDeliveries: () => mailDispatcher?.deliveries() ?? { sent: 0, failed: 0, withdrawn: 0 } } : {}),
        // The sweep runs on one instance of several: the last one finished anywhere counts.
        lastSweepAt: async () => latest(lastSweepAt, await cluster.lastFinished('sweep').catch(() => null)),
        telegram: () => telegram?.health(),
        cluster,
      }),
      ...(config.METRICS_TOKEN ? { token: config.METRICS_TOKEN } : {}),
    },
    ...(config.ALERTMANAGER_TOKEN ? { alertmanagerToken: config.ALERTMANAGER_TOKEN } : {}),
    web: {
      displayTz: config.DISPLAY_TZ,
      morningHour: config.MORNING_HOUR,
      sessionMaxMs: config.WEB_SESSION_MAX,
      sysinfoReadsLicences: readsLicenceDates(sysinfoMapping.mapping),
      downloadKey,
      takeLinkKey,
      ...(config.PUBLIC_URL ? { publicUrl: config.PUBLIC_URL } : {}),
      ...(config.SECRET_KEY ? { secretKey: config.SECRET_KEY } : {}),
    },
    // Read only once the server listens, by which time the bot below exists.
    telegramHealth: () => telegram?.health(),
    cluster,
  });

  // dozor's own mail (confirmation codes, alerts, digests), when SMTP_URL is set.
  const mailer =
    config.SMTP_URL !== undefined && config.MAIL_FROM !== undefined
      ? new Mailer({ url: config.SMTP_URL, from: config.MAIL_FROM, rejectUnauthorized: config.SMTP_TLS_REJECT_UNAUTHORIZED === 'true' })
      : null;
  const sendMail = mailer ? async (mail: { to: string; subject: string; text: string }) => void (await mailer.send(mail)) : undefined;
  const telegram = config.BOT_TOKEN
    ? startTelegram(
        {
          token: config.BOT_TOKEN,
          ...(config.TELEGRAM_API_ROOT ? { apiRoot: config.TELEGRAM_API_ROOT } : {}),
          ...(config.WEBHOOK_URL ? { webhookUrl: config.WEBHOOK_URL } : {}),
          ...(config.WEBHOOK_SECRET ? { webhookSecret: config.WEBHOOK_SECRET } : {}),
          coordinated: true,
        },
        { db, clock, logger, settings: botSettings, incidentSettings: settings, onIncidentChange: wakeDispatcher, ...(sendMail ? { sendMail } : {}) },
        http,
      )
    : undefined;
  const delivery = telegram ? new TelegramDelivery({ api: telegram.bot.api, db, clock, logger, settings: botSettings }) : deps.delivery;
  if (delivery) {
    dispatcher = new Dispatcher({
      db,
      delivery,
      clock,
      logger,
      groupWindowMs: config.ALERT_GROUP_WINDOW,
      retryBaseMs: config.OUTBOX_RETRY_BASE,
      retryMaxMs: config.OUTBOX_RETRY_MAX,
    });
  }

  await noteMailConfigured(db, mailer !== null, clock());
  if (!mailer && (await countMailChannels(db)) > 0) {
    logger.warn('some people have their alerts set to come by e-mail, but SMTP_URL is not set: their alerts come in Telegram until it is (docs/mail.md)');
  }
  const stranded = mailer ? 0 : await dropPendingMail(db);
  if (stranded > 0) logger.warn({ mails: stranded }, 'mail queued while SMTP_URL was set cannot go without it: taken out of the outbox');
  if (mailer) {
    const publicUrl = config.PUBLIC_URL?.replace(/\/$/, '') ?? null;
    mailDispatcher = new Dispatcher({
      db,
      channel: 'mail',
      delivery: new MailDelivery({
        db,
        mailer,
        clock,
        logger,
        settings: {
          displayTz: config.DISPLAY_TZ,
          runbookUrl: runbookLink(botSettings.runbookBaseUrl),
          cabinetUrl: publicUrl,
          domain: mailDomainOf(config.MAIL_FROM!),
          takeLink: (incidentId, personId) => (publicUrl ? `${publicUrl}/web/take?${signTakeLink(takeLinkKey, { incidentId, personId })}` : null),
        },
      }),
      clock,
      logger,
      // A mail server takes mail as fast as it is given; a few a second keep a storm from looking like spam.
      pacer: new SlidingWindowPacer({ perSecondOverall: 10, privateChatIntervalMs: 0, groupChatIntervalMs: 0 }),
      retryBaseMs: config.OUTBOX_RETRY_BASE,
      retryMaxMs: config.OUTBOX_RETRY_MAX,
    });
  }

  if (telegram) cluster.role(telegram.role.name, telegram.role);
  const senders = [dispatcher, mailDispatcher].filter((d): d is Dispatcher => d !== undefined);
  if (senders.length > 0) {
    let stopListening: (() => Promise<void>) | undefined;
    cluster.role('outbox', {
      start: () => {
        for (const sender of senders) sender.start();
        stopListening = listenForOutbox(db, () => senders.forEach((sender) => sender.wake()), logger);
      },
      stop: async () => {
        await stopListening?.();
        await Promise.all(senders.map((sender) => sender.stop()));
      },
    });
  }
  // A slot an instance died in is looked for as often as roles are renewed, so a daily job's run is taken over within about a lease.
  const scheduler = new JobScheduler(logger, cluster, { recoverEveryMs: Math.max(1_000, Math.floor(config.LEASE_TTL / 3)) });
  const composeDigest = composeDigestForChannels(db, digestSettings, { mail: mailer !== null });
  const digests = async () => {
    const result = await runDigests({ db, cron: config.DIGEST_CRON, tz: config.DIGEST_TZ, maxDelayMs: config.DIGEST_MAX_DELAY, compose: composeDigest }, clock());
    if (result.queued.length > 0) {
      logger.info({ day: result.day, recipients: result.queued.length }, 'digests queued');
      wakeDispatcher();
    }
  };
  const sweep = async () => {
    const summary = await runSweepYielding({ db, settings, logger }, clock());
    lastSweepAt = clock();
    logger.debug({ summary }, 'sweep done');
    if (summary.opened + summary.resolved + summary.announced + summary.reminded + summary.escalated > 0) wakeDispatcher();
    if (settings.clockWatch?.suspect()) {
      logger.error({ medianSkewMs: settings.clockWatch.medianSkew() }, "the server's clock disagrees with the agents'; time-based rules are paused");
    }
    // Digests are checked every sweep too, so a clock that jumped past the digest time does not skip one.
    await digests();
  };

  let url: string;
  try {
    url = await http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  } catch (err) {
    await telegram?.stop();
    await checkpointer.stop();
    await closeDatabase(db);
    throw err;
  }


  const probeRound = async ({ signal, nextRun }: JobRun) => {
    // The round ends before the next one is due, so a fleet too large for one interval is probed over several.
    const budgetMs = nextRun ? nextRun.getTime() - Date.now() - PROBE_ROUND_MARGIN_MS : undefined;
    const summary = await runProbeRound({
      db,
      clock,
      logger,
      settings,
      signal,
      ...(budgetMs === undefined ? {} : { budgetMs: Math.max(budgetMs, config.PROBE_TIMEOUT) }),
      probers: deps.probers ?? systemProbers,
      options: {
        timeoutMs: config.PROBE_TIMEOUT,
        upStatuses: parseStatusList(config.PROBE_HTTP_UP),
        concurrency: config.PROBE_CONCURRENCY,
        failuresToOpen: config.PROBE_FAILURES,
        groupMin: config.PROBE_GROUP_MIN,
        historyMs: config.PROBE_HISTORY,
        pageWords: {
          ...(config.PROBE_MAINTENANCE_TEXT ? { maintenance: config.PROBE_MAINTENANCE_TEXT } : {}),
          ...(config.PROBE_NEED_SUPPORT_TEXT ? { needSupport: config.PROBE_NEED_SUPPORT_TEXT } : {}),
        },
      },
    });
    if (summary.leftOver > 0 && !signal.aborted) {
      logger.warn(
        { probed: summary.probed, leftOver: summary.leftOver, concurrency: config.PROBE_CONCURRENCY },
        'the probe round ran out of time; the installations left go first in the next round (raise PROBE_CONCURRENCY to probe the fleet in one round)',
      );
    }
    logger.debug({ probed: summary.probed, opened: summary.opened, resolved: summary.resolved }, 'probe round done');
    if (summary.commonCauses.length > 0) logger.warn({ causes: summary.commonCauses }, 'installations failing together');
    if (summary.opened + summary.resolved > 0) wakeDispatcher();
  };

  const hours = workingHours(config);
  const wake = (morning: WorkingHours) => async () => {
    const { woken } = await runWake({ db, hours: morning }, clock());
    if (woken > 0) {
      logger.info({ woken }, 'critical incidents of the night nobody took sent again before work');
      wakeDispatcher();
    }
  };

  await scheduler.run('sweep', sweep);
  // A digest missed while the service was down goes out now, if not too late; so does a morning call, before work starts.
  await scheduler.run('digest', digests);
  if (hours) {
    await scheduler.run('wake', wake(hours));
    scheduler.add('wake', wakeCron(hours), config.DISPLAY_TZ, wake(hours));
  }
  scheduler.add('sweep', config.CHECK_CRON, config.DISPLAY_TZ, sweep);
  scheduler.add('digest', config.DIGEST_CRON, config.DIGEST_TZ, digests);
  scheduler.add('probes', config.PROBE_CRON, config.DISPLAY_TZ, probeRound);
  // Names uploaded under a fleet token that no installation has: one summary per admin a minute, however many.
  scheduler.add('unmatched-uploads', '* * * * *', config.DISPLAY_TZ, async () => {
    if ((await tellAdminsOfUnmatchedUploads(db, clock())).names > 0) wakeDispatcher();
  });
  scheduler.add('prune', config.PRUNE_CRON, config.DISPLAY_TZ, async () => {
    await pruneReports({ db, batchSize: 1000, logger }, new Date(clock().getTime() - config.REPORT_RETENTION));
    const now = clock();
    await pruneUploads(
      {
        db,
        dataDir,
        logger,
        keep: config.UPLOAD_KEEP,
        retentionMs: config.UPLOAD_RETENTION,
        dayOffsetMs: DateTime.fromJSDate(now).setZone(config.DISPLAY_TZ).offset * 60_000,
        unmatchedMs: config.UPLOAD_UNMATCHED_DAYS * 86_400_000,
      },
      now,
    );
  });
  if (mailer) {
    // Critical alerts Telegram has not taken for EMAIL_FALLBACK_AFTER go by mail: looked for every 15 seconds.
    scheduler.add('mail-fallback', '*/15 * * * * *', config.DISPLAY_TZ, async ({ signal }: JobRun) => {
      if ((await runMailFallback({ db, logger, afterMs: config.EMAIL_FALLBACK_AFTER, signal }, clock())).mailed > 0) wakeDispatcher();
    });
  }
  if (config.SECRET_KEY) {
    const secretKey = config.SECRET_KEY;
    const addressPolicy = pullAddressPolicy(config.PULL_ALLOW_PRIVATE);
    // Every minute it looks for installations whose metrics are PULL_EVERY old; most minutes there are none.
    scheduler.add('metrics-pull', '* * * * *', config.DISPLAY_TZ, async ({ signal }: JobRun) => {
      const summary = await pullMetrics({ db, clock, logger, secretKey, everyMs: config.PULL_EVERY, timeoutMs: config.PROBE_TIMEOUT, concurrency: config.PROBE_CONCURRENCY, signal, settings, addressPolicy });
      if (summary.pulled + summary.failed > 0) {
        logger.debug({ summary }, 'metrics pulled');
        wakeDispatcher();
      }
    });
  }
  // The roles free now are taken before the first answer: a lone instance sends and polls from its start.
  await cluster.start();
  if (!dispatcher) logger.warn('no Telegram delivery configured: announcements wait in the outbox');
  logger.info({ url, instance: cluster.instance, roles: cluster.roles().filter((r) => r.mine).map((r) => r.role), database: config.DATABASE_URL === undefined ? config.DATABASE_PATH : shownDatabaseUrl(config.DATABASE_URL) }, 'dozor is running');
  // The mail server is asked once at start, in the background: its answer is logged in words (never the password); the start does not wait for it.
  const mailCheckStop = new AbortController();
  const mailCheck = mailer ? checkMailServer(mailer, logger, mailCheckStop.signal) : null;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await telegram?.stop();
      await http.close();
      await scheduler.stop();
      await cluster.stop();
      await dispatcher?.stop();
      await mailDispatcher?.stop();
      await checkpointer.stop();
      // A mail server that never answers the check holds up no stop.
      mailCheckStop.abort();
      await mailCheck?.catch(() => undefined);
      mailer?.close();
      await closeDatabase(db);
      logger.info('dozor stopped');
    })());
  return { db, http, url, dispatcher, mailDispatcher, telegram, cluster, stop };
}

/** Connect, greet, start TLS, log in: whether dozor's mail can go, said in the log (a stop meanwhile ends the wait). */
async function checkMailServer(mailer: Mailer, logger: Logger, stop: AbortSignal): Promise<void> {
  const stopped = new Promise<'stopped'>((resolve) => stop.addEventListener('abort', () => resolve('stopped'), { once: true }));
  try {
    if ((await Promise.race([mailer.verify(), stopped])) === 'stopped') {
      logger.warn({ server: mailer.server }, 'the mail server had not answered the start-up check when the service stopped');
      return;
    }
    logger.info({ server: mailer.server }, 'the mail server answers and accepts the login: mail can be sent');
  } catch (err) {
    logger.warn({ server: mailer.server, reason: err instanceof Error ? err.message : String(err) }, 'mail cannot be sent: the mail server check failed (dozor mail test <address> tries again)');
  }
}

/**
 * The key of the «Беру» links in alert mails: from SECRET_KEY when set;
 * otherwise a random one kept in the database, so links outlive a restart
 * and work at any instance.
 */
async function mailTakeLinkKey(db: DB, secretKey: string | undefined, now: Date): Promise<Buffer> {
  if (secretKey) return takeLinkKeyOf(secretKey);
  return Buffer.from(await claimValue(db, 'mail-take-link-key', randomBytes(32).toString('hex'), now), 'hex');
}

/** The domain of MAIL_FROM's address («dozor <dozor@example.ru>» → example.ru): the message ids' right side. */
function mailDomainOf(from: string): string {
  return /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1]?.toLowerCase() ?? 'dozor.invalid';
}

function latest(a: Date | null, b: Date | null): Date | null {
  if (!a || !b) return a ?? b;
  return a > b ? a : b;
}
