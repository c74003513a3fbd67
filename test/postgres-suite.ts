/**
 * The test files that run a second time on PostgreSQL (the `postgres`
 * project of vitest.config.ts): those whose every query goes through db/ or
 * SQL both databases read; a check inside them that is SQLite's own says so
 * and is skipped there. Left out:
 * - SQLite's own: checkpointer, full-disk (the WAL checkpoint thread, a full
 *   tmpfs), transaction (the one connection taking turns; PostgreSQL's
 *   transactions are tested in postgres-transaction, which runs once);
 * - those that make their own PostgreSQL databases: schema-parity, db-copy;
 * - those that touch no database: alert-anatomy, architecture, calendar,
 *   config, i18n, rules, scheduler, search, server-rules, silence-phrase;
 * - SQLite by design: demo and standin (`npm run demo` and `npm run standin`
 *   are a new user's first run, on the zero-setup SQLite file).
 */
export const POSTGRES_SUITE: readonly string[] = [
  'test/agent.test.ts',
  'test/alertmanager.test.ts',
  'test/balancer.test.ts',
  'test/batcher.test.ts',
  'test/bot.test.ts',
  'test/browser.test.ts',
  'test/check-schedule.test.ts',
  'test/cli-incidents.test.ts',
  'test/cli.test.ts',
  'test/clock-jumps.test.ts',
  'test/cluster.test.ts',
  'test/delivery.test.ts',
  'test/digest.test.ts',
  'test/e2e.test.ts',
  'test/failure-counts.test.ts',
  'test/faults.test.ts',
  'test/hostile-bot.test.ts',
  'test/hostile-intake.test.ts',
  'test/import-under-load.test.ts',
  'test/import.test.ts',
  'test/instances.test.ts',
  'test/intake.test.ts',
  'test/kill.test.ts',
  'test/license-days.test.ts',
  'test/lifecycle.test.ts',
  'test/mass-events.test.ts',
  'test/mail.test.ts',
  'test/mail-alerts.test.ts',
  'test/mail-fallback.test.ts',
  'test/metrics-pull.test.ts',
  'test/probe-rounds.test.ts',
  'test/probes.test.ts',
  'test/prometheus.test.ts',
  'test/server-state.test.ts',
  'test/service.test.ts',
  'test/shared-instances.test.ts',
  'test/slow-clients.test.ts',
  'test/state.test.ts',
  'test/sysinfo.test.ts',
  'test/telegram-faults.test.ts',
  'test/timelines.test.ts',
  'test/uploads.test.ts',
  'test/wake.test.ts',
  'test/web.test.ts',
  'test/webhook.test.ts',
];
