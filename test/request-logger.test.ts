import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../app/http.ts';
import { createLogger } from '../app/logger.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { postReport, SAMPLE_XML, seedFleet, testClock, testDb, type TestDb } from './helpers.ts';

/**
 * A request's logger is made only when the request logs (app/request-logger.ts):
 * the lines it writes then carry the request's id as fastify's own child
 * logger's did; a report that logs nothing makes none.
 */
describe('the request logger', () => {
  const clock = testClock('2023-02-15T06:15:00Z');
  let t: TestDb;
  let lines: Record<string, unknown>[];
  let close: () => Promise<void>;
  let url: string;
  let token: string;

  beforeEach(async () => {
    t = await testDb();
    token = (await seedFleet({ db: t.db, clock, actor: 'test' })).token;
    lines = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const app = buildHttpServer({ db: t.db, clock, logger, settings: DEFAULT_INCIDENT_SETTINGS });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
  });
  afterEach(async () => {
    await close();
    await t.close();
  });

  it('writes a request\'s lines with its id, and none for a report that went well', async () => {
    expect((await postReport(url, SAMPLE_XML, { token })).status).toBe(202);
    expect(lines.filter((line) => line.reqId !== undefined)).toEqual([]);

    expect((await postReport(url, '<report><broken', { token })).status).toBe(400);
    expect((await postReport(url, '<report><broken', { token })).status).toBe(400);
    const rejected = lines.filter((line) => line.msg === 'report rejected');
    expect(rejected).toHaveLength(2);
    expect(rejected.map((line) => line.reqId)).toEqual([expect.stringMatching(/^req-/), expect.stringMatching(/^req-/)]);
    expect(rejected[0]!.reqId).not.toBe(rejected[1]!.reqId);
    expect(rejected[0]).toMatchObject({ level: 40, installation: expect.any(Number), reason: expect.stringContaining('malformed XML') });
  });
});
