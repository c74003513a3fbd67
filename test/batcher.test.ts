import { count } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
    const installation = { id: fleet.installation.id, tz: 'Europe/Moscow' };
    const results = await Promise.all([
      batcher.submit(installation, report('<report id="a"><shell version="6.4.3.59"/></report>'), clock()),
      batcher.submit(installation, report('<report id="b"><senselock state="lost"/></report>'), clock()),
      batcher.submit(installation, report('<report id="a"><shell version="6.4.3.59"/></report>'), clock()),
    ]);
    expect(results.map((r) => r.status)).toEqual(['stored', 'stored', 'duplicate']);
    expect(results[1]!.opened.map((i) => i.ruleId)).toEqual(['KodeksXmlSensLockStatus']);
    expect(await stored()).toBe(2);
    expect(await getState(t.db, fleet.installation.id)).toMatchObject({ shellVersion: '6.4.3.59', senselockState: 'lost' });
  });

  it('rejects only the report that fails, keeping the others of its batch', async () => {
    const batcher = new IngestBatcher(t.db, DEFAULT_INCIDENT_SETTINGS);
    const good = { id: fleet.installation.id, tz: 'Europe/Moscow' };
    const gone = { id: 999_999, tz: 'Europe/Moscow' }; // no such installation: the database refuses it
    const outcomes = await Promise.allSettled([
      batcher.submit(good, report('<report id="1"/>'), clock()),
      batcher.submit(gone, report('<report id="2"/>'), clock()),
      batcher.submit(good, report('<report id="3"/>'), clock()),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await stored()).toBe(2);
  });
});
