import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSystemProbers, parseStatusList, type Probers } from '../checks/probes/probers.ts';
import { getProbeStatuses } from '../db/probes.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { runProbeRound, type ProbeRoundOptions } from '../jobs/probe-round.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { addUser } from '../registry/users.ts';
import { silentLogger, sqlRows, testClock, testDb, type TestDb } from './helpers.ts';

/** A DNS server that takes every question and never answers: the resolver of a network that swallows DNS. */
async function blackHoleDns(): Promise<{ server: string; questions: () => number; close(): Promise<void> }> {
  const socket: Socket = createSocket('udp4');
  let questions = 0;
  socket.on('message', () => questions++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    questions: () => questions,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

const options: ProbeRoundOptions = {
  timeoutMs: 300,
  upStatuses: parseStatusList('200-399,401'),
  concurrency: 20,
  failuresToOpen: 2,
  groupMin: 3,
  historyMs: 7 * 86_400_000,
};

describe('probes of names that do not resolve', () => {
  let dns: Awaited<ReturnType<typeof blackHoleDns>>;
  let probers: Probers;
  beforeAll(async () => {
    dns = await blackHoleDns();
    probers = createSystemProbers({ dnsServers: [dns.server] });
  });
  afterAll(() => dns.close());

  it('bounds each lookup by the probe time limit and runs lookups side by side, not one after another', async () => {
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => probers.resolve(`kodeks-${i}.client.test`, 300)));
    const took = Date.now() - started;
    expect(answers.every((a) => 'error' in a && a.error === 'ETIMEOUT')).toBe(true);
    expect(dns.questions()).toBeGreaterThanOrEqual(60);
    // One after another (or four at a time, as getaddrinfo's threads would) this is 18 s (4.5 s); side by side, one limit.
    expect(took).toBeLessThan(2_000);
  });

  it('still knows localhost and the names the hosts file gives, without asking DNS', async () => {
    const before = dns.questions();
    expect(await probers.resolve('localhost', 300)).toEqual({ addresses: ['127.0.0.1', '::1'] });
    expect(await probers.resolve('127.0.0.1', 300)).toEqual({ addresses: ['127.0.0.1'] });
    expect(dns.questions()).toBe(before);
  });

  describe('a round over a large fleet', () => {
    const clock = testClock('2026-11-29T06:00:00Z');
    let t: TestDb;
    const FLEET = 1_000;
    beforeEach(async () => {
      t = await testDb();
      const ctx = { db: t.db, clock, actor: 'test' };
      await addUser(ctx, { telegramId: 1001, role: 'manager', name: 'Ксения' });
      for (let c = 0; c < FLEET / 50; c++) {
        const client = (await addClient(ctx, { name: `Клиент ${c}`, managerId: 1001 })).id;
        for (let i = 0; i < 50; i++) {
          const host = `kodeks-${c}-${i}.client.test`;
          await addInstallation(ctx, { client: String(client), name: `Сервер ${i}`, kind: 'network', host, url: `http://${host}/` });
        }
      }
      return () => t.close();
    });
    const round = (extra: { budgetMs?: number; signal?: AbortSignal }) =>
      runProbeRound({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, probers, options, ...extra });
    const probedIds = async () => (await sqlRows<{ id: number }>(t.db, 'select distinct installation_id as id from probe_state')).map((row) => row.id);

    it('is cut at its time limit, keeps what it probed, and the next round starts with the installations left', async () => {
      // Probed one by one this fleet takes 1,000 × 0.3 s / 20 = 15 s; the round is given one second.
      const started = Date.now();
      const first = await round({ budgetMs: 1_000 });
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(first.probed).toBeGreaterThan(0);
      expect(first.probed + first.leftOver).toBe(FLEET);
      const afterFirst = new Set(await probedIds());
      expect(afterFirst.size).toBe(first.probed);
      const [someProbed] = [...afterFirst];
      expect((await getProbeStatuses(t.db, someProbed!)).dns).toMatchObject({ ok: false, error: expect.stringContaining('ETIMEOUT') });

      clock.advance(60_000);
      const second = await round({ budgetMs: 1_000 });
      const afterSecond = await probedIds();
      // Nothing probed twice while some were never probed: the second round went on where the first stopped.
      expect(afterSecond.length).toBe(first.probed + second.probed);
    }, 15_000);

    it('ends at once when the service stops, without waiting for the probes running', async () => {
      const stopping = new AbortController();
      const started = Date.now();
      const running = round({ signal: stopping.signal });
      setTimeout(() => stopping.abort(new Error('stopping')), 100);
      const summary = await running;
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(summary.leftOver).toBeGreaterThan(FLEET / 2);
    });
  });
});
