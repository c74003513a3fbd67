/**
 * The test files that run a second time on PostgreSQL (the `postgres`
 * project of vitest.config.ts): those whose every query goes through db/ or
 * SQL both databases read; a check inside them that is SQLite's own says so
 * and is skipped there. Every other file of test/ is in LEFT_OUT below with
 * the reason; test/postgres-suite.test.ts holds each file to one of the two,
 * and a file said to touch no database to opening none.
 */
export const POSTGRES_SUITE: readonly string[] = [
  'test/agent.test.ts',
  'test/alertmanager.test.ts',
  'test/balancer.test.ts',
  'test/batcher.test.ts',
  'test/report-chain.test.ts',
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
  'test/mail-service.test.ts',
  'test/metrics-pull.test.ts',
  'test/probe-rounds.test.ts',
  'test/probes.test.ts',
  'test/prometheus.test.ts',
  'test/request-logger.test.ts',
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

/** Why a file does not run on PostgreSQL. */
export type LeftOutBecause =
  /** It tests what is SQLite's own, which PostgreSQL does not have. */
  | 'sqlite-own'
  /** It makes and drops PostgreSQL databases itself, and so runs once. */
  | 'own-postgres'
  /** It opens no database at all. */
  | 'no-database'
  /** It is a new user's first run, on the zero-setup SQLite file. */
  | 'sqlite-by-design';

export const LEFT_OUT: Readonly<Record<string, { because: LeftOutBecause; why: string }>> = {
  'test/checkpointer.test.ts': { because: 'sqlite-own', why: "the WAL checkpoint thread of SQLite's file" },
  'test/full-disk.test.ts': { because: 'sqlite-own', why: 'a full tmpfs under the SQLite file and its write-ahead log' },
  'test/transaction.test.ts': { because: 'sqlite-own', why: "SQLite's one connection taking turns; PostgreSQL's transactions are postgres-transaction's" },
  'test/schema-parity.test.ts': { because: 'own-postgres', why: 'generates and compares both schemas, on a PostgreSQL database of its own' },
  'test/db-copy.test.ts': { because: 'own-postgres', why: 'copies a SQLite file into PostgreSQL databases it makes' },
  'test/postgres-transaction.test.ts': { because: 'own-postgres', why: "PostgreSQL's SERIALIZABLE retries and lost connections, on a database it makes" },
  'test/demo.test.ts': { because: 'sqlite-by-design', why: '`npm run demo` is a new user\'s first run' },
  'test/standin.test.ts': { because: 'sqlite-by-design', why: '`npm run standin` is a new user\'s first run' },
  'test/alert-anatomy.test.ts': { because: 'no-database', why: 'rendering alerts from views made in the test' },
  'test/architecture.test.ts': { because: 'no-database', why: "the code's layout and imports" },
  'test/calendar.test.ts': { because: 'no-database', why: 'calendar arithmetic' },
  'test/config.test.ts': { because: 'no-database', why: 'parsing the configuration' },
  'test/i18n.test.ts': { because: 'no-database', why: 'the two catalogues' },
  'test/postgres-suite.test.ts': { because: 'no-database', why: 'this list against the files of test/' },
  'test/report-fast-path.test.ts': { because: 'no-database', why: 'reading reports without the schema against the schema, in memory' },
  'test/rules.test.ts': { because: 'no-database', why: 'the rules on facts made in the test' },
  'test/scheduler.test.ts': { because: 'no-database', why: 'the job scheduler alone' },
  'test/search.test.ts': { because: 'no-database', why: 'matching search words' },
  'test/server-rules.test.ts': { because: 'no-database', why: "the server's rules on facts made in the test" },
  'test/silence-phrase.test.ts': { because: 'no-database', why: 'reading silence phrases' },
  'test/templates.test.ts': { because: 'no-database', why: 'every message template rendered and read' },
  'test/xml-plain.test.ts': { because: 'no-database', why: 'the plain XML reader against saxes, in memory' },
};
