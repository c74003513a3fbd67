import { execFile } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { domainToASCII } from 'node:url';

/** One probe's answer. `unavailable`: the probe could not run here at all (no `ping` binary). */
export interface ProbeResult {
  ok: boolean;
  latencyMs: number | null;
  error: string | null;
  unavailable?: boolean;
  detail?: Record<string, unknown>;
}

/** The network operations probes use; injectable so tests can replace ICMP, which needs privileges. */
export interface Probers {
  ping(target: string, timeoutMs: number): Promise<ProbeResult>;
  tcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult>;
  http(url: string, options: { timeoutMs: number; upStatuses: (status: number) => boolean; connectTo?: string }): Promise<ProbeResult & { status?: number }>;
  resolve(host: string, timeoutMs: number): Promise<{ addresses: string[] } | { error: string }>;
}

const elapsed = (started: bigint) => Number((process.hrtime.bigint() - started) / 1_000_000n);

/** ICMP through the system's `ping` (no raw sockets needed in the service). */
function ping(target: string, timeoutMs: number): Promise<ProbeResult> {
  const started = process.hrtime.bigint();
  const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  return new Promise((resolve) => {
    execFile('ping', ['-n', '-c', '1', '-W', seconds, target], { timeout: timeoutMs + 1000 }, (err, stdout) => {
      const code = (err as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM') {
        resolve({ ok: false, latencyMs: null, error: 'ping is not available on this machine', unavailable: true });
        return;
      }
      const time = /time[=<]([\d.]+)\s*ms/.exec(stdout);
      if (!err && time) resolve({ ok: true, latencyMs: Math.round(Number(time[1])), error: null });
      else resolve({ ok: false, latencyMs: null, error: err ? `no answer (${elapsed(started)} ms)` : 'no answer' });
    });
  });
}

function tcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done({ ok: true, latencyMs: elapsed(started), error: null }));
    socket.once('timeout', () => done({ ok: false, latencyMs: null, error: `TCP ${host}:${port}: timed out` }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, latencyMs: null, error: `TCP ${host}:${port}: ${err.code ?? err.message}` }));
  });
}

/**
 * GET a URL. With `connectTo`, connect to that address but ask for the URL's
 * host name (Host header and TLS SNI), the way a browser would if DNS pointed
 * there; the certificate is then not checked, since it names the host, not the IP.
 */
function http(url: string, options: { timeoutMs: number; upStatuses: (status: number) => boolean; connectTo?: string }): Promise<ProbeResult & { status?: number }> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      resolve({ ok: false, latencyMs: null, error: `bad URL ${url}` });
      return;
    }
    const secure = parsed.protocol === 'https:';
    const request = (secure ? httpsRequest : httpRequest)(
      {
        method: 'GET',
        host: options.connectTo ?? parsed.hostname,
        port: parsed.port || (secure ? 443 : 80),
        path: `${parsed.pathname}${parsed.search}`,
        headers: { host: parsed.host, 'user-agent': 'dozor-probe/1' },
        timeout: options.timeoutMs,
        ...(secure ? { servername: domainToASCII(parsed.hostname) || parsed.hostname, rejectUnauthorized: !options.connectTo } : {}),
      },
      (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        response.resume();
        request.destroy();
        const up = options.upStatuses(status);
        resolve({ ok: up, status, latencyMs: elapsed(started), error: up ? null : `HTTP ${status}` });
      },
    );
    request.once('timeout', () => {
      request.destroy();
      resolve({ ok: false, latencyMs: null, error: `timed out after ${options.timeoutMs} ms` });
    });
    request.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, latencyMs: null, error: err.code ?? err.message }));
    request.end();
  });
}

async function resolve(host: string, timeoutMs: number): Promise<{ addresses: string[] } | { error: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { code: 'ETIMEOUT' })), timeoutMs);
    });
    const answers = await Promise.race([lookup(host, { all: true }), timeout]);
    return { addresses: answers.map((a) => a.address) };
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export const systemProbers: Probers = { ping, tcp, http, resolve };

/** "200-399,401" -> a predicate. */
export function parseStatusList(text: string): (status: number) => boolean {
  const ranges = text.split(',').map((part) => {
    const [from, to] = part.trim().split('-').map(Number);
    if (from === undefined || Number.isNaN(from) || (to !== undefined && Number.isNaN(to))) throw new Error(`"${part}" is not a status or range`);
    return [from, to ?? from] as const;
  });
  return (status) => ranges.some(([from, to]) => status >= from && status <= to);
}
