import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { closeDb, openDb } from '../../db/open.ts';
import { seedBenchFleet } from './seed.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'bench-alertmanager-token';
const ALERTS = 10_000;
const INSTALLATIONS = 500;
/** How often the bench asks /healthz while the webhook is taken. */
const POLL_MS = 20;

function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024, peak: Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024 };
}

/** Ask /healthz every `POLL_MS` until stopped: the longest wait for an answer, and the longest gap between two answers. */
function pollHealth(url: string) {
  let running = true;
  let longestAnswerMs = 0;
  let longestGapMs = 0;
  let answers = 0;
  let failures = 0;
  let last = performance.now();
  const done = (async () => {
    while (running) {
      const asked = performance.now();
      try {
        await (await fetch(`${url}/healthz`)).arrayBuffer();
      } catch {
        // A connection the server dropped while it could not answer: counted, and asked again.
        failures++;
      }
      const now = performance.now();
      longestAnswerMs = Math.max(longestAnswerMs, now - asked);
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
      answers++;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { longestAnswerMs: Math.round(longestAnswerMs), longestGapMs: Math.round(longestGapMs), answers, failures };
    },
  };
}

/**
 * A storm from Alertmanager: the service (tools/bench/service.ts, on a fleet
 * of 1,000 whose first 500 installations are one manager's) takes one
 * webhook of 10,000 warnings of one alert name across those 500, then the
 * same webhook again (Alertmanager's repeat: every alert unchanged). Meanwhile
 * the bench asks /healthz every 20 ms: the longest it waited for an answer is
 * the longest the event loop was held. Peak RSS from the kernel's high-water mark.
 */
export async function benchWebhook() {
  const dir = mkdtempSync(join(tmpdir(), 'dozor-bench-webhook-'));
  const database = join(dir, 'webhook.sqlite');
  const db = openDb(database);
  await seedBenchFleet(db, 1000, new Date());
  // Clients 1..250 (installations 1..500) to one manager: all 10,000 alerts are for one chat, the worst case.
  db.$client.prepare('UPDATE clients SET manager_id = 10000 WHERE id <= 250').run();
  closeDb(db);

  const service = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tools/bench/service.ts')], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_PATH: database, ALERTMANAGER_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: service.stdout }).once('line', resolve);
    service.once('exit', (code) => reject(new Error(`the service exited with ${code}`)));
  });
  const body = JSON.stringify({
    version: '4',
    status: 'firing',
    receiver: 'dozor',
    alerts: Array.from({ length: ALERTS }, (_, i) => ({
      status: 'firing',
      labels: { alertname: 'HighLoad', installation_id: String((i % INSTALLATIONS) + 1), cpu: String(Math.floor(i / INSTALLATIONS)), severity: 'warning' },
      annotations: { summary: 'CPU load above 90% for 10 minutes' },
      startsAt: new Date().toISOString(),
    })),
  });
  const post = async () => {
    const started = performance.now();
    const response = await fetch(`${url}/api/v1/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
    const result = (await response.json()) as Record<string, number>;
    if (response.status !== 200) throw new Error(`the webhook answered ${response.status}: ${JSON.stringify(result)}`);
    return { ms: Math.round(performance.now() - started), result };
  };
  try {
    // Warm the connection and the health route; nothing of the webhook's path.
    for (let i = 0; i < 5; i++) await (await fetch(`${url}/healthz`)).arrayBuffer();
    const before = memoryMb(service.pid!);
    const first = pollHealth(url);
    const storm = await post();
    const stormHealth = await first.stop();
    const again = pollHealth(url);
    const repeat = await post();
    const repeatHealth = await again.stop();
    const after = memoryMb(service.pid!);
    return {
      alerts: ALERTS,
      installations: INSTALLATIONS,
      bodyMb: Number((body.length / 1024 / 1024).toFixed(1)),
      webhookMs: storm.ms,
      opened: storm.result.opened,
      longestStallMs: stormHealth.longestAnswerMs,
      longestHealthGapMs: stormHealth.longestGapMs,
      healthAnswers: stormHealth.answers,
      healthFailures: stormHealth.failures + repeatHealth.failures,
      repeatMs: repeat.ms,
      repeatUnchanged: repeat.result.unchanged,
      repeatLongestStallMs: repeatHealth.longestAnswerMs,
      rssBeforeMb: Math.round(before.rss),
      peakRssMb: Math.round(after.peak),
    };
  } finally {
    service.kill('SIGTERM');
    await new Promise((resolve) => service.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node --import tsx tools/bench/webhook.ts`: this part of the benchmark alone.
if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${JSON.stringify({ webhook: await benchWebhook() })}\n`);
