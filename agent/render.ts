import { readFileSync } from 'node:fs';
import type { FieldProblem } from '../core/errors.ts';
import { proxyAddressProblem, webAddressProblem } from '../core/web-address.ts';
import { inputError } from '../i18n/index.ts';

export type AgentOs = 'linux' | 'windows';

/** Where the script lives on the Kodeks server unless the person says otherwise: its schedule line names this folder. */
export const DEFAULT_INSTALL_DIRS: Readonly<Record<AgentOs, string>> = { linux: '/opt/dozor-agent', windows: 'C:\\dozor-agent' };

/** Everything a ready agent script holds: nothing is left to edit by hand. */
export interface AgentSettings {
  /** This service's public address (PUBLIC_URL). */
  dozorUrl: string;
  token: string;
  installation: { id: number; name: string; clientName: string };
  /** The base name its files are sent under. */
  fileName: string;
  kodeksUrl: string;
  metricsUser?: string | undefined;
  metricsPassword?: string | undefined;
  proxy?: string | undefined;
  operapDir?: string | undefined;
  service?: string | undefined;
  storage?: string | undefined;
  generatedAt: Date;
}

export interface RenderedAgent {
  os: AgentOs;
  fileName: string;
  script: string;
  /**
   * The file as every door hands it out (the command line, the bot, the
   * cabinet): UTF-8, and the PowerShell script with a byte order mark.
   * Windows PowerShell 5.1, which the schedule line starts, reads a script
   * without one in the ANSI code page (windows-1251 on a Russian Windows), so
   * `D:\Кодекс\OperUp` would reach it as `D:\РљРѕРґРµРєСЃ\OperUp`; PowerShell 7
   * reads UTF-8 either way. bash takes no mark: it would be read as part of `#!`.
   */
  bytes: Buffer;
  /** Installs the schedule, given the folder the script is put in. */
  schedule(folder: string): string;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

const TEMPLATES: Record<AgentOs, { file: string; quote: (value: string) => string }> = {
  linux: { file: 'dozor-agent.sh', quote: (value) => `'${value.replaceAll("'", `'\\''`)}'` },
  // PowerShell takes the typographic single quotes as quotes too, so each is doubled like the plain one.
  windows: { file: 'dozor-agent.ps1', quote: (value) => `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, '$&$&')}'` },
};

/**
 * The agent script of an OS, read from beside this module, ready to be filled
 * with an installation's settings. Reading comes first, so a caller can make
 * sure of the template before it issues a token for it.
 */
export function loadAgentTemplate(os: AgentOs): (settings: AgentSettings) => RenderedAgent {
  const template = TEMPLATES[os];
  // A template saved by an editor that adds a byte order mark would put one inside the bash script: the file's own mark is added at the end, for Windows only.
  const text = readFileSync(new URL(`./${template.file}`, import.meta.url), 'utf8').replace(/^\uFEFF/, '');
  return (settings) => fill(os, template, text, settings);
}

/**
 * The addresses a script hands to curl, checked again whatever stored them
 * (settings kept by an older version, say): quoting protects the script, but
 * Windows PowerShell 5.1 passes a quote inside an argument on to curl.exe
 * unescaped, so a bad address is refused rather than written.
 */
function checkAddresses(settings: AgentSettings): void {
  const problems: FieldProblem[] = [];
  const codes = { notUrl: 'webUrl', unsafe: 'urlUnsafe', credentials: 'urlCredentials' } as const;
  const dozor = webAddressProblem(settings.dozorUrl);
  if (dozor) problems.push({ field: 'dozorUrl', code: codes[dozor] });
  const kodeks = webAddressProblem(settings.kodeksUrl);
  if (kodeks) problems.push({ field: 'kodeksUrl', code: codes[kodeks] });
  const proxy = settings.proxy === undefined || settings.proxy === '' ? null : proxyAddressProblem(settings.proxy);
  if (proxy) problems.push({ field: 'proxy', code: proxy === 'credentials' ? 'urlCredentials' : 'hostPort' });
  if (problems.length > 0) throw inputError('invalid', { subject: 'agent', problems });
}

/** Fill an agent script. Values go in quoted for the script's language, so a path or password with quotes or spaces stays what it is. */
function fill(os: AgentOs, template: (typeof TEMPLATES)[AgentOs], text: string, settings: AgentSettings): RenderedAgent {
  checkAddresses(settings);
  const values: Record<string, string> = {
    DOZOR_URL: settings.dozorUrl.replace(/\/+$/, ''),
    TOKEN: settings.token,
    NAME: settings.fileName,
    KODEKS_URL: settings.kodeksUrl.replace(/\/+$/, ''),
    METRICS_USER: settings.metricsUser ?? '',
    METRICS_PASSWORD: settings.metricsPassword ?? '',
    PROXY: settings.proxy ?? '',
    OPERAP_DIR: settings.operapDir ?? '',
    SERVICE: settings.service ?? '',
    STORAGE: settings.storage ?? '',
  };
  // Comments name the installation as text; settings are quoted values. One pass, so nothing put in is read again as a placeholder.
  const comment = (value: string) => value.replace(/[\r\n]+/g, ' ');
  const placeholders: Record<string, string> = {
    INSTALLATION: comment(`«${settings.installation.name}» (${settings.installation.clientName})`),
    INSTALLATION_ID: String(settings.installation.id),
    GENERATED_AT: settings.generatedAt.toISOString(),
    ...Object.fromEntries(Object.entries(values).map(([key, value]) => [key, template.quote(value)])),
  };
  let script = text.replace(/@@([A-Z_]+)@@/g, (whole, key: string) => placeholders[key] ?? whole);
  if (os === 'windows') script = script.replace(/\r?\n/g, '\r\n');
  // Each installation runs at its own minute, so a distributor's fleet does not arrive all at once.
  const minute = settings.installation.id % 60;
  return {
    os,
    fileName: template.file,
    script,
    bytes: Buffer.concat([os === 'windows' ? UTF8_BOM : Buffer.alloc(0), Buffer.from(script, 'utf8')]),
    schedule: (folder) => (os === 'linux' ? cronLine(minute, `${folder.replace(/\/+$/, '')}/${template.file}`) : schtasksLine(settings.installation.id, minute, `${folder.replace(/\\+$/, '')}\\${template.file}`)),
  };
}

/** Quoted for sh only when it needs to be, so the usual line stays readable. */
const shellQuote = (value: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : TEMPLATES.linux.quote(value));

/** Adds the hourly line to the crontab of the user who runs it (root, to read the service's state). */
function cronLine(minute: number, path: string): string {
  // cron hands the line to sh, and takes an unescaped % as the end of the command.
  const entry = `${minute} * * * * ${shellQuote(path).replaceAll('%', '\\%')} >/dev/null 2>&1`;
  // Run again, it replaces the line it added before instead of adding a second one.
  return `(crontab -l 2>/dev/null | grep -vF ${shellQuote(path)}; printf '%s\\n' ${shellQuote(entry)}) | crontab -`;
}

/** An hourly task run as SYSTEM, whether anyone is logged on or not; the script finds its own folder. */
function schtasksLine(id: number, minute: number, path: string): string {
  const start = `00:${String(minute).padStart(2, '0')}`;
  return `schtasks /Create /F /TN "dozor agent ${id}" /SC HOURLY /ST ${start} /RU SYSTEM /RL HIGHEST /TR "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File \\"${path}\\""`;
}
