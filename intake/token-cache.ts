/** What the intake needs to know of a token's installation before reading the report: whose it is, and its time zone. */
export interface KnownToken {
  id: number;
  tokenHash: string;
  tz: string;
}

/**
 * Agent tokens already seen, by hash, so a report is let in without a query
 * for its token. Nothing here is trusted for long: the batch that stores the
 * report reads the installation again inside its transaction and refuses the
 * report if the token no longer matches (rotated here, on another instance,
 * or from the command line), and the route then forgets the hash. A token
 * not yet seen is looked up in the database, as before.
 */
export class TokenCache {
  private readonly known = new Map<string, KnownToken>();

  /** At most this many tokens are kept; past it, the longest-held go first. */
  constructor(private readonly limit = 50_000) {}

  get(hash: string): KnownToken | undefined {
    return this.known.get(hash);
  }

  remember(token: KnownToken): void {
    const { id, tokenHash, tz } = token;
    if (this.known.size >= this.limit && !this.known.has(tokenHash)) this.known.delete(this.known.keys().next().value!);
    this.known.set(tokenHash, { id, tokenHash, tz });
  }

  forget(hash: string): void {
    this.known.delete(hash);
  }

  get size(): number {
    return this.known.size;
  }
}
