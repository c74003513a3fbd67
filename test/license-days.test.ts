import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getLicenseDay, recordLicenseDays, type LicenseDayEntry } from '../db/license-days.ts';
import { writeTransaction } from '../db/transaction.ts';
import { seedFleet, testClock, testDb, type TestDb } from './helpers.ts';

/**
 * A day's licence figures (db/license-days.ts) add up report by report: refusals summed, the highest peak kept
 * (an unknown one counting as 0 once the day has a row), the latest known limit standing, however the reports
 * fall into batches.
 */
describe('licence days', () => {
  const clock = testClock('2026-12-07T06:00:00Z');
  let t: TestDb;
  let installationId: number;

  beforeEach(async () => {
    t = await testDb();
    installationId = (await seedFleet({ db: t.db, clock, actor: 'test' })).installation.id;
  });
  afterEach(async () => {
    await t.close();
  });

  type Figures = { limitHits: number; maxPeak: number | null; licenseLimit: number | null };
  /** The day's row as adding each report to it makes it. */
  function added(row: Figures | undefined, entry: LicenseDayEntry): Figures {
    if (!row) return { limitHits: entry.hits, maxPeak: entry.peak, licenseLimit: entry.limit };
    return { limitHits: row.limitHits + entry.hits, maxPeak: Math.max(entry.peak ?? 0, row.maxPeak ?? 0), licenseLimit: entry.limit ?? row.licenseLimit };
  }

  it('adds every report to its day, batch after batch', async () => {
    const figures = fc.record({
      hits: fc.constantFrom(0, 0, 0, 1, 3),
      peak: fc.constantFrom(null, 0, 4, 5, 5, 9),
      limit: fc.constantFrom(null, 10, 10, 12),
    });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 10, max: 24 }), fc.array(fc.array(figures, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }), async (date, batches) => {
        // Runs share the database: a day already written by an earlier run goes on from its row.
        const day = `2026-12-${date}`;
        let expected = (await getLicenseDay(t.db, installationId, day)) as Figures | undefined;
        if (expected) expected = { limitHits: expected.limitHits, maxPeak: expected.maxPeak, licenseLimit: expected.licenseLimit };
        for (const batch of batches) {
          const entries = batch.map((f) => ({ installationId, day, ...f }));
          for (const entry of entries) expected = added(expected, entry);
          await writeTransaction(t.db, (tx) => recordLicenseDays(tx, entries));
          expect(await getLicenseDay(t.db, installationId, day)).toMatchObject(expected!);
        }
      }),
      { numRuns: 60, seed: 7 },
    );
  });
});
