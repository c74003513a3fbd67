import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cluster, type RoleWork } from '../app/cluster.ts';
import { closeDatabase, closeDb, openDb, type DB } from '../db/open.ts';
import { openPostgres } from '../db/open-postgres.ts';
import { JobScheduler } from '../jobs/scheduler.ts';
import { runSweep } from '../jobs/sweep.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { addInstallation } from '../registry/installations.ts';
import { onPostgres } from './pg-helpers.ts';
import { DAY, postReport, seedFleet, silentLogger, sqlRows, sqlValue, startIntake, testClock, testDb, type TestDb } from './helpers.ts';

/**
 * Several instances on one database: each role held by one at a time and
 * taken over when its holder dies or loses the database, each job's slot run
 * once. Two handles on one database stand for two instances (two pools on
 * PostgreSQL, two connections to one file on SQLite); the leases' clock is
 * injected, and rounds are run by hand.
 */
const TTL = 60_000;

async function secondHandle(t: TestDb): Promise<DB> {
  return onPostgres() ? openPostgres(t.path, { maxConnections: 2 }) : openDb(t.path);
}

async function closeHandle(db: DB): Promise<void> {
  if (onPostgres()) await closeDatabase(db);
  else closeDb(db);
}

/** A role's work that records whether it runs. */
function recorder(): RoleWork & { running: boolean; starts: number } {
  const work = {
    running: false,
    starts: 0,
    start() {
      work.running = true;
      work.starts++;
    },
    stop() {
      work.running = false;
    },
  };
  return work;
}

describe('instances sharing one database', () => {
  let t: TestDb;
  let otherDb: DB;
  let now: number;
  const clusters: Cluster[] = [];
  const cluster = (db: DB, instance: string) => {
    const made = new Cluster({ db, instance, ttlMs: TTL, logger: silentLogger(), now: () => now });
    clusters.push(made);
    return made;
  };

  beforeEach(async () => {
    t = await testDb();
    otherDb = await secondHandle(t);
    now = Date.parse('2026-12-07T10:00:00Z');
  });
  afterEach(async () => {
    for (const c of clusters.splice(0)) await c.stop();
    await closeHandle(otherDb);
    await t.close();
  });

  it('gives a role to one instance; the other takes it over once the holder stops renewing, and the old holder stops its work', async () => {
    const a = cluster(t.db, 'a');
    const b = cluster(otherDb, 'b');
    const onA = recorder();
    const onB = recorder();
    a.role('outbox', onA);
    b.role('outbox', onB);
    await a.claimRound();
    await b.claimRound();
    expect([onA.running, onB.running]).toEqual([true, false]);
    expect((await b.view()).roles).toEqual([{ role: 'outbox', holder: 'a', mine: false, expiresAt: now + TTL }]);

    // A renews in time: B still cannot take it.
    now += TTL / 3;
    await a.claimRound();
    now += TTL / 3;
    await b.claimRound();
    expect(onB.running).toBe(false);

    // A goes silent (killed, or cut off): when its lease ends, B has the role.
    now += TTL;
    await b.claimRound();
    expect([onA.running, onB.running]).toEqual([true, true]);
    // A comes back: its renewal is refused (B's claim changed the fence), and it stops at once.
    await a.claimRound();
    expect([onA.running, onB.running]).toEqual([false, true]);
    expect((await a.view()).roles[0]).toMatchObject({ holder: 'b', mine: false });
    await a.claimRound();
    expect(onA.running).toBe(false);
  });

  it('hands a role over at once when its holder stops cleanly', async () => {
    const a = cluster(t.db, 'a');
    const b = cluster(otherDb, 'b');
    const onB = recorder();
    a.role('telegram-poll', recorder());
    b.role('telegram-poll', onB);
    await a.claimRound();
    await a.stop();
    await b.claimRound();
    expect(onB.running).toBe(true);
    expect((await b.view()).roles[0]).toMatchObject({ holder: 'b', mine: true });
  });

  it('stops the role by itself when it cannot renew for two thirds of the lease, before another instance may take it', async () => {
    const lost = await secondHandle(t);
    const a = cluster(lost, 'a');
    const b = cluster(otherDb, 'b');
    const onA = recorder();
    a.role('outbox', onA);
    b.role('outbox', recorder());
    await a.claimRound();
    await closeHandle(lost);
    // The database is gone for A: a third of the lease later it still works (its lease holds), at two thirds it stops.
    now += TTL / 3;
    await a.claimRound();
    expect(onA.running).toBe(true);
    now += TTL / 3;
    await a.claimRound();
    expect(onA.running).toBe(false);
    // B cannot have it before A's lease ends, however the two rounds fall.
    await b.claimRound();
    expect(b.holds('outbox')).toBe(false);
    now += TTL / 3;
    await b.claimRound();
    expect(b.holds('outbox')).toBe(true);
  });

  it('gives one instance the role when all of them ask at the same moment', async () => {
    const handles = [t.db, otherDb, await secondHandle(t), await secondHandle(t)];
    try {
      const works = handles.map(() => recorder());
      const all = handles.map((db, i) => {
        const c = cluster(db, `i${i}`);
        c.role('outbox', works[i]!);
        return c;
      });
      for (let round = 0; round < 5; round++) {
        await Promise.all(all.map((c) => c.claimRound()));
        expect(works.filter((w) => w.running)).toHaveLength(1);
        now += TTL * 2;
      }
    } finally {
      for (const c of clusters.splice(0)) await c.stop();
      await closeHandle(handles[2]!);
      await closeHandle(handles[3]!);
    }
  });

  it('runs a job slot once: a finished slot is not run again, a later one waits for a running one, a run whose holder died is taken over', async () => {
    const a = cluster(t.db, 'a');
    const b = cluster(otherDb, 'b');
    const slot = Date.parse('2026-12-07T10:00:00Z');
    const first = await a.claim('sweep', slot);
    expect(first).not.toBeNull();
    expect(await b.claim('sweep', slot)).toBeNull();
    // The next slot waits while the run of this one goes on.
    expect(await b.claim('sweep', slot + 60_000)).toBeNull();
    await first!.finish();
    expect(await b.claim('sweep', slot)).toBeNull();
    const second = await b.claim('sweep', slot + 60_000);
    expect(second).not.toBeNull();
    expect((await a.view()).jobs).toEqual([{ job: 'sweep', holder: 'b', slot: slot + 60_000, finished: false, claimedAt: now }]);

    // B dies in the run: once its claim expires, A takes that very slot over, and B (if it wakes) is told it lost it.
    now += TTL;
    const takenOver = await a.claim('sweep', slot + 60_000);
    expect(takenOver).not.toBeNull();
    await takenOver!.finish();
    expect(await a.lastFinished('sweep')).toEqual(new Date(now));
    await second!.finish();
    expect((await a.view()).jobs[0]).toMatchObject({ holder: 'a', finished: true });
  });

  it('gives each slot to one instance when both ask at once, many times over', async () => {
    const a = cluster(t.db, 'a');
    const b = cluster(otherDb, 'b');
    const winners: string[] = [];
    for (let i = 0; i < 20; i++) {
      const slot = Date.parse('2026-12-07T10:00:00Z') + i * 60_000;
      const [onA, onB] = await Promise.all([a.claim('digest', slot), b.claim('digest', slot)]);
      expect([onA, onB].filter((c) => c !== null)).toHaveLength(1);
      winners.push(onA ? 'a' : 'b');
      await (onA ?? onB)!.finish();
    }
    expect(winners).toHaveLength(20);
  });

  it('makes two schedulers run each second of an every-second job once between them', async () => {
    const runs: { instance: string; second: number }[] = [];
    const schedulers = [new JobScheduler(silentLogger(), cluster(t.db, 'a')), new JobScheduler(silentLogger(), cluster(otherDb, 'b'))];
    now = Date.now();
    schedulers.forEach((s, i) =>
      s.add('tick', '* * * * * *', 'UTC', () => {
        runs.push({ instance: i === 0 ? 'a' : 'b', second: Math.floor(Date.now() / 1000) });
      }),
    );
    // Cron is real time: a few of its seconds.
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        now = Date.now();
        if (new Set(runs.map((r) => r.second)).size >= 3) {
          clearInterval(check);
          resolve();
        }
      }, 50);
    });
    for (const s of schedulers) await s.stop();
    const seconds = runs.map((r) => r.second);
    expect(new Set(seconds).size).toBe(seconds.length);
  }, 15_000);

  it("runs a daily job's slot on the survivor when the instance running it died in it: once, fencing the dead run out", async () => {
    const runs: string[] = [];
    let aStarted!: () => void;
    const started = new Promise<void>((resolve) => (aStarted = resolve));
    let endA!: () => void;
    const aHangs = new Promise<void>((resolve) => (endA = resolve));
    const a = new JobScheduler(silentLogger(), cluster(t.db, 'a'));
    const b = new JobScheduler(silentLogger(), cluster(otherDb, 'b'));
    a.add('wake', '30 7 * * *', 'UTC', async () => {
      runs.push('a');
      aStarted();
      // A dies in the run: it neither finishes nor renews its claim again.
      await aHangs;
    });
    b.add('wake', '30 7 * * *', 'UTC', () => {
      runs.push('b');
    });
    const fence = async () => Number(await sqlValue(t.db, "select fence from leases where name = 'job:wake'"));
    try {
      const slot = new Date('2026-12-08T07:30:00Z');
      now = slot.getTime();
      const aRun = a.due('wake', slot);
      await started;
      // 07:30 reaches B as well: A has the slot, so B does not run it, nor while A's claim holds.
      await b.due('wake', slot);
      await b.recoverAbandoned();
      now += TTL - 1;
      await b.recoverAbandoned();
      expect(runs).toEqual(['a']);
      const aFence = await fence();

      // A's claim runs out unfinished: B runs that very slot, under a higher fence, and once.
      now += 1;
      await b.recoverAbandoned();
      expect(runs).toEqual(['a', 'b']);
      expect(await fence()).toBeGreaterThan(aFence);
      expect((await cluster(t.db, 'reader').view()).jobs).toEqual([{ job: 'wake', holder: 'b', slot: slot.getTime(), finished: true, claimedAt: now }]);
      now += TTL;
      await b.recoverAbandoned();
      await a.recoverAbandoned();
      expect(runs).toEqual(['a', 'b']);

      // A's dead run ending late changes nothing: its fence is not the row's.
      endA();
      await aRun;
      expect((await cluster(t.db, 'reader').view()).jobs[0]).toMatchObject({ holder: 'b', finished: true });
    } finally {
      endA();
      await a.stop();
      await b.stop();
    }
  });

  it("runs the latest slot the survivor's schedule reached, when it came while the dead instance's claim still held", async () => {
    const runs: string[] = [];
    let endA!: () => void;
    const aHangs = new Promise<void>((resolve) => (endA = resolve));
    let aStarted!: () => void;
    const started = new Promise<void>((resolve) => (aStarted = resolve));
    const a = new JobScheduler(silentLogger(), cluster(t.db, 'a'));
    const b = new JobScheduler(silentLogger(), cluster(otherDb, 'b'));
    // An instance that started after those slots came: its schedule reached none of them.
    const c = new JobScheduler(silentLogger(), cluster(otherDb, 'c'));
    a.add('tick', '* * * * *', 'UTC', async () => {
      runs.push('a');
      aStarted();
      await aHangs;
    });
    b.add('tick', '* * * * *', 'UTC', () => {
      runs.push('b');
    });
    c.add('tick', '* * * * *', 'UTC', () => {
      runs.push('c');
    });
    try {
      const ten = Date.parse('2026-12-07T10:00:00Z');
      now = ten;
      const aRun = a.due('tick', new Date(ten));
      await started;
      // 10:01 comes while A's run of 10:00 still holds its claim: B cannot take it.
      now = ten + TTL / 2;
      await b.due('tick', new Date(ten + 60_000));
      expect(runs).toEqual(['a']);
      now = ten + TTL;
      await c.recoverAbandoned();
      expect(runs).toEqual(['a']);
      await b.recoverAbandoned();
      expect(runs).toEqual(['a', 'b']);
      expect((await cluster(t.db, 'reader').view()).jobs).toEqual([{ job: 'tick', holder: 'b', slot: ten + 60_000, finished: true, claimedAt: now }]);
      endA();
      await aRun;
      expect((await cluster(t.db, 'reader').view()).jobs[0]).toMatchObject({ holder: 'b', slot: ten + 60_000, finished: true });
    } finally {
      endA();
      for (const s of [a, b, c]) await s.stop();
    }
  });

  it('does not start the next slot beside a run it took over that is still going on', async () => {
    const runs: string[] = [];
    const hang = (signal: AbortSignal, started: () => void) =>
      new Promise<void>((resolve) => {
        started();
        signal.addEventListener('abort', () => resolve());
      });
    let aStarted!: () => void;
    let bStarted!: () => void;
    const startedA = new Promise<void>((resolve) => (aStarted = resolve));
    const startedB = new Promise<void>((resolve) => (bStarted = resolve));
    const a = new JobScheduler(silentLogger(), cluster(t.db, 'a'));
    const b = new JobScheduler(silentLogger(), cluster(otherDb, 'b'));
    a.add('tick', '* * * * *', 'UTC', async ({ signal }) => {
      runs.push('a');
      await hang(signal, aStarted);
    });
    b.add('tick', '* * * * *', 'UTC', async ({ signal }) => {
      runs.push('b');
      await hang(signal, bStarted);
    });
    try {
      const ten = Date.parse('2026-12-07T10:00:00Z');
      now = ten;
      void a.due('tick', new Date(ten));
      await startedA;
      await b.due('tick', new Date(ten));
      now += TTL;
      void b.recoverAbandoned();
      await startedB;
      // 10:01 comes while B's taken-over run of 10:00 goes on: it is not started beside it.
      await b.due('tick', new Date(ten + 60_000));
      expect(runs).toEqual(['a', 'b']);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('opens each incident once and queues its alert once when both instances sweep at the same moment', async () => {
    const clock = testClock('2026-12-01T07:00:00Z');
    const ctx = { db: t.db, clock, actor: 'test' };
    const fleet = await seedFleet(ctx);
    const tokens = [fleet.token];
    for (let i = 1; i < 30; i++) tokens.push((await addInstallation(ctx, { client: String(fleet.client.id), name: `Филиал ${i}`, kind: 'local' })).token);
    const intake = await startIntake(t.db, clock);
    try {
      for (const [i, token] of tokens.entries()) {
        expect((await postReport(intake.url, `<report id="r${i}" generated-at="2026-12-01T07:00:00Z"><update operap-date="2026-11-30"/><senselock state="ok"/></report>`, { token })).status).toBe(202);
      }
    } finally {
      await intake.close();
    }
    // Three days of silence: every installation is overdue for the sweep, and both instances sweep at once (on SQLite,
    // which is one instance, two sweeps overlapping on its one connection).
    clock.advance(3 * DAY);
    const second = onPostgres() ? otherDb : t.db;
    const summaries = await Promise.all([runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock()), runSweep({ db: second, settings: DEFAULT_INCIDENT_SETTINGS }, clock())]);
    const opened = summaries[0].opened + summaries[1].opened;
    const incidents = await sqlRows<{ installation_id: number; rule_id: string; n: number }>(t.db, 'select installation_id, rule_id, count(*) as n from incidents group by installation_id, rule_id');
    expect(incidents.length).toBeGreaterThanOrEqual(30);
    expect(incidents.every((row) => Number(row.n) === 1)).toBe(true);
    expect(opened).toBe(incidents.length);
    // One alert per incident for its manager, whichever sweep opened it.
    expect(Number(await sqlValue(t.db, "select count(*) from outbox where kind = 'incident.opened'"))).toBe(incidents.length);
    expect(Number(await sqlValue(t.db, "select count(distinct incident_id) from outbox where kind = 'incident.opened'"))).toBe(incidents.length);
  });
});
