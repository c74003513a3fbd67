/** What counting one more failure of an address says. */
export interface FailureVerdict {
  /** The address is over its limit: answer 429. */
  over: boolean;
  /** When its window ends, for `Retry-After`. */
  retryAfterSeconds: number;
}

/** Counts failures per source address; in memory (one instance) or in the shared database (several, db/failure-counts.ts). */
export interface FailureCounter {
  fail(address: string, now: number): Promise<FailureVerdict>;
}

/**
 * Counts failures per source address in a fixed window (agents' bad tokens,
 * used or unknown cabinet links), in this process's memory. An address over
 * the limit gets 429 for its bad tokens; requests with a valid token are
 * always served, so good agents behind the same address go on.
 */
export class FailureLimiter implements FailureCounter {
  private readonly entries = new Map<string, { count: number; since: number }>();

  constructor(
    readonly limit = 30,
    readonly windowMs = 60_000,
    private readonly maxAddresses = 10_000,
  ) {}

  async fail(address: string, now: number): Promise<FailureVerdict> {
    return this.failNow(address, now);
  }

  /** Record a failure, at once. */
  failNow(address: string, now: number): FailureVerdict {
    let entry = this.entries.get(address);
    if (!entry || now - entry.since >= this.windowMs) {
      entry = { count: 0, since: now };
      this.entries.delete(address);
      this.entries.set(address, entry);
      // Bounded memory under a flood from many addresses: forget the oldest.
      if (this.entries.size > this.maxAddresses) this.entries.delete(this.entries.keys().next().value!);
    }
    entry.count++;
    return { over: entry.count > this.limit, retryAfterSeconds: retryAfter(entry.since, this.windowMs, now) };
  }
}

/** Seconds until a window that began at `since` ends, at least 1. */
export function retryAfter(since: number, windowMs: number, now: number): number {
  return Math.max(1, Math.ceil((since + windowMs - now) / 1000));
}
