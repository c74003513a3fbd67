import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { AGENT_CHOICES, DEFAULT_KODEKS_URL, issueAgent, type AgentChoice } from '../../registry/agent.ts';
import { DEFAULT_INSTALL_DIRS } from '../../agent/render.ts';
import { inputError } from '../../i18n/index.ts';
import { emit, secretArgument } from '../output.ts';
import { run } from '../run.ts';

const METRICS_NOTE = {
  given: 'It reads /sysmon/metrics with the account given.',
  stored: 'It reads /sysmon/metrics with the installation\'s metrics account (installation set --metrics-user).',
  none: 'It sends no metrics: give --metrics-user and --metrics-password (a Kodeks account such as smartlogin) to add them.',
} as const;

/** Where the script is put on the installation's machine when the person does not say (Windows). */

interface AgentCommandOptions {
  os: AgentChoice;
  kodeks?: string;
  metricsUser?: string;
  metricsPassword?: string;
  proxy?: string;
  operapDir?: string;
  service?: string;
  storage?: string;
  out?: string;
  installDir?: string;
  token?: string;
}

/** `dozor installation agent`: a ready agent script for an installation and the one command that schedules it. */
export function registerAgentCommand(installation: Command): void {
  installation
    .command('agent')
    .description('write a ready agent script for an installation and print the command that runs it hourly')
    .argument('<id>', 'installation id')
    .addOption(new Option('--os <os>', 'the OS of the Kodeks server; both: the Linux and the Windows script, with one token').choices(AGENT_CHOICES).makeOptionMandatory())
    .option('--kodeks <url>', 'the local Kodeks server as the agent reaches it', DEFAULT_KODEKS_URL)
    .option('--metrics-user <user>', 'account for /sysmon/metrics (with --metrics-password)')
    .option('--metrics-password <password>', 'its password, written into the script ("-": read from standard input)')
    .option('--proxy <host:port>', 'proxy the agent reaches dozor through')
    .option('--operap-dir <path>', 'the operap folder (e.g. C:\\Kodeks\\OperUp): its newest file dates the last operap')
    .option('--service <name>', 'the Kodeks service: its state and account are reported')
    .option('--storage <path>', 'the databases\' storage (a UNC share or a mount): whether it answers is reported')
    .option('--out <dir>', 'folder to write the script to (default ./dozor-agent-<id>)')
    .option('--install-dir <dir>', 'the folder the script will live in on the Kodeks server, which its schedule line names (default: /opt/dozor-agent on Linux, C:\\dozor-agent on Windows)')
    .option('--token <token>', 'the installation\'s current agent token; without it a new token is issued and the old one stops working, in every script written before')
    .hook('preAction', (command) => {
      // One folder cannot be both a Linux and a Windows path.
      if (command.opts<AgentCommandOptions>().os === 'both' && command.opts<AgentCommandOptions>().installDir !== undefined) {
        command.error("error: --install-dir names one system's folder: with --os both each script goes to its default folder (/opt/dozor-agent on Linux, C:\\dozor-agent on Windows)");
      }
    })
    .action(
      run<AgentCommandOptions>(async (ctx, { json, opts, args, config }) => {
        const out = resolve(opts.out ?? `dozor-agent-${args[0]}`);
        const { installation, rotated, metricsAccount, agents } = await issueAgent(ctx, args[0]!, {
          os: opts.os,
          publicUrl: config.PUBLIC_URL,
          secretKey: config.SECRET_KEY,
          token: opts.token,
          options: {
            kodeksUrl: opts.kodeks,
            metricsUser: opts.metricsUser,
            metricsPassword: opts.metricsPassword === undefined ? undefined : secretArgument(opts.metricsPassword),
            proxy: opts.proxy,
            operapDir: opts.operapDir,
            service: opts.service,
            storage: opts.storage,
          },
        });
        const written = agents.map((agent) => {
          const file = join(out, agent.fileName);
          try {
            mkdirSync(out, { recursive: true });
            // It holds the agent token: readable by its owner only.
            writeFileSync(file, agent.bytes, { mode: 0o700 });
            chmodSync(file, 0o700);
          } catch (err) {
            throw inputError('fileNotWritten', { file, reason: (err as Error).message });
          }
          const folder = opts.installDir ?? DEFAULT_INSTALL_DIRS[agent.os];
          return { os: agent.os, fileName: agent.fileName, file, folder, schedule: agent.schedule(folder) };
        });
        const files = written.map(({ os, file, schedule }) => ({ os, file, schedule }));
        const single = written.length === 1 ? { file: written[0]!.file, schedule: written[0]!.schedule } : {};
        emit(json, { id: installation.id, os: opts.os, ...single, files, tokenRotated: rotated, metricsAccount }, () =>
          [
            `${written.length === 1 ? 'Agent' : 'Agents'} for installation ${installation.id} "${installation.name}" written to ${written.map((w) => w.file).join(' and ')}${written.length === 1 ? '' : ', with one token'}.`,
            rotated
              ? `A new agent token is in ${written.length === 1 ? 'it' : 'them'}: the old token no longer works, so every agent of this installation written before (for Linux or Windows) is refused from now on until its script is replaced.` +
                (written.length === 1 ? ' To write the Linux and the Windows script with one token, use --os both.' : '')
              : `${written.length === 1 ? 'It uses' : 'They use'} the installation's current agent token.`,
            METRICS_NOTE[metricsAccount],
            ...written.flatMap((w) => [
              w.os === 'linux'
                ? `On the Kodeks server${written.length === 1 ? '' : ' (Linux)'}, as root, with the script in ${w.folder}, run it once to see it work, then schedule it hourly:`
                : `Put ${w.fileName} in ${w.folder} on the Kodeks server${written.length === 1 ? '' : ' (Windows)'}, run it once in PowerShell to see it work, then schedule it hourly (in an administrator's command prompt):`,
              w.schedule,
            ]),
          ].join('\n'),
        );
      }),
    );
}
