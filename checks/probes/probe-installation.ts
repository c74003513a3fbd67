import { isIP } from 'node:net';
import { pageStateOf, type PageWords, type ProbeKind } from '../../core/probe-rules.ts';
import { bareHost, type Probers, type ProbeResult, type ResolveAnswer } from './probers.ts';
import { LICMAN_PORT } from '../../core/report.ts';
import { isDocumentationAddress } from '../../core/documentation-addresses.ts';

export interface ProbeTarget {
  id: number;
  host: string | null;
  ip: string | null;
  url: string | null;
  /** The licence manager the installation's key checks go to, if one is set. */
  licmanHost?: string | null;
  licmanPort?: number | null;
}

export interface ProbeSettings {
  timeoutMs: number;
  upStatuses: (status: number) => boolean;
  /** Words on the main page that say maintenance or a call for a specialist; none by default. */
  pageWords?: PageWords;
}

/** An installation entered from an example (romashka.example, 192.0.2.10) is not probed at those addresses: nothing is there. */
function withoutDocumentationAddresses(target: ProbeTarget): ProbeTarget {
  const documentation = (value: string | null | undefined) => value != null && isDocumentationAddress(value);
  const urlHost = (url: string | null) => (url ? new URL(url).hostname : null);
  return {
    ...target,
    host: documentation(target.host) ? null : target.host,
    ip: documentation(target.ip) ? null : target.ip,
    url: documentation(urlHost(target.url)) ? null : target.url,
    licmanHost: documentation(target.licmanHost) ? null : (target.licmanHost ?? null),
  };
}

/** The address users can log in by when the name fails: the URL with the recorded IP instead of the host. */
export function urlByIp(url: string, ip: string): string {
  const parsed = new URL(url);
  parsed.hostname = isIP(ip) === 6 ? `[${ip}]` : ip;
  return parsed.toString();
}

/**
 * Every probe that applies to an installation: name resolution (host), ping
 * (the recorded IP, else the host), TCP to the web port, a GET of the web
 * URL, and ping and TCP to its licence manager when one is set. The GET is
 * retried through the recorded IP when the name fails, to tell "DNS or
 * forwarding is down" from "the installation is down". Each name is resolved
 * once, within the time limit, and the other probes connect to what it gave.
 */
export async function probeInstallation(given: ProbeTarget, settings: ProbeSettings, probers: Probers): Promise<Partial<Record<ProbeKind, ProbeResult>>> {
  const target = withoutDocumentationAddresses(given);
  const { timeoutMs } = settings;
  const results: Partial<Record<ProbeKind, ProbeResult>> = {};
  const tasks: Promise<void>[] = [];
  const answers = new Map<string, Promise<ResolveAnswer>>();
  const addressOf = (name: string): Promise<ResolveAnswer> => {
    const bare = bareHost(name);
    if (isIP(bare) !== 0) return Promise.resolve({ addresses: [bare] });
    let answer = answers.get(bare);
    if (!answer) answers.set(bare, (answer = probers.resolve(bare, timeoutMs)));
    return answer;
  };
  const failed = (error: string, detail: Record<string, unknown>): ProbeResult => ({ ok: false, latencyMs: null, error, detail });

  if (target.host && isIP(target.host) === 0) {
    const host = target.host;
    tasks.push(
      addressOf(host).then((answer) => {
        const detail = { host, expectedIp: target.ip, resolved: 'addresses' in answer ? answer.addresses : [] };
        if ('error' in answer) results.dns = failed(`${host} does not resolve: ${answer.error}`, detail);
        else if (target.ip && !answer.addresses.includes(target.ip)) {
          results.dns = failed(`${host} resolves to ${answer.addresses.join(', ')}, not ${target.ip}`, detail);
        } else results.dns = { ok: true, latencyMs: null, error: null, detail };
      }),
    );
  }

  const pingTarget = target.ip ?? target.host;
  if (pingTarget) {
    tasks.push(
      (async () => {
        const detail = { target: pingTarget };
        const answer = await addressOf(pingTarget);
        if ('error' in answer) results.icmp = failed(`${pingTarget} does not resolve: ${answer.error}`, detail);
        else results.icmp = { ...(await probers.ping(answer.addresses[0]!, timeoutMs)), detail };
      })(),
    );
  }

  if (target.url) {
    const url = target.url;
    const parsed = new URL(url);
    const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
    const tcpHost = target.ip ?? bareHost(parsed.hostname);
    tasks.push(
      (async () => {
        const detail = { target: `${tcpHost}:${port}` };
        const answer = await addressOf(tcpHost);
        if ('error' in answer) results.tcp = failed(`TCP ${tcpHost}:${port}: ${answer.error}`, detail);
        else results.tcp = { ...(await probers.tcp(answer.addresses[0]!, port, timeoutMs)), detail };
      })(),
    );
    tasks.push(
      (async () => {
        const answer = await addressOf(parsed.hostname);
        const words = settings.pageWords ?? {};
        const readBody = words.maintenance !== undefined || words.needSupport !== undefined;
        const byName: ProbeResult & { status?: number; body?: string } =
          'error' in answer
            ? { ok: false, latencyMs: null, error: answer.error }
            : await probers.http(url, { timeoutMs: settings.timeoutMs, upStatuses: settings.upStatuses, connectTo: answer.addresses[0]!, readBody });
        const page = pageStateOf({ status: byName.status ?? null, up: byName.ok, ...(byName.body !== undefined ? { body: byName.body } : {}) }, words);
        const detail: Record<string, unknown> = { url, status: byName.status ?? null, page };
        if (!byName.ok && target.ip && isIP(bareHost(parsed.hostname)) === 0) {
          const byIp = await probers.http(url, { timeoutMs: settings.timeoutMs, upStatuses: settings.upStatuses, connectTo: target.ip, anyCertificate: true });
          if (byIp.ok) detail.workingUrl = urlByIp(url, target.ip);
          else detail.ipError = byIp.error;
        }
        results.http = { ok: byName.ok, latencyMs: byName.latencyMs, error: byName.error, detail };
      })(),
    );
  }

  if (target.licmanHost) {
    const host = target.licmanHost;
    const port = target.licmanPort ?? LICMAN_PORT;
    tasks.push(
      (async () => {
        const answer = await addressOf(host);
        const ping = { target: host };
        const tcp = { target: `${host}:${port}` };
        if ('error' in answer) {
          results.licmanIcmp = failed(`${host} does not resolve: ${answer.error}`, ping);
          results.licmanTcp = failed(`TCP ${host}:${port}: ${answer.error}`, tcp);
          return;
        }
        const [pinged, connected] = await Promise.all([probers.ping(answer.addresses[0]!, timeoutMs), probers.tcp(answer.addresses[0]!, port, timeoutMs)]);
        results.licmanIcmp = { ...pinged, detail: ping };
        results.licmanTcp = { ...connected, detail: tcp };
      })(),
    );
  }

  await Promise.all(tasks);
  return results;
}
