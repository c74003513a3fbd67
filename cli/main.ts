import { Command, Option } from 'commander';
import { ConfigError } from '../app/config.ts';
import { InputError, NotFoundError } from '../core/errors.ts';
import { registerIncidentCommands } from './commands/incidents.ts';
import { registerRegistryCommands } from './commands/registry.ts';
import { registerUploadCommands } from './commands/uploads.ts';
import { registerSysinfoCommands } from './commands/sysinfo.ts';
import { registerDbCommands } from './commands/db.ts';
import { PostgresCopyError } from '../db/postgres-copy.ts';
import { DatabaseUnusable } from './run.ts';
import { MailNotConfigured, registerMailCommands } from './commands/mail.ts';
import { MailFailure } from '../mail/mailer.ts';

const program = new Command('dozor')
  .description('dozor: monitoring of Kodeks / Техэксперт installations')
  .addOption(new Option('--json', 'print one JSON document instead of text').default(false))
  .showHelpAfterError();

registerRegistryCommands(program);
registerIncidentCommands(program);
registerUploadCommands(program);
registerSysinfoCommands(program);
registerDbCommands(program);
registerMailCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof InputError || err instanceof NotFoundError || err instanceof ConfigError || err instanceof DatabaseUnusable || err instanceof PostgresCopyError || err instanceof MailNotConfigured) {
    process.stderr.write(`dozor: ${err.message}\n`);
    process.exit(1);
  }
  if (err instanceof MailFailure) {
    process.stderr.write(`dozor: mail not sent: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
