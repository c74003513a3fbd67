import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { pullAddressPolicy, type PullAddressPolicy, type RefusedKind } from '../core/pull-address.ts';
import { listMetricsPullDue, type MetricsPullTarget } from '../db/installations.ts';
import { noteUnreadableMetrics, saveMetricsSnapshot } from '../db/metrics-snapshots.ts';
import type { DB } from '../db/open.ts';
import { getState, saveState } from '../db/state.ts';
import { writeTransaction } from '../db/transaction.ts';
import { checkInstallation } from '../checks/check-installation.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import { metricsAccountOf } from '../registry/metrics-account.ts';
import { MAX_METRICS_BYTES, readMetricsFile } from './read-metrics.ts';

export interface MetricsPullDeps {
  db: DB;
  clock: Clock;
  logger: Logger;
  /** SECRET_KEY, which opens the stored passwords. */
  secretKey: string;
  /** PULL_EVERY: an installation's metrics are read again once the latest are this old. */
  everyMs: number;
  timeoutMs: number;
  concurrency: number;
  signal?: AbortSignal;
  /** With them, whether the service account got in is judged (`KodeksAuthNotWork`). */
  settings?: IncidentSettings;
  /** Which addresses may be pulled from (PULL_ALLOW_PRIVATE); loopback, link-local, metadata… are refused by default. */
  addressPolicy?: PullAddressPolicy;
  /** A name's addresses; the system's resolver by default (tests give names of their own). */
  resolveHost?: (hostname: string) => Promise<LookupAddress[]>;
}

export interface MetricsPullSummary {
  pulled: number;
  failed: number;
}

/**
 * Read `/sysmon/metrics` at the origin of the web address of every
 * installation dozor can reach and holds a metrics account for, whose latest
 * metrics (pulled or uploaded) are at least PULL_EVERY old, with Basic auth,
 * as SMART polls cloud installations. Addresses the policy refuses (loopback,
 * link-local, cloud metadata…) are not connected to, whatever name leads there.
 * The latest sample set is kept as an upload's would be; a failure is noted on
 * the installation (the card shows why) and tried again after PULL_EVERY.
 */
export async function pullMetrics(deps: MetricsPullDeps): Promise<MetricsPullSummary> {
  const due = await listMetricsPullDue(deps.db, new Date(deps.clock().getTime() - deps.everyMs));
  const limit = pLimit(deps.concurrency);
  const summary: MetricsPullSummary = { pulled: 0, failed: 0 };
  await Promise.all(
    due.map((target) =>
      limit(async () => {
        if (deps.signal?.aborted) return;
        const outcome = await pullOne(target, deps);
        const at = deps.clock();
        if (deps.settings) await notePull(deps.db, deps.settings, target.id, loginOutcome(outcome), !('error' in outcome), at);
        if ('error' in outcome) {
          summary.failed++;
          deps.logger.warn({ installation: target.id, reason: outcome.error }, 'metrics could not be read');
          await noteUnreadableMetrics(deps.db, target.id, outcome.error, at, null);
        } else {
          summary.pulled++;
          await saveMetricsSnapshot(deps.db, { installationId: target.id, takenAt: outcome.takenAt ?? at, receivedAt: at, samples: outcome.samples, uploadId: null });
        }
      }),
    ),
  );
  return summary;
}

async function pullOne(target: MetricsPullTarget, deps: MetricsPullDeps): Promise<ReturnType<typeof readMetricsFile> | { error: string; refusedAccount?: string }> {
  const account = metricsAccountOf(target, deps.secretKey);
  if (!account) return { error: 'the stored metrics password cannot be opened with this SECRET_KEY; set it again (installation set --metrics-password)' };
  let origin: URL;
  try {
    origin = new URL(target.url);
  } catch {
    return { error: `bad URL ${target.url}` };
  }
  if (origin.protocol !== 'http:' && origin.protocol !== 'https:') return { error: `bad URL: ${origin.protocol} is not http or https` };
  // The server's own metrics, whatever path the installation's address has: nothing else of it is read.
  const address = `${origin.origin}/sysmon/metrics`;
  const timeout = AbortSignal.timeout(deps.timeoutMs);
  const signal = AbortSignal.any([timeout, deps.signal].filter((s) => s !== undefined));
  const policy = deps.addressPolicy ?? DEFAULT_ADDRESS_POLICY;
  let answer: { body: string; date: string | undefined };
  try {
    const literal = origin.hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(literal) !== 0) {
      const kind = policy.refusal(literal);
      if (kind) throw new RefusedAddress(literal, kind);
    }
    const response = await get(address, {
      authorization: `Basic ${Buffer.from(`${account.user}:${account.password}`, 'utf8').toString('base64')}`,
      signal,
      lookup: guardedLookup(policy, deps.resolveHost ?? resolveHost),
    });
    if (response.statusCode === 401 || response.statusCode === 403) {
      response.destroy();
      return { error: `${address} refused the account ${account.user} (HTTP ${response.statusCode})`, refusedAccount: account.user };
    }
    // A redirect is a failure, not followed: the credentials are for this server only.
    if (response.statusCode !== 200) {
      response.destroy();
      return { error: `${address} answered HTTP ${response.statusCode}` };
    }
    const body = await readBounded(response, MAX_METRICS_BYTES);
    if (body === null) return { error: `${address} sent more than ${MAX_METRICS_BYTES / 1024 / 1024} MiB of metrics` };
    answer = { body, date: response.headers.date };
  } catch (err) {
    if (err instanceof RefusedAddress) return { error: `${address}: ${err.message}` };
    const cause = (err as NodeJS.ErrnoException).code;
    const reason = timeout.aborted ? `no answer within ${deps.timeoutMs / 1000} s` : (cause ?? (err as Error).message);
    return { error: `${address}: ${reason}` };
  }
  try {
    return readMetricsFile(answer.date ? `date: ${answer.date}\n${answer.body}` : answer.body);
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Said when the address a pull would reach is one the policy refuses (`core/pull-address.ts`). */
class RefusedAddress extends Error {
  constructor(address: string, kind: RefusedKind) {
    super(`address ${address} refused (${kind}); PULL_ALLOW_PRIVATE can allow it`);
  }
}

const DEFAULT_ADDRESS_POLICY = pullAddressPolicy();

async function resolveHost(hostname: string): Promise<LookupAddress[]> {
  return dnsLookup(hostname, { all: true });
}

/**
 * The lookup the connection makes, checked: every address the name gives must
 * be allowed, and the connection goes to one of those very addresses (no
 * second lookup a name's owner could answer differently).
 */
function guardedLookup(policy: PullAddressPolicy, resolve: (hostname: string) => Promise<LookupAddress[]>): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        const wanted = options.family === 4 || options.family === 6 ? found.filter((a) => a.family === options.family) : found;
        for (const { address } of found) {
          const kind = policy.refusal(address);
          if (kind) return callback(new RefusedAddress(address, kind), '', 0);
        }
        if (wanted.length === 0) return callback(Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' }), '', 0);
        // The type names only the one-address form; asked for `all` (as Node's connect does), the list is the answer.
        if (options.all) return (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, wanted);
        return callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

/** A GET that follows no redirect, with the lookup given. */
function get(address: string, options: { authorization: string; signal: AbortSignal; lookup: LookupFunction }): Promise<IncomingMessage> {
  const url = new URL(address);
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: 'GET',
      headers: { authorization: options.authorization, 'user-agent': 'dozor-pull/1' },
      signal: options.signal,
      lookup: options.lookup,
    });
    request.once('response', resolve);
    request.once('error', reject);
    request.end();
  });
}

/** Whether the service account got in: refused (its name), in (null), or not known (undefined: no answer, say). */
function loginOutcome(outcome: { error: string; refusedAccount?: string } | object): string | null | undefined {
  if ('refusedAccount' in outcome) return outcome.refusedAccount;
  return 'error' in outcome ? undefined : null;
}

/**
 * What the pull found goes into the installation's state, and the
 * installation is judged again when it changes anything: whether the service
 * account got in (refused: the account's name; in: null; not known:
 * undefined, no answer, say), so `KodeksAuthNotWork` opens and closes with it;
 * and, when the server answered with its metrics, that its service works, so
 * a `KodeksServiceDown` the metrics contradict closes.
 */
async function notePull(db: DB, settings: IncidentSettings, installationId: number, refused: string | null | undefined, answered: boolean, at: Date): Promise<void> {
  await writeTransaction(db, async () => {
    const state = await getState(db, installationId);
    if (!state) return;
    const next = { ...state };
    if (refused === null) delete next.serviceLoginRefused;
    else if (refused !== undefined) next.serviceLoginRefused = refused;
    if (answered && next.serviceState === 'stopped') next.serviceState = 'running';
    if ((next.serviceLoginRefused ?? null) === (state.serviceLoginRefused ?? null) && next.serviceState === state.serviceState) return;
    await saveState(db, installationId, next);
    await checkInstallation(db, settings, installationId, at, { state: next });
  });
}

/** The body as text, or null once it passes `max` bytes (the rest is not read). */
async function readBounded(response: IncomingMessage, max: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    // Leaving the loop destroys the rest of the body.
    if (size > max) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
