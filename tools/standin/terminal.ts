import { htmlToPlain } from '../../bot/html.ts';
import type { BotEvent, StoredMessage, TelegramStandIn } from './telegram.ts';

/** Someone the terminal names when the bot writes to them. */
export interface ChatPerson {
  id: number;
  name: string;
}

const color = {
  dim: (s: string) => `\x1b[2m${s}\x1b[0m`,
  bold: (s: string) => `\x1b[1m${s}\x1b[0m`,
  cyan: (s: string) => `\x1b[36m${s}\x1b[0m`,
  yellow: (s: string) => `\x1b[33m${s}\x1b[0m`,
  magenta: (s: string) => `\x1b[35m${s}\x1b[0m`,
};

/**
 * The conversation as managers would see it in Telegram: messages, edits and
 * pop-ups, with every button numbered so it can be pressed by typing its number.
 * The demo and the stand-in run on its own (`npm run standin`) show chats with it.
 */
export class ChatTerminal {
  private readonly buttons = new Map<number, { message: StoredMessage; data: string }>();
  private nextButton = 1;

  constructor(
    standIn: TelegramStandIn,
    private readonly people: readonly ChatPerson[],
    private readonly chatNames: Map<number, string>,
    private readonly write: (text: string) => void,
  ) {
    standIn.onEvent((event) => this.show(event));
  }

  narrate(text: string): void {
    this.write(`\n${color.magenta(`🎬 ${text}`)}\n`);
  }

  /** The button numbered `n`, if there is one. */
  button(n: number): { message: StoredMessage; data: string } | undefined {
    return this.buttons.get(n);
  }

  private show(event: BotEvent): void {
    if (event.type === 'called') return;
    if (event.type === 'answered') {
      if (event.text) this.write(color.yellow(`  💬 ${event.text}\n`));
      return;
    }
    const message = event.message;
    const who = this.chatNames.get(message.chatId) ?? this.people.find((p) => p.id === message.chatId)?.name ?? `chat ${message.chatId}`;
    const time = new Date().toLocaleTimeString('ru-RU', { timeZone: 'Europe/Moscow' });
    const head = event.type === 'sent' ? `── ${time} → ${who} ` : `── ${time} ✏️  edited in ${who} (message ${message.messageId}) `;
    const lines = [color.cyan(head.padEnd(72, '─'))];
    if (message.photo) lines.push(`🖼  [PNG chart, ${Math.round(message.photo.bytes / 1024)} KB]`);
    if (message.document) lines.push(`📎 [${message.document.fileName}, ${Math.max(1, Math.round(message.document.bytes / 1024))} KB]`);
    lines.push(message.parseMode === 'HTML' ? htmlToPlain(message.text) : message.text);
    const row: string[] = [];
    for (const button of message.buttons.flat()) {
      if (!button.callback_data) continue;
      const n = this.nextButton++;
      this.buttons.set(n, { message, data: button.callback_data });
      row.push(`${color.bold(`[${n}]`)} ${button.text}`);
    }
    if (row.length) lines.push(row.join('   '));
    this.write(`\n${lines.join('\n')}\n`);
  }
}
