import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { listClients } from '../../db/clients.ts';
import { listInstallations, listInstallationsOfClient } from '../../db/installations.ts';
import { getRejection } from '../../db/rejections.ts';
import { INSTALLATION_KINDS, USER_ROLES, type UserRole } from '../../db/schema.ts';
import { getState } from '../../db/state.ts';
import { getUser, listUsers, type User } from '../../db/users.ts';
import { addClient, resolveClient } from '../../registry/clients.ts';
import { CSV_COLUMNS, importCsv } from '../../registry/import-csv.ts';
import {
  addInstallation,
  requireInstallation,
  rotateToken,
  setLicman,
  setMonitoring,
  setThresholds,
  type NewInstallationInput,
} from '../../registry/installations.ts';
import { setUploadName } from '../../registry/uploads.ts';
import { setMetricsAccount } from '../../registry/metrics-account.ts';
import { registerAgentCommand } from './agent.ts';
import { addUser, setUserActive, setUserMail } from '../../registry/users.ts';
import { describeThresholds, emit, secretArgument, table } from '../output.ts';
import { run } from '../run.ts';
import { installationJson, installationText, type InstallationView } from '../show-installation.ts';
import { inputError, notFound } from '../../i18n/index.ts';

/** Commands that keep the registry: staff, clients, installations, bulk import. */
export function registerRegistryCommands(program: Command): void {
  // ------------------------------------------------------------------ users

  const user = program.command('user').description('staff: managers, team leads, admins');

  user
    .command('add')
    .description('register a staff member')
    .requiredOption('--telegram-id <id>', 'Telegram user id')
    .addOption(new Option('--role <role>', 'role').choices(USER_ROLES).makeOptionMandatory())
    .requiredOption('--name <name>', 'full name')
    .option('--lead <id>', 'Telegram id of the team lead a manager reports to')
    .action(
      run<{ telegramId: string; role: UserRole; name: string; lead?: string }>(async (ctx, { json, opts }) => {
        const added = await addUser(ctx, { telegramId: opts.telegramId, role: opts.role, name: opts.name, leadId: opts.lead });
        emit(json, { id: added.telegramId, ...added }, () => `User ${added.telegramId} ${added.name} added as ${added.role}.`);
      }),
    );

  user
    .command('list')
    .description('list staff')
    .action(
      run(async (ctx, { json }) => {
        const rows = await listUsers(ctx.db);
        emit(json, rows.map((u) => ({ id: u.telegramId, ...u })), () =>
          rows.length === 0
            ? 'No users yet. Add one with: dozor user add --telegram-id <id> --role admin --name "<name>"'
            : table(
                ['TELEGRAM ID', 'NAME', 'ROLE', 'LEAD', 'ACTIVE', 'EMAIL', 'ALERTS BY'],
                rows.map((u) => [u.telegramId, u.name, u.role, u.leadId, u.active ? 'yes' : 'no', u.email && u.emailFailure ? `${u.email} (refused)` : u.email, u.channel]),
              ),
        );
      }),
    );

  user
    .command('show')
    .description("a staff member's card: role, lead, e-mail (and whether the mail server refuses it), where their alerts go")
    .argument('<telegram-id>', 'Telegram user id')
    .action(
      run(async (ctx, { json, args }) => {
        const id = Number(args[0]);
        if (!Number.isSafeInteger(id) || id <= 0) throw inputError('idInvalid', { text: args[0] ?? '', what: 'user' });
        const person = await getUser(ctx.db, id);
        if (!person) throw notFound('userNotFound', { id });
        emit(json, { id: person.telegramId, ...person }, () => userCard(person));
      }),
    );

  user
    .command('set')
    .description("a staff member's e-mail address and where their alerts and digest go")
    .argument('<telegram-id>', 'Telegram user id')
    .option('--email <address>', 'their e-mail address; "-" clears it (and brings their alerts back to Telegram)')
    .option('--channel <channel>', 'where their alerts and digest go: telegram, email or both')
    .action(
      run<{ email?: string; channel?: string }>(async (ctx, { json, opts, args }) => {
        const id = Number(args[0]);
        if (!Number.isSafeInteger(id) || id <= 0) throw inputError('idInvalid', { text: args[0] ?? '', what: 'user' });
        const changed = await setUserMail(ctx, id, { ...(opts.email !== undefined ? { email: opts.email === '-' ? null : opts.email } : {}), ...(opts.channel !== undefined ? { channel: opts.channel } : {}) });
        emit(json, { id: changed.telegramId, email: changed.email, channel: changed.channel }, () =>
          `${changed.name} (${changed.telegramId}): e-mail ${changed.email ?? 'none'}; alerts and digest by ${changed.channel === 'both' ? 'Telegram and e-mail' : changed.channel === 'email' ? 'e-mail' : 'Telegram'}.`,
        );
      }),
    );

  for (const [name, active] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    user
      .command(name)
      .description(active ? 'let a staff member back in' : 'cut a staff member off at once (their presses and commands are refused)')
      .argument('<telegram-id>', 'Telegram user id')
      .action(
        run(async (ctx, { json, args }) => {
          const id = Number(args[0]);
          if (!Number.isSafeInteger(id) || id <= 0) throw inputError('idInvalid', { text: args[0] ?? '', what: 'user' });
          const changed = await setUserActive(ctx, id, active);
          emit(json, { id: changed.telegramId, active: changed.active }, () => `${changed.name} (${changed.telegramId}) is ${changed.active ? 'enabled' : 'disabled'}.`);
        }),
      );
  }

  // ------------------------------------------------------------------ clients

  const client = program.command('client').description('client organisations');

  client
    .command('add')
    .description('register a client')
    .requiredOption('--name <name>', 'client name, e.g. "ООО «Ромашка»"')
    .option('--inn <inn>', 'INN (10 or 12 digits)')
    .option('--manager <id>', 'Telegram id of the responsible manager')
    .option('--chat <id>', "Telegram chat for this client's alerts (else the manager's private chat)")
    .action(
      run<{ name: string; inn?: string; manager?: string; chat?: string }>(async (ctx, { json, opts }) => {
        const added = await addClient(ctx, { name: opts.name, inn: opts.inn, managerId: opts.manager, chatId: opts.chat });
        emit(json, added, () => `Client ${added.id} "${added.name}" added.`);
      }),
    );

  client
    .command('list')
    .description('list clients')
    .action(
      run(async (ctx, { json }) => {
        const rows = await listClients(ctx.db);
        emit(json, rows, () =>
          rows.length === 0
            ? 'No clients yet. Add one with: dozor client add --name "<name>" --manager <telegram id>'
            : table(
                ['ID', 'NAME', 'INN', 'MANAGER', 'CHAT', 'INSTALLATIONS'],
                rows.map((c) => [c.id, c.name, c.inn, c.managerId, c.chatId, c.installationCount]),
              ),
        );
      }),
    );

  client
    .command('show')
    .description("a client with each installation's latest state")
    .argument('<client>', 'client id or exact name')
    .action(
      run(async (ctx, { json, args, config }) => {
        const found = await resolveClient(ctx.db, args[0]!);
        const manager = found.managerId === null ? undefined : await getUser(ctx.db, found.managerId);
        const views: InstallationView[] = [];
        for (const installation of await listInstallationsOfClient(ctx.db, found.id)) {
          views.push({
            installation,
            state: await getState(ctx.db, installation.id),
            rejection: await getRejection(ctx.db, installation.id),
          });
        }
        const now = ctx.clock();
        emit(
          json,
          {
            ...found,
            manager: manager ? { id: manager.telegramId, name: manager.name } : null,
            installations: views.map(installationJson),
          },
          () =>
            [
              `${found.name} (id ${found.id})${found.inn ? `, INN ${found.inn}` : ''}`,
              `manager: ${manager ? `${manager.name} (${manager.telegramId})` : 'not assigned'}; alerts go to ${
                found.chatId ? `chat ${found.chatId}` : "the manager's private chat"
              }`,
              views.length === 0
                ? 'no installations yet'
                : views.map((v) => installationText(v, now, config.DISPLAY_TZ)).join('\n'),
            ].join('\n'),
        );
      }),
    );

  // ------------------------------------------------------------------ installations

  const installation = program.command('installation').description('installations of ПК at clients');

  installation
    .command('add')
    .description('register an installation and print its agent token (shown once)')
    .requiredOption('--client <client>', 'client id or exact name')
    .requiredOption('--name <name>', 'installation name, e.g. "Сервер офиса"')
    .addOption(new Option('--kind <kind>', 'kind of installation').choices(INSTALLATION_KINDS).makeOptionMandatory())
    .option('--host <host>', 'host name, e.g. romashka.example.ru')
    .option('--ip <ip>', 'IP address')
    .option('--url <url>', 'web address of the installation')
    .option('--provider <provider>', 'hosting provider, e.g. "Техэксперт.Облако"')
    .option('--tz <zone>', 'time zone of the agent\'s dates (default Europe/Moscow)')
    .option('--upload-name <NAME>', 'the base name its files are uploaded under with a fleet token (SMART\'s <CLIENT>, e.g. ROMASHKA)')
    .action(
      run<NewInstallationInput>(async (ctx, { json, opts }) => {
        const { installation: added, token } = await addInstallation(ctx, opts);
        emit(json, { ...installationJson({ installation: added, state: null, rejection: undefined }), token }, () =>
          [
            `Installation ${added.id} "${added.name}" added.`,
            'Agent token (shown only now; put it in the agent settings):',
            token,
          ].join('\n'),
        );
      }),
    );

  installation
    .command('list')
    .description('list installations')
    .option('--client <client>', 'only this client (id or exact name)')
    .action(
      run<{ client?: string }>(async (ctx, { json, opts }) => {
        const ref = opts.client;
        const clientId = ref === undefined ? undefined : (await resolveClient(ctx.db, ref)).id;
        const rows = (await listInstallations(ctx.db)).filter((i) => clientId === undefined || i.clientId === clientId);
        emit(
          json,
          rows.map((i) => ({ ...installationJson({ installation: i, state: null, rejection: undefined }), client: i.clientName, state: undefined, lastRejectedReport: undefined })),
          () =>
            rows.length === 0
              ? 'No installations.'
              : table(
                  ['ID', 'CLIENT', 'NAME', 'KIND', 'HOST', 'IP', 'PROVIDER', 'UPLOAD NAME', 'MONITORING'],
                  rows.map((i) => [i.id, i.clientName, i.name, i.kind, i.host, i.ip, i.provider, i.uploadName, i.monitoringEnabled ? 'on' : 'off']),
                ),
        );
      }),
    );

  installation
    .command('show')
    .description('an installation with its latest state')
    .argument('<id>', 'installation id')
    .action(
      run(async (ctx, { json, args, config }) => {
        const found = await requireInstallation(ctx.db, args[0]!);
        const view: InstallationView = {
          installation: found,
          state: await getState(ctx.db, found.id),
          rejection: await getRejection(ctx.db, found.id),
        };
        emit(json, installationJson(view), () => installationText(view, ctx.clock(), config.DISPLAY_TZ));
      }),
    );

  installation
    .command('token-rotate')
    .description('issue a new agent token; the old one stops working at once')
    .argument('<id>', 'installation id')
    .action(
      run(async (ctx, { json, args }) => {
        const { installation: rotated, token } = await rotateToken(ctx, args[0]!);
        emit(json, { id: rotated.id, token }, () =>
          [`New agent token for installation ${rotated.id} "${rotated.name}" (the old one no longer works):`, token].join('\n'),
        );
      }),
    );

  registerAgentCommand(installation);

  installation
    .command('set')
    .description('change settings of an installation')
    .argument('<id>', 'installation id')
    .option(
      '--threshold <RULE=VALUE...>',
      'rule threshold override, e.g. KodeksXmlMissing=3d or KodeksShellVersionOutdated=6.4.2.73; VALUE "default" drops it',
    )
    .option('--upload-name <NAME>', 'the base name its files are uploaded under with a fleet token (SMART\'s <CLIENT>, e.g. ROMASHKA); "-" clears it')
    .option('--metrics-user <user>', 'the Kodeks account dozor reads <url>/sysmon/metrics with (and agents, when not given one); "-" clears it')
    .option('--metrics-password <password>', 'its password, sealed with SECRET_KEY, never shown back ("-": read from standard input)')
    .option('--licman <host[:port]>', 'the licence manager its key checks go to (port 8888 unless given), probed by ping and TCP; "-" clears it')
    .action(
      run<{ threshold?: string[]; uploadName?: string; metricsUser?: string; metricsPassword?: string; licman?: string }>(async (ctx, { json, opts, args, config }) => {
        if (!opts.threshold?.length && opts.uploadName === undefined && opts.metricsUser === undefined && opts.metricsPassword === undefined && opts.licman === undefined) {
          throw inputError('nothingToSet', {});
        }
        const lines: string[] = [];
        const result: Record<string, unknown> = { id: Number(args[0]) };
        if (opts.threshold?.length) {
          const changed = await setThresholds(ctx, args[0]!, opts.threshold);
          Object.assign(result, { id: changed.id, thresholds: changed.thresholds });
          lines.push(`Thresholds of installation ${changed.id} "${changed.name}": ${describeThresholds(changed.thresholds)}`);
        }
        if (opts.uploadName !== undefined) {
          const { installation: changed, attached } = await setUploadName(ctx, args[0]!, opts.uploadName);
          Object.assign(result, { id: changed.id, uploadName: changed.uploadName, attached });
          lines.push(
            changed.uploadName
              ? `Installation ${changed.id} "${changed.name}" takes uploads named ${changed.uploadName}${attached > 0 ? `; ${attached} file(s) already uploaded under that name now belong to it` : ''}.`
              : `Installation ${changed.id} "${changed.name}" has no upload name now.`,
          );
        }
        if (opts.metricsUser !== undefined || opts.metricsPassword !== undefined) {
          const clear = opts.metricsUser === '-';
          const changed = await setMetricsAccount(
            ctx,
            args[0]!,
            clear ? null : { user: opts.metricsUser ?? '', password: opts.metricsPassword === undefined ? '' : secretArgument(opts.metricsPassword) },
            config.SECRET_KEY,
          );
          Object.assign(result, { id: changed.id, metricsUser: changed.metricsUser });
          lines.push(
            changed.metricsUser
              ? `Installation ${changed.id} "${changed.name}": metrics are read as ${changed.metricsUser}${changed.url ? ` from ${changed.url.replace(/\/+$/, '')}/sysmon/metrics every ${config.PULL_EVERY / 60_000} min` : ' by its agent (it has no --url for dozor to read them itself)'}.`
              : `Installation ${changed.id} "${changed.name}" has no metrics account now.`,
          );
        }
        if (opts.licman !== undefined) {
          const changed = await setLicman(ctx, args[0]!, opts.licman);
          Object.assign(result, { id: changed.id, licman: changed.licmanHost ? { host: changed.licmanHost, port: changed.licmanPort } : null });
          lines.push(
            changed.licmanHost
              ? `Installation ${changed.id} "${changed.name}": its licence manager ${changed.licmanHost}:${changed.licmanPort} is probed (ping and TCP) from the next round.`
              : `Installation ${changed.id} "${changed.name}" has no licence manager to probe now.`,
          );
        }
        emit(json, result, () => lines.join('\n'));
      }),
    );

  for (const [name, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    installation
      .command(name)
      .description(enabled ? 'turn monitoring back on' : 'turn monitoring off (reports are still accepted)')
      .argument('<id>', 'installation id')
      .action(
        run(async (ctx, { json, args }) => {
          const changed = await setMonitoring(ctx, args[0]!, enabled);
          emit(json, { id: changed.id, monitoringEnabled: changed.monitoringEnabled }, () =>
            `Monitoring of installation ${changed.id} "${changed.name}" is ${changed.monitoringEnabled ? 'on' : 'off'}.`,
          );
        }),
      );
  }

  // ------------------------------------------------------------------ import

  program
    .command('import')
    .description(`import clients and installations from CSV (columns: ${CSV_COLUMNS.join(', ')})`)
    .argument('<file>', 'CSV file, comma, semicolon or tab separated, UTF-8 or windows-1251')
    .option('--dry-run', 'check the file and show what would be imported, without writing', false)
    .action(
      run<{ dryRun: boolean }>(async (ctx, { json, opts, args }) => {
        const file = args[0]!;
        const { dryRun } = opts;
        let csv: Buffer;
        try {
          csv = readFileSync(file);
        } catch (err) {
          throw inputError('fileUnreadable', { file, reason: (err as Error).message });
        }
        const result = await importCsv(ctx, csv, { dryRun });
        emit(json, result, () => {
          const head = dryRun
            ? `Dry run: the file is valid; it would add ${result.clientsCreated.length} client(s) and ${result.installations.length} installation(s). Nothing was written.`
            : `Imported ${result.clientsCreated.length} client(s) and ${result.installations.length} installation(s). Agent tokens are shown only now:`;
          return [
            ...(result.encoding === 'utf-8' ? [] : [`The file was read as ${result.encoding}.`]),
            head,
            table(
              dryRun ? ['LINE', 'CLIENT', 'INSTALLATION'] : ['LINE', 'CLIENT', 'INSTALLATION ID', 'INSTALLATION', 'TOKEN'],
              result.installations.map((i) =>
                dryRun ? [i.line, i.client, i.installation] : [i.line, i.client, i.installationId, i.installation, i.token],
              ),
            ),
          ].join('\n');
        });
      }),
    );
}

/** A person as the admin reads them at the terminal; an address the mail server refuses says so, and since when. */
function userCard(person: User): string {
  const channel = person.channel === 'both' ? 'Telegram and e-mail' : person.channel === 'email' ? 'e-mail' : 'Telegram';
  const email = person.email
    ? person.emailFailure
      ? `${person.email} — REFUSED by the mail server since ${person.emailFailedAt?.toISOString() ?? '?'}: ${person.emailFailure}. Nothing reaches it until it is fixed.`
      : person.email
    : 'none';
  return [
    `${person.name} (${person.telegramId}), ${person.role}${person.active ? '' : ', DISABLED'}`,
    `Lead: ${person.leadId ?? 'none'}`,
    `E-mail: ${email}`,
    `Alerts and digest by: ${channel}`,
  ].join('\n');
}
