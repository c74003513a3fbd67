/**
 * Counts failures per source address in a fixed window (agents' bad tokens,
 * used or unknown cabinet links). An address over the limit gets 429 for its
 * bad tokens; requests with a valid token are always served, so good agents
 * behind the same address go on.
 */
export class FailureLimiter {
  private readonly entries = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly limit = 30,
    private readonly windowMs = 60_000,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Record a failure; true when the address is now over its limit. */
  fail(address: string, now: number): boolean {
    let entry = this.entries.get(address);
    if (!entry || now - entry.since >= this.windowMs) {
      entry = { count: 0, since: now };
      this.entries.delete(address);
      this.entries.set(address, entry);
      // Bounded memory under a flood from many addresses: forget the oldest.
      if (this.entries.size > this.maxAddresses) this.entries.delete(this.entries.keys().next().value!);
    }
    entry.count++;
    return entry.count > this.limit;
  }

  retryAfterSeconds(address: string, now: number): number {
    const entry = this.entries.get(address);
    return entry ? Math.max(1, Math.ceil((entry.since + this.windowMs - now) / 1000)) : 1;
  }
}
