import type { Command } from 'commander';
import { mailAddress } from '../../core/mail-address.ts';
import { Mailer } from '../../mail/mailer.ts';
import { inputError } from '../../i18n/index.ts';
import { emit } from '../output.ts';
import { cliConfig } from '../run.ts';

/** dozor's mail: a test message through SMTP_URL, with what the server answered. */
export function registerMailCommands(program: Command): void {
  const mail = program.command('mail').description("e-mail: alerts that Telegram could not deliver, digests, people who read mail");

  mail
    .command('test')
    .description('send a test message through SMTP_URL (from MAIL_FROM) and print what the mail server answered')
    .argument('<address>', 'where to send it')
    .action(async (address: string, _opts: unknown, command: Command) => {
      const { json } = command.optsWithGlobals<{ json: boolean }>();
      const config = cliConfig();
      const to = mailAddress(address);
      if (to === null) throw inputError('emailInvalid', { text: address });
      if (config.SMTP_URL === undefined || config.MAIL_FROM === undefined) {
        throw new MailNotConfigured('SMTP_URL and MAIL_FROM are not set: without them dozor sends no mail (see docs/mail.md)');
      }
      const mailer = new Mailer({ url: config.SMTP_URL, from: config.MAIL_FROM, rejectUnauthorized: config.SMTP_TLS_REJECT_UNAUTHORIZED === 'true' });
      try {
        const sent = await mailer.send({
          to,
          subject: 'dozor: проверка почты',
          text: `Это проверочное письмо dozor. Если вы его читаете, оповещения и сводки смогут приходить по почте.\n\nThis is dozor's test message: alerts and digests can reach this address by mail.\n\nОтправлено через ${mailer.server}.`,
        });
        emit(json, { to, server: mailer.server, response: sent.response, messageId: sent.messageId }, () => `Sent to ${to} through ${mailer.server}. The server answered: ${sent.response}`);
      } finally {
        mailer.close();
      }
    });
}

/** Mail was asked for but is not set up. */
export class MailNotConfigured extends Error {}
