import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { eq, inArray } from 'drizzle-orm';
import { systemClock } from '../../core/clock.ts';
import { closeDb, openDb } from '../../db/open.ts';
import { incidents, outbox, reports } from '../../db/schema.ts';
import { addClient } from '../../registry/clients.ts';
import { addInstallation } from '../../registry/installations.ts';
import { addUser } from '../../registry/users.ts';
import { TelegramStandIn } from '../standin/telegram.ts';

/**
 * `npm run soak`: the service under simulated fleet load for SOAK_MINUTES
 * (default 30), with random faults: Telegram down for a while, the service
 * killed with SIGKILL and restarted. At the end it counts reports accepted
 * versus stored and incidents opened versus announced, and prints the memory
 * curve. Exits non-zero if anything was lost or announced twice.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const AGENTS = Number(process.env.SOAK_AGENTS ?? 200);
const dir = mkdtempSync(join(tmpdir(), 'dozor-soak-'));
const database = join(dir, 'soak.sqlite');
const log = (text: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);

const standIn = await TelegramStandIn.start();
const seed = openDb(database);
const tokens: string[] = [];
{
  const ctx = { db: seed, clock: systemClock, actor: 'soak' };
  await addUser(ctx, { telegramId: 2001, role: 'lead', name: 'Руководитель' });
  for (let m = 0; m < 5; m++) await addUser(ctx, { telegramId: 1001 + m, role: 'manager', name: `Менеджер ${m + 1}`, leadId: 2001 });
  for (let i = 0; i < AGENTS; i++) {
    const client = await addClient(ctx, { name: `Клиент ${i}`, managerId: 1001 + (i % 5) });
    tokens.push((await addInstallation(ctx, { client: String(client.id), name: `Сервер-${i}`, kind: 'local' })).token);
  }
}
closeDb(seed);

let service: { child: ChildProcessWithoutNullStreams; url: string } | null = null;
const startService = () =>
  new Promise<{ child: ChildProcessWithoutNullStreams; url: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'app/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_PATH: database, HTTP_PORT: '0', BOT_TOKEN: standIn.token, TELEGRAM_API_ROOT: standIn.url, LOG_LEVEL: 'info', OUTBOX_RETRY_MAX: '20s' },
    });
    child.once('exit', (code) => reject(new Error(`service exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('"dozor is running"')) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
  });

const accepted = new Set<string>();
let sent = 0;
let refused = 0;
let seq = 0;
const memory: { minute: number; rssMb: number }[] = [];
const started = Date.now();
const end = started + MINUTES * 60_000;

async function agent(i: number): Promise<void> {
  while (Date.now() < end) {
    const current = service;
    if (current) {
      const id = `s${i}-${seq++}`;
      const roll = Math.random();
      const body = `<report id="${id}"><senselock state="${roll < 0.02 ? 'lost' : 'ok'}"/><service state="${roll > 0.99 ? 'stopped' : 'running'}"/></report>`;
      try {
        const response = await fetch(`${current.url}/api/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/xml' }, body });
        sent++;
        if (response.status === 202) accepted.add(id);
        else refused++;
      } catch {
        // The service is being killed; the agent tries again later.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1000 + Math.random() * 4000));
  }
}

async function faults(): Promise<void> {
  while (Date.now() < end - 60_000) {
    await new Promise((resolve) => setTimeout(resolve, 60_000 + Math.random() * 120_000));
    if (Date.now() >= end - 60_000) break;
    if (Math.random() < 0.5) {
      const seconds = 10 + Math.floor(Math.random() * 50);
      log(`fault: Telegram answers 502 for ${seconds} s`);
      standIn.failWith(502);
      setTimeout(() => standIn.recover(), seconds * 1000);
    } else {
      log('fault: the service is killed with SIGKILL and restarted');
      const old = service!;
      service = null;
      old.child.removeAllListeners('exit');
      old.child.kill('SIGKILL');
      await new Promise((resolve) => old.child.once('exit', resolve));
      service = await startService();
    }
  }
}

service = await startService();
log(`soak: ${AGENTS} agents for ${MINUTES} min against ${service.url}`);
const sampler = setInterval(() => {
  if (!service?.child.pid) return;
  try {
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${service.child.pid}/status`, 'utf8'))![1]) / 1024;
    memory.push({ minute: Number(((Date.now() - started) / 60_000).toFixed(1)), rssMb: Math.round(rss) });
  } catch {
    // between a kill and a restart
  }
}, 10_000);
await Promise.all([...Array.from({ length: AGENTS }, (_, i) => agent(i)), faults()]);
clearInterval(sampler);
standIn.recover();

// Let the outbox drain, then stop cleanly.
const db = openDb(database);
for (let i = 0; i < 600 && db.select().from(outbox).where(eq(outbox.status, 'pending')).all().length > 0; i++) {
  await new Promise((resolve) => setTimeout(resolve, 100));
}
service!.child.removeAllListeners('exit');
service!.child.kill('SIGTERM');
await new Promise((resolve) => service!.child.once('exit', resolve));

const ids = [...accepted];
let stored = 0;
for (let i = 0; i < ids.length; i += 500) stored += db.select({ id: reports.id }).from(reports).where(inArray(reports.reportId, ids.slice(i, i + 500))).all().length;
const opened = db.select({ id: incidents.id }).from(incidents).all().length;
const announcedIncidents = new Set(
  db.select({ id: outbox.incidentId }).from(outbox).where(eq(outbox.kind, 'incident.opened')).all().map((r) => r.id),
).size;
const pendingRows = db.select().from(outbox).where(eq(outbox.status, 'pending')).all();
const pending = pendingRows.length;
if (process.env.SOAK_DEBUG) console.log(pendingRows.slice(0, 5));
const alertMessages = standIn.events.filter((e) => e.type === 'sent').length;
closeDb(db);
await standIn.close();
rmSync(dir, { recursive: true, force: true });

const lostReports = ids.length - stored;
log(`reports: sent ${sent}, accepted ${ids.length}, stored ${stored}, lost ${lostReports}, refused ${refused}`);
log(`incidents: opened ${opened}, announced ${announcedIncidents}, announcements still queued ${pending}, Telegram messages ${alertMessages}`);
log(`memory (RSS MB by minute): ${memory.map((m) => `${m.minute}:${m.rssMb}`).join(' ')}`);
const ok = lostReports === 0 && pending === 0 && announcedIncidents === opened;
log(ok ? 'soak passed: nothing lost, nothing left undelivered' : 'soak FAILED');
process.exit(ok ? 0 : 1);
