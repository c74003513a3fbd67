import { hashAgentToken } from '../../core/agent-token.ts';
import type pg from 'pg';
import { isPostgres } from '../../db/dialect.ts';
import type { DB } from '../../db/open.ts';
import { poolOf } from '../../db/open-postgres.ts';

export const BENCH_TOKEN = (i: number) => `dzr_bench_${i}`;
export const LEADS = 20;
export const MANAGERS_PER_LEAD = 10;

const INSERT_USER = 'INSERT INTO users (telegram_id, name, role, lead_id, active, created_at) VALUES ';
const USER_ROW = '(?, ?, ?, ?, TRUE, ?)';
const INSERT_CLIENT = 'INSERT INTO clients (id, name, inn, manager_id, chat_id, created_at) VALUES ';
const CLIENT_ROW = '(?, ?, ?, ?, NULL, ?)';
const INSERT_INSTALLATION = `INSERT INTO installations (id, client_id, name, kind, host, ip, url, provider, tz, token_hash, token_issued_at, thresholds, monitoring_enabled, created_at)
     VALUES `;
const INSTALLATION_ROW = "(?, ?, ?, ?, ?, ?, NULL, ?, 'Europe/Moscow', ?, ?, '{}', TRUE, ?)";
const INSERT_SCHEDULE = 'INSERT INTO check_schedule (installation_id, due_at) VALUES ';
const SCHEDULE_ROW = '(?, ?)';
const INSERT_STATE = `INSERT INTO installation_state (installation_id, last_received_at, last_sysinfo_at, last_generated_at, shell_version, update_number, operap_date, service_state, service_account,
       senselock_state, kit_assembled, daily_update, copybaseweb, storage_path, storage_reachable, license_limit, license_peak, license_exhausted, last_healthy_at,
       previous_shell_version, shell_version_changed_at)
     VALUES `;
const STATE_ROW = "(?, ?, ?, ?, ?, 2251, ?, 'running', 'user', 'ok', TRUE, TRUE, TRUE, '\\\\nas\\kodeks', TRUE, 10, 5, 0, ?, ?, ?)";

/** The rows of a bench fleet, as parameters of the statements above (in the order they must be written). */
function benchRows(size: number, now: Date): { insert: string; row: string; rows: unknown[][] }[] {
  const t = now.getTime();
  const users: unknown[][] = [];
  const clients: unknown[][] = [];
  const installations: unknown[][] = [];
  const schedule: unknown[][] = [];
  const states: unknown[][] = [];
  const today = new Date(t).toISOString().slice(0, 10);
  users.push([1, 'Admin', 'admin', null, t]);
  for (let l = 0; l < LEADS; l++) {
    const leadId = 100 + l;
    users.push([leadId, `Руководитель ${l + 1}`, 'lead', null, t]);
    for (let m = 0; m < MANAGERS_PER_LEAD; m++) users.push([10_000 + l * MANAGERS_PER_LEAD + m, `Менеджер ${l + 1}.${m + 1}`, 'manager', leadId, t]);
  }
  const managers = LEADS * MANAGERS_PER_LEAD;
  const clientCount = Math.ceil(size / 2);
  for (let c = 1; c <= clientCount; c++) {
    clients.push([c, `ООО «Клиент ${c}»`, String(7_700_000_000 + c), 10_000 + ((c - 1) % managers), t]);
  }
  for (let i = 1; i <= size; i++) {
    const clientId = Math.ceil(i / 2);
    const silent = i % 100 === 0;
    const lastReport = silent ? t - 3 * 86_400_000 : t - (i % 3600) * 1000;
    installations.push([i, clientId, i % 2 ? 'Сервер офиса' : 'Облако', i % 2 ? 'network' : 'cloud', `host${i}.example.ru`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      i % 2 ? null : 'Техэксперт.Облако', hashAgentToken(BENCH_TOKEN(i)), t, t - 30 * 86_400_000]);
    schedule.push([i, lastReport + 2 * 86_400_000]);
    // Two in three moved to the current version some weeks ago and have been healthy since.
    const upgraded = i % 3 !== 0 && i % 100 !== 1;
    states.push([i, lastReport, lastReport, lastReport, i % 100 === 1 ? '6.4.2.73' : '6.4.3.59', today, lastReport, upgraded ? '6.4.2.73' : null, upgraded ? t - (30 + (i % 60)) * 86_400_000 : null]);
  }
  return [
    { insert: INSERT_USER, row: USER_ROW, rows: users },
    { insert: INSERT_CLIENT, row: CLIENT_ROW, rows: clients },
    { insert: INSERT_INSTALLATION, row: INSTALLATION_ROW, rows: installations },
    { insert: INSERT_SCHEDULE, row: SCHEDULE_ROW, rows: schedule },
    { insert: INSERT_STATE, row: STATE_ROW, rows: states },
  ];
}

/**
 * A generated fleet of `size` installations (two per client), spread over 20
 * team leads with 10 managers each, every installation with a recent state
 * (two in three upgraded some weeks ago); 1% of them silent for days and 1% on
 * an old shell version. Written in one transaction: on SQLite with prepared
 * statements, there and then (no promise); on PostgreSQL in multi-row inserts,
 * the promise settling once they are committed.
 */
export function seedBenchFleet(db: DB, size: number, now: Date): void | Promise<void> {
  const tables = benchRows(size, now);
  if (isPostgres(db)) return seedPostgres(poolOf(db), tables);
  const sqlite = db.$client;
  const statements = tables.map((table) => ({ statement: sqlite.prepare(table.insert + table.row), rows: table.rows }));
  sqlite.transaction(() => {
    for (const { statement, rows } of statements) for (const row of rows) statement.run(...row);
  })();
}

/** PostgreSQL binds at most 65535 parameters to a statement. */
const MAX_PARAMETERS = 60_000;

async function seedPostgres(pool: pg.Pool, tables: { insert: string; row: string; rows: unknown[][] }[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const { insert, row, rows } of tables) {
      const width = rows[0]?.length ?? 1;
      const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / width));
      for (let start = 0; start < rows.length; start += perStatement) {
        const chunk = rows.slice(start, start + perStatement);
        let position = 0;
        const values = chunk.map(() => row.replace(/\?/g, () => `$${++position}`)).join(', ');
        await client.query(insert + values, chunk.flat());
      }
    }
    // The ids were given: the sequences go on after them, as SQLite's rowids would.
    for (const table of ['clients', 'installations']) {
      await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT max(id) FROM ${table}))`);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** `count` reports of history spread over the fleet, for the database size per million reports. */
export function seedReportHistory(db: DB, size: number, count: number, now: Date): void {
  const insert = db.$client.prepare(
    'INSERT INTO reports (installation_id, report_id, received_at, generated_at, format_version, facts) VALUES (?, ?, ?, ?, 1, ?)',
  );
  const facts = JSON.stringify({ shellVersion: '6.4.3.59', updateNumber: 2251, operapDate: '2023-02-14', serviceState: 'running', serviceAccount: 'user', senselockState: 'ok', kitAssembled: true, dailyUpdate: true, copybaseweb: true, storagePath: '\\\\nas\\kodeks', storageReachable: true, licenseLimit: 10, licensePeak: 5, licenseExhausted: 0 });
  const t = now.getTime();
  const batch = 50_000;
  for (let start = 0; start < count; start += batch) {
    db.$client.transaction(() => {
      for (let n = start; n < Math.min(count, start + batch); n++) {
        const at = t - (count - n) * 300;
        insert.run((n % size) + 1, `history-${n}`, at, at, facts);
      }
    })();
  }
}
