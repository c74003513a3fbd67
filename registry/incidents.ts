import { recordAudit } from '../db/audit.ts';
import { recheckNow } from '../db/check-schedule.ts';
import type { RegistryContext } from './context.ts';
import { acknowledgeIncident, resolveIncident, type AcknowledgeResult } from '../incidents/lifecycle.ts';
import type { Incident } from '../db/incidents.ts';
import { writeTransaction } from '../db/transaction.ts';

/** A person acknowledges an incident (CLI or bot); recorded in the audit log. */
export function acknowledge(ctx: RegistryContext, incidentId: number): AcknowledgeResult {
  return writeTransaction(ctx.db, (tx) => {
    const now = ctx.clock();
    const result = acknowledgeIncident(tx, incidentId, ctx.actor, now);
    if (result.outcome === 'acknowledged') {
      recordAudit(tx, { at: now, actor: ctx.actor, action: 'incident.acknowledge', subjectType: 'incident', subjectId: incidentId });
    }
    return result;
  });
}

/**
 * A person closes an incident. If its condition still holds, the next check
 * opens a new one: the installation is re-checked at the next sweep.
 */
export function resolveByHand(ctx: RegistryContext, incidentId: number): Incident {
  return writeTransaction(ctx.db, (tx) => {
    const now = ctx.clock();
    const incident = resolveIncident(tx, incidentId, ctx.actor, 'manual', now);
    recheckNow(tx, incident.installationId, now);
    recordAudit(tx, { at: now, actor: ctx.actor, action: 'incident.resolve', subjectType: 'incident', subjectId: incidentId });
    return incident;
  });
}
