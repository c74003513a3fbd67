/**
 * Guards the time-based rules against the server's own clock. Two things are
 * watched: gaps between sweeps (the service was down, or the clock jumped),
 * during which nobody was listening, so silence then is not the agents'
 * fault; and the skew between agents' clocks and ours, which gives away a
 * server clock that is wrong.
 */
export interface BlindSpell {
  from: number;
  to: number;
}

/** A sweep more than this after the previous one means we were not watching in between. */
export const GAP_MS = 10 * 60_000;
/** After a gap, time-based rules wait this long before opening anything (agents report, skew shows). */
export const GRACE_MS = 15 * 60_000;
/** Agents' clocks this far from ours, by the median, means ours is wrong. */
export const SKEW_LIMIT_MS = 60 * 60_000;

export class ClockWatch {
  private readonly skews: number[] = [];
  /** The latest spell when nobody was listening. */
  blind: BlindSpell | null = null;
  /** Until when time-based rules wait after a gap. */
  graceUntil = 0;
  /** When the service last did anything (a sweep, a report), in ms, to notice the next gap. */
  lastSweepAt: number | null = null;

  /** A short window, so the verdict follows the clock back soon after it is corrected. */
  constructor(private readonly sampleSize = 21) {}

  /**
   * Called by every sweep and every report: a gap since the previous one
   * (downtime, or the clock jumping forward) becomes a blind spell; any gap or a
   * jump back starts a grace period.
   */
  note(now: number): { gap: boolean } {
    const last = this.lastSweepAt;
    this.lastSweepAt = now;
    if (last === null) return { gap: false };
    if (now - last > GAP_MS) {
      this.blind = { from: last, to: now };
      this.graceUntil = now + GRACE_MS;
      return { gap: true };
    }
    if (now < last - 60_000) {
      // The clock went back: time ahead of it never happened, including any spell noted out there.
      if (this.blind && this.blind.to > now) this.blind = null;
      this.graceUntil = now + GRACE_MS;
      return { gap: true };
    }
    return { gap: false };
  }

  /** Whether time-based rules must not open incidents now. */
  timeRulesSuspended(now: number): boolean {
    return now < this.graceUntil || this.suspect();
  }

  /** A report arrived at `receivedAt` that the agent says it made at `generatedAt`. */
  observe(receivedAt: Date, generatedAt: Date | null): void {
    if (!generatedAt) return;
    this.skews.push(receivedAt.getTime() - generatedAt.getTime());
    if (this.skews.length > this.sampleSize) this.skews.shift();
  }

  /** The median difference between our clock and the agents' (positive: ours is ahead), or null without enough reports. */
  medianSkew(): number | null {
    if (this.skews.length < 5) return null;
    const sorted = [...this.skews].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  }

  suspect(): boolean {
    const skew = this.medianSkew();
    return skew !== null && Math.abs(skew) > SKEW_LIMIT_MS;
  }
}

/** How much of [from, to] fell in the blind spell. */
export function blindOverlap(blind: BlindSpell | null, from: number, to: number): number {
  if (!blind) return 0;
  return Math.max(0, Math.min(to, blind.to) - Math.max(from, blind.from));
}
