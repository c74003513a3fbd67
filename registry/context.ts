import type { Clock } from '../core/clock.ts';
import type { DB } from '../db/open.ts';

/** What every change to the registry needs: where to write, the time, and who is acting (for the audit log). */
export interface RegistryContext {
  db: DB;
  clock: Clock;
  /** `cli:<os user>`, `tg:<telegram id>` or `system`. */
  actor: string;
}
