import type { Queryable } from './open.ts';
import { chunks, ROWS_PER_STATEMENT } from './chunks.ts';
import { auditLog } from './schema.ts';

export interface AuditEntry {
  at: Date;
  actor: string;
  action: string;
  subjectType: string;
  subjectId?: string | number | null;
  details?: Record<string, unknown>;
}

export async function recordAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await recordAudits(db, [entry]);
}

/** Many entries at once (a bulk import), a few hundred rows per statement. */
export async function recordAudits(db: Queryable, entries: readonly AuditEntry[]): Promise<void> {
  for (const chunk of chunks(entries, ROWS_PER_STATEMENT)) {
    await db.insert(auditLog).values(
      chunk.map((entry) => ({
        at: entry.at,
        actor: entry.actor,
        action: entry.action,
        subjectType: entry.subjectType,
        subjectId: entry.subjectId == null ? null : String(entry.subjectId),
        details: entry.details ?? null,
      })),
    );
  }
}
