import { DateTime } from 'luxon';
import type { DB } from '../../db/open.ts';
import { recordLicenseDay } from '../../db/license-days.ts';
import { addClient } from '../../registry/clients.ts';
import { addInstallation, setThresholds } from '../../registry/installations.ts';
import { changePolicy } from '../../registry/policies.ts';
import { addUser } from '../../registry/users.ts';

export interface DemoPerson {
  id: number;
  first_name: string;
  last_name: string;
  name: string;
}

export const PEOPLE: DemoPerson[] = [
  { id: 2001, first_name: 'Ирина', last_name: 'Петрова', name: 'Ирина Петрова' },
  { id: 1001, first_name: 'Ксения', last_name: 'Шабанова', name: 'Ксения Шабанова' },
  { id: 1002, first_name: 'Пётр', last_name: 'Сидоров', name: 'Пётр Сидоров' },
];

export const CLOUD_PROVIDER = 'Техэксперт.Облако';

export interface DemoInstallation {
  key: 'romashka' | 'vector' | 'sever' | 'berezka' | 'sidorov';
  id: number;
  token: string;
  host: string | null;
}

/**
 * A small, realistic fleet: a team lead and two managers; an office network
 * installation, a local one, and three in the vendor's cloud.
 */
export async function seedDemoFleet(db: DB, clock: () => Date, webPort: number): Promise<DemoInstallation[]> {
  const ctx = { db, clock, actor: 'demo' };
  await addUser(ctx, { telegramId: 2001, role: 'lead', name: 'Ирина Петрова' });
  await addUser(ctx, { telegramId: 1001, role: 'manager', name: 'Ксения Шабанова', leadId: 2001 });
  await addUser(ctx, { telegramId: 1002, role: 'manager', name: 'Пётр Сидоров', leadId: 2001 });
  await changePolicy(ctx, 'min-shell-version', '6.4.3.59');

  const client = async (name: string, inn: string, managerId: number) => (await addClient(ctx, { name, inn, managerId })).id;
  const romashka = await client('ООО «Ромашка»', '7701234567', 1001);
  const vector = await client('АО «Вектор»', '7801234567', 1002);
  const sever = await client('ООО «Север»', '7712345678', 1001);
  const berezka = await client('ООО «Берёзка»', '7723456789', 1001);
  const sidorov = await client('ИП Сидоров', '770123456789', 1002);

  const cloud = (clientId: number, slug: string) => ({
    client: String(clientId),
    name: 'Облако',
    kind: 'cloud' as const,
    host: `${slug}.cloud.internal`,
    ip: '127.0.0.1',
    url: `http://${slug}.cloud.internal:${webPort}/`,
    provider: CLOUD_PROVIDER,
  });
  const made: DemoInstallation[] = [];
  const add = async (key: DemoInstallation['key'], input: Parameters<typeof addInstallation>[1]) => {
    const issued = await addInstallation(ctx, input);
    made.push({ key, id: issued.installation.id, token: issued.token, host: issued.installation.host });
    return issued.installation.id;
  };
  await add('romashka', { client: String(romashka), name: 'Сервер офиса', kind: 'network' });
  const vectorId = await add('vector', { client: String(vector), name: 'Бухгалтерия', kind: 'local' });
  await add('sever', cloud(sever, 'sever'));
  const berezkaId = await add('berezka', cloud(berezka, 'berezka'));
  await add('sidorov', cloud(sidorov, 'sidorov'));

  // The demo runs in minutes, not days: the version-change check looks after one minute.
  await setThresholds(ctx, vectorId, ['KodeksVersionChangeIncomplete=1m']);

  // «Берёзка» hit its online licence limit on the previous days too: a sales signal.
  const today = DateTime.fromJSDate(clock()).setZone('Europe/Moscow');
  for (let daysAgo = 1; daysAgo <= 3; daysAgo++) {
    await recordLicenseDay(db, { installationId: berezkaId, day: today.minus({ days: daysAgo }).toISODate()!, hits: 3, peak: 5, limit: 5 });
  }
  return made;
}
