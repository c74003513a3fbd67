import { count } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentReport } from '../core/report.ts';
import { reports } from '../db/schema.ts';
import { getState } from '../db/state.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { IngestBatcher } from '../intake/batcher.ts';
import { parseReport } from '../intake/parse-report.ts';
import { seedFleet, testClock, testDb, type TestDb } from './helpers.ts';

describe('group commit of reports', () => {
  const clock = testClock('2023-02-15T06:00:00Z');
  let t: TestDb;
  let fleet: Awaited<ReturnType<typeof seedFleet>>;
  const report = (xml: string) => parseReport(Buffer.from(xml), 'xml', { tz: 'Europe/Moscow' });
  const stored = async () => (await t.db.select({ n: count() }).from(reports))[0]!.n;

  beforeEach(async () => {
    t = await testDb();
    fleet = await seedFleet({ db: t.db, clock, actor: 'test' });
  });
  afterEach(() => t.close());

  it('writes reports that arrive together in one batch, each answered on its own, repeats included', async () => {
    const batcher = new IngestBatcher(t.db, DEFAULT_INCIDENT_SETTINGS);
    const installationId = fleet.installation.id;
    const results = await Promise.all([
      batcher.submit({ installationId, report: report('<report id="a"><shell version="6.4.3.59"/></report>'), receivedAt: clock() }),
      batcher.submit({ installationId, report: report('<report id="b"><senselock state="lost"/></report>'), receivedAt: clock() }),
      batcher.submit({ installationId, report: report('<report id="a"><shell version="6.4.3.59"/></report>'), receivedAt: clock() }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['stored', 'stored', 'duplicate']);
    expect(results[1]!.opened.map((i) => i.ruleId)).toEqual(['KodeksXmlSensLockStatus']);
    expect(await stored()).toBe(2);
    expect(await getState(t.db, fleet.installation.id)).toMatchObject({ shellVersion: '6.4.3.59', senselockState: 'lost' });
  });

  it('rejects only the report that fails, keeping the others of its batch', async () => {
    const batcher = new IngestBatcher(t.db, DEFAULT_INCIDENT_SETTINGS);
    const installationId = fleet.installation.id;
    // Facts that cannot be written (JSON has no BigInt): storing this one report throws.
    const unwritable = { ...report('<report id="2"/>'), facts: { broken: 1n } as unknown as AgentReport['facts'] };
    const outcomes = await Promise.allSettled([
      batcher.submit({ installationId, report: report('<report id="1"/>'), receivedAt: clock() }),
      batcher.submit({ installationId, report: unwritable, receivedAt: clock() }),
      batcher.submit({ installationId, report: report('<report id="3"/>'), receivedAt: clock() }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await stored()).toBe(2);
  });

  it('refuses, writing nothing, a report whose installation is gone or whose token changed after it was let in', async () => {
    const batcher = new IngestBatcher(t.db, DEFAULT_INCIDENT_SETTINGS);
    const installationId = fleet.installation.id;
    const results = await Promise.all([
      batcher.submit({ installationId: 999_999, report: report('<report id="1"/>'), receivedAt: clock() }),
      batcher.submit({ installationId, tokenHash: 'f'.repeat(64), report: report('<report id="2"/>'), receivedAt: clock() }),
      batcher.submit({ installationId, tokenHash: fleet.installation.tokenHash, report: report('<report id="3"/>'), receivedAt: clock() }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['refused', 'refused', 'stored']);
    expect(await stored()).toBe(1);
  });
});
