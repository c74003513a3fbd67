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
/**
 * Why the time-based rules wait: after `downtime` (the clock went forward
 * over a gap) ages only grew, so a rule that stops holding was answered by
 * fresh evidence and may resolve; after the `clock` went back, ages shrank
 * for no reason, so nothing is resolved either.
 */
export type GraceReason = 'downtime' | 'clock';
/** Agents' clocks this far from ours, by the median, means ours is wrong. */
export const SKEW_LIMIT_MS = 60 * 60_000;
/** The median is taken over installations heard from within this long: one vote each, their latest. */
export const SKEW_WINDOW_MS = 2 * 60 * 60_000;
/** Fewer installations than this heard from lately say nothing about our clock. */
export const SKEW_MIN_INSTALLATIONS = 5;
/** Installations remembered at most (the longest silent are forgotten first). */
const SKEW_MAX_INSTALLATIONS = 10_000;

export class ClockWatch {
  /** Each installation's latest skew, and when (our clock) it was seen; in the order seen, oldest first. */
  private readonly skews = new Map<number, { skew: number; at: number }>();
  /** How many of `skews` put our clock more than the limit ahead of the agent's, and behind it. */
  private ahead = 0;
  private behind = 0;
  private lastObservedAt = 0;
  /** The latest spell when nobody was listening. */
  blind: BlindSpell | null = null;
  /** Until when time-based rules wait after a gap. */
  graceUntil = 0;
  graceReason: GraceReason = 'downtime';
  /** When the service last did anything (a sweep, a report), in ms, to notice the next gap. */
  lastSweepAt: number | null = null;


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
      // A jump back still being waited out is not turned into a mere downtime by a gap after it.
      if (!(now < this.graceUntil && this.graceReason === 'clock')) this.graceReason = 'downtime';
      this.graceUntil = now + GRACE_MS;
      return { gap: true };
    }
    if (now < last - 60_000) {
      // The clock went back: time ahead of it never happened, including any spell noted out there.
      if (this.blind && this.blind.to > now) this.blind = null;
      this.graceUntil = now + GRACE_MS;
      this.graceReason = 'clock';
      return { gap: true };
    }
    return { gap: false };
  }

  /** Whether time-based rules must not open incidents now. */
  timeRulesSuspended(now: number): boolean {
    return now < this.graceUntil || this.suspect(now);
  }

  /**
   * Whether time-based rules must not resolve incidents either: only while
   * our clock itself is in doubt (it went back, or disagrees with the
   * agents'). After mere downtime, fresh evidence resolves at once.
   */
  timeRulesFrozen(now: number): boolean {
    return (now < this.graceUntil && this.graceReason === 'clock') || this.suspect(now);
  }

  /**
   * A report from an installation arrived at `receivedAt` that its agent says
   * it made at `generatedAt`. Each installation counts once, with its latest
   * report: one agent with a wrong clock, however often it reports, is one vote.
   */
  observe(installationId: number, receivedAt: Date, generatedAt: Date | null): void {
    if (!generatedAt) return;
    const at = receivedAt.getTime();
    this.lastObservedAt = at;
    this.forget(installationId);
    const skew = at - generatedAt.getTime();
    this.skews.set(installationId, { skew, at });
    this.count(skew, 1);
    if (this.skews.size > SKEW_MAX_INSTALLATIONS) this.forget(this.skews.keys().next().value!);
  }

  /**
   * The median difference between our clock and the agents' (positive: ours is
   * ahead) over the installations heard from in the last two hours, or null
   * when fewer than five were. What was seen "after" now (before the clock went
   * back) does not count. A full pass over the installations: for reports.
   */
  medianSkew(now = this.lastObservedAt): number | null {
    const recent: number[] = [];
    for (const { skew, at } of this.skews.values()) if (at <= now && at >= now - SKEW_WINDOW_MS) recent.push(skew);
    if (recent.length < SKEW_MIN_INSTALLATIONS) return null;
    recent.sort((a, b) => a - b);
    return recent[Math.floor(recent.length / 2)]!;
  }

  /**
   * Whether the median skew is beyond the limit, as `medianSkew` would say,
   * without sorting: asked for every installation judged (each report, each
   * sweep), so it keeps counts instead. The median (the upper one, as
   * `medianSkew` takes it) is beyond the limit when enough skews are.
   */
  suspect(now = this.lastObservedAt): boolean {
    if (now < this.lastObservedAt) {
      // The clock went back past what was seen: rare enough to count afresh.
      const skew = this.medianSkew(now);
      return skew !== null && Math.abs(skew) > SKEW_LIMIT_MS;
    }
    this.expire(now - SKEW_WINDOW_MS);
    const n = this.skews.size;
    if (n < SKEW_MIN_INSTALLATIONS) return false;
    const middle = Math.floor(n / 2);
    return this.ahead >= n - middle || this.behind >= middle + 1;
  }

  /** Drop what was seen before `cutoff`: those seen first are at the front. */
  private expire(cutoff: number): void {
    for (const [id, { at }] of this.skews) {
      if (at >= cutoff) break;
      this.forget(id);
    }
  }

  private forget(installationId: number): void {
    const seen = this.skews.get(installationId);
    if (!seen) return;
    this.skews.delete(installationId);
    this.count(seen.skew, -1);
  }

  private count(skew: number, by: 1 | -1): void {
    if (skew > SKEW_LIMIT_MS) this.ahead += by;
    else if (skew < -SKEW_LIMIT_MS) this.behind += by;
  }
}

/** How much of [from, to] fell in the blind spell. */
export function blindOverlap(blind: BlindSpell | null, from: number, to: number): number {
  if (!blind) return 0;
  return Math.max(0, Math.min(to, blind.to) - Math.max(from, blind.from));
}
