/**
 * Keeps sends inside Telegram's limits: about 30 messages a second overall,
 * one a second per private chat, 20 a minute per group. `acquire` resolves
 * when a message to that chat may go. When the overall limit is what holds
 * messages back, urgent ones (critical alerts) go first, then the others in
 * the order they asked.
 */
export interface Pacer {
  /** Rejects with the signal's reason when `signal` aborts first. */
  acquire(chatId: number, options?: { urgent?: boolean; signal?: AbortSignal }): Promise<void>;
}

export interface PacerLimits {
  perSecondOverall: number;
  privateChatIntervalMs: number;
  groupChatIntervalMs: number;
}

export const TELEGRAM_LIMITS: PacerLimits = {
  perSecondOverall: 30,
  privateChatIntervalMs: 1_000,
  groupChatIntervalMs: 3_000,
};

/** Group and channel ids are negative; private chats have the user's (positive) id. */
const isGroup = (chatId: number) => chatId < 0;

interface Waiter {
  chatId: number;
  urgent: boolean;
  order: number;
  grant(): void;
}

export class SlidingWindowPacer implements Pacer {
  private readonly nextFreeAt = new Map<number, number>();
  /** When the sends of the last second went. */
  private readonly recent: number[] = [];
  private readonly waiting: Waiter[] = [];
  private order = 0;
  /** The earliest moment a wake-up is already arranged for. */
  private wakeAt = Infinity;

  constructor(
    private readonly limits: PacerLimits = TELEGRAM_LIMITS,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms).unref()),
  ) {}

  acquire(chatId: number, { urgent = false, signal }: { urgent?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal!.reason as Error);
      };
      const waiter: Waiter = {
        chatId,
        urgent,
        order: this.order++,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.pump();
    });
  }

  /** Let go every waiter whose chat and the overall limit allow it now; arrange to look again when the next one can go. */
  private pump(): void {
    const now = this.now();
    while (this.recent.length > 0 && this.recent[0]! <= now - 1000) this.recent.shift();
    this.waiting.sort((a, b) => Number(b.urgent) - Number(a.urgent) || a.order - b.order);
    let next = Infinity;
    for (const waiter of [...this.waiting]) {
      const overallFreeAt = this.recent.length >= this.limits.perSecondOverall ? this.recent[0]! + 1000 : now;
      const at = Math.max(this.nextFreeAt.get(waiter.chatId) ?? 0, overallFreeAt);
      if (at > now) {
        next = Math.min(next, at);
        continue;
      }
      this.recent.push(now);
      this.nextFreeAt.set(waiter.chatId, now + (isGroup(waiter.chatId) ? this.limits.groupChatIntervalMs : this.limits.privateChatIntervalMs));
      this.waiting.splice(this.waiting.indexOf(waiter), 1);
      waiter.grant();
    }
    if (next < this.wakeAt) {
      this.wakeAt = next;
      void this.sleep(next - now).then(() => {
        if (this.wakeAt === next) this.wakeAt = Infinity;
        this.pump();
      });
    }
  }
}

/** No pacing at all, for tests that are not about pacing. */
export const unpaced: Pacer = {
  acquire: async (_chatId, options) => {
    if (options?.signal?.aborted) throw options.signal.reason as Error;
  },
};
