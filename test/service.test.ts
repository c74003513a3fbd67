import { watchStandIn } from './russian-words.ts';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelegramStandIn, type BotEvent, type StoredMessage } from '../tools/standin/telegram.ts';
import { ROOT } from './cli-helpers.ts';
import { postReport, tempDir } from './helpers.ts';
import { seedDatabaseFile, serviceDatabase, startServiceProcess, type ServiceDatabase } from './process-helpers.ts';
import { onPostgres } from './pg-helpers.ts';
import { restrictDatabaseFiles } from '../db/open.ts';

const manager = { id: 1001, first_name: 'Ксения' };

function runToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'app/main.ts'], { cwd: ROOT, env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

describe('the service process against a stand-in for the Bot API', () => {
  const dir = tempDir();
  const database = join(dir.path, 'nested', 'dozor.sqlite');
  let standIn: TelegramStandIn;
  let token = '';
  /** On PostgreSQL, the database the process works on; on SQLite, the file above (in a folder it makes). */
  let postgres: ServiceDatabase | undefined;

  beforeAll(async () => {
    standIn = await TelegramStandIn.start();
    watchStandIn(standIn);
    if (onPostgres()) {
      postgres = await serviceDatabase(dir.path);
      token = await postgres.seed();
    } else {
      token = await seedDatabaseFile(database);
    }
  });
  afterAll(async () => {
    await standIn.close();
    await postgres?.drop();
    dir.cleanup();
  });

  it('runs as `npm start` does: a lost key becomes an alert in the manager\'s chat, «Беру» edits it, /status answers, SIGTERM stops it', async () => {
    const service = await startServiceProcess({
      ...(postgres ? postgres.env : { DATABASE_PATH: database }),
      BOT_TOKEN: standIn.token,
      TELEGRAM_API_ROOT: standIn.url,
      ADMIN_IDS: '3001',
      HTTP_KEEP_ALIVE_TIMEOUT: '90s',
    });
    try {
      expect(existsSync(database)).toBe(!postgres);
      const health = await fetch(`${service.url}/healthz`);
      expect(health.status).toBe(200);
      // How long the server keeps an idle connection (docs/balancer.md), as it tells clients.
      expect(health.headers.get('keep-alive')).toBe('timeout=90');

      const res = await postReport(service.url, '<report id="evening"><senselock state="lost"/></report>', { token });
      expect(res.status).toBe(202);
      const sent = (await standIn.waitFor(
        (e) => e.type === 'sent' && e.message.chatId === manager.id && e.message.text.includes('Ключ SenseLock не виден'),
      )) as Extract<BotEvent, { type: 'sent' }>;
      const alert: StoredMessage = sent.message;
      expect(alert.parseMode).toBe('HTML');
      const ack = alert.buttons.flat().find((b) => b.text === '🙋 Беру')!;

      standIn.press(manager, alert, ack.callback_data!);
      await standIn.waitFor((e) => e.type === 'edited' && e.message.messageId === alert.messageId && e.message.text.includes('🛠 В работе: Ксения Шабанова'));
      await standIn.waitFor((e) => e.type === 'answered' && e.text === 'В работе 🛠');

      standIn.userSays(manager, '/status Ромашка');
      await standIn.waitFor((e) => e.type === 'sent' && e.message.chatId === manager.id && e.message.text.includes('🏢 <b>ООО «Ромашка»</b>'));
      expect((standIn.registeredCommands as { command: string }[]).map((c) => c.command)).toContain('status');
    } finally {
      expect(await service.stop('SIGTERM')).toBe(0);
    }
    expect(service.log.some((line) => line.includes('dozor stopped'))).toBe(true);
    // Secrets never reach the log.
    expect(service.log.join('\n')).not.toContain(standIn.token);
    expect(service.log.join('\n')).not.toContain(token);
  });

  it.skipIf(onPostgres())('makes the folders it creates for the database 0700 and the database 0600', () => {
    const file = join(dir.path, 'new-data', 'deeper', 'dozor.sqlite');
    const changes = restrictDatabaseFiles(file);
    expect(changes.openFolders).toEqual([]);
    expect((statSync(join(dir.path, 'new-data', 'deeper')).mode & 0o777).toString(8)).toBe('700');
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
  });

  it.skipIf(onPostgres())('keeps the database, its log and the uploads readable by its own user only, tightening what an older version left open; a folder it did not make is named, not changed', async () => {
    const folder = join(dir.path, 'open-data');
    const file = join(folder, 'dozor.sqlite');
    const agentToken = await seedDatabaseFile(file);
    // As an older version, or a copy by hand, left them: readable by every local user.
    const oldUpload = join(folder, 'uploads', '1', 'status', 'old.status');
    mkdirSync(dirname(oldUpload), { recursive: true });
    writeFileSync(oldUpload, 'date: x\n');
    for (const path of [folder, join(folder, 'uploads'), join(folder, 'uploads', '1'), dirname(oldUpload)]) chmodSync(path, 0o755);
    for (const path of [file, oldUpload]) chmodSync(path, 0o644);
    const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

    const service = await startServiceProcess({ DATABASE_PATH: file, BOT_TOKEN: standIn.token, TELEGRAM_API_ROOT: standIn.url });
    try {
      expect(service.log.some((line) => line.includes('file modes tightened'))).toBe(true);
      // The folder the database sits in was there before: the administrator's, so only said.
      expect(service.log.some((line) => line.includes('other users may list these folders') && line.includes(folder))).toBe(true);
      expect((await postReport(service.url, '<report id="modes"><senselock state="ok"/></report>', { token: agentToken })).status).toBe(202);
      const form = new FormData();
      form.set('file', new Blob(['date: Mon, 30 Nov 2026 06:59:30 GMT\nkserver_main_page 1\n']), 'ROMASHKA.status');
      expect((await fetch(`${service.url}/upload?token=${agentToken}`, { method: 'POST', body: form })).status).toBe(200);
      const uploaded = readdirSync(join(folder, 'uploads'), { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
      expect(uploaded.length).toBe(2);
      expect(mode(folder)).toBe('755');
      const modes = Object.fromEntries(
        [file, `${file}-wal`, `${file}-shm`, ...readdirSync(join(folder, 'uploads'), { recursive: true, withFileTypes: true }).map((entry) => join(entry.parentPath, entry.name)), join(folder, 'uploads')].map((path) => [
          path.slice(folder.length) || '/',
          mode(path),
        ]),
      );
      expect(Object.entries(modes).filter(([, m]) => m !== '700' && m !== '600')).toEqual([]);
      expect(modes['/dozor.sqlite-wal']).toBe('600');
      expect(modes['/uploads/1/status/old.status']).toBe('600');
    } finally {
      expect(await service.stop('SIGTERM')).toBe(0);
    }
  });

  it.skipIf(onPostgres())('refuses to start without BOT_TOKEN, saying how to get one', async () => {
    const { code, stderr } = await runToExit({ DATABASE_PATH: database, BOT_TOKEN: '' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/BOT_TOKEN is not set/);
    expect(stderr).toMatch(/@BotFather/);
  });

  it.skipIf(onPostgres())('refuses to start on invalid configuration, naming the variable', async () => {
    const { code, stderr } = await runToExit({ DATABASE_PATH: database, HTTP_PORT: 'eighty' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/HTTP_PORT: expected a port number/);
  });

  it.skipIf(onPostgres())('refuses a second service on the same SQLite file, saying why, and starts again once the first is killed', async () => {
    const file = join(dir.path, 'one-file', 'dozor.sqlite');
    const agentToken = await seedDatabaseFile(file);
    const env = { DATABASE_PATH: file, BOT_TOKEN: standIn.token, TELEGRAM_API_ROOT: standIn.url };
    const first = await startServiceProcess(env);
    try {
      const second = await startServiceProcess(env).then(
        async (started) => `started at ${started.url}, stopped with ${await started.stop()}`,
        (err: Error) => err.message,
      );
      expect(second).toMatch(/exited with 1/);
      expect(second).toContain(`dozor: another dozor service is running on ${file}`);
      expect(second).toMatch(/use PostgreSQL \(DATABASE_URL/);
      expect((await postReport(first.url, '<report id="alone"><senselock state="ok"/></report>', { token: agentToken })).status).toBe(202);
    } finally {
      await first.stop('SIGKILL');
    }
    // The lock went with the killed process: nothing to clear by hand.
    const third = await startServiceProcess(env);
    expect(await third.stop('SIGTERM')).toBe(0);
    expect((statSync(`${file}.lock`).mode & 0o777).toString(8)).toBe('600');
  });
});
