import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { maskedAddress } from '../core/mail-address.ts';
import { getIncidentViews } from '../db/incidents.ts';
import type { DB } from '../db/open.ts';
import { enqueue, MAIL_ALERT, MAIL_DIGEST, MAIL_RESOLVED, NOTICE, withdrawMail } from '../db/outbox.ts';
import { clearEmailFailure, getUser, listActiveAdmins, noteEmailFailure, type User } from '../db/users.ts';
import type { Delivery, DeliveryOutcome, OutboxMessage } from '../delivery/dispatcher.ts';
import { langOf, texts } from '../i18n/index.ts';
import { renderMailAlert, renderMailDigest, renderMailResolved, type MailAlertOptions } from './alert.ts';
import { MailFailure, type OutgoingMail, type SentMail } from './mailer.ts';

export interface MailSender {
  send(mail: OutgoingMail): Promise<SentMail>;
}

export interface MailDeliverySettings {
  displayTz: string;
  runbookUrl: MailAlertOptions['runbookUrl'];
  cabinetUrl: string | null;
  /** MAIL_FROM's domain: the message ids of the incidents' threads. */
  domain: string;
  /** The «Беру» link of a mail, for a person and an incident (null: no PUBLIC_URL, no link). */
  takeLink: (incidentId: number, personId: number) => string | null;
}

export interface MailDeliveryDeps {
  db: DB;
  mailer: MailSender;
  clock: Clock;
  logger: Logger;
  settings: MailDeliverySettings;
}

/**
 * Turns the outbox's mail (`mail.*`, one lane per person) into messages
 * through the mail server. The address is the person's at the moment it goes.
 * A server down, slow or answering 4xx throws: the dispatcher retries with
 * backoff, and other people's lanes, and Telegram's, go on. A 5xx for an
 * address is not retried: it is noted on the person (their card shows it) and
 * the admins hear of it once, in Telegram. A mail that does not go (refused,
 * no address, its incident over first) is withdrawn from the outbox, so
 * nothing says it was mailed, and the dispatcher counts it as withdrawn, not sent.
 */
export class MailDelivery implements Delivery {
  constructor(private readonly deps: MailDeliveryDeps) {}

  async deliver(batch: OutboxMessage[], signal: AbortSignal): Promise<DeliveryOutcome> {
    let withdrawn = 0;
    for (const message of batch) if ((await this.deliverOne(message, signal)) === 'withdrawn') withdrawn++;
    return { withdrawn };
  }

  private async deliverOne(message: OutboxMessage, signal: AbortSignal): Promise<'sent' | 'withdrawn'> {
    const { db, logger } = this.deps;
    const person = await getUser(db, message.chatId);
    if (!person?.email || !person.active) {
      logger.info({ outboxId: message.id, kind: message.kind, personId: message.chatId }, 'mail not sent: the person has no address, or no access, any more');
      await withdrawMail(db, message);
      return 'withdrawn';
    }
    const mail = await this.render(message, person, person.email);
    if (!mail) {
      await withdrawMail(db, message);
      return 'withdrawn';
    }
    const address = person.email;
    try {
      const sent = await untilAborted(this.deps.mailer.send(mail), signal);
      await clearEmailFailure(db, person.telegramId, address);
      logger.info({ outboxId: message.id, kind: message.kind, to: maskedAddress(address), response: sent.response }, 'mail sent');
      return 'sent';
    } catch (err) {
      if (!(err instanceof MailFailure) || err.kind !== 'address') throw err;
      // Not this address, and not later either: trying again changes nothing.
      logger.warn({ outboxId: message.id, kind: message.kind, to: maskedAddress(address), reason: err.message }, 'the mail server refused the address; not retried');
      if (await noteEmailFailure(db, person.telegramId, address, err.message, this.deps.clock())) await this.tellAdmins(person, address, err.message);
      await withdrawMail(db, message);
      return 'withdrawn';
    }
  }

  private async render(message: OutboxMessage, person: User, to: string): Promise<OutgoingMail | null> {
    const lang = langOf(person.language);
    const { settings } = this.deps;
    const options: MailAlertOptions = { lang, tz: settings.displayTz, now: this.deps.clock(), runbookUrl: settings.runbookUrl, cabinetUrl: settings.cabinetUrl, domain: settings.domain };
    if (message.kind === MAIL_DIGEST) {
      const { text, png, caption } = message.payload as { text: string; png?: string; caption?: string };
      return renderMailDigest({ text, ...(png ? { png: Buffer.from(png, 'base64') } : {}), ...(caption ? { caption } : {}) }, to, options);
    }
    const [view] = message.incidentId === null ? [] : await getIncidentViews(this.deps.db, [message.incidentId]);
    if (!view) return null;
    if (message.kind === MAIL_RESOLVED) return renderMailResolved(view, to, options);
    if (message.kind !== MAIL_ALERT) {
      this.deps.logger.warn({ outboxId: message.id, kind: message.kind }, 'outbox mail of a kind mail delivery does not know; skipped');
      return null;
    }
    // Over before the mail could go: nobody needs to be called to it now.
    if (view.incident.status === 'resolved') return null;
    const take = view.incident.status === 'open' ? settings.takeLink(view.incident.id, person.telegramId) : null;
    const why = (message.payload as { reason?: unknown }).reason === 'fallback' ? 'fallback' : 'channel';
    return renderMailAlert(view, to, { ...options, takeLink: take, why });
  }

  private async tellAdmins(person: User, address: string, reason: string): Promise<void> {
    for (const admin of await listActiveAdmins(this.deps.db)) {
      const text = texts(langOf(admin.language)).mail.addressRefused(person.name, person.telegramId, address, reason);
      await enqueue(this.deps.db, { kind: NOTICE, chatId: admin.telegramId, incidentId: null, payload: { text } }, this.deps.clock());
    }
  }
}

/** The send, or the stop's reason as soon as the service stops (the send may still finish: at most that mail goes again). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
