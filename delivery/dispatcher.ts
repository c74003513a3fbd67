import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { DB } from '../db/open.ts';
import { chatsWithDueMessages, markFailed, markSent, nextDueAt, pendingOfChat, type OutboxRow } from '../db/outbox.ts';
import { SlidingWindowPacer, type Pacer } from './pacer.ts';

export type OutboxMessage = Pick<OutboxRow, 'id' | 'kind' | 'chatId' | 'incidentId' | 'payload' | 'attempts' | 'createdAt'>;

/**
 * Where announcements go. A batch holds one or more messages for one chat that
 * may be shown together (several new alerts). Throwing means "not delivered":
 * the whole batch is retried later.
 */
export interface Delivery {
  deliver(batch: OutboxMessage[]): Promise<void>;
}

export interface DispatcherOptions {
  db: DB;
  delivery: Delivery;
  clock: Clock;
  logger: Logger;
  pacer?: Pacer;
  /** First retry delay; doubled on every further failure up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How often to look for work written by other processes (the CLI) when nothing is due. */
  idlePollMs?: number;
  /**
   * New alerts for a chat that arrive within this long after the previous alert
   * to it wait for the window to close and go as one message.
   */
  groupWindowMs?: number;
  /** Chats served at the same time. */
  concurrency?: number;
}

export interface DispatchSummary {
  sent: number;
  failed: number;
}

const GROUPABLE = 'incident.opened';
/** At most this many alerts in one message, to stay within Telegram's 4096 characters. */
const MAX_GROUP = 20;
/** How far down a chat's queue the dispatcher looks. */
const MAX_PENDING = 200;
/** Changes to an alert that need no message of their own while the alert itself is still queued. */
const FOLDED = new Set(['incident.acknowledged', 'incident.resolved']);

/**
 * Delivers the outbox. A message is marked sent right after its delivery
 * succeeds, so a crash can repeat at most the one message in flight. Messages
 * to one chat go strictly in order: a chat whose oldest message waits for a
 * retry sends nothing newer. Different chats are served side by side, paced.
 */
export class Dispatcher {
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly idlePollMs: number;
  private readonly groupWindowMs: number;
  private readonly concurrency: number;
  private readonly pacer: Pacer;
  /** When each chat last got a new-alert message: the start of its grouping window. */
  private readonly lastAlertAt = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  /** The last run found nothing it could send (only held groups, say): do not spin on "due now". */
  private lastRunIdle = false;

  constructor(private readonly options: DispatcherOptions) {
    this.retryBaseMs = options.retryBaseMs ?? 2_000;
    this.retryMaxMs = options.retryMaxMs ?? 5 * 60_000;
    this.idlePollMs = options.idlePollMs ?? 5_000;
    this.groupWindowMs = options.groupWindowMs ?? 30_000;
    this.concurrency = options.concurrency ?? 8;
    this.pacer = options.pacer ?? new SlidingWindowPacer();
  }

  /** Deliver everything due now, until nothing due is left (or only held groups remain). */
  async runOnce(): Promise<DispatchSummary> {
    const summary: DispatchSummary = { sent: 0, failed: 0 };
    const done = new Set<number>();
    for (;;) {
      const chats = chatsWithDueMessages(this.options.db, this.options.clock(), 500).filter((c) => !done.has(c));
      if (chats.length === 0) return summary;
      for (let i = 0; i < chats.length; i += this.concurrency) {
        await Promise.all(chats.slice(i, i + this.concurrency).map((chatId) => this.drainChat(chatId, summary)));
      }
      for (const chatId of chats) done.add(chatId);
    }
  }

  /**
   * Send a chat's due messages in order; stop at a failure. New alerts wait
   * while the chat's grouping window is open and then go together; other
   * messages (acknowledgements, resolutions, reminders) pass them meanwhile. An
   * acknowledgement or resolution of an alert not shown yet is folded into it:
   * the alert is drawn from the incident's state when it goes.
   */
  private async drainChat(chatId: number, summary: DispatchSummary): Promise<void> {
    const { db, delivery, clock, logger } = this.options;
    for (;;) {
      const now = clock().getTime();
      const pending = pendingOfChat(db, chatId, new Date(now), MAX_PENDING);
      const head = pending[0];
      // The oldest message waits for a retry: nothing newer overtakes it.
      if (!head || head.nextAttemptAt.getTime() > now) return;

      const windowOpen = now < (this.lastAlertAt.get(chatId) ?? -Infinity) + this.groupWindowMs;
      const held = (m: OutboxRow) => m.kind === GROUPABLE && m.attempts === 0 && windowOpen;
      const next = pending.find((m) => m.nextAttemptAt.getTime() <= now && !held(m));
      if (!next) return; // only alerts collecting for the window: they go when it closes

      const unshownAlert = (m: OutboxRow) =>
        m.incidentId !== null && FOLDED.has(m.kind) && pending.some((o) => o.kind === GROUPABLE && o.incidentId === m.incidentId);
      if (unshownAlert(next)) {
        markSent(db, next.id, clock());
        continue;
      }

      const batch = next.kind === GROUPABLE ? pending.filter((m) => m.kind === GROUPABLE && m.nextAttemptAt.getTime() <= now).slice(0, MAX_GROUP) : [next];
      await this.pacer.acquire(chatId);
      try {
        await delivery.deliver(batch);
        const sentAt = clock();
        for (const message of batch) markSent(db, message.id, sentAt);
        if (next.kind === GROUPABLE) this.lastAlertAt.set(chatId, sentAt.getTime());
        summary.sent += batch.length;
      } catch (err) {
        const attempts = next.attempts + 1;
        // A channel that says when to come back (Telegram's retry_after) is not asked earlier.
        const asked = typeof (err as { retryAfterMs?: unknown })?.retryAfterMs === 'number' ? (err as { retryAfterMs: number }).retryAfterMs : 0;
        const delay = Math.max(asked, Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (attempts - 1)));
        const retryAt = new Date(clock().getTime() + delay);
        for (const message of batch) markFailed(db, message.id, attempts, retryAt, errorText(err));
        logger.warn({ outboxIds: batch.map((m) => m.id), chatId, attempts, retryInMs: delay, err }, 'delivery failed, will retry');
        summary.failed += batch.length;
        return;
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

  /** Stop taking new work and wait for the messages in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async loop(): Promise<void> {
    try {
      const summary = await this.runOnce();
      this.lastRunIdle = summary.sent + summary.failed === 0;
    } catch (err) {
      this.options.logger.error({ err }, 'outbox dispatch failed');
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    let delay = this.idlePollMs;
    try {
      const now = this.options.clock().getTime();
      const due = nextDueAt(this.options.db);
      const wait = due ? due.getTime() - now : Infinity;
      if (wait > 0 || !this.lastRunIdle) delay = Math.min(delay, Math.max(0, wait));
      for (const startedAt of this.lastAlertAt.values()) {
        const closes = startedAt + this.groupWindowMs - now;
        if (closes > 0) delay = Math.min(delay, closes);
      }
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
