import type { InstallationState } from '../core/state.ts';
import type { ThresholdValue } from '../core/rules.ts';
import { chunks, ROWS_PER_STATEMENT } from './chunks.ts';
import type { Queryable } from './open.ts';
import { flagValue } from './dialect.ts';
import { statement } from './statements.ts';
import { stateColumnList, stateFromValues } from './state.ts';

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

/** The installation's settings and its schedule row, then its state's columns in the state mapping's order; rows come back as arrays. */
const SETTINGS = 'i.id, i.created_at, i.tz, i.thresholds, d.due_at, d.all_rules';
const STATE_OFFSET = SETTINGS.split(',').length;
type RawRow = [number, number, string, string, number, number | boolean, ...unknown[]];

const dueRows = statement(
  'sweep.rows',
  `SELECT ${SETTINGS}, ${stateColumnList('s')}
   FROM check_schedule d
   JOIN installations i ON i.id = d.installation_id
   LEFT JOIN installation_state s ON s.installation_id = d.installation_id
   WHERE d.installation_id > ? AND d.due_at <= ? AND i.monitoring_enabled = TRUE
   ORDER BY d.installation_id LIMIT ?`,
);
const activeIncidents = statement(
  'sweep.active',
  `SELECT id, installation_id AS "installationId", rule_id AS "ruleId" FROM incidents
   WHERE status <> 'resolved' AND installation_id BETWEEN ? AND ?`,
);

/**
 * The next `limit` monitored installations due at `now` with ids above
 * `afterId`, in id order, in one query: the sweep walks the schedule this way,
 * batch by batch, each in its own transaction.
 */
export async function loadDueRows(db: Queryable, now: Date, afterId: number, limit: number): Promise<SweepRow[]> {
  const raws = (await dueRows.values(db, afterId, now.getTime(), limit)) as RawRow[];
  if (raws.length === 0) return [];
  // Unresolved incidents are few next to installations: one query for the whole id range of the batch.
  const active = new Map<number, { id: number; ruleId: string }[]>();
  const incidents = await activeIncidents.all<{ id: number; installationId: number; ruleId: string }>(db, raws[0]![0], raws[raws.length - 1]![0]);
  for (const incident of incidents) {
    const entries = active.get(incident.installationId) ?? [];
    entries.push({ id: incident.id, ruleId: incident.ruleId });
    active.set(incident.installationId, entries);
  }
  return raws.map((raw) => toSweepRow(raw, active.get(raw[0]) ?? []));
}

function toSweepRow(r: RawRow, active: { id: number; ruleId: string }[]): SweepRow {
  return {
    id: r[0],
    createdAt: new Date(r[1]),
    tz: r[2],
    thresholds: r[3] === '{}' ? {} : (JSON.parse(r[3]) as Record<string, ThresholdValue>),
    nextCheckAt: new Date(r[4]),
    allRules: flagValue(r[5]),
    state: stateFromValues(r, STATE_OFFSET),
    active,
  };
}

/** What judging a report needs of its installation, read for a whole batch at once (db/sweep-rows.ts's shape, for the intake). */
export interface IngestRow {
  id: number;
  tokenHash: string;
  tz: string;
  monitoringEnabled: boolean;
  createdAt: Date;
  thresholds: Record<string, ThresholdValue>;
  /** The stored deadline of its next scheduled check (null: none). */
  nextCheckAt: Date | null;
  state: InstallationState | null;
  active: { id: number; ruleId: string }[];
}

const INGEST_SETTINGS = 'i.id, i.token_hash, i.tz, i.monitoring_enabled, i.created_at, i.thresholds, d.due_at';
const INGEST_STATE_OFFSET = INGEST_SETTINGS.split(',').length;
type IngestRawRow = [number, string, string, number | boolean, number, string, number | null, ...unknown[]];

const ingestRows = statement(
  'ingest.rows',
  `SELECT ${INGEST_SETTINGS}, ${stateColumnList('s')}
   FROM installations i
   LEFT JOIN check_schedule d ON d.installation_id = i.id
   LEFT JOIN installation_state s ON s.installation_id = i.id
   WHERE i.id IN ID_LIST(?)`,
);
const ingestActive = statement(
  'ingest.active',
  `SELECT id, installation_id AS "installationId", rule_id AS "ruleId" FROM incidents
   WHERE status <> 'resolved' AND installation_id IN ID_LIST(?) ORDER BY id`,
);

/**
 * The installations a batch of reports is for, by id, in two queries: their
 * settings, schedule and state in one, their unresolved incidents in the
 * other. An id without an installation (deleted meanwhile) is left out.
 */
export async function loadIngestRows(db: Queryable, ids: readonly number[]): Promise<Map<number, IngestRow>> {
  const rows = new Map<number, IngestRow>();
  if (ids.length === 0) return rows;
  for (const chunk of chunks(ids, ROWS_PER_STATEMENT)) {
    for (const r of (await ingestRows.values(db, chunk)) as IngestRawRow[]) {
      rows.set(r[0], {
        id: r[0],
        tokenHash: r[1],
        tz: r[2],
        monitoringEnabled: flagValue(r[3]),
        createdAt: new Date(r[4]),
        thresholds: r[5] === '{}' ? {} : (JSON.parse(r[5]) as Record<string, ThresholdValue>),
        nextCheckAt: r[6] === null ? null : new Date(r[6]),
        state: stateFromValues(r, INGEST_STATE_OFFSET),
        active: [],
      });
    }
    for (const incident of await ingestActive.all<{ id: number; installationId: number; ruleId: string }>(db, chunk)) {
      rows.get(incident.installationId)?.active.push({ id: incident.id, ruleId: incident.ruleId });
    }
  }
  return rows;
}
