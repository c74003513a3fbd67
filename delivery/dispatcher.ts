import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { DB } from '../db/open.ts';
import { massRuleOf } from '../core/external-alerts.ts';
import { chatsWithDueMessages, markFailed, markSent, nextDueAt, pendingOfChat, pendingOpeningsOf, type Channel, type OutboxRow } from '../db/outbox.ts';
import { SlidingWindowPacer, type Pacer } from './pacer.ts';

export type OutboxMessage = Pick<OutboxRow, 'id' | 'kind' | 'chatId' | 'incidentId' | 'payload' | 'attempts' | 'createdAt' | 'urgent'>;

/**
 * Where announcements go: a delivery channel (Telegram is one). A batch holds
 * one or more messages for one chat that may be shown together (several new
 * alerts). Throwing means "not delivered": the whole batch is retried later.
 * When `signal` aborts (the service is stopping), the channel gives up at once.
 * New alerts of a mass event (one rule, many installations) are shown as one
 * message that the rest of the event joins: `'mass'` says the batch went as
 * such a message, `'joined'` that it was added to one the chat already has.
 * The rest of that event then follows at once (it will join too), and a join
 * does not restart the chat's grouping window, as a new message does.
 * `{ withdrawn }` says how many of the batch did not go and were taken back
 * (mail to an address the server refuses, or to nobody any more): they are
 * done with, but not counted as sent.
 */
export interface Delivery {
  deliver(batch: OutboxMessage[], signal: AbortSignal): Promise<DeliveryOutcome>;
}

export type DeliveryOutcome = void | 'mass' | 'joined' | { withdrawn: number };

export interface DispatcherOptions {
  db: DB;
  delivery: Delivery;
  /** The outbox messages this dispatcher sends: Telegram's (the default) or mail's (`mail.*`); each channel has its own lanes. */
  channel?: Channel;
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
   * to it wait for the window to close and go as one message. Critical alerts
   * have a window of their own: warnings sent, or collecting, never hold one back.
   */
  groupWindowMs?: number;
  /** On stop, how long the lanes may go on sending before the calls in flight are aborted. */
  stopGraceMs?: number;
}

export interface DispatchSummary {
  sent: number;
  failed: number;
  /** Done with without being sent: taken back by the channel (see `DeliveryOutcome`). */
  withdrawn: number;
}

const GROUPABLE = 'incident.opened';
/** At most this many alerts in one message, to stay within Telegram's 4096 characters (a mass event of one rule is folded, and may be more). */
const MAX_GROUP = 20;
/** Changes of one kind to alerts already shown that go to the channel together (it redraws each message once for them all). */
const MAX_CHANGES = 200;
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
 * chat messages go strictly in the chat's order: urgent ones (about critical
 * incidents) first, then the rest, each in the order written, so a critical
 * alert never waits behind a storm of warnings. A chat whose head (the first
 * by that order) waits for a retry sends nothing after it. A message is
 * marked sent right after its delivery succeeds, so a crash can repeat at
 * most the one batch in flight.
 */
export class Dispatcher {
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly idlePollMs: number;
  private readonly groupWindowMs: number;
  private readonly stopGraceMs: number;
  private readonly pacer: Pacer;
  private readonly channel: Channel;
  /** When each chat last got a new-alert message (critical ones apart): the start of its grouping window. */
  private readonly lastAlertAt = new Map<number, number>();
  private readonly lastUrgentAlertAt = new Map<number, number>();
  /** The mass events (their rules, `massRuleOf`) whose message a chat has: the rest of each joins it, unheld by the window. */
  private readonly joinable = new Map<number, Set<string>>();
  /** Chats being sent to right now, each by its own lane. */
  private readonly lanes = new Map<number, Promise<void>>();
  /** Looks at the outbox started by `wake` and not finished yet (each reads it, then opens lanes). */
  private readonly scans = new Set<Promise<void>>();
  /** Chats whose next messages wait for a grouping window to close, and until when. */
  private readonly heldUntil = new Map<number, number>();
  /** Aborted when the dispatcher stops: calls in flight and waits for the pacer give up. A new one at every start. */
  private stopping = new AbortController();
  private readonly totals: DispatchSummary = { sent: 0, failed: 0, withdrawn: 0 };
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(private readonly options: DispatcherOptions) {
    this.retryBaseMs = options.retryBaseMs ?? 2_000;
    this.retryMaxMs = options.retryMaxMs ?? 5 * 60_000;
    this.idlePollMs = options.idlePollMs ?? 5_000;
    this.groupWindowMs = options.groupWindowMs ?? 30_000;
    this.stopGraceMs = options.stopGraceMs ?? 3_000;
    this.pacer = options.pacer ?? new SlidingWindowPacer();
    this.channel = options.channel ?? 'telegram';
    this.stopping = stopSignal();
  }

  /** Deliver everything due now, every chat in its own lane, until nothing due is left (or only held groups remain). */
  async runOnce(): Promise<DispatchSummary> {
    const summary: DispatchSummary = { sent: 0, failed: 0, withdrawn: 0 };
    const done = new Set<number>();
    for (;;) {
      const chats = (await chatsWithDueMessages(this.options.db, this.channel, this.options.clock(), MAX_CHATS))
        .map((head) => head.chatId)
        .filter((c) => !done.has(c));
      if (chats.length === 0) return summary;
      await Promise.all(chats.map((chatId) => this.drainChat(chatId, summary)));
      for (const chatId of chats) done.add(chatId);
    }
  }

  /** Messages sent and deliveries failed by the lanes since the dispatcher was made (for the metrics). */
  deliveries(): DispatchSummary {
    return { ...this.totals };
  }

  /** Start sending; after a stop, it starts again (an instance that regained the outbox among several). */
  start(): void {
    if (this.stopping.signal.aborted) this.stopping = stopSignal();
    this.stopped = false;
    this.wake();
  }

  /**
   * Something was just written to the outbox: give every chat with something due a lane now, rather than at the next poll.
   * It returns at once: the outbox is read, and the lanes opened, in the background (`stop` waits for that).
   */
  wake(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const scan = this.scan().finally(() => this.scans.delete(scan));
    this.scans.add(scan);
  }

  /** What `wake` does in the background; it never throws (what fails is logged). */
  private async scan(): Promise<void> {
    try {
      const now = this.options.clock().getTime();
      for (const [chatId, until] of this.heldUntil) if (until <= now) this.heldUntil.delete(chatId);
      const heads = await chatsWithDueMessages(this.options.db, this.channel, new Date(now), MAX_CHATS);
      // Stopped while the outbox was read: no lane is opened any more.
      if (this.stopped) return;
      for (const { chatId, urgent } of heads) {
        if (this.lanes.has(chatId)) continue;
        // A chat whose warnings collect for their window still sends a critical alert now, unless criticals collect too.
        if (!this.heldUntil.has(chatId) || (urgent && now >= this.windowCloses(chatId, true))) this.openLane(chatId);
      }
    } catch (err) {
      this.options.logger.error({ err }, 'cannot read the outbox');
    }
    await this.schedule();
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
    await Promise.allSettled([...this.lanes.values(), ...this.scans]);
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

  /** Whether the chat now has a message the rest of this rule's mass event joins (the channel said so), or no longer. */
  private noteJoinable(chatId: number, rule: string, joinable: boolean): void {
    const rules = this.joinable.get(chatId) ?? new Set<string>();
    if (joinable) rules.add(rule);
    else rules.delete(rule);
    if (rules.size > 0) this.joinable.set(chatId, rules);
    else this.joinable.delete(chatId);
  }

  /** When the grouping window of a chat's new alerts (its critical ones, or the rest) closes. */
  private windowCloses(chatId: number, urgent: boolean): number {
    return ((urgent ? this.lastUrgentAlertAt : this.lastAlertAt).get(chatId) ?? -Infinity) + this.groupWindowMs;
  }

  /**
   * Send a chat's due messages in its order; stop at a failure. New alerts
   * wait while the chat's grouping window is open and then go together (a
   * critical alert's window is its own: it waits only for other criticals);
   * other messages (acknowledgements, resolutions, reminders) pass them
   * meanwhile. An acknowledgement or resolution of an alert not shown yet is
   * folded into it: the alert is drawn from the incident's state when it goes.
   */
  private async drainChat(chatId: number, summary: DispatchSummary): Promise<LaneEnd> {
    const { db, delivery, clock, logger } = this.options;
    const signal = this.stopping.signal;
    for (;;) {
      if (signal.aborted) return { reason: 'stopped' };
      const now = clock().getTime();
      const pending = await pendingOfChat(db, this.channel, chatId, new Date(now), MAX_PENDING);
      const head = pending[0];
      // The head waits for a retry: nothing after it overtakes it.
      if (!head || head.nextAttemptAt.getTime() > now) return { reason: 'drained' };

      const joinable = this.joinable.get(chatId);
      const held = (m: OutboxRow) => m.kind === GROUPABLE && m.attempts === 0 && now < this.windowCloses(chatId, m.urgent) && !joinable?.has(ruleOf(m));
      const due = (m: OutboxRow) => m.nextAttemptAt.getTime() <= now;
      const next = pending.find((m) => due(m) && !held(m));
      // Only alerts collecting for their window: they go when it closes.
      if (!next) return { reason: 'held', until: Math.min(...pending.filter(held).map((m) => this.windowCloses(chatId, m.urgent))) };

      // Incidents whose alert still waits here. A critical's change goes before the rest: its opening, written
      // before it became critical, may wait beyond those read.
      const waiting = new Set(pending.flatMap((o) => (o.kind === GROUPABLE && o.incidentId !== null ? [o.incidentId] : [])));
      const urgentChanges = pending.flatMap((m) => (m.urgent && FOLDED.has(m.kind) && m.incidentId !== null && !waiting.has(m.incidentId) ? [m.incidentId] : []));
      for (const id of await pendingOpeningsOf(db, chatId, urgentChanges, new Date(now))) waiting.add(id);
      const unshownAlert = (m: OutboxRow) => m.incidentId !== null && FOLDED.has(m.kind) && waiting.has(m.incidentId);
      if (unshownAlert(next)) {
        await markSent(db, next.id, clock());
        continue;
      }

      const alike = (m: OutboxRow) => m.kind === next.kind && m.urgent === next.urgent && due(m);
      const batch =
        next.kind === GROUPABLE
          ? newAlerts(pending.filter((m) => m.kind === GROUPABLE && due(m) && !held(m)), next)
          : FOLDED.has(next.kind)
            ? changesFrom(pending, next, (m) => alike(m) && !unshownAlert(m), held)
            : [next];
      let outcome: DeliveryOutcome;
      try {
        await this.pacer.acquire(chatId, { urgent: next.urgent, signal });
        outcome = await delivery.deliver(batch, signal);
      } catch (err) {
        // Stopping: the message stays as it was, for the next start.
        if (signal.aborted) return { reason: 'stopped' };
        const attempts = next.attempts + 1;
        // A channel that says when to come back (Telegram's retry_after) is not asked earlier.
        const asked = typeof (err as { retryAfterMs?: unknown })?.retryAfterMs === 'number' ? (err as { retryAfterMs: number }).retryAfterMs : 0;
        const delay = Math.max(asked, Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (attempts - 1)));
        const retryAt = new Date(clock().getTime() + delay);
        for (const message of batch) await markFailed(db, message.id, attempts, retryAt, errorText(err));
        logger.warn({ outboxIds: batch.map((m) => m.id), chatId, attempts, retryInMs: delay, err }, 'delivery failed, will retry');
        summary.failed += batch.length;
        return { reason: 'failed' };
      }
      const sentAt = clock();
      for (const message of batch) await markSent(db, message.id, sentAt);
      if (next.kind === GROUPABLE) {
        if (outcome !== 'joined') {
          if (batch.some((m) => m.urgent)) this.lastUrgentAlertAt.set(chatId, sentAt.getTime());
          if (batch.some((m) => !m.urgent)) this.lastAlertAt.set(chatId, sentAt.getTime());
        }
        const rules = new Set(batch.map(ruleOf));
        if (rules.size === 1) this.noteJoinable(chatId, ruleOf(next), outcome === 'mass' || outcome === 'joined');
      }
      const withdrawn = typeof outcome === 'object' ? Math.min(batch.length, outcome.withdrawn) : 0;
      summary.sent += batch.length - withdrawn;
      summary.withdrawn += withdrawn;
    }
  }

  /** Look again when the next message falls due or a grouping window closes, and at least every `idlePollMs`. */
  private async schedule(): Promise<void> {
    if (this.stopped) return;
    let delay = this.idlePollMs;
    try {
      const now = this.options.clock().getTime();
      const due = await nextDueAt(this.options.db, this.channel);
      if (due && due.getTime() > now) delay = Math.min(delay, due.getTime() - now);
      for (const until of this.heldUntil.values()) delay = Math.min(delay, Math.max(0, until - now));
    } catch (err) {
      this.options.logger.error({ err }, 'cannot read the outbox');
    }
    // Stopped meanwhile, or another wake looked again and set its own: one timer at a time.
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }
}

function stopSignal(): AbortController {
  const controller = new AbortController();
  // Every lane and every call in flight listens to it: more than Node's default of ten is expected, not a leak.
  setMaxListeners(0, controller.signal);
  return controller;
}

/** The rule a new alert counts under for a mass event (its payload's rule id, `massRuleOf`). */
function ruleOf(message: OutboxRow): string {
  return massRuleOf(String((message.payload as { ruleId?: unknown }).ruleId ?? ''));
}

/**
 * The new alerts that go with `next` (the first of them): those that came
 * with a critical go with it, as one message that tells the story (the
 * warnings ready to go, up to `MAX_GROUP` in all); but a critical never waits
 * behind a storm: past that, the critical ones go by themselves.
 */
function newAlerts(ready: OutboxRow[], next: OutboxRow): OutboxRow[] {
  if (!next.urgent || ready.length <= MAX_GROUP) return alertBatch(ready);
  return alertBatch(ready.filter((m) => m.urgent));
}

/**
 * The new alerts that go as one message: all of them up to `MAX_GROUP`; past
 * that, when one rule has more than `MAX_GROUP` of them (a mass event), all of
 * that rule's, which the channel folds into one list. Alerts from
 * Alertmanager count under their name (`massRuleOf`), whatever their labels.
 */
function alertBatch(due: OutboxRow[]): OutboxRow[] {
  if (due.length <= MAX_GROUP) return due;
  const counts = new Map<string, number>();
  for (const m of due) counts.set(ruleOf(m), (counts.get(ruleOf(m)) ?? 0) + 1);
  const [rule, n] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
  return n > MAX_GROUP ? due.filter((m) => ruleOf(m) === rule) : due.slice(0, MAX_GROUP);
}

/**
 * Changes to alerts already shown (all acknowledged, or all resolved) that go
 * as one batch: `first` and those right after it in the chat's order that are
 * `alike` (alerts collecting for their window are passed, as always), up to
 * `MAX_CHANGES`. Alertmanager resolving a storm of 10,000 alerts redraws its
 * message 50 times, not 10,000.
 */
function changesFrom(pending: OutboxRow[], first: OutboxRow, alike: (m: OutboxRow) => boolean, held: (m: OutboxRow) => boolean): OutboxRow[] {
  const batch = [first];
  for (const m of pending.slice(pending.indexOf(first) + 1)) {
    if (batch.length >= MAX_CHANGES) break;
    if (held(m)) continue;
    if (!alike(m)) break;
    batch.push(m);
  }
  return batch;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
