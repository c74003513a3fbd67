import type { ConversationFlavor } from '@grammyjs/conversations';
import type { Context } from 'grammy';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { QuietWindow } from '../core/quiet-hours.ts';
import type { DigestSettings } from './digest.ts';
import { listClientIdsOfChat } from '../db/clients.ts';
import type { DB } from '../db/open.ts';
import type { User } from '../db/users.ts';
import type { Lang } from '../i18n/index.ts';
import type { Catalogue } from '../i18n/index.ts';

export interface BotSettings {
  /** Time zone of every time the bot shows. */
  displayTz: string;
  /** Base of runbook links (`<base><RuleId>.md`), or null to show no link. */
  runbookBaseUrl: string | null;
  /** Hour (in displayTz) that "till morning" means. */
  morningHour: number;
  /** Quiet hours of people who set none. */
  defaultQuietHours: QuietWindow;
  digest: DigestSettings;
  /** Where uploaded files are kept (DATA_DIR); without it the bot offers none. */
  dataDir?: string;
}

/** What the bot's handlers work with; injected so tests build the bot on a temporary database and clock. */
export interface BotServices {
  db: DB;
  clock: Clock;
  logger: Logger;
  settings: BotSettings;
  /** Tell the outbox dispatcher that announcements were written. */
  onIncidentChange(): void;
}

/** Set by the first middleware on every update. */
export interface StaffFlavor {
  /** The registered staff member behind the update (active or not), or null for strangers. */
  staff: User | null;
  lang: Lang;
  t: Catalogue;
  services: BotServices;
  log: Logger;
}

export type BotContext = ConversationFlavor<Context & StaffFlavor>;

/** `tg:<id>`: how Telegram users appear in the audit log and incident history. */
export const actorOf = (telegramId: number) => `tg:${telegramId}`;

/**
 * The clients a chat may hear about: in a client's group only the clients whose
 * alerts go there (a group sees no other client's card); in a private chat, all.
 */
export function clientsVisibleIn(ctx: BotContext): ReadonlySet<number> | null {
  if (!ctx.chat || ctx.chat.type === 'private') return null;
  return new Set(listClientIdsOfChat(ctx.services.db, ctx.chat.id));
}
