import type { Facts } from './rules.ts';

/**
 * The incident lifecycle: open -> acknowledged -> resolved. At most one
 * unresolved incident per (installation, rule); a condition that returns after
 * resolution is a new incident. Nothing is ever deleted.
 */
export const INCIDENT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** Why an incident ended: its condition cleared, a person closed it, or monitoring was turned off. */
export const RESOLUTIONS = ['cleared', 'manual', 'disabled'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export interface ActiveIncident {
  id: number;
  ruleId: string;
}

export interface Reconciliation<K extends string, T extends ActiveIncident> {
  open: { ruleId: K; facts: Facts }[];
  resolve: T[];
}


/**
 * Compare what fires now with the incidents already open for one installation.
 * Only rules in `scope` are judged (rules from other sources, such as probes,
 * are left to their own checks).
 */
export function reconcile<K extends string, T extends ActiveIncident>(
  active: readonly T[],
  firing: ReadonlyMap<K, Facts>,
  scope: ReadonlySet<string>,
): Reconciliation<K, T> {
  // Plain loops: this runs for every report and every installation a sweep looks at, and mostly finds nothing.
  const open: { ruleId: K; facts: Facts }[] = [];
  for (const [ruleId, facts] of firing) {
    if (!active.some((incident) => incident.ruleId === ruleId)) open.push({ ruleId, facts });
  }
  const resolve: T[] = [];
  for (const incident of active) {
    if (scope.has(incident.ruleId) && !(firing as ReadonlyMap<string, Facts>).has(incident.ruleId)) resolve.push(incident);
  }
  return { open, resolve };
}
