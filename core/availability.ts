/**
 * Availability as users see it, from the probes: a round found an
 * installation up when what users reach answered — the main page if one is
 * probed, else the web port, else ping. Rounds are counted per calendar day.
 */

export interface ProbeOutcome {
  ok: boolean;
}

/** What one round says: up, down, or nothing (no probe of the server itself ran). */
export function roundIsUp(results: Partial<Record<'http' | 'tcp' | 'icmp', ProbeOutcome>>): boolean | null {
  const deciding = results.http ?? results.tcp ?? results.icmp;
  return deciding ? deciding.ok : null;
}

export interface AvailabilityTally {
  rounds: number;
  up: number;
}

/** Percent of rounds that found it up, to one decimal place that never rounds a miss up to 100; null without rounds. */
export function availabilityPercent(tally: AvailabilityTally): number | null {
  if (tally.rounds <= 0) return null;
  return Math.floor((tally.up / tally.rounds) * 1000) / 10;
}

/** Tallies added up (a month of days, or a client's installations). */
export function sumTallies(tallies: Iterable<AvailabilityTally>): AvailabilityTally {
  let rounds = 0;
  let up = 0;
  for (const t of tallies) {
    rounds += t.rounds;
    up += t.up;
  }
  return { rounds, up };
}
