import type { Logger } from '../app/logger.ts';
import type { Clock } from '../core/clock.ts';
import type { DB } from '../db/open.ts';
import { dueHeadsOfChats, markFailed, markSent, nextDueAt, type OutboxRow } from '../db/outbox.ts';

export type OutboxMessage = Pick<OutboxRow, 'id' | 'kind' | 'chatId' | 'incidentId' | 'payload' | 'attempts' | 'createdAt'>;

/** Where announcements go. Throwing means "not delivered": the message is retried later. */
export interface Delivery {
  deliver(message: OutboxMessage): Promise<void>;
}

export interface DispatcherOptions {
  db: DB;
  delivery: Delivery;
  clock: Clock;
  logger: Logger;
  /** First retry delay; doubled on every further failure up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How often to look for work written by other processes (the CLI) when nothing is due. */
  idlePollMs?: number;
}

export interface DispatchSummary {
  sent: number;
  failed: number;
}

/**
 * Delivers the outbox. A message is marked sent right after its delivery
 * succeeds, so a crash can repeat at most the one message in flight. Messages
 * to one chat go strictly in order: a chat whose oldest message waits for a
 * retry sends nothing newer.
 */
export class Dispatcher {
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly idlePollMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  constructor(private readonly options: DispatcherOptions) {
    this.retryBaseMs = options.retryBaseMs ?? 2_000;
    this.retryMaxMs = options.retryMaxMs ?? 5 * 60_000;
    this.idlePollMs = options.idlePollMs ?? 5_000;
  }

  /** Deliver everything due now, chat by chat, until nothing due is left. */
  async runOnce(): Promise<DispatchSummary> {
    const { db, delivery, clock, logger } = this.options;
    const summary: DispatchSummary = { sent: 0, failed: 0 };
    const failedChats = new Set<number>();
    for (;;) {
      const heads = dueHeadsOfChats(db, clock(), 200).filter((m) => !failedChats.has(m.chatId));
      if (heads.length === 0) return summary;
      for (const message of heads) {
        try {
          await delivery.deliver(message);
          markSent(db, message.id, clock());
          summary.sent++;
        } catch (err) {
          const attempts = message.attempts + 1;
          const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (attempts - 1));
          markFailed(db, message.id, attempts, new Date(clock().getTime() + delay), errorText(err));
          logger.warn({ outboxId: message.id, chatId: message.chatId, attempts, retryInMs: delay, err }, 'delivery failed, will retry');
          failedChats.add(message.chatId);
          summary.failed++;
        }
      }
    }
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Something was just written to the outbox: deliver it now rather than at the next poll. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.loop().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      } else {
        this.schedule();
      }
    });
  }

  /** Stop taking new work and wait for the message in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async loop(): Promise<void> {
    try {
      await this.runOnce();
    } catch (err) {
      this.options.logger.error({ err }, 'outbox dispatch failed');
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    let delay = this.idlePollMs;
    try {
      const due = nextDueAt(this.options.db);
      if (due) delay = Math.min(delay, Math.max(0, due.getTime() - this.options.clock().getTime()));
    } catch (err) {
      this.options.logger.error({ err }, 'cannot read the outbox');
    }
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
