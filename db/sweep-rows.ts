import type { InstallationState } from '../core/state.ts';
import type { ThresholdValue } from '../core/rules.ts';
import type { DB } from './open.ts';
import { prepared } from './prepared.ts';

/** What the sweep needs of one installation, read in bulk: its settings, its state, its unresolved incidents. */
export interface SweepRow {
  id: number;
  createdAt: Date;
  tz: string;
  thresholds: Record<string, ThresholdValue>;
  nextCheckAt: Date;
  /** Every rule is to be judged, not only the time-based ones. */
  allRules: boolean;
  state: InstallationState | null;
  active: { id: number; ruleId: string }[];
}

/** The columns the rules read, in the order rows come back as arrays (no per-row objects from the driver). */
const COLUMNS = [
  'i.id', 'i.created_at', 'i.tz', 'i.thresholds', 'd.due_at',
  's.last_received_at', 's.last_generated_at', 's.shell_version', 's.operap_date', 's.service_state', 's.senselock_state',
  's.kit_assembled', 's.daily_update', 's.copybaseweb', 's.storage_reachable', 's.storage_path', 's.service_account',
  's.previous_shell_version', 's.shell_version_changed_at', 's.last_healthy_at', 'd.all_rules',
] as const;
type RawRow = [
  number, number, string, string, number,
  number | null, number | null, string | null, string | null, InstallationState['serviceState'] | null, InstallationState['senselockState'] | null,
  number | null, number | null, number | null, number | null, string | null, InstallationState['serviceAccount'] | null,
  string | null, number | null, number | null, number,
];

/**
 * The next `limit` monitored installations due at `now` with ids above
 * `afterId`, in id order, in one query: the sweep walks the schedule this way,
 * batch by batch, each in its own transaction.
 */
export function loadDueRows(db: DB, now: Date, afterId: number, limit: number): SweepRow[] {
  const statement = prepared(db, 'sweep.rows', (d) =>
    d.$client
      .prepare<[number, number, number], RawRow>(
        `SELECT ${COLUMNS.join(', ')}
         FROM check_schedule d
         JOIN installations i ON i.id = d.installation_id
         LEFT JOIN installation_state s ON s.installation_id = d.installation_id
         WHERE d.installation_id > ? AND d.due_at <= ? AND i.monitoring_enabled = 1
         ORDER BY d.installation_id LIMIT ?`,
      )
      .raw(true),
  );
  const raws = statement.all(afterId, now.getTime(), limit);
  if (raws.length === 0) return [];
  // Unresolved incidents are few next to installations: one query for the whole id range of the batch.
  const activeStatement = prepared(db, 'sweep.active', (d) =>
    d.$client.prepare<[number, number], { id: number; installationId: number; ruleId: string }>(
      `SELECT id, installation_id AS installationId, rule_id AS ruleId FROM incidents
       WHERE status <> 'resolved' AND installation_id BETWEEN ? AND ?`,
    ),
  );
  const active = new Map<number, { id: number; ruleId: string }[]>();
  for (const incident of activeStatement.all(raws[0]![0], raws[raws.length - 1]![0])) {
    const entries = active.get(incident.installationId) ?? [];
    entries.push({ id: incident.id, ruleId: incident.ruleId });
    active.set(incident.installationId, entries);
  }
  return raws.map((raw) => toSweepRow(raw, active.get(raw[0]) ?? []));
}

function toSweepRow(r: RawRow, active: { id: number; ruleId: string }[]): SweepRow {
  let state: InstallationState | null = null;
  if (r[5] !== null) {
    state = { lastReceivedAt: new Date(r[5]), lastGeneratedAt: r[6] === null ? null : new Date(r[6]) };
    if (r[7] !== null) state.shellVersion = r[7];
    if (r[8] !== null) state.operapDate = r[8];
    if (r[9] !== null) state.serviceState = r[9];
    if (r[10] !== null) state.senselockState = r[10];
    if (r[11] !== null) state.kitAssembled = r[11] === 1;
    if (r[12] !== null) state.dailyUpdate = r[12] === 1;
    if (r[13] !== null) state.copybaseweb = r[13] === 1;
    if (r[14] !== null) state.storageReachable = r[14] === 1;
    if (r[15] !== null) state.storagePath = r[15];
    if (r[16] !== null) state.serviceAccount = r[16];
    if (r[17] !== null) state.previousShellVersion = r[17];
    if (r[18] !== null) state.shellVersionChangedAt = new Date(r[18]);
    if (r[19] !== null) state.lastHealthyAt = new Date(r[19]);
  }
  return {
    id: r[0],
    createdAt: new Date(r[1]),
    tz: r[2],
    thresholds: r[3] === '{}' ? {} : (JSON.parse(r[3]) as Record<string, ThresholdValue>),
    nextCheckAt: new Date(r[4]),
    allRules: r[20] === 1,
    state,
    active,
  };
}
