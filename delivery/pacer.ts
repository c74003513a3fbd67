/**
 * Keeps sends inside Telegram's limits: about 30 messages a second overall,
 * one a second per private chat, 20 a minute per group. `acquire` resolves
 * when a message to that chat may go.
 */
export interface Pacer {
  acquire(chatId: number): Promise<void>;
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

export class SlidingWindowPacer implements Pacer {
  private readonly nextFreeAt = new Map<number, number>();
  private readonly recent: number[] = [];

  constructor(
    private readonly limits: PacerLimits = TELEGRAM_LIMITS,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async acquire(chatId: number): Promise<void> {
    for (;;) {
      const now = this.now();
      const chatWait = (this.nextFreeAt.get(chatId) ?? 0) - now;
      while (this.recent.length > 0 && this.recent[0]! <= now - 1000) this.recent.shift();
      const overallWait = this.recent.length >= this.limits.perSecondOverall ? this.recent[0]! + 1000 - now : 0;
      const wait = Math.max(chatWait, overallWait);
      if (wait <= 0) {
        this.recent.push(now);
        this.nextFreeAt.set(chatId, now + (isGroup(chatId) ? this.limits.groupChatIntervalMs : this.limits.privateChatIntervalMs));
        return;
      }
      await this.sleep(wait);
    }
  }
}

/** No pacing at all, for tests that are not about pacing. */
export const unpaced: Pacer = { acquire: async () => {} };
