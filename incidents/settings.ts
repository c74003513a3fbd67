import type { ClockWatch } from '../core/clock-watch.ts';
import type { QuietWindow } from '../core/quiet-hours.ts';

/** How insistent the lifecycle is about unacknowledged incidents, and when it keeps quiet. */
export interface IncidentSettings {
  /** Re-announce an unacknowledged incident this often. */
  remindEveryMs: number;
  /** Escalate a critical incident to the team lead when unacknowledged this long. */
  escalateAfterMs: number;
  /** Warnings for a person during their quiet hours wait until the hours end (criticals never wait). */
  quietHours: { tz: string; defaultWindow: QuietWindow };
  /** A new warning waits this long before it is sent; one that clears meanwhile is never sent (FLAP_HOLD). */
  flapHoldMs?: number;
  /**
   * A mass event: this many installations or more opening the same rule
   * within one grouping window (MASS_EVENT_MIN, ALERT_GROUP_WINDOW). Notices
   * (`info`), never sent one by one, are sent then, as one message per chat.
   */
  massEvent?: { min: number; windowMs: number };
  /** What the service has noticed about its own clock; without one, the clock is trusted. */
  clockWatch?: ClockWatch;
}

export const DEFAULT_INCIDENT_SETTINGS: IncidentSettings = {
  remindEveryMs: 4 * 3_600_000,
  escalateAfterMs: 60 * 60_000,
  quietHours: { tz: 'Europe/Moscow', defaultWindow: { from: 22 * 60, to: 8 * 60 } },
};
