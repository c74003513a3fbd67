import { eq, inArray, lt } from 'drizzle-orm';
import type { ProbeStatus, ProbeStatuses } from '../core/probe-rules.ts';
import type { Queryable } from './open.ts';
import { changedRows } from './query.ts';
import { probeResults, probeState } from './schema.ts';

export async function getProbeStatuses(db: Queryable, installationId: number): Promise<ProbeStatuses> {
  const statuses: ProbeStatuses = {};
  for (const row of await db.select().from(probeState).where(eq(probeState.installationId, installationId))) {
    statuses[row.probe as keyof ProbeStatuses] = {
      ok: row.ok,
      consecutiveFailures: row.consecutiveFailures,
      latencyMs: row.latencyMs,
      error: row.error,
      detail: row.detail,
      failingSince: row.failingSince,
    };
  }
  return statuses;
}

/** Record one probe's outcome: its latest state (counting failures in a row) and a line of history. */
export async function recordProbe(
  db: Queryable,
  installationId: number,
  probe: string,
  outcome: { ok: boolean; latencyMs: number | null; error: string | null; detail: Record<string, unknown> | null },
  previous: ProbeStatus | undefined,
  at: Date,
): Promise<ProbeStatus> {
  const status: ProbeStatus = {
    ...outcome,
    consecutiveFailures: outcome.ok ? 0 : (previous?.consecutiveFailures ?? 0) + 1,
    // A run of failures began at its first failure; it is kept while the failures go on.
    failingSince: outcome.ok ? null : previous && !previous.ok ? (previous.failingSince ?? at) : at,
  };
  const row = {
    installationId,
    probe,
    ok: status.ok,
    consecutiveFailures: status.consecutiveFailures,
    latencyMs: status.latencyMs,
    error: status.error,
    detail: status.detail,
    failingSince: status.failingSince ?? null,
    checkedAt: at,
  };
  await db
    .insert(probeState)
    .values(row)
    .onConflictDoUpdate({ target: [probeState.installationId, probeState.probe], set: row });
  await db.insert(probeResults).values({ installationId, probe, at, ok: status.ok, latencyMs: status.latencyMs, error: status.error });
  return status;
}

/** Forget probe history older than `before`, a batch at a time. */
export async function pruneProbeResults(db: Queryable, before: Date, batch = 5000): Promise<number> {
  const oldest = db.select({ id: probeResults.id }).from(probeResults).where(lt(probeResults.at, before)).limit(batch);
  return changedRows(await db.delete(probeResults).where(inArray(probeResults.id, oldest)));
}
