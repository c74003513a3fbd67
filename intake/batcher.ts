import type { DB } from '../db/open.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import { ingestInTransaction, type IngestItem, type IngestResult } from './ingest.ts';
import { writeTransaction } from '../db/transaction.ts';

interface Pending {
  item: IngestItem;
  resolve: (result: IngestResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: reports that arrive while the event loop is busy are written
 * in one transaction (each still on its own terms: idempotent, judged, with
 * its own answer), so a commit's cost, and the reads and writes every report
 * needs, are shared instead of paid per report. If the batch fails, its
 * reports are retried one by one, so one bad report never takes others down
 * with it.
 */
export class IngestBatcher {
  private queue: Pending[] = [];
  private scheduled = false;
  private flushing = false;

  constructor(
    private readonly db: DB,
    private readonly settings: IncidentSettings,
    private readonly maxBatch = 200,
  ) {}

  submit(item: IngestItem): Promise<IngestResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.flushing) return;
      if (this.queue.length >= this.maxBatch) void this.flushAll();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flushAll());
      }
    });
  }

  /**
   * One batch at a time: reports that come while one is written make the next. On PostgreSQL, where a
   * transaction waits on the network, batches written side by side would be small, each paying its own
   * round trips, and would run into each other (serialization failures) over rows they share.
   */
  private async flushAll(): Promise<void> {
    this.scheduled = false;
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) await this.flush(this.queue.splice(0, this.maxBatch));
    } finally {
      this.flushing = false;
    }
  }

  private async flush(batch: Pending[]): Promise<void> {
    let results: IngestResult[];
    try {
      results = await writeTransaction(this.db, (tx) => ingestInTransaction(tx, this.settings, batch.map((p) => p.item)));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      for (const pending of batch) await this.one(pending);
      return;
    }
    batch.forEach((pending, i) => pending.resolve(results[i]!));
  }

  private async one(pending: Pending): Promise<void> {
    try {
      pending.resolve((await writeTransaction(this.db, (tx) => ingestInTransaction(tx, this.settings, [pending.item])))[0]!);
    } catch (err) {
      pending.reject(err);
    }
  }
}
