import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** One probe's answer. `unavailable`: the probe could not run here at all (no `ping` binary). */
export interface ProbeResult {
  ok: boolean;
  latencyMs: number | null;
  error: string | null;
  unavailable?: boolean;
  detail?: Record<string, unknown>;
}

export interface HttpProbeOptions {
  timeoutMs: number;
  upStatuses: (status: number) => boolean;
  /** Connect to this address instead of resolving the URL's host (which is still asked for, in Host and SNI). */
  connectTo?: string;
  /** Take any certificate: the address was not reached by its name, so the certificate cannot match it. */
  anyCertificate?: boolean;
  /** Read the page's text too (its first 64 KiB), to look for words on it. */
  readBody?: boolean;
}

/** How much of a main page is read when its words matter. */
const MAX_PAGE_BYTES = 64 * 1024;

export type ResolveAnswer = { addresses: string[] } | { error: string };

/**
 * The network operations probes use; injectable so tests can replace ICMP, which needs privileges.
 * Probes are given addresses: names go through `resolve`, whose time is bounded.
 */
export interface Probers {
  ping(target: string, timeoutMs: number): Promise<ProbeResult>;
  tcp(address: string, port: number, timeoutMs: number): Promise<ProbeResult>;
  http(url: string, options: HttpProbeOptions): Promise<ProbeResult & { status?: number; body?: string }>;
  resolve(host: string, timeoutMs: number): Promise<ResolveAnswer>;
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

function tcp(address: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: timeoutMs });
    const done = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done({ ok: true, latencyMs: elapsed(started), error: null }));
    socket.once('timeout', () => done({ ok: false, latencyMs: null, error: `TCP ${address}:${port}: timed out` }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, latencyMs: null, error: `TCP ${address}:${port}: ${err.code ?? err.message}` }));
  });
}

/**
 * GET a URL. With `connectTo`, connect to that address but ask for the URL's
 * host name (Host header and TLS SNI), the way a browser would if DNS pointed
 * there; the certificate is checked against the name unless `anyCertificate`.
 */
function http(url: string, options: HttpProbeOptions): Promise<ProbeResult & { status?: number; body?: string }> {
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
        host: options.connectTo ?? bareHost(parsed.hostname),
        port: parsed.port || (secure ? 443 : 80),
        path: `${parsed.pathname}${parsed.search}`,
        headers: { host: parsed.host, 'user-agent': 'dozor-probe/1' },
        timeout: options.timeoutMs,
        ...(secure ? { rejectUnauthorized: !options.anyCertificate } : {}),
        ...(secure && isIP(bareHost(parsed.hostname)) === 0 ? { servername: domainToASCII(parsed.hostname) || parsed.hostname } : {}),
      },
      (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        const up = options.upStatuses(status);
        const answer = { ok: up, status, latencyMs: elapsed(started), error: up ? null : `HTTP ${status}` };
        if (!options.readBody) {
          response.resume();
          request.destroy();
          resolve(answer);
          return;
        }
        const chunks: Buffer[] = [];
        let bytes = 0;
        const done = () => {
          request.destroy();
          resolve({ ...answer, body: decodePage(Buffer.concat(chunks).subarray(0, MAX_PAGE_BYTES), response.headers['content-type']) });
        };
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          bytes += chunk.length;
          if (bytes >= MAX_PAGE_BYTES) done();
        });
        response.once('end', done);
        response.once('error', done);
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

/** A page's text in the charset its Content-Type names (windows-1251 is common on Kodeks servers), UTF-8 otherwise. */
function decodePage(bytes: Buffer, contentType: string | undefined): string {
  const charset = /charset=["']?([\w-]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/** A URL's host without the brackets of an IPv6 literal. */
export function bareHost(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1');
}

const HOSTS_FILE = '/etc/hosts';
const HOSTS_FILE_TTL_MS = 60_000;
let hostsFile: { readAt: number; names: Map<string, string[]> } | undefined;

/** Names the machine's hosts file gives, re-read at most once a minute (a missing file gives none). */
function fromHostsFile(name: string): string[] {
  if (!hostsFile || Date.now() - hostsFile.readAt > HOSTS_FILE_TTL_MS) {
    const names = new Map<string, string[]>();
    let text = '';
    try {
      text = readFileSync(HOSTS_FILE, 'utf8');
    } catch {
      // No hosts file: every name goes to DNS.
    }
    for (const line of text.split('\n')) {
      const [address, ...aliases] = line.replace(/#.*/, '').trim().split(/\s+/);
      if (!address || isIP(address) === 0) continue;
      for (const alias of aliases) names.set(alias.toLowerCase(), [...(names.get(alias.toLowerCase()) ?? []), address]);
    }
    hostsFile = { readAt: Date.now(), names };
  }
  return hostsFile.names.get(name.toLowerCase()) ?? [];
}

export interface SystemProbersOptions {
  /** DNS servers to ask ("address" or "address:port"); the machine's own by default. */
  dnsServers?: string[];
}

/**
 * The machine's network, for real. Names are resolved by c-ares (the resolver
 * Node runs on the event loop), not by the system's getaddrinfo: that one runs
 * on libuv's four threads and cannot be cancelled, so a fleet of names that do
 * not resolve would queue every lookup behind each other and outlast any
 * limit. Each query is tried once and bounded by the probe's time limit;
 * `localhost` and the hosts file are honoured as the system would.
 */
export function createSystemProbers(options: SystemProbersOptions = {}): Probers {
  const resolvers = new Map<number, Resolver>();
  const resolverFor = (timeoutMs: number): Resolver => {
    let resolver = resolvers.get(timeoutMs);
    if (!resolver) {
      resolver = new Resolver({ timeout: Math.max(1, timeoutMs), tries: 1 });
      if (options.dnsServers) resolver.setServers(options.dnsServers);
      resolvers.set(timeoutMs, resolver);
    }
    return resolver;
  };

  async function resolve(host: string, timeoutMs: number): Promise<ResolveAnswer> {
    const name = bareHost(host).replace(/\.$/, '');
    if (isIP(name) !== 0) return { addresses: [name] };
    if (name === 'localhost' || name.endsWith('.localhost')) return { addresses: ['127.0.0.1', '::1'] };
    const listed = fromHostsFile(name);
    if (listed.length > 0) return { addresses: listed };
    const resolver = resolverFor(timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    // With several servers c-ares may try each in turn; the probe's limit holds whatever it does.
    const limit = new Promise<'timeout'>((done) => {
      timer = setTimeout(() => done('timeout'), timeoutMs);
    });
    const answers = Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
    const settled = await Promise.race([answers, limit]);
    clearTimeout(timer);
    if (settled === 'timeout') return { error: 'ETIMEOUT' };
    const addresses = settled.flatMap((answer) => (answer.status === 'fulfilled' ? answer.value : []));
    if (addresses.length > 0) return { addresses };
    const reasons = settled.map((answer) => (answer.status === 'rejected' ? ((answer.reason as NodeJS.ErrnoException).code ?? String(answer.reason)) : 'ENODATA'));
    // "No such name" says more than "no IPv6 address"; a timeout says more than either.
    return { error: reasons.find((r) => r === 'ETIMEOUT') ?? reasons.find((r) => r === 'ENOTFOUND') ?? reasons[0]! };
  }

  return { ping, tcp, http, resolve };
}

export const systemProbers: Probers = createSystemProbers();

/** "200-399,401" -> a predicate. */
export function parseStatusList(text: string): (status: number) => boolean {
  const ranges = text.split(',').map((part) => {
    const [from, to] = part.trim().split('-').map(Number);
    if (from === undefined || Number.isNaN(from) || (to !== undefined && Number.isNaN(to))) throw new Error(`"${part}" is not a status or range`);
    return [from, to ?? from] as const;
  });
  return (status) => ranges.some(([from, to]) => status >= from && status <= to);
}
