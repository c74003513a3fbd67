import type { Queryable } from './open.ts';
import { auditLog } from './schema.ts';

export interface AuditEntry {
  at: Date;
  actor: string;
  action: string;
  subjectType: string;
  subjectId?: string | number | null;
  details?: Record<string, unknown>;
}

export function recordAudit(db: Queryable, entry: AuditEntry): void {
  db.insert(auditLog)
    .values({
      at: entry.at,
      actor: entry.actor,
      action: entry.action,
      subjectType: entry.subjectType,
      subjectId: entry.subjectId == null ? null : String(entry.subjectId),
      details: entry.details ?? null,
    })
    .run();
}
