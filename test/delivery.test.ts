import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.ts';
import { closeDatabase, openDatabase } from '../db/open.ts';
import { first } from '../db/query.ts';
import { enqueue, pendingCount } from '../db/outbox.ts';
import { incidents, outbox } from '../db/schema.ts';
import { Dispatcher } from '../delivery/dispatcher.ts';
import { SlidingWindowPacer, unpaced } from '../delivery/pacer.ts';
import { ingestReport } from '../intake/ingest.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { parseReport } from '../intake/parse-report.ts';
import {
  postReport,
  RecordingDelivery,
  seedFleet,
  silentLogger,
  startIntake,
  testClock,
  testDb,
  testDispatcher,
  type TestDb,
} from './helpers.ts';

describe('reliable delivery through the outbox', () => {
  const clock = testClock('2023-02-15T18:00:00Z');
  let t: TestDb;

  beforeEach(async () => {
    clock.set('2023-02-15T18:00:00Z');
    t = await testDb();
  });
  afterEach(() => t.close());

  const put = (chatId: number, n: number) => enqueue(t.db, { kind: 'test', chatId, incidentId: null, payload: { n } }, clock());

  it('retries a failing delivery with exponential backoff until it succeeds, never dropping it', async () => {
    await put(1001, 1);
    const delivery = new RecordingDelivery();
    delivery.failures = 5;
    const dispatcher = testDispatcher(t.db, clock, delivery);
    const retryTimes: string[] = [];
    for (let i = 0; i < 5; i++) {
      expect(await dispatcher.runOnce()).toEqual({ sent: 0, failed: 1, withdrawn: 0 });
      const row = (await first(t.db.select().from(outbox)))!;
      retryTimes.push(`${(row.nextAttemptAt.getTime() - clock().getTime()) / 1000}s`);
      // Nothing happens before the retry is due.
      expect(await dispatcher.runOnce()).toEqual({ sent: 0, failed: 0, withdrawn: 0 });
      clock.set(row.nextAttemptAt);
    }
    expect(retryTimes).toEqual(['1s', '2s', '4s', '8s', '16s']);
    expect(await dispatcher.runOnce()).toEqual({ sent: 1, failed: 0, withdrawn: 0 });
    expect(delivery.delivered.map((m) => m.payload)).toEqual([{ n: 1 }]);
    expect(await first(t.db.select().from(outbox))).toMatchObject({ status: 'sent', attempts: 5, lastError: null });
  });

  it('caps the backoff', async () => {
    await put(1001, 1);
    const delivery = new RecordingDelivery();
    delivery.failures = Infinity;
    const dispatcher = testDispatcher(t.db, clock, delivery);
    for (let i = 0; i < 12; i++) {
      await dispatcher.runOnce();
      clock.set((await first(t.db.select().from(outbox)))!.nextAttemptAt);
    }
    const row = (await first(t.db.select().from(outbox)))!;
    await dispatcher.runOnce();
    const after = (await first(t.db.select().from(outbox)))!;
    expect(after.nextAttemptAt.getTime() - row.nextAttemptAt.getTime()).toBe(60_000);
    expect(after.status).toBe('pending');
  });

  it('keeps order per chat: a chat waiting for a retry sends nothing newer, other chats go on', async () => {
    await put(1001, 1);
    await put(1001, 2);
    await put(2001, 3);
    const failing = new (class extends RecordingDelivery {
      override async deliver(batch: Parameters<RecordingDelivery['deliver']>[0]) {
        if (batch[0]!.chatId === 1001 && this.failures-- > 0) throw new Error('chat 1001 unavailable');
        return super.deliver(batch);
      }
    })();
    failing.failures = 1;
    const dispatcher = testDispatcher(t.db, clock, failing);
    await dispatcher.runOnce();
    expect(failing.delivered.map((m) => m.payload)).toEqual([{ n: 3 }]);
    clock.advance(1000);
    await dispatcher.runOnce();
    expect(failing.delivered.map((m) => m.payload)).toEqual([{ n: 3 }, { n: 1 }, { n: 2 }]);
  });

  it('loses nothing and repeats nothing across a restart between commit and delivery', async () => {
    const fleet = await seedFleet({ db: t.db, clock, actor: 'test' });
    const report = async (xml: string) =>
      await ingestReport(t.db, DEFAULT_INCIDENT_SETTINGS, fleet.installation, parseReport(Buffer.from(xml), 'xml', { tz: 'Europe/Moscow' }), clock());
    await report('<report id="1"><senselock state="lost"/></report>');
    // The process dies before the dispatcher ran: the announcement is committed, not delivered.
    await closeDatabase(t.db);

    // The same database opened anew: the SQLite file, or the PostgreSQL address.
    const reopened = await openDatabase(/^postgres(ql)?:\/\//.test(t.path) ? { url: t.path, path: '' } : { path: t.path });
    try {
      const delivery = new RecordingDelivery();
      await testDispatcher(reopened, clock, delivery).runOnce();
      expect(delivery.kinds()).toEqual(['incident.opened KodeksXmlSensLockStatus -> 1001']);
      // Another restart: what was delivered is not sent again.
      const again = new RecordingDelivery();
      await testDispatcher(reopened, clock, again).runOnce();
      expect(again.delivered).toEqual([]);
      expect(await pendingCount(reopened)).toBe(0);
    } finally {
      await closeDatabase(reopened);
    }
  });

  it('repeats at most the one message in flight when the process dies mid-delivery', async () => {
    await put(1001, 1);
    await put(1001, 2);
    // Delivery of message 1 succeeds, but the process dies before marking it sent.
    const delivered: unknown[] = [];
    const dying = {
      deliver: async (batch: { payload: unknown }[]) => {
        delivered.push(...batch.map((m) => m.payload));
        throw Object.assign(new Error('killed'), { fatal: true });
      },
    };
    await testDispatcher(t.db, clock, dying).runOnce();
    clock.advance(10_000);
    const delivery = new RecordingDelivery();
    await testDispatcher(t.db, clock, delivery).runOnce();
    expect([...delivered, ...delivery.delivered.map((m) => m.payload)]).toEqual([{ n: 1 }, { n: 1 }, { n: 2 }]);
  });
});

describe('from a report to the delivery channel', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await testDb();
  });
  afterEach(() => t.close());

  it('a report that says the key is lost reaches the delivery within a second', async () => {
    const fleet = await seedFleet({ db: t.db, clock: systemClock, actor: 'test' });
    const delivery = new RecordingDelivery();
    const dispatcher = new Dispatcher({ db: t.db, delivery, clock: systemClock, logger: silentLogger(), pacer: unpaced });
    dispatcher.start();
    const intake = await startIntake(t.db, systemClock, { onIncidentChange: () => dispatcher.wake() });
    try {
      const started = performance.now();
      const res = await postReport(intake.url, '<report id="evening"><senselock state="lost"/></report>', { token: fleet.token });
      expect(res.status).toBe(202);
      await delivery.waitFor(1);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(delivery.kinds()).toEqual(['incident.opened KodeksXmlSensLockStatus -> 1001']);
      // Marked sent once the channel took it: at once on SQLite, a round trip later on PostgreSQL.
      await expect.poll(() => t.db.select().from(outbox).where(eq(outbox.status, 'sent'))).toHaveLength(1);
    } finally {
      await intake.close();
      await dispatcher.stop();
    }
  });
});

describe('grouping and pacing', () => {
  const clock = testClock('2023-02-15T06:00:00Z');
  let t: TestDb;
  beforeEach(async () => {
    clock.set('2023-02-15T06:00:00Z');
    t = await testDb();
  });
  afterEach(() => t.close());
  const alert = (chatId: number, n: number) => enqueue(t.db, { kind: 'incident.opened', chatId, incidentId: null, payload: { n } }, clock());

  it('sends the first alert at once and collects the next ones for the window into one message; other messages pass meanwhile', async () => {
    const delivery = new RecordingDelivery();
    const dispatcher = testDispatcher(t.db, clock, delivery, 30_000);
    await alert(-100, 1);
    await dispatcher.runOnce();
    clock.advance(1000);
    await alert(-100, 2);
    await alert(-100, 3);
    await enqueue(t.db, { kind: 'incident.acknowledged', chatId: -100, incidentId: null, payload: { n: 4 } }, clock());
    await dispatcher.runOnce();
    expect(delivery.batches.map((b) => b.map((m) => m.payload))).toEqual([[{ n: 1 }], [{ n: 4 }]]);
    clock.advance(29_000);
    await dispatcher.runOnce();
    expect(delivery.batches.map((b) => b.map((m) => m.payload))).toEqual([[{ n: 1 }], [{ n: 4 }], [{ n: 2 }, { n: 3 }]]);
  });

  it('keeps a chat with constant churn to one alert message per window, and folds changes into alerts not shown yet', async () => {
    const fleet = await seedFleet({ db: t.db, clock, actor: 'test' });
    const delivery = new RecordingDelivery();
    const dispatcher = testDispatcher(t.db, clock, delivery, 30_000);
    const incident = async (n: number) =>
      (
        await t.db
          .insert(incidents)
          .values({ installationId: fleet.installation.id, ruleId: `R${n}`, severity: 'critical', status: 'resolved', details: {}, openedAt: clock() })
          .returning({ id: incidents.id })
      )[0]!;
    for (let n = 0; n < 60; n++) {
      const { id } = await incident(n);
      await enqueue(t.db, { kind: 'incident.opened', chatId: 1001, incidentId: id, payload: { n } }, clock());
      await enqueue(t.db, { kind: 'incident.resolved', chatId: 1001, incidentId: id, payload: { n } }, clock());
      await dispatcher.runOnce();
      clock.advance(2000);
    }
    clock.advance(30_000);
    await dispatcher.runOnce();
    // Two minutes of churn: the first alert and its resolution, then one grouped message per window.
    const kinds = delivery.batches.map((b) => `${b[0]!.kind} x${b.length}`);
    expect(kinds.filter((k) => k.startsWith('incident.opened')).length).toBeLessThanOrEqual(6);
    expect((await t.db.select().from(outbox)).filter((m) => m.status === 'pending')).toEqual([]);
  });

  it('sends alerts that are due together as one message', async () => {
    const delivery = new RecordingDelivery();
    for (let i = 1; i <= 5; i++) await alert(1001, i);
    await testDispatcher(t.db, clock, delivery).runOnce();
    expect(delivery.batches).toHaveLength(1);
    expect(delivery.batches[0]).toHaveLength(5);
  });

  it('serves every chat in a lane of its own: a critical alert for an idle chat goes at once while another chat drains 500 messages', async () => {
    // One clock for the dispatcher and the pacer: the pacer's waits move it, so Telegram's limits play out in virtual time.
    const pacer = new SlidingWindowPacer(undefined, () => clock().getTime(), async (ms) => clock.advance(ms));
    for (let n = 1; n <= 500; n++) await enqueue(t.db, { kind: 'system.notice', chatId: 3001, incidentId: null, payload: { n } }, clock());
    const sentAt = new Map<string, number>();
    let alertQueuedAt = 0;
    const wake = { dispatcher: undefined as Dispatcher | undefined };
    const delivery = new (class extends RecordingDelivery {
      override async deliver(batch: Parameters<RecordingDelivery['deliver']>[0]) {
        await super.deliver(batch);
        for (const m of batch) sentAt.set(`${m.chatId}:${(m.payload as { n: unknown }).n}`, clock().getTime());
        if (batch[0]!.chatId === 3001 && (batch[0]!.payload as { n: number }).n === 10) {
          // The admin's chat is ten messages into its backlog when a client's key is lost.
          alertQueuedAt = clock().getTime();
          await enqueue(t.db, { kind: 'incident.opened', chatId: 1001, incidentId: null, payload: { n: 'alert', severity: 'critical' } }, clock());
          wake.dispatcher!.wake();
        }
      }
    })();
    const dispatcher = new Dispatcher({ db: t.db, delivery, clock, logger: silentLogger(), pacer, groupWindowMs: 30_000 });
    wake.dispatcher = dispatcher;
    dispatcher.start();
    await delivery.waitFor(501);
    await dispatcher.stop();

    expect(sentAt.get('1001:alert')! - alertQueuedAt).toBeLessThanOrEqual(2000);
    // It went while the backlog was still draining, which kept its order at one a second.
    const backlog = [...sentAt].filter(([key]) => key.startsWith('3001:'));
    expect(backlog.map(([key]) => Number(key.split(':')[1]))).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(backlog.filter(([, at]) => at <= sentAt.get('1001:alert')!).length).toBeLessThan(15);
    expect(backlog.at(-1)![1] - backlog[0]![1]).toBe(499_000);
  });

  it('puts a critical before the warnings and notices queued in its chat, however many, keeping the order within each', async () => {
    const delivery = new RecordingDelivery();
    for (let n = 1; n <= 300; n++) await enqueue(t.db, { kind: 'system.notice', chatId: 1001, incidentId: null, payload: { n } }, clock());
    await enqueue(t.db, { kind: 'incident.opened', chatId: 1001, incidentId: null, payload: { n: 'critical', severity: 'critical' } }, clock());
    await enqueue(t.db, { kind: 'system.notice', chatId: 1001, incidentId: null, payload: { n: 301 } }, clock());
    await enqueue(t.db, { kind: 'incident.reminder', chatId: 1001, incidentId: null, payload: { n: 'its reminder' }, urgent: true }, clock());
    await testDispatcher(t.db, clock, delivery).runOnce();
    expect(delivery.delivered.map((m) => (m.payload as { n: unknown }).n)).toEqual(['critical', 'its reminder', ...Array.from({ length: 301 }, (_, i) => i + 1)]);
  });

  it('holds a chat at its head by that order: a warning waiting for a retry lets a critical pass, a critical waiting for one holds everything', async () => {
    const delivery = new RecordingDelivery();
    const dispatcher = testDispatcher(t.db, clock, delivery);
    const sent = () => delivery.delivered.map((m) => (m.payload as { n: unknown }).n);
    const notice = (n: number) => enqueue(t.db, { kind: 'system.notice', chatId: 1001, incidentId: null, payload: { n } }, clock());
    await notice(1);
    delivery.failures = 1;
    await dispatcher.runOnce();
    await notice(2);
    await enqueue(t.db, { kind: 'system.notice', chatId: 1001, incidentId: null, payload: { n: 'critical', severity: 'critical' } }, clock());
    await dispatcher.runOnce();
    expect(sent()).toEqual(['critical']);
    clock.advance(1000);
    await dispatcher.runOnce();
    expect(sent()).toEqual(['critical', 1, 2]);

    delivery.failures = 1;
    await enqueue(t.db, { kind: 'system.notice', chatId: 1001, incidentId: null, payload: { n: 'second critical', severity: 'critical' } }, clock());
    await notice(3);
    await dispatcher.runOnce();
    expect(sent()).toEqual(['critical', 1, 2]);
    clock.advance(1000);
    await dispatcher.runOnce();
    expect(sent()).toEqual(['critical', 1, 2, 'second critical', 3]);
  });

  it('never holds a critical alert for the warnings\' grouping window; criticals collect for a window of their own', async () => {
    const delivery = new RecordingDelivery();
    const dispatcher = testDispatcher(t.db, clock, delivery, 30_000);
    const critical = (n: string) => enqueue(t.db, { kind: 'incident.opened', chatId: 1001, incidentId: null, payload: { n, severity: 'critical' } }, clock());
    const batches = () => delivery.batches.map((b) => b.map((m) => (m.payload as { n: unknown }).n));
    await alert(1001, 1);
    await dispatcher.runOnce();
    clock.advance(1000);
    await alert(1001, 2);
    await critical('key lost');
    await dispatcher.runOnce();
    expect(batches()).toEqual([[1], ['key lost']]);
    clock.advance(1000);
    await critical('service down');
    await critical('storage');
    await dispatcher.runOnce();
    expect(batches()).toEqual([[1], ['key lost']]);
    clock.advance(29_000);
    await dispatcher.runOnce();
    // Both windows have closed: what is ready goes as one message, the criticals first.
    expect(batches()).toEqual([[1], ['key lost'], ['service down', 'storage', 2]]);
  });

  it('sends a critical alert by itself, first, rather than inside a storm of warnings ready at the same moment', async () => {
    const delivery = new RecordingDelivery();
    for (let n = 1; n <= 300; n++) await enqueue(t.db, { kind: 'incident.opened', chatId: 1001, incidentId: null, payload: { n, ruleId: `am:HighLoad:${String(n).padStart(16, '0')}` } }, clock());
    await enqueue(t.db, { kind: 'incident.opened', chatId: 1001, incidentId: null, payload: { n: 'critical', ruleId: 'KodeksXmlSensLockStatus', severity: 'critical' } }, clock());
    await testDispatcher(t.db, clock, delivery).runOnce();
    const batches = delivery.batches.map((b) => b.map((m) => (m.payload as { n: unknown }).n));
    expect(batches[0]).toEqual(['critical']);
    // The storm of one alert name goes folded, 200 at a time (as many as are read at once).
    expect(batches.slice(1).map((b) => b.length)).toEqual([200]);
  });

  it('lets urgent messages go first when the overall limit is what holds sends back', async () => {
    let now = 0;
    // Time moves only when the test says so: every message below is waiting when the window frees.
    const sleeping: (() => void)[] = [];
    const pacer = new SlidingWindowPacer({ perSecondOverall: 2, privateChatIntervalMs: 1000, groupChatIntervalMs: 3000 }, () => now, (ms) => {
      const until = now + ms;
      return new Promise<void>((resolve) => sleeping.push(() => ((now = Math.max(now, until)), resolve())));
    });
    await pacer.acquire(1);
    await pacer.acquire(2);
    const order: number[] = [];
    const waits = [
      pacer.acquire(3).then(() => order.push(3)),
      pacer.acquire(4, { urgent: true }).then(() => order.push(4)),
      pacer.acquire(5).then(() => order.push(5)),
    ];
    sleeping.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([4, 3]);
    sleeping.shift()!();
    await Promise.all(waits);
    expect(order).toEqual([4, 3, 5]);
    const aborted = new AbortController();
    const waiting = pacer.acquire(5, { signal: aborted.signal });
    aborted.abort(new Error('stopping'));
    await expect(waiting).rejects.toThrow('stopping');
  });

  it('paces sends: one a second per private chat, one per three seconds per group, 30 a second overall', async () => {
    let now = 0;
    const waits: number[] = [];
    const pacer = new SlidingWindowPacer(undefined, () => now, async (ms) => {
      waits.push(ms);
      now += ms;
    });
    const times = async (chatId: number, count: number) => {
      const at: number[] = [];
      for (let i = 0; i < count; i++) {
        await pacer.acquire(chatId);
        at.push(now);
      }
      return at;
    };
    expect(await times(1001, 3)).toEqual([0, 1000, 2000]);
    expect(await times(-100, 3)).toEqual([2000, 5000, 8000]);
    now = 100_000;
    const burst: number[] = [];
    for (let chat = 1; chat <= 31; chat++) {
      await pacer.acquire(chat);
      burst.push(now);
    }
    expect(burst.slice(0, 30).every((at) => at === 100_000)).toBe(true);
    expect(burst[30]).toBe(101_000);
  });
});
