import { isIP } from 'node:net';
import type { ProbeKind } from '../../core/probe-rules.ts';
import type { Probers, ProbeResult } from './probers.ts';

export interface ProbeTarget {
  id: number;
  host: string | null;
  ip: string | null;
  url: string | null;
}

export interface ProbeSettings {
  timeoutMs: number;
  upStatuses: (status: number) => boolean;
}

/** The address users can log in by when the name fails: the URL with the recorded IP instead of the host. */
export function urlByIp(url: string, ip: string): string {
  const parsed = new URL(url);
  parsed.hostname = isIP(ip) === 6 ? `[${ip}]` : ip;
  return parsed.toString();
}

/**
 * Every probe that applies to an installation: name resolution (host), ping
 * (the recorded IP, else the host), TCP to the web port, and a GET of the web
 * URL, retried through the recorded IP when the name fails, to tell "DNS or
 * forwarding is down" from "the installation is down".
 */
export async function probeInstallation(target: ProbeTarget, settings: ProbeSettings, probers: Probers): Promise<Partial<Record<ProbeKind, ProbeResult>>> {
  const { timeoutMs } = settings;
  const results: Partial<Record<ProbeKind, ProbeResult>> = {};
  const tasks: Promise<void>[] = [];

  if (target.host && isIP(target.host) === 0) {
    const host = target.host;
    tasks.push(
      probers.resolve(host, timeoutMs).then((answer) => {
        const detail = { host, expectedIp: target.ip, resolved: 'addresses' in answer ? answer.addresses : [] };
        if ('error' in answer) results.dns = { ok: false, latencyMs: null, error: `${host} does not resolve: ${answer.error}`, detail };
        else if (target.ip && !answer.addresses.includes(target.ip)) {
          results.dns = { ok: false, latencyMs: null, error: `${host} resolves to ${answer.addresses.join(', ')}, not ${target.ip}`, detail };
        } else results.dns = { ok: true, latencyMs: null, error: null, detail };
      }),
    );
  }

  const pingTarget = target.ip ?? target.host;
  if (pingTarget) {
    tasks.push(probers.ping(pingTarget, timeoutMs).then((r) => void (results.icmp = { ...r, detail: { target: pingTarget } })));
  }

  if (target.url) {
    const url = target.url;
    const parsed = new URL(url);
    const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
    const tcpHost = target.ip ?? parsed.hostname;
    tasks.push(probers.tcp(tcpHost, port, timeoutMs).then((r) => void (results.tcp = { ...r, detail: { target: `${tcpHost}:${port}` } })));
    tasks.push(
      (async () => {
        const byName = await probers.http(url, settings);
        const detail: Record<string, unknown> = { url, status: byName.status ?? null };
        if (!byName.ok && target.ip && isIP(parsed.hostname) === 0) {
          const byIp = await probers.http(url, { ...settings, connectTo: target.ip });
          if (byIp.ok) detail.workingUrl = urlByIp(url, target.ip);
          else detail.ipError = byIp.error;
        }
        results.http = { ok: byName.ok, latencyMs: byName.latencyMs, error: byName.error, detail };
      })(),
    );
  }

  await Promise.all(tasks);
  return results;
}
