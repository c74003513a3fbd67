import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
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
}

export interface MetricsPullSummary {
  pulled: number;
  failed: number;
}

/**
 * Read `<url>/sysmon/metrics` of every installation dozor can reach and holds
 * a metrics account for, whose latest metrics (pulled or uploaded) are at
 * least PULL_EVERY old, with Basic auth, as SMART polls cloud installations.
 * The latest sample set is kept as an upload's would be; a failure is noted on
 * the installation (the card shows why) and tried again after PULL_EVERY.
 */
export async function pullMetrics(deps: MetricsPullDeps): Promise<MetricsPullSummary> {
  const due = listMetricsPullDue(deps.db, new Date(deps.clock().getTime() - deps.everyMs));
  const limit = pLimit(deps.concurrency);
  const summary: MetricsPullSummary = { pulled: 0, failed: 0 };
  await Promise.all(
    due.map((target) =>
      limit(async () => {
        if (deps.signal?.aborted) return;
        const outcome = await pullOne(target, deps);
        const at = deps.clock();
        if (deps.settings) noteServiceLogin(deps.db, deps.settings, target.id, loginOutcome(outcome), at);
        if ('error' in outcome) {
          summary.failed++;
          deps.logger.warn({ installation: target.id, reason: outcome.error }, 'metrics could not be read');
          noteUnreadableMetrics(deps.db, target.id, outcome.error, at, null);
        } else {
          summary.pulled++;
          saveMetricsSnapshot(deps.db, { installationId: target.id, takenAt: outcome.takenAt ?? at, receivedAt: at, samples: outcome.samples, uploadId: null });
        }
      }),
    ),
  );
  return summary;
}

async function pullOne(target: MetricsPullTarget, deps: MetricsPullDeps): Promise<ReturnType<typeof readMetricsFile> | { error: string; refusedAccount?: string }> {
  const account = metricsAccountOf(target, deps.secretKey);
  if (!account) return { error: 'the stored metrics password cannot be opened with this SECRET_KEY; set it again (installation set --metrics-password)' };
  const address = `${target.url.replace(/\/+$/, '')}/sysmon/metrics`;
  const signals = [AbortSignal.timeout(deps.timeoutMs), deps.signal].filter((s) => s !== undefined);
  try {
    const response = await fetch(address, {
      headers: { authorization: `Basic ${Buffer.from(`${account.user}:${account.password}`, 'utf8').toString('base64')}` },
      // The credentials are for this server only: a redirect elsewhere is a failure, not followed.
      redirect: 'manual',
      signal: AbortSignal.any(signals),
    });
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      return { error: `${address} refused the account ${account.user} (HTTP ${response.status})`, refusedAccount: account.user };
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      return { error: `${address} answered HTTP ${response.status}` };
    }
    const body = await readBounded(response, MAX_METRICS_BYTES);
    if (body === null) return { error: `${address} sent more than ${MAX_METRICS_BYTES / 1024 / 1024} MiB of metrics` };
    const date = response.headers.get('date');
    return readMetricsFile(date ? `date: ${date}\n${body}` : body);
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${deps.timeoutMs / 1000} s` : (cause ?? (err as Error).message);
    return { error: `${address}: ${reason}` };
  }
}

/** Whether the service account got in: refused (its name), in (null), or not known (undefined: no answer, say). */
function loginOutcome(outcome: { error: string; refusedAccount?: string } | object): string | null | undefined {
  if ('refusedAccount' in outcome) return outcome.refusedAccount;
  return 'error' in outcome ? undefined : null;
}

/**
 * Whether the service account got in, as the pull found it: refused (the
 * account's name), in (null), or not known (undefined: no answer, say). A
 * change goes into the installation's state and the installation is judged
 * again, so `KodeksAuthNotWork` opens and closes with it.
 */
function noteServiceLogin(db: DB, settings: IncidentSettings, installationId: number, refused: string | null | undefined, at: Date): void {
  if (refused === undefined) return;
  writeTransaction(db, () => {
    const state = getState(db, installationId);
    if (!state || (state.serviceLoginRefused ?? null) === refused) return;
    const next = { ...state };
    if (refused === null) delete next.serviceLoginRefused;
    else next.serviceLoginRefused = refused;
    saveState(db, installationId, next);
    checkInstallation(db, settings, installationId, at, { state: next });
  });
}

/** The body as text, or null once it passes `max` bytes (the rest is not read). */
async function readBounded(response: Response, max: number): Promise<string | null> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    // Leaving the loop cancels the rest of the body.
    if (size > max) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
