import { isIP } from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';

/**
 * dozor's mail, through the distributor's own mail server (nodemailer): one
 * transport, no pool, STARTTLS whenever the server offers it, certificates
 * checked unless said otherwise, and every failure told apart the way the
 * outbox needs it: worth trying again (the server is down, slow, or answered
 * 4xx), or not for this address (5xx), or not until the settings change (a
 * refused login, a certificate not trusted).
 */
export interface MailerSettings {
  /** smtp://user:pass@host:587 or smtps://user:pass@host:465. */
  url: string;
  /** The sender: an address, or «Name <address>». */
  from: string;
  rejectUnauthorized: boolean;
  /** How long to wait for the connection, the greeting, and each answer; a server that accepts and never answers is given up on. */
  timeoutMs?: number;
}

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Threading: this message's own id, and the one it follows (a mail client shows one conversation per incident). */
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  attachments?: { filename: string; content: Buffer; cid?: string; contentType?: string }[];
}

export interface SentMail {
  /** The server's answer, as it gave it («250 2.0.0 Ok: queued as 4F1…»). */
  response: string;
  messageId: string;
}

/**
 * `address`: the server refused the recipient (5xx to RCPT TO): not this
 * address, not later either. `rejected`: it refused the message or the
 * sender (5xx to MAIL FROM or DATA: the sender not allowed on the relay, the
 * message too large): the settings or the server have to change, and until
 * then it is tried again like a refused login.
 */
export type MailFailureKind = 'unreachable' | 'timeout' | 'tls' | 'auth' | 'temporary' | 'address' | 'rejected' | 'other';

/** A send or check that failed, said in words; `kind` tells whether to try again. */
export class MailFailure extends Error {
  constructor(
    readonly kind: MailFailureKind,
    message: string,
    /** The server's answer code, when it gave one. */
    readonly code: number | null,
  ) {
    super(message);
    this.name = 'MailFailure';
  }

  /** Worth trying again later from the outbox: the server is down, slow, or said «not now». */
  get retryable(): boolean {
    return this.kind === 'unreachable' || this.kind === 'timeout' || this.kind === 'temporary';
  }
}

/** Where the server is, for logs and messages: host and port, never the password. */
export function mailServerOf(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === 'smtps:' ? '465' : '587');
  return `${parsed.hostname}:${port}`;
}

export class Mailer {
  private readonly transport: Transporter<SMTPTransport.SentMessageInfo>;
  readonly server: string;

  constructor(private readonly settings: MailerSettings) {
    const parsed = new URL(settings.url);
    const secure = parsed.protocol === 'smtps:';
    const timeout = settings.timeoutMs ?? 30_000;
    this.server = mailServerOf(settings.url);
    this.transport = nodemailer.createTransport({
      host: parsed.hostname,
      port: Number(parsed.port || (secure ? 465 : 587)),
      secure,
      ...(parsed.username ? { auth: { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) } } : {}),
      // The certificate is checked against the server's name (an address needs no SNI, which Node warns about).
      tls: { rejectUnauthorized: settings.rejectUnauthorized, ...(isIP(parsed.hostname) ? {} : { servername: parsed.hostname }) },
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  /** Connect, greet, start TLS when offered, log in: what the service does once at start, and `dozor mail test` before it sends. */
  async verify(): Promise<void> {
    try {
      await this.transport.verify();
    } catch (err) {
      throw describeMailError(err);
    }
  }

  async send(mail: OutgoingMail): Promise<SentMail> {
    try {
      const info = await this.transport.sendMail({
        from: this.settings.from,
        to: mail.to,
        // A subject is one line: whatever a name or a title brings, no header can be started with it.
        subject: mail.subject.replace(/[\r\n]+/g, ' '),
        text: mail.text,
        ...(mail.html ? { html: mail.html } : {}),
        ...(mail.messageId ? { messageId: mail.messageId } : {}),
        ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}),
        ...(mail.references ? { references: mail.references } : {}),
        ...(mail.attachments ? { attachments: mail.attachments } : {}),
      });
      if (info.rejected.length > 0) throw new MailFailure('address', `the server refused the address: ${info.response}`, null);
      return { response: info.response, messageId: info.messageId };
    } catch (err) {
      throw err instanceof MailFailure ? err : describeMailError(err);
    }
  }

  close(): void {
    this.transport.close();
  }
}

interface NodemailerError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
  /** The SMTP command the server answered with the error (RCPT TO, MAIL FROM, DATA…). */
  command?: string;
}

/** What went wrong with the mail server, in words a person acts on. */
export function describeMailError(err: unknown): MailFailure {
  const e = (err ?? {}) as NodemailerError;
  const answer = e.response ? `: ${e.response.trim()}` : '';
  const code = typeof e.responseCode === 'number' ? e.responseCode : null;
  if (e.code === 'EAUTH') return new MailFailure('auth', `the mail server refused the login (check the user and password in SMTP_URL)${answer}`, code);
  if (e.code === 'ETLS' || /certificate|self[- ]signed|SSL|TLS/i.test(e.message ?? '')) {
    return new MailFailure('tls', `the mail server's certificate is not trusted or TLS failed (${e.message ?? 'TLS error'}); SMTP_TLS_REJECT_UNAUTHORIZED=false accepts a self-signed one`, code);
  }
  if (e.code === 'ETIMEDOUT' || /timeout/i.test(e.message ?? '')) return new MailFailure('timeout', 'the mail server did not answer in time', code);
  if (e.code === 'ECONNECTION' || e.code === 'ESOCKET' || e.code === 'EDNS') {
    return new MailFailure('unreachable', `the mail server cannot be reached (${e.message ?? e.code})`, code);
  }
  if (code !== null && code >= 400 && code < 500) return new MailFailure('temporary', `the mail server asked to try later${answer}`, code);
  if (code !== null && code >= 500 && e.command === 'RCPT TO') return new MailFailure('address', `the mail server refused the address${answer}`, code);
  if (code !== null && code >= 500) {
    return new MailFailure('rejected', `the mail server refused the message or its sender at ${e.command ?? 'SMTP'} (check MAIL_FROM and what the server allows)${answer}`, code);
  }
  return new MailFailure('other', `sending mail failed (${e.message ?? String(err)})`, code);
}
