import { hashAgentToken } from '../../core/agent-token.ts';
import type { DB } from '../../db/open.ts';

export const BENCH_TOKEN = (i: number) => `dzr_bench_${i}`;
export const LEADS = 20;
export const MANAGERS_PER_LEAD = 10;

/**
 * A generated fleet of `size` installations (two per client), spread over 20
 * team leads with 10 managers each, every installation with a recent state
 * (two in three upgraded some weeks ago); 1% of them silent for days and 1% on
 * an old shell version. Written with prepared statements in one transaction.
 */
export function seedBenchFleet(db: DB, size: number, now: Date): void {
  const sqlite = db.$client;
  const t = now.getTime();
  const insertUser = sqlite.prepare('INSERT INTO users (telegram_id, name, role, lead_id, active, created_at) VALUES (?, ?, ?, ?, 1, ?)');
  const insertClient = sqlite.prepare('INSERT INTO clients (id, name, inn, manager_id, chat_id, created_at) VALUES (?, ?, ?, ?, NULL, ?)');
  const insertInstallation = sqlite.prepare(
    `INSERT INTO installations (id, client_id, name, kind, host, ip, url, provider, tz, token_hash, token_issued_at, thresholds, monitoring_enabled, created_at)
     VALUES (?, ?, ?, ?, ?, ?, NULL, ?, 'Europe/Moscow', ?, ?, '{}', 1, ?)`,
  );
  const insertSchedule = sqlite.prepare('INSERT INTO check_schedule (installation_id, due_at) VALUES (?, ?)');
  const insertState = sqlite.prepare(
    `INSERT INTO installation_state (installation_id, last_received_at, last_sysinfo_at, last_generated_at, shell_version, update_number, operap_date, service_state, service_account,
       senselock_state, kit_assembled, daily_update, copybaseweb, storage_path, storage_reachable, license_limit, license_peak, license_exhausted, last_healthy_at,
       previous_shell_version, shell_version_changed_at)
     VALUES (?, ?, ?, ?, ?, 2251, ?, 'running', 'user', 'ok', 1, 1, 1, '\\\\nas\\kodeks', 1, 10, 5, 0, ?, ?, ?)`,
  );
  const today = new Date(t).toISOString().slice(0, 10);
  sqlite.transaction(() => {
    insertUser.run(1, 'Admin', 'admin', null, t);
    for (let l = 0; l < LEADS; l++) {
      const leadId = 100 + l;
      insertUser.run(leadId, `Руководитель ${l + 1}`, 'lead', null, t);
      for (let m = 0; m < MANAGERS_PER_LEAD; m++) insertUser.run(10_000 + l * MANAGERS_PER_LEAD + m, `Менеджер ${l + 1}.${m + 1}`, 'manager', leadId, t);
    }
    const managers = LEADS * MANAGERS_PER_LEAD;
    const clientCount = Math.ceil(size / 2);
    for (let c = 1; c <= clientCount; c++) {
      insertClient.run(c, `ООО «Клиент ${c}»`, String(7_700_000_000 + c), 10_000 + ((c - 1) % managers), t);
    }
    for (let i = 1; i <= size; i++) {
      const clientId = Math.ceil(i / 2);
      const silent = i % 100 === 0;
      const lastReport = silent ? t - 3 * 86_400_000 : t - (i % 3600) * 1000;
      insertInstallation.run(i, clientId, i % 2 ? 'Сервер офиса' : 'Облако', i % 2 ? 'network' : 'cloud', `host${i}.example.ru`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        i % 2 ? null : 'Техэксперт.Облако', hashAgentToken(BENCH_TOKEN(i)), t, t - 30 * 86_400_000);
      insertSchedule.run(i, lastReport + 2 * 86_400_000);
      // Two in three moved to the current version some weeks ago and have been healthy since.
      const upgraded = i % 3 !== 0 && i % 100 !== 1;
      insertState.run(i, lastReport, lastReport, lastReport, i % 100 === 1 ? '6.4.2.73' : '6.4.3.59', today, lastReport, upgraded ? '6.4.2.73' : null, upgraded ? t - (30 + (i % 60)) * 86_400_000 : null);
    }
  })();
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
