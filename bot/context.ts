import type { ConversationFlavor } from '@grammyjs/conversations';
import type { Context } from 'grammy';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import type { QuietWindow } from '../core/quiet-hours.ts';
import type { DigestSettings } from './digest.ts';
import { getClient, listClientIdsOfChat } from '../db/clients.ts';
import { UNSAFE_CHARS_GLOBAL } from '../core/text.ts';
import { getUser } from '../db/users.ts';
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
  /** PUBLIC_URL, written into agent scripts; without it the bot offers none. */
  publicUrl?: string;
  /** SECRET_KEY, to put an installation's stored metrics account into its agent script. */
  secretKey?: string;
  /** Signs links to files too large for Telegram (with publicUrl). */
  downloadKey?: Buffer;
  /** When alerts of one rule are a mass event (MASS_EVENT_MIN within ALERT_GROUP_WINDOW); without it, none is. */
  massEvent?: { min: number; windowMs: number };
}

/** What the bot's handlers work with; injected so tests build the bot on a temporary database and clock. */
export interface BotServices {
  db: DB;
  clock: Clock;
  logger: Logger;
  settings: BotSettings;
  /** How incidents opened from the chat behave (an admin placing unmatched alerts). */
  incidentSettings: IncidentSettings;
  /** Tell the outbox dispatcher that announcements were written. */
  onIncidentChange(): void;
  /** Mail through SMTP_URL (a confirmation code, say); absent when mail is not set up. Throws, in words, when it cannot go. */
  sendMail?: (mail: { to: string; subject: string; text: string }) => Promise<void>;
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
export { actorOf } from '../core/permissions.ts';

/** Who answers for a client: its manager and that manager's team lead (who may act on its incidents). */
export async function responsibleFor(ctx: BotContext, clientId: number): Promise<{ managerId: number | null; managerLeadId: number | null }> {
  const client = await getClient(ctx.services.db, clientId);
  const manager = client?.managerId == null ? undefined : await getUser(ctx.services.db, client.managerId);
  return { managerId: client?.managerId ?? null, managerLeadId: manager?.leadId ?? null };
}

/** An active admin in a private chat: the only place the bot hands out secrets (an agent script holds a token). */
export function isAdminInPrivate(ctx: BotContext): boolean {
  return ctx.chat?.type === 'private' && ctx.staff?.active === true && ctx.staff.role === 'admin';
}

/** The buttons a status card gets here: the latest sysinfo when files are kept, the agent for an admin in private. */
export function cardButtons(ctx: BotContext): { sysinfo: boolean; agent: boolean } {
  const { settings } = ctx.services;
  return { sysinfo: settings.dataDir !== undefined, agent: settings.publicUrl !== undefined && isAdminInPrivate(ctx) };
}

/**
 * The clients a chat may hear about: in a client's group only the clients whose
 * alerts go there (a group sees no other client's card); in a private chat, all.
 */
export async function clientsVisibleIn(ctx: BotContext): Promise<ReadonlySet<number> | null> {
  if (!ctx.chat || ctx.chat.type === 'private') return null;
  return new Set(await listClientIdsOfChat(ctx.services.db, ctx.chat.id));
}

/** What a person typed (a command's arguments, free text): one line, without control or reordering characters, capped. */
export function typedText(raw: unknown, max = 200): string {
  const text = typeof raw === 'string' ? raw : '';
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(UNSAFE_CHARS_GLOBAL, '').replace(/\s+/g, ' ').trim().slice(0, max);
}
