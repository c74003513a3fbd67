/** How insistent the lifecycle is about unacknowledged incidents. */
export interface IncidentSettings {
  /** Re-announce an unacknowledged incident this often. */
  remindEveryMs: number;
  /** Escalate a critical incident to the team lead when unacknowledged this long. */
  escalateAfterMs: number;
}

export const DEFAULT_INCIDENT_SETTINGS: IncidentSettings = {
  remindEveryMs: 4 * 3_600_000,
  escalateAfterMs: 60 * 60_000,
};
