import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseConfig } from '../../app/config.ts';
import { createLogger } from '../../app/logger.ts';
import { startService } from '../../app/service.ts';
import { systemClock } from '../../core/clock.ts';
import { closeDb, openDb } from '../../db/open.ts';
import { TelegramStandIn } from '../standin/telegram.ts';
import { DemoAgents } from './agents.ts';
import { PEOPLE, seedDemoFleet } from './fleet.ts';
import { DemoNetwork } from './network.ts';
import { ChatTerminal } from '../standin/terminal.ts';

/**
 * `npm run demo`: the real service on a temporary database, talking to a local
 * stand-in for Telegram, with simulated agents and the seed stories played
 * out in a few minutes. Type commands as a manager would, or a button's number.
 */
const dir = mkdtempSync(join(tmpdir(), 'dozor-demo-'));
const out = (text: string) => {
  process.stdout.write(text);
  rl?.prompt(true);
};

// The installations' web pages, for the probes.
const web = createServer((_req, res) => res.end('<html><body>Техэксперт</body></html>'));
await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
const webPort = (web.address() as AddressInfo).port;

const standIn = await TelegramStandIn.start();
const database = join(dir, 'dozor.sqlite');
const seeding = openDb(database);
const installations = await seedDemoFleet(seeding, systemClock, webPort);
closeDb(seeding);

const network = new DemoNetwork(new Set(installations.map((i) => i.host).filter((h): h is string => !!h)));
const config = parseConfig({
  DATABASE_PATH: database,
  HTTP_PORT: '0',
  BOT_TOKEN: standIn.token,
  TELEGRAM_API_ROOT: standIn.url,
  CHECK_CRON: '*/5 * * * * *',
  PROBE_CRON: '*/5 * * * * *',
  PROBE_TIMEOUT: '2s',
  ALERT_GROUP_WINDOW: '5s',
  OUTBOX_RETRY_BASE: '1s',
  OUTBOX_RETRY_MAX: '5s',
  // The demo may run at night: no quiet hours, so every warning shows.
  QUIET_HOURS: '00:00-00:00',
});
const logger = createLogger('warn', { write: (line: string) => void (process.env.DEMO_LOG ? process.stderr.write(line) : undefined) });
const service = await startService(config, { clock: systemClock, logger, probers: network.probers() });

// eslint-disable-next-line prefer-const -- `out` above prompts through it before it exists
let rl: ReturnType<typeof createInterface> | undefined;
const terminal = new ChatTerminal(standIn, PEOPLE, new Map(), out);
const agents = new DemoAgents(service.url, installations, (message) => out(`⚠️  ${message}\n`));

out(
  [
    '',
    '\x1b[1mdozor demo\x1b[0m: the service runs against a local stand-in for Telegram.',
    'Staff: Ирина Петрова (team lead, 2001), Ксения Шабанова (manager, 1001), Пётр Сидоров (manager, 1002).',
    'Clients: ООО «Ромашка» (office network), АО «Вектор» (local), ООО «Север», ООО «Берёзка», ИП Сидоров (Техэксперт.Облако).',
    'Type a command as the person shown in the prompt (/status Ромашка, /incidents, /digest, /sales, /versions, /help),',
    'a button\'s number to press it, "as 2001" to act as someone else, Ctrl+C to stop.',
    '',
  ].join('\n'),
);

agents.start(4000);
const scenes: [number, string, () => Promise<void> | void][] = [
  [5, 'Вечер, около 21:00. У ООО «Ромашка» потерялся ключ SenseLock: его пробрасывали по сети сторонним ПО, у которого истекла лицензия.', () =>
    agents.change('romashka', { senselock: 'lost', kit: false })],
  [15, 'АО «Вектор»: техспециалист сменил версию ПК 6.4.2.73 → 6.4.3.59 и переустановил оболочку штатно. Служба теперь под системной учётной записью и не видит NAS; ежедневное обновление и copybaseweb не восстановлены, smartupload снесён.', async () => {
    await agents.change('vector', { shell: '6.4.2.73' });
    await agents.change('vector', { shell: '6.4.3.59', account: 'system', storage: false, dailyUpdate: false, copybaseweb: false });
    agents.silence('vector');
  }],
  [25, 'Около 06:00: у «Техэксперт.Облако» упал DNS-сервер. По именам установки недоступны, по IP работают.', () => {
    network.dnsDown = true;
  }],
  [35, 'ООО «Берёзка» снова упирается в лимит онлайн-лицензий (5 из 5), как и в предыдущие дни. Спросите /sales.', () =>
    agents.change('berezka', { licenseLimit: 5, licensePeak: 5, exhausted: 2 })],
  [55, 'Сисадмин «Ромашки» продлил лицензию на ПО проброса: ключ снова виден.', () => agents.change('romashka', { senselock: 'ok', kit: true })],
  [85, 'Техподдержка облака восстановила DNS.', () => {
    network.dnsDown = false;
  }],
  [100, 'Все истории показаны. Попробуйте /status Вектор, /digest (как 2001), /versions; Ctrl+C — выход.', () => undefined],
];
const timers = scenes.map(([seconds, text, action]) =>
  setTimeout(() => {
    terminal.narrate(text);
    void Promise.resolve(action()).catch((err: unknown) => out(`⚠️  ${(err as Error).message}\n`));
  }, seconds * 1000),
);

let actingAs = PEOPLE[1]!;
rl = createInterface({ input: process.stdin, output: process.stdout });
const setPrompt = () => rl!.setPrompt(`${actingAs.first_name}> `);
setPrompt();
rl.prompt();
rl.on('line', (line) => {
  const input = line.trim();
  if (!input) return rl!.prompt();
  const as = /^as\s+(\d+)$/.exec(input);
  if (as) {
    const person = PEOPLE.find((p) => p.id === Number(as[1]));
    if (person) actingAs = person;
    else out(`Нет такого: ${PEOPLE.map((p) => `${p.id} ${p.name}`).join(', ')}\n`);
    setPrompt();
    return rl!.prompt();
  }
  if (/^\d+$/.test(input)) {
    const button = terminal.button(Number(input));
    if (!button) out('Нет кнопки с таким номером.\n');
    else standIn.press(actingAs, button.message, button.data);
    return rl!.prompt();
  }
  if (input === 'help') {
    out('Команды бота (/status Ромашка, /incidents, /digest, /sales, /versions, /whoami), номер кнопки, "as <id>", Ctrl+C.\n');
    return rl!.prompt();
  }
  standIn.userSays(actingAs, input);
  rl!.prompt();
});

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nStopping the demo…\n');
  for (const timer of timers) clearTimeout(timer);
  agents.stop();
  rl?.close();
  await service.stop();
  await standIn.close();
  web.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
rl.on('close', () => void stop());
