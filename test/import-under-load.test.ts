import { watchStandIn } from './russian-words.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dozorAsync } from './cli-helpers.ts';
import { postReport, SAMPLE_XML, tempDir } from './helpers.ts';
import { serviceDatabase, startServiceProcess } from './process-helpers.ts';
import { TelegramStandIn } from '../tools/standin/telegram.ts';

describe('a large import while the service runs', () => {
  it('imports 10,000 rows while every agent report sent meanwhile is accepted', async () => {
    const dir = tempDir();
    const database = await serviceDatabase(dir.path);
    const token = await database.seed();
    const csv = join(dir.path, 'fleet.csv');
    writeFileSync(csv, ['client,installation,kind,host', ...Array.from({ length: 10_000 }, (_, i) => `ООО «Вектор»,Сервер ${i},network,s${i}.example.ru`)].join('\n'));
    const standIn = await TelegramStandIn.start();
    watchStandIn(standIn);
    const service = await startServiceProcess({ ...database.env, BOT_TOKEN: standIn.token, TELEGRAM_API_ROOT: standIn.url, PROBE_CRON: '0 0 1 1 *' });
    try {
      const report = SAMPLE_XML.replace(' id="agent-unique-report-id"', '');
      const statuses: number[] = [];
      let importing = true;
      const agent = (async () => {
        while (importing) statuses.push((await postReport(service.url, report, { token })).status);
      })();
      const imported = await dozorAsync(database.target, 'import', csv, '--json');
      importing = false;
      await agent;
      expect(imported.stderr).toBe('');
      expect((JSON.parse(imported.stdout) as { installations: unknown[] }).installations).toHaveLength(10_000);
      expect(statuses.length).toBeGreaterThan(5);
      expect(statuses.filter((status) => status !== 202)).toEqual([]);
    } finally {
      await service.stop();
      await standIn.close();
      await database.drop();
      dir.cleanup();
    }
  }, 60_000);
});
