import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { DB } from '../db/open.ts';
import { chatsWithDueMessages, markFailed, markSent, nextDueAt, pendingOfChat, type OutboxRow } from '../db/outbox.ts';
import { SlidingWindowPacer, type Pacer } from './pacer.ts';

export type OutboxMessage = Pick<OutboxRow, 'id' | 'kind' | 'chatId' | 'incidentId' | 'payload' | 'attempts' | 'createdAt'>;

/**
 * Where announcements go: a delivery channel (Telegram is one). A batch holds
 * one or more messages for one chat that may be shown together (several new
 * alerts). Throwing means "not delivered": the whole batch is retried later.
 * When `signal` aborts (the service is stopping), the channel gives up at once.
 */
export interface Delivery {
  deliver(batch: OutboxMessage[], signal: AbortSignal): Promise<void>;
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
  /** On stop, how long the lanes may go on sending before the calls in flight are aborted. */
  stopGraceMs?: number;
}

export interface DispatchSummary {
  sent: number;
  failed: number;
}

const GROUPABLE = 'incident.opened';
/** At most this many alerts in one message, to stay within Telegram's 4096 characters (a mass event of one rule is folded, and may be more). */
const MAX_GROUP = 20;
/** How far down a chat's queue the dispatcher looks. */
const MAX_PENDING = 200;
/** Chats looked at per scan of the outbox. */
const MAX_CHATS = 10_000;
/** Changes to an alert that need no message of their own while the alert itself is still queued. */
const FOLDED = new Set(['incident.acknowledged', 'incident.resolved', 'incident.updated']);

/** Why a chat's lane stopped sending. */
type LaneEnd = { reason: 'drained' | 'failed' | 'stopped' } | { reason: 'held'; until: number };

/**
 * Delivers the outbox. Every chat has a lane of its own: a chat with hundreds
 * of messages queued, sent at the one a second Telegram allows it, holds up no
 * other chat, and a critical alert for an idle chat goes at once. Within a
 * chat messages go strictly in order: a chat whose oldest message waits for a
 * retry sends nothing newer. A message is marked sent right after its delivery
 * succeeds, so a crash can repeat at most the one message in flight.
 */
export class Dispatcher {
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly idlePollMs: number;
  private readonly groupWindowMs: number;
  private readonly stopGraceMs: number;
  private readonly pacer: Pacer;
  /** When each chat last got a new-alert message: the start of its grouping window. */
  private readonly lastAlertAt = new Map<number, number>();
  /** Chats being sent to right now, each by its own lane. */
  private readonly lanes = new Map<number, Promise<void>>();
  /** Chats whose next messages wait for a grouping window to close, and until when. */
  private readonly heldUntil = new Map<number, number>();
  /** Aborted when the dispatcher stops: calls in flight and waits for the pacer give up. */
  private readonly stopping = new AbortController();
  private readonly totals: DispatchSummary = { sent: 0, failed: 0 };
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(private readonly options: DispatcherOptions) {
    this.retryBaseMs = options.retryBaseMs ?? 2_000;
    this.retryMaxMs = options.retryMaxMs ?? 5 * 60_000;
    this.idlePollMs = options.idlePollMs ?? 5_000;
    this.groupWindowMs = options.groupWindowMs ?? 30_000;
    this.stopGraceMs = options.stopGraceMs ?? 3_000;
    this.pacer = options.pacer ?? new SlidingWindowPacer();
    // Every lane and every call in flight listens to it: more than Node's default of ten is expected, not a leak.
    setMaxListeners(0, this.stopping.signal);
  }

  /** Deliver everything due now, every chat in its own lane, until nothing due is left (or only held groups remain). */
  async runOnce(): Promise<DispatchSummary> {
    const summary: DispatchSummary = { sent: 0, failed: 0 };
    const done = new Set<number>();
    for (;;) {
      const chats = chatsWithDueMessages(this.options.db, this.options.clock(), MAX_CHATS).filter((c) => !done.has(c));
      if (chats.length === 0) return summary;
      await Promise.all(chats.map((chatId) => this.drainChat(chatId, summary)));
      for (const chatId of chats) done.add(chatId);
    }
  }

  /** Messages sent and deliveries failed by the lanes since the dispatcher was made (for the metrics). */
  deliveries(): DispatchSummary {
    return { ...this.totals };
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Something was just written to the outbox: give every chat with something due a lane now, rather than at the next poll. */
  wake(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    try {
      const now = this.options.clock().getTime();
      for (const [chatId, until] of this.heldUntil) if (until <= now) this.heldUntil.delete(chatId);
      for (const chatId of chatsWithDueMessages(this.options.db, new Date(now), MAX_CHATS)) {
        if (!this.lanes.has(chatId) && !this.heldUntil.has(chatId)) this.openLane(chatId);
      }
    } catch (err) {
      this.options.logger.error({ err }, 'cannot read the outbox');
    }
    this.schedule();
  }

  /**
   * Open no more lanes; let those running send for `stopGraceMs` more, then
   * abort the calls in flight and wait for the lanes to end. What was not
   * delivered stays in the outbox, for the next start.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const grace = setTimeout(() => this.stopping.abort(new Error('the service is stopping')), this.stopGraceMs);
    await Promise.allSettled([...this.lanes.values()]);
    clearTimeout(grace);
    this.stopping.abort(new Error('the service is stopping'));
  }

  private openLane(chatId: number): void {
    const lane = this.drainChat(chatId, this.totals)
      .then((end) => {
        if (end.reason === 'held') this.heldUntil.set(chatId, end.until);
      })
      .catch((err: unknown) => this.options.logger.error({ err, chatId }, 'outbox dispatch failed'))
      .finally(() => {
        this.lanes.delete(chatId);
        // Whatever came meanwhile, for this chat or another, gets its lane.
        this.wake();
      });

    this.lanes.set(chatId, lane);
  }

  /**
   * Send a chat's due messages in order; stop at a failure. New alerts wait
   * while the chat's grouping window is open and then go together; other
   * messages (acknowledgements, resolutions, reminders) pass them meanwhile. An
   * acknowledgement or resolution of an alert not shown yet is folded into it:
   * the alert is drawn from the incident's state when it goes.
   */
  private async drainChat(chatId: number, summary: DispatchSummary): Promise<LaneEnd> {
    const { db, delivery, clock, logger } = this.options;
    const signal = this.stopping.signal;
    for (;;) {
      if (signal.aborted) return { reason: 'stopped' };
      const now = clock().getTime();
      const pending = pendingOfChat(db, chatId, new Date(now), MAX_PENDING);
      const head = pending[0];
      // The oldest message waits for a retry: nothing newer overtakes it.
      if (!head || head.nextAttemptAt.getTime() > now) return { reason: 'drained' };

      const windowCloses = (this.lastAlertAt.get(chatId) ?? -Infinity) + this.groupWindowMs;
      const held = (m: OutboxRow) => m.kind === GROUPABLE && m.attempts === 0 && now < windowCloses;
      const next = pending.find((m) => m.nextAttemptAt.getTime() <= now && !held(m));
      // Only alerts collecting for the window: they go when it closes.
      if (!next) return { reason: 'held', until: windowCloses };

      const unshownAlert = (m: OutboxRow) =>
        m.incidentId !== null && FOLDED.has(m.kind) && pending.some((o) => o.kind === GROUPABLE && o.incidentId === m.incidentId);
      if (unshownAlert(next)) {
        markSent(db, next.id, clock());
        continue;
      }

      const batch = next.kind === GROUPABLE ? alertBatch(pending.filter((m) => m.kind === GROUPABLE && m.nextAttemptAt.getTime() <= now)) : [next];
      try {
        await this.pacer.acquire(chatId, { urgent: batch.some(isCritical), signal });
        await delivery.deliver(batch, signal);
      } catch (err) {
        // Stopping: the message stays as it was, for the next start.
        if (signal.aborted) return { reason: 'stopped' };
        const attempts = next.attempts + 1;
        // A channel that says when to come back (Telegram's retry_after) is not asked earlier.
        const asked = typeof (err as { retryAfterMs?: unknown })?.retryAfterMs === 'number' ? (err as { retryAfterMs: number }).retryAfterMs : 0;
        const delay = Math.max(asked, Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (attempts - 1)));
        const retryAt = new Date(clock().getTime() + delay);
        for (const message of batch) markFailed(db, message.id, attempts, retryAt, errorText(err));
        logger.warn({ outboxIds: batch.map((m) => m.id), chatId, attempts, retryInMs: delay, err }, 'delivery failed, will retry');
        summary.failed += batch.length;
        return { reason: 'failed' };
      }
      const sentAt = clock();
      for (const message of batch) markSent(db, message.id, sentAt);
      if (next.kind === GROUPABLE) this.lastAlertAt.set(chatId, sentAt.getTime());
      summary.sent += batch.length;
    }
  }

  /** Look again when the next message falls due or a grouping window closes, and at least every `idlePollMs`. */
  private schedule(): void {
    if (this.stopped) return;
    let delay = this.idlePollMs;
    try {
      const now = this.options.clock().getTime();
      const due = nextDueAt(this.options.db);
      if (due && due.getTime() > now) delay = Math.min(delay, due.getTime() - now);
      for (const until of this.heldUntil.values()) delay = Math.min(delay, Math.max(0, until - now));
    } catch (err) {
      this.options.logger.error({ err }, 'cannot read the outbox');
    }
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }
}

/**
 * The new alerts that go as one message: all of them up to `MAX_GROUP`; past
 * that, when one rule has more than `MAX_GROUP` of them (a mass event), all of
 * that rule's, which the channel folds into one list.
 */
function alertBatch(due: OutboxRow[]): OutboxRow[] {
  if (due.length <= MAX_GROUP) return due;
  const ruleOf = (m: OutboxRow) => String((m.payload as { ruleId?: unknown }).ruleId ?? '');
  const counts = new Map<string, number>();
  for (const m of due) counts.set(ruleOf(m), (counts.get(ruleOf(m)) ?? 0) + 1);
  const [rule, n] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
  return n > MAX_GROUP ? due.filter((m) => ruleOf(m) === rule) : due.slice(0, MAX_GROUP);
}

/** A message about a critical incident: it goes before others when Telegram's overall limit is the bottleneck. */
function isCritical(message: OutboxMessage): boolean {
  return (message.payload as { severity?: unknown }).severity === 'critical';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
