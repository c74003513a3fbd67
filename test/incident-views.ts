import type { IncidentView } from '../db/incidents.ts';

/**
 * An incident as the renderers get it, without a database: an open critical
 * at ООО «Ромашка» · Сервер офиса, Ксения Шабанова's client; what a test
 * says of the incident and around it replaces the defaults.
 */
export function incidentView(incident: Partial<IncidentView['incident']> & Pick<IncidentView['incident'], 'ruleId'>, around: Partial<Omit<IncidentView, 'incident'>> = {}): IncidentView {
  return {
    incident: {
      id: 7,
      installationId: 3,
      severity: 'critical',
      status: 'open',
      details: {},
      openedAt: new Date('2026-11-30T17:59:00Z'),
      acknowledgedAt: null,
      acknowledgedBy: null,
      resolvedAt: null,
      resolvedBy: null,
      resolution: null,
      snoozedUntil: null,
      lastNotifiedAt: null,
      escalatedAt: null,
      remindedAt: null,
      ...incident,
    } as unknown as IncidentView['incident'],
    installationName: 'Сервер офиса',
    clientId: 1,
    clientName: 'ООО «Ромашка»',
    managerId: 1001,
    managerName: 'Ксения Шабанова',
    managerLeadId: 2001,
    acknowledgedByName: null,
    resolvedByName: null,
    heldBack: 0,
    snoozedUntil: null,
    snoozedByName: null,
    ...around,
  };
}
