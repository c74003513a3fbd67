import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { count, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InputFile } from 'grammy';
import { buildHttpServer } from '../app/http.ts';
import { createLogger } from '../app/logger.ts';
import { downloadKeyOf } from '../core/download-link.ts';
import { getIncidentViews, listIncidentsWithNames } from '../db/incidents.ts';
import { renderAlert } from '../bot/render/alert.ts';
import { outbox, uploads } from '../db/schema.ts';
import { getState } from '../db/state.ts';
import { insertUpload, listUnmatchedUploadNames } from '../db/uploads.ts';
import { writeTransaction } from '../db/transaction.ts';
import { dozor } from './cli-helpers.ts';
import { getMetricsSnapshot } from '../db/metrics-snapshots.ts';
import { getClientStatus } from '../db/status.ts';
import { renderClientStatus } from '../bot/render/status.ts';
import { botHarness, buttonsOf } from './bot-helpers.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { LINGER } from '../intake/unread-body.ts';
import { pruneUploads } from '../jobs/prune-uploads.ts';
import { tellAdminsOfUnmatchedUploads } from '../jobs/unmatched-uploads.ts';
import { runSweep } from '../jobs/sweep.ts';
import { addInstallation } from '../registry/installations.ts';
import { getInstallation } from '../db/installations.ts';
import { addUser } from '../registry/users.ts';
import { createUploadToken, revokeUploadToken, setUploadName } from '../registry/uploads.ts';
import { postReport, SAMPLE_XML, seedFleet, silentLogger, testClock, testDb, type TestDb, DAY, zipOf } from './helpers.ts';


/** curl as SMART's scripts run it; its status code and body. */
function curl(...args: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-o', '-', '-w', '\n%{http_code}', ...args], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      if (err && !stdout) return reject(err);
      const cut = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) });
    });
  });
}

describe('uploads from the field', () => {
  const clock = testClock('2026-11-20T06:00:00Z');
  let t: TestDb;
  let app: FastifyInstance;
  let url = '';
  let agentToken = '';
  let installationId = 0;
  let dataDir = '';
  const ctx = () => ({ db: t.db, clock, actor: 'test' });
  const rows = async () => (await t.db.select({ n: count() }).from(uploads))[0]!.n;
  const filesOnDisk = (): string[] => {
    const found: string[] = [];
    const walk = (folder: string) => {
      if (!existsSync(folder)) return;
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(folder, entry.name));
        else found.push(join(folder, entry.name));
      }
    };
    walk(join(dataDir, 'uploads'));
    return found;
  };
  const file = (name: string, content: string | Buffer) => {
    const path = join(t.dir, 'outgoing', name);
    mkdirSync(join(t.dir, 'outgoing'), { recursive: true });
    writeFileSync(path, content);
    return path;
  };

  beforeEach(async () => {
    clock.set('2026-11-20T06:00:00Z');
    t = await testDb();
    const fleet = await seedFleet(ctx());
    agentToken = fleet.token;
    installationId = fleet.installation.id;
    await addUser(ctx(), { telegramId: 3001, role: 'admin', name: 'Анна' });
    dataDir = join(t.dir, 'data');
    app = buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, uploads: { dataDir, maxBytes: 64 * 1024 }, failedAuthLimit: 50 });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterEach(async () => {
    await app.close();
    await t.close();
  });

  it('takes a sysinfo file the way smartupload sends it, answers as SMART does, and counts it as a sign of life', async () => {
    // Two days of silence: the installation is missing.
    clock.advance(3 * DAY);
    await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
    expect((await listIncidentsWithNames(t.db, { includeResolved: false })).map((i) => i.ruleId)).toContain('KodeksXmlMissing');

    const sent = await curl('-H', 'upload: yes', '-H', 'dealer: 0000TEST', '-F', `file=@${file('ROMASHKA.xml', '<sysinfo/>')}`, `${url}/upload?token=${agentToken}`);
    expect(sent).toEqual({ status: 200, body: '{"ok":true,"path":"/files/ROMASHKA.xml"}' });
    expect((await getState(t.db, installationId))!.lastReceivedAt).toEqual(clock());
    expect((await listIncidentsWithNames(t.db, { includeResolved: false })).map((i) => i.ruleId)).not.toContain('KodeksXmlMissing');
    const [stored] = await t.db.select().from(uploads);
    expect(stored).toMatchObject({ installationId, name: 'ROMASHKA', kind: 'xml', size: 10, dealer: '0000TEST', uploadTokenId: null });
    expect(readFileSync(join(dataDir, stored!.path), 'utf8')).toBe('<sysinfo/>');

    // smartupload asks whether the file is there with curl -I.
    expect((await curl('-I', `${url}/files/ROMASHKA.xml?token=${agentToken}`)).status).toBe(200);
    expect((await curl('-I', `${url}/files/ROMASHKA.zip?token=${agentToken}`)).status).toBe(404);
    expect((await curl('-I', `${url}/files/ROMASHKA.xml?token=dzr_nope`)).status).toBe(401);

    // Uploads stop: two days later it is missing again.
    clock.advance(2 * DAY - 60_000);
    await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
    expect((await listIncidentsWithNames(t.db, { includeResolved: false })).map((i) => i.ruleId)).not.toContain('KodeksXmlMissing');
    clock.advance(2 * 60_000);
    await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
    expect((await listIncidentsWithNames(t.db, { includeResolved: false })).map((i) => i.ruleId)).toContain('KodeksXmlMissing');
  });

  it('reads the metrics smartstatus sends, and the status card says when the sysinfo and the metrics arrived', async () => {
    const metrics = [
      'date: Fri, 20 Nov 2026 05:58:00 GMT',
      '# HELP kserver_main_page Main page answers',
      '# TYPE kserver_main_page gauge',
      'kserver_main_page{service="kodweb",path="/docs"} 1',
      '# TYPE kserver_requests histogram',
      'kserver_requests_bucket{le="+Inf"} 7',
      'kserver_requests_sum 3.5',
      'kserver_requests_count 7',
      '',
    ].join('\r\n');
    expect((await curl('-F', `file=@${file('ROMASHKA.status', metrics)}`, `${url}/upload?token=${agentToken}`)).status).toBe(200);
    expect((await curl('-F', `file=@${file('ROMASHKA.xml', '<sysinfo/>')}`, `${url}/upload?token=${agentToken}`)).status).toBe(200);
    const snapshot = (await getMetricsSnapshot(t.db, installationId))!;
    expect(snapshot.takenAt).toEqual(new Date('2026-11-20T05:58:00Z'));
    expect(snapshot.samples).toEqual([
      { name: 'kserver_main_page', labels: { service: 'kodweb', path: '/docs' }, value: 1 },
      { name: 'kserver_requests_count', labels: {}, value: 7 },
      { name: 'kserver_requests_sum', labels: {}, value: 3.5 },
    ]);
    clock.advance(12 * 60_000);
    const card = renderClientStatus((await getClientStatus(t.db, 1, clock()))!, 'ru', 'Europe/Moscow', clock());
    expect(card).toContain('Sysinfo: 12 минут назад (сегодня в 09:00)');
    expect(card).toContain('Метрики: 3 показателя, сняты 14 минут назад');

    // «📎 sysinfo» under the card sends the latest file itself.
    const h = botHarness(t.db, clock, { dataDir });
    await h.say({ id: 1001, first_name: 'Ксения' }, '/status Ромашка');
    expect(buttonsOf(h.lastSent()!)).toEqual([{ text: '📎 sysinfo · Сервер офиса', data: `si:${installationId}` }]);
    await h.press({ id: 1001, first_name: 'Ксения' }, `si:${installationId}`, { chatId: 1001, messageId: 1000 });
    const sent = h.lastSent('sendDocument')!;
    expect(sent.payload.caption).toBe('sysinfo · Сервер офиса, получен сегодня в 09:00');
    expect((sent.payload.document as InputFile).filename).toBe('ROMASHKA.xml');

    // A file that is not metrics is kept and counts; the card says why it is not read, keeping what was read before.
    expect((await curl('-F', `file=@${file('ROMASHKA.status', 'date: nonsense\n{{{ not metrics')}`, `${url}/upload?token=${agentToken}`)).status).toBe(200);
    expect((await getMetricsSnapshot(t.db, installationId))!.samples).toHaveLength(3);
    expect(renderClientStatus((await getClientStatus(t.db, 1, clock()))!, 'ru', 'Europe/Moscow', clock())).toContain('⚠️ Метрики: последние не прочитаны — в файле не метрики');
  });

  it('offers a sysinfo over Telegram\'s 50 MB as a link of its own that works for 15 minutes, kept out of the log', async () => {
    const key = downloadKeyOf('k'.repeat(40));
    const logged: string[] = [];
    const served = buildHttpServer({
      db: t.db,
      clock,
      logger: createLogger('info', { write: (line: string) => void logged.push(line) }),
      settings: DEFAULT_INCIDENT_SETTINGS,
      uploads: { dataDir, maxBytes: 64 * 1024, downloadKey: key },
    });
    const base = await served.listen({ host: '127.0.0.1', port: 0 });
    try {
      expect((await curl('-F', `file=@${file('ROMASHKA.xml', '<sysinfo/>')}`, `${base}/upload?token=${agentToken}`)).status).toBe(200);
      // The size recorded is what the bot goes by; a file that large on disk would only slow the test.
      await t.db.update(uploads).set({ size: 60 * 1024 * 1024 });
      const h = botHarness(t.db, clock, { dataDir, publicUrl: `${base}/`, downloadKey: key });
      await h.press({ id: 1001, first_name: 'Ксения' }, `si:${installationId}`, { chatId: 1001, messageId: 1000 });
      expect(h.sent('sendDocument')).toEqual([]);
      const text = h.lastSent('sendMessage')!.payload.text as string;
      expect(text).toMatch(/^sysinfo · Сервер офиса, получен сегодня в 09:00: 60 МБ, больше предела Telegram \(50 МБ\)\. Скачать \(ссылка действует 15 минут\):\n/);
      const link = /\n(\S+)$/.exec(text)![1]!;
      expect(link).toMatch(new RegExp(`^${base}/download/1\\?expires=\\d+&sig=[A-Za-z0-9_-]{43}$`));

      const got = await fetch(link);
      expect(got.status).toBe(200);
      expect(got.headers.get('content-disposition')).toBe(`attachment; filename="ROMASHKA.xml"; filename*=UTF-8''ROMASHKA.xml`);
      expect(await got.text()).toBe('<sysinfo/>');
      // Only this file, only with its signature, only for the quarter of an hour.
      expect((await fetch(link.replace('/download/1?', '/download/2?'))).status).toBe(403);
      expect((await fetch(link.replace(/sig=./, 'sig=A'))).status).toBe(403);
      expect((await fetch(`${base}/download/1`)).status).toBe(403);
      clock.advance(16 * 60_000);
      expect((await fetch(link)).status).toBe(410);
      const sig = new URL(link).searchParams.get('sig')!;
      expect(logged.join('\n')).not.toContain(sig);
      // Wherever a link is logged (a failed request, say), its signature is not.
      served.log.warn({ url: link }, 'a link in a log line');
      expect(logged.at(-1)).toContain('/download/1?expires=');
      expect(logged.at(-1)).toContain('sig=[redacted]');
      expect(logged.join('\n')).not.toContain(sig);
    } finally {
      await served.close();
    }
  });

  it('files an upload under a fleet token by its name, whatever its case; a name nobody has is kept, told once, and attached later', async () => {
    const { token: fleetToken } = await createUploadToken(ctx(), '0000 Дилер');
    await setUploadName(ctx(), installationId, 'ROMASHKA');
    const sent = await curl('-H', 'upload: yes', '-F', `file=@${file('romashka.zip', await zipOf({ 'report.xml': '<sysinfo/>' }))}`, `${url}/upload?token=${fleetToken}`);
    expect(sent.status).toBe(200);
    expect((await t.db.select().from(uploads))[0]).toMatchObject({ installationId, name: 'romashka', kind: 'zip' });

    for (let i = 0; i < 2; i++) {
      clock.advance(60_000);
      expect((await curl('-F', `file=@${file('VECTOR.xml', `<sysinfo n="${i}"/>`)}`, `${url}/upload?token=${fleetToken}`)).status).toBe(202);
    }
    expect(await listUnmatchedUploadNames(t.db)).toMatchObject([{ name: 'VECTOR', files: 2 }]);
    // The upload writes nothing for people; the minute's summary tells each admin, once.
    expect(await t.db.select().from(outbox).where(eq(outbox.chatId, 3001))).toEqual([]);
    await tellAdminsOfUnmatchedUploads(t.db, clock());
    await tellAdminsOfUnmatchedUploads(t.db, clock());
    const notices = await t.db.select().from(outbox).where(eq(outbox.chatId, 3001));
    expect(notices).toHaveLength(1);
    expect(String(notices[0]!.payload.text)).toBe(
      '📥 Пришёл файл VECTOR.xml по общему токену «0000 Дилер», но ни у одной установки нет имени загрузки VECTOR. Файл сохранён и засчитается, когда вы укажете, чья это установка.',
    );
    const button = (notices[0]!.payload.keyboard as { text: string; data: string }[][])[0]![0];
    expect(button!.text).toBe('🔗 Указать установку');
    // The fleet token finds the unmatched file too, but no installation has received it: not 200.
    expect((await curl('-I', `${url}/files/VECTOR.xml?token=${fleetToken}`)).status).toBe(202);

    // The admin attaches them in chat: the button, the client, the installation.
    const other = (await addInstallation(ctx(), { client: '1', name: 'Вектор', kind: 'network' })).installation;
    const h = botHarness(t.db, clock);
    const anna = { id: 3001, first_name: 'Анна' };
    await h.press(anna, button!.data, { chatId: 3001, messageId: 1 });
    expect(String(h.lastSent()!.payload.text)).toBe('Чья установка присылает файлы VECTOR? Напишите клиента (id или точное название):');
    await h.say(anna, 'ООО «Ромашка»');
    expect(buttonsOf(h.lastSent()!).map((b) => b.text)).toEqual(['Вектор', 'Сервер офиса']);
    await h.press(anna, `upi:${other.id}`, { chatId: 3001, messageId: 2 });
    expect(String(h.lastSent()!.payload.text)).toBe('Файлы VECTOR теперь у установки «Вектор»: привязано 2, они засчитаны как полученные отчёты.');
    const installation = (await getInstallation(t.db, other.id))!;
    expect(installation.uploadName).toBe('VECTOR');
    expect((await getState(t.db, other.id))!.lastReceivedAt).toEqual(clock());
    expect(await listUnmatchedUploadNames(t.db)).toEqual([]);
    expect((await curl('-I', `${url}/files/VECTOR.xml?token=${fleetToken}`)).status).toBe(200);
    // From now on the name goes straight to it.
    expect((await curl('-F', `file=@${file('vector.xml', '<sysinfo/>')}`, `${url}/upload?token=${fleetToken}`)).status).toBe(200);
    expect(await t.db.select().from(uploads).where(eq(uploads.installationId, other.id))).toHaveLength(3);

    await revokeUploadToken(ctx(), '1');
    expect((await curl('-F', `file=@${file('vector.xml', '<sysinfo/>')}`, `${url}/upload?token=${fleetToken}`)).status).toBe(401);
  });

  it('answers 200 only when an installation received the file: a name no installation has gets 202 saying so, from curl -I as SMART\'s Linux page asks, and from the upload', async () => {
    const { token: fleetToken } = await createUploadToken(ctx(), '0000 Дилер');
    await setUploadName(ctx(), installationId, 'ROMASHKA');
    const unmatched = await curl('-H', 'upload: yes', '-H', 'dealer: 0000TEST', '-F', `file=@${file('NOBODY.zip', await zipOf({ 'report.xml': '<sysinfo/>' }))}`, `${url}/upload?token=${fleetToken}`);
    const said =
      'the file is kept, but no installation has the upload name NOBODY: it counts once an admin attaches it (dozor uploads assign NOBODY <installation>, or the bot\'s notice); the admins are told';
    expect(unmatched.status).toBe(202);
    expect(JSON.parse(unmatched.body)).toEqual({ ok: true, path: '/files/NOBODY.zip', matched: false, message: said });
    // SMART's Linux page: curl -I, 200 read as success.
    const head = await curl('-I', '-H', 'upload: yes', '-H', 'dealer: 0000TEST', `${url}/files/NOBODY.zip?token=${fleetToken}`);
    expect(head.status).toBe(202);
    expect(head.body).toMatch(/^HTTP\/1\.1 202 Accepted\r\n/);
    const get = await curl(`${url}/files/NOBODY.zip?token=${fleetToken}`);
    expect(get.status).toBe(202);
    expect(JSON.parse(get.body)).toMatchObject({ path: '/files/NOBODY.zip', matched: false, message: said });
    // The admins hear of it, as before.
    expect(await tellAdminsOfUnmatchedUploads(t.db, clock())).toEqual({ names: 1 });

    // A name an installation has: 200, as SMART answers.
    const matched = await curl('-F', `file=@${file('ROMASHKA.zip', await zipOf({ 'report.xml': '<sysinfo/>' }))}`, `${url}/upload?token=${fleetToken}`);
    expect(matched).toEqual({ status: 200, body: '{"ok":true,"path":"/files/ROMASHKA.zip"}' });
    expect((await curl('-I', `${url}/files/ROMASHKA.zip?token=${fleetToken}`)).status).toBe(200);
    expect((await curl('-I', `${url}/files/ELSEWHERE.zip?token=${fleetToken}`)).status).toBe(404);
  });

  it('refuses what it does not take, with nothing kept', async () => {
    const refused = [
      await curl('-F', `file=@${file('setup.exe', 'MZ')}`, `${url}/upload?token=${agentToken}`),
      await curl('-F', `file=@${file('BIG.zip', Buffer.alloc(200 * 1024, 7))}`, `${url}/upload?token=${agentToken}`),
      await curl('-F', `file=@${file('ROMASHKA.xml', '<x/>')}`, `${url}/upload?token=dzr_wrong`),
      await curl('-F', `other=@${file('ROMASHKA.xml', '<x/>')}`, `${url}/upload?token=${agentToken}`),
      await curl('-H', 'content-type: application/json', '--data', '{}', `${url}/upload?token=${agentToken}`),
      await curl('-H', 'content-type: application/octet-stream', '--data-binary', `@${file('ROMASHKA.zip', 'PK')}`, `${url}/upload?token=${agentToken}`),
    ];
    expect(refused.map((r) => r.status)).toEqual([415, 413, 401, 400, 415, 415]);
    // A file sent as a raw body is told how to send it, not that reports take XML.
    expect(JSON.parse(refused[5]!.body)).toEqual({ error: 'send the file as multipart/form-data in the field "file" (curl -F file=@NAME.zip)' });
    expect(refused[1]!.body).toContain('nothing was kept');
    expect(await rows()).toBe(0);
    expect(filesOnDisk()).toEqual([]);
  });

  it('refuses a 100 MB body at the default limit of 64 MiB, keeping nothing, and goes on taking files', async () => {
    const big = buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, uploads: { dataDir, maxBytes: 64 * 1024 * 1024 } });
    const base = await big.listen({ host: '127.0.0.1', port: 0 });
    try {
      const path = file('ROMASHKA.zip', '');
      truncateSync(path, 100 * 1024 * 1024);
      const refused = await curl('-F', `file=@${path}`, `${base}/upload?token=${agentToken}`);
      expect(refused.status).toBe(413);
      expect(await rows()).toBe(0);
      expect(filesOnDisk()).toEqual([]);
      expect((await curl('-F', `file=@${file('ROMASHKA.xml', '<sysinfo/>')}`, `${base}/upload?token=${agentToken}`)).status).toBe(200);
    } finally {
      await big.close();
    }
  });

  it('shows an installation only its own files, whatever their names', async () => {
    const other = await addInstallation(ctx(), { client: '1', name: 'Склад', kind: 'network' });
    expect((await curl('-F', `file=@${file('SKLAD.xml', '<sysinfo/>')}`, `${url}/upload?token=${other.token}`)).status).toBe(200);
    expect((await curl('-I', `${url}/files/SKLAD.xml?token=${other.token}`)).status).toBe(200);
    expect((await curl('-I', `${url}/files/SKLAD.xml?token=${agentToken}`)).status).toBe(404);
    // Sent under this installation's token, a file counts for this installation, whatever it is called.
    expect((await curl('-F', `file=@${file('SKLAD.xml', '<sysinfo/>')}`, `${url}/upload?token=${agentToken}`)).status).toBe(200);
    expect((await t.db.select().from(uploads)).map((u) => u.installationId)).toEqual([other.installation.id, installationId]);
  });

  it('refuses hostile archives within a second, naming the limit, keeping nothing: a zip bomb, a zip-slip name, too many entries, mebibyte entries that are a bomb together, no ZIP at all', async () => {
    // A zip-slip name cannot be written by yazl, so a safe one of the same length is changed in the bytes.
    const slip = await zipOf({ 'xx/xx/etc/passwd': 'root' });
    const slipped = Buffer.from(slip.toString('latin1').replaceAll('xx/xx/etc/passwd', '../../etc/passwd'), 'latin1');
    const archives: [string, Buffer][] = [
      ['BOMB.zip', await zipOf({ 'report.xml': Buffer.alloc(50 * 1024 * 1024) })],
      ['SLIP.zip', slipped],
      ['MANY.zip', await zipOf(Object.fromEntries(Array.from({ length: 1_001 }, (_, i) => [`f${i}`, ''])))],
      // Entries of a mebibyte each, none over it, that unpack a thousand times their size: a bomb by the archive's ratio.
      ['MEBIBYTES.zip', await zipOf(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`d${i}.xml`, `<sysinfo><update>${'A'.repeat(1024 * 1024 - 36)}</update></sysinfo>`])))],
      ['NOTZIP.zip', Buffer.from('just text')],
    ];
    await app.close();
    // Room for the archives themselves; what is refused is what they unpack to.
    app = buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, uploads: { dataDir, maxBytes: 8 * 1024 * 1024 }, failedAuthLimit: 50 });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    const said: Record<string, string> = {};
    for (const [name, bytes] of archives) {
      const started = Date.now();
      const res = await curl('-F', `file=@${file(name, bytes)}`, `${url}/upload?token=${agentToken}`);
      expect({ name, status: res.status }).toEqual({ name, status: 400 });
      expect(res.body).toContain('nothing was kept');
      expect(Date.now() - started).toBeLessThan(1_000);
      said[name] = (JSON.parse(res.body) as { error: string }).error;
    }
    // Each refusal names the limit it ran into.
    expect(said['BOMB.zip']).toMatch(/report\.xml unpacks \d+ times its packed size, more than the 300 times dozor takes/);
    expect(said['MANY.zip']).toBe('MANY.zip: the archive holds 1001 entries; a sysinfo archive may hold 1000 at most; nothing was kept');
    expect(said['MEBIBYTES.zip']).toMatch(/^MEBIBYTES\.zip: the archive unpacks to 40 MiB, \d+ times its packed size, more than the 300 times dozor takes: refused as a zip bomb/);
    expect(await rows()).toBe(0);
    expect(filesOnDisk()).toEqual([]);
  });

  /** A raw HTTP/1.1 connection: what it was answered, and a way to write on it. */
  function rawConnection(port: number) {
    const socket = connect({ host: '127.0.0.1', port });
    const state = { answer: '', closed: false, error: '' };
    socket.on('data', (chunk: Buffer) => (state.answer += chunk.toString()));
    socket.on('close', () => (state.closed = true));
    socket.on('error', (err: NodeJS.ErrnoException) => (state.error = err.code ?? err.message));
    const opened = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const boundary = 'dozorboundary';
    const partHead = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="ROMASHKA.zip"\r\nContent-Type: application/zip\r\n\r\n`;
    const uploadHead = `POST /upload?token=${agentToken} HTTP/1.1\r\nHost: dozor\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nTransfer-Encoding: chunked\r\n\r\n${partHead.length.toString(16)}\r\n${partHead}\r\n`;
    const chunk = `4000\r\n${'x'.repeat(0x4000)}\r\n`;
    const closing = `\r\n--${boundary}--\r\n`;
    return {
      socket,
      state,
      opened,
      uploadHead,
      chunk,
      uploadEnd: `${closing.length.toString(16)}\r\n${closing}\r\n0\r\n\r\n`,
      /** Resolves once the socket has taken the text (or cannot). */
      write: (text: string) => new Promise<void>((resolve) => socket.write(text, () => resolve())),
      until: (done: () => boolean) =>
        new Promise<void>((resolve) => {
          const check = () => {
            if (!done() && !state.closed) return;
            socket.off('data', check).off('close', check);
            resolve();
          };
          socket.on('data', check).on('close', check);
          check();
        }),
    };
  }

  it('answers an endless chunked upload with 413 once it passes UPLOAD_MAX_BYTES, and cuts the connection when the body goes on', async () => {
    const raw = rawConnection(Number(new URL(url).port));
    await raw.opened;
    let sent = 0;
    const pump = () => {
      // The body never ends: another 16 KiB whenever the socket takes it, until the server cuts it.
      while (!raw.state.closed && !raw.socket.destroyed && sent < 64 * 1024 * 1024) {
        sent += 0x4000;
        if (!raw.socket.write(raw.chunk)) return void raw.socket.once('drain', pump);
      }
    };
    raw.socket.write(raw.uploadHead);
    pump();
    await raw.until(() => false);
    expect(raw.state.answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(raw.state.answer).toContain('UPLOAD_MAX_BYTES');
    // Read up to the limit (64 KiB here), what the sockets held in flight and what is dropped after the answer, not on to 64 MiB.
    expect(sent).toBeLessThan(8 * 1024 * 1024 + LINGER.bytes + 8 * 1024 * 1024);
    expect(await rows()).toBe(0);
    expect(filesOnDisk()).toEqual([]);
  });

  it('lets a client still sending when it is refused read the answer and end its upload, then closes the connection cleanly, with no reset', async () => {
    const raw = rawConnection(Number(new URL(url).port));
    await raw.opened;
    await raw.write(raw.uploadHead);
    // Past the limit (64 KiB here) until the answer arrives, as curl goes on sending a file too big.
    while (!raw.state.answer.includes('\r\n\r\n') && !raw.state.closed) await raw.write(raw.chunk);
    expect(raw.state.answer).toMatch(/^HTTP\/1\.1 413 /);
    // Closing the socket on the unread body would reset the connection here, and the client's next write would fail.
    for (let i = 0; i < 64; i++) await raw.write(raw.chunk);
    await raw.write(raw.uploadEnd);
    await raw.until(() => false);
    expect(raw.state.error).toBe('');
    expect(raw.state.closed).toBe(true);
    expect(await rows()).toBe(0);
    expect(filesOnDisk()).toEqual([]);
  });

  it('refuses a multipart body cut short, keeping nothing', async () => {
    const boundary = 'dozorboundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="ROMASHKA.xml"\r\nContent-Type: text/xml\r\n\r\n<sysinfo>`;
    // The body says it is longer than what comes, then the client goes away.
    const response = await new Promise<number>((resolve) => {
      const net = execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '3', '-H', `content-type: multipart/form-data; boundary=${boundary}`, '--data-binary', head, `${url}/upload?token=${agentToken}`], (_err, stdout) =>
        resolve(Number(stdout)),
      );
      void net;
    });
    expect(response).toBeGreaterThanOrEqual(400);
    expect(response).toBeLessThan(500);
    expect(await rows()).toBe(0);
    expect(filesOnDisk()).toEqual([]);
  });

  /** A server on its own port with the given limits (and the disk's free space as `freeBytes` says), closed after the test. */
  async function serveWith(extra: Partial<Parameters<typeof buildHttpServer>[0]['uploads']> & { web?: boolean }): Promise<{ base: string; close: () => Promise<void> }> {
    const { web, ...uploadsExtra } = extra;
    const served = buildHttpServer({
      db: t.db,
      clock,
      logger: silentLogger(),
      settings: DEFAULT_INCIDENT_SETTINGS,
      uploads: { dataDir, maxBytes: 64 * 1024, ...uploadsExtra },
      failedAuthLimit: 50,
      ...(web ? { web: { publicUrl: 'https://dozor.example.ru', displayTz: 'Europe/Moscow', morningHour: 9 } } : {}),
    });
    const base = await served.listen({ host: '127.0.0.1', port: 0 });
    return { base, close: () => served.close() };
  }
  const bytesOnDisk = () => filesOnDisk().reduce((sum, path) => sum + statSync(path).size, 0);
  const adminNotices = async (chatId = 3001) => (await t.db.select().from(outbox).where(eq(outbox.chatId, chatId))).map((row) => String(row.payload.text));

  it('stops taking uploads at the free-space reserve with 507 naming UPLOAD_MIN_FREE, keeps taking reports, tells each admin once, and takes files again when space returns', async () => {
    const reserve = 10 * 1024 * 1024;
    // The disk as the service sees it: what is left beside the reserve, less what the uploads hold.
    let spare = 30 * 1024;
    const { base, close } = await serveWith({ limits: { minFreeBytes: reserve, dailyQuotaBytes: 1024 ** 3, fleetDailyQuotaBytes: 1024 ** 3 }, freeBytes: async () => reserve + spare - bytesOnDisk() });
    try {
      // 50 KiB would leave less than the reserve: refused after it came, and not kept.
      const first = await curl('-F', `file=@${file('ROMASHKA.status', Buffer.alloc(50 * 1024, 'x'))}`, `${base}/upload?token=${agentToken}`);
      expect(first.status).toBe(507);
      expect(JSON.parse(first.body).error).toMatch(/^the disk has 9\.\d MiB free, less than the 10 MiB dozor keeps for agents' reports \(UPLOAD_MIN_FREE\); nothing was kept/);
      // At the reserve already: refused before the file is read.
      spare = -1;
      expect((await curl('-F', `file=@${file('ROMASHKA.xml', '<sysinfo/>')}`, `${base}/upload?token=${agentToken}`)).status).toBe(507);
      expect(await rows()).toBe(0);
      expect(filesOnDisk()).toEqual([]);
      // Reports are what the reserve is for.
      expect((await postReport(base, SAMPLE_XML, { token: agentToken })).status).toBe(202);
      // Told once, however many uploads are refused.
      expect(await adminNotices()).toHaveLength(1);
      expect((await adminNotices())[0]).toMatch(/^💾 Загрузки файлов отклоняются: на диске осталось .+, меньше запаса 10,0 МБ \(UPLOAD_MIN_FREE\)\. Отчёты агентов по-прежнему принимаются\./);

      spare = 1024 * 1024;
      expect((await curl('-F', `file=@${file('ROMASHKA.xml', '<sysinfo/>')}`, `${base}/upload?token=${agentToken}`)).status).toBe(200);
      spare = -1;
      expect((await curl('-F', `file=@${file('ROMASHKA.xml', '<sysinfo/>')}`, `${base}/upload?token=${agentToken}`)).status).toBe(507);
      // Refusing started again after files were taken: the admins hear of it again.
      expect(await adminNotices()).toHaveLength(2);
    } finally {
      await close();
    }
  });

  it('holds an installation and a fleet token to a daily quota: 429 naming UPLOAD_DAILY_QUOTA or UPLOAD_FLEET_DAILY_QUOTA, for a rolling day', async () => {
    const { token: fleetToken } = await createUploadToken(ctx(), '0000 Дилер');
    const { base, close } = await serveWith({ limits: { minFreeBytes: 1, dailyQuotaBytes: 100 * 1024, fleetDailyQuotaBytes: 150 * 1024 }, freeBytes: async () => 1024 ** 3 });
    const send = (name: string, token: string) => curl('-F', `file=@${file(name, Buffer.alloc(60 * 1024, 'x'))}`, `${base}/upload?token=${token}`);
    try {
      expect((await send('ROMASHKA.status', agentToken)).status).toBe(200);
      const over = await send('ROMASHKA.status', agentToken);
      expect(over.status).toBe(429);
      expect(JSON.parse(over.body).error).toBe(
        "the installation's uploads of the last 24 hours come to 120 KiB, past its daily quota of 100 KiB (UPLOAD_DAILY_QUOTA); nothing was kept, retry later",
      );
      // Unique names under one fleet token (kept for no installation: 202): its own quota holds them, whatever the names.
      expect((await send('A1.status', fleetToken)).status).toBe(202);
      expect((await send('A2.status', fleetToken)).status).toBe(202);
      const fleetOver = await send('A3.status', fleetToken);
      expect(fleetOver.status).toBe(429);
      expect(JSON.parse(fleetOver.body).error).toMatch(/past its daily quota of 150 KiB \(UPLOAD_FLEET_DAILY_QUOTA\)/);
      expect(await rows()).toBe(3);
      // A rolling day later each may send again.
      clock.advance(DAY + 1000);
      expect((await send('ROMASHKA.status', agentToken)).status).toBe(200);
      expect((await send('A3.status', fleetToken)).status).toBe(202);
    } finally {
      await close();
    }
  });

  it('prunes files under names no installation has after UPLOAD_UNMATCHED_DAYS, however many names there are', async () => {
    const { token: fleetToken } = await createUploadToken(ctx(), '0000 Дилер');
    for (let i = 0; i < 51; i++) expect((await curl('-F', `file=@${file(`N${i}.xml`, '<sysinfo/>')}`, `${url}/upload?token=${fleetToken}`)).status).toBe(202);
    expect((await curl('-F', `file=@${file('ROMASHKA.xml', '<sysinfo/>')}`, `${url}/upload?token=${agentToken}`)).status).toBe(200);
    const prune = () => pruneUploads({ db: t.db, dataDir, logger: silentLogger(), keep: 5, retentionMs: 30 * DAY, dayOffsetMs: 0, unmatchedMs: 30 * DAY }, clock());
    clock.advance(29 * DAY);
    expect((await prune()).removed).toBe(0);
    clock.advance(371 * DAY);
    expect((await prune()).removed).toBe(51);
    expect(await listUnmatchedUploadNames(t.db)).toEqual([]);
    // An installation's newest files are kept, however old.
    expect((await t.db.select().from(uploads)).map((u) => u.installationId)).toEqual([installationId]);
    expect(filesOnDisk()).toHaveLength(1);
  });

  it('tells each admin of fifty new unmatched names in one summary a minute, a few named with a button each, the rest counted', async () => {
    await addUser(ctx(), { telegramId: 3002, role: 'admin', name: 'Anna' });
    const { token: fleetToken } = await createUploadToken(ctx(), '0000 Дилер');
    for (let i = 0; i < 50; i++) expect((await curl('-F', `file=@${file(`SHOP${i}.status`, 'date: x')}`, `${url}/upload?token=${fleetToken}`)).status).toBe(202);
    expect(await tellAdminsOfUnmatchedUploads(t.db, clock())).toEqual({ names: 50 });
    const [notice, ...more] = await t.db.select().from(outbox).where(eq(outbox.chatId, 3001));
    expect(more).toEqual([]);
    expect(String(notice!.payload.text).split('\n')).toEqual([
      '📥 Пришли файлы по общему токену под 50 именами, которых нет ни у одной установки:',
      '• SHOP0.status (токен «0000 Дилер»)',
      '• SHOP1.status (токен «0000 Дилер»)',
      '• SHOP2.status (токен «0000 Дилер»)',
      '• SHOP3.status (токен «0000 Дилер»)',
      '• SHOP4.status (токен «0000 Дилер»)',
      '…и ещё 45',
      'Файлы сохранены и засчитаются, когда вы укажете, чья это установка: кнопка с именем привязывает его файлы. Остальные имена показывает командная строка dozor.',
    ]);
    const buttons = (notice!.payload.keyboard as { text: string; data: string }[][]).flat();
    expect(buttons.map((b) => b.text)).toEqual(['🔗 SHOP0', '🔗 SHOP1', '🔗 SHOP2', '🔗 SHOP3', '🔗 SHOP4']);
    // Each button attaches its name's files, as the single notice's does.
    const h = botHarness(t.db, clock);
    await h.press({ id: 3001, first_name: 'Анна' }, buttons[2]!.data, { chatId: 3001, messageId: 1 });
    expect(String(h.lastSent()!.payload.text)).toBe('Чья установка присылает файлы SHOP2? Напишите клиента (id или точное название):');
    expect(await t.db.select().from(outbox).where(eq(outbox.chatId, 3002))).toHaveLength(1);
    // Names seen again are not news; a new one is, next minute.
    expect((await curl('-F', `file=@${file('SHOP7.status', 'date: y')}`, `${url}/upload?token=${fleetToken}`)).status).toBe(202);
    expect((await curl('-F', `file=@${file('VECTOR.status', 'date: y')}`, `${url}/upload?token=${fleetToken}`)).status).toBe(202);
    clock.advance(60_000);
    await tellAdminsOfUnmatchedUploads(t.db, clock());
    expect((await adminNotices()).at(-1)).toBe(
      '📥 Пришёл файл VECTOR.status по общему токену «0000 Дилер», но ни у одной установки нет имени загрузки VECTOR. Файл сохранён и засчитается, когда вы укажете, чья это установка.',
    );
    expect(await adminNotices()).toHaveLength(2);
  });

  it('holds a fleet token to its upload names and source networks: 403 saying which, the upload-token command sets and shows them', async () => {
    const byNames = await createUploadToken(ctx(), 'Скрипты Ромашки', { names: ['romashka', 'VECTOR'] });
    const byNetwork = await createUploadToken(ctx(), 'Офис дилера', { networks: ['10.0.0.0/8', '2001:db8::/32'] });
    const fromHere = await createUploadToken(ctx(), 'Этот компьютер', { networks: ['127.0.0.0/8'] });
    await setUploadName(ctx(), installationId, 'ROMASHKA');
    expect((await curl('-F', `file=@${file('ROMASHKA.xml', '<sysinfo/>')}`, `${url}/upload?token=${byNames.token}`)).status).toBe(200);
    const otherName = await curl('-F', `file=@${file('SKLAD.xml', '<sysinfo/>')}`, `${url}/upload?token=${byNames.token}`);
    expect(otherName.status).toBe(403);
    expect(JSON.parse(otherName.body).error).toBe('this fleet upload token takes files only under the names romashka, VECTOR, and SKLAD is not one of them (upload-token create --names)');
    const elsewhere = await curl('-F', `file=@${file('ROMASHKA.xml', '<sysinfo/>')}`, `${url}/upload?token=${byNetwork.token}`);
    expect(elsewhere.status).toBe(403);
    expect(JSON.parse(elsewhere.body).error).toBe('this fleet upload token takes files only from 10.0.0.0/8, 2001:db8::/32, and 127.0.0.1 is not among them (upload-token create --from)');
    expect((await curl('-F', `file=@${file('ROMASHKA.xml', '<sysinfo/>')}`, `${url}/upload?token=${fromHere.token}`)).status).toBe(200);
    expect(await rows()).toBe(2);

    await expect(createUploadToken(ctx(), 'x', { networks: ['10.0.0.0/33'] })).rejects.toThrow('"10.0.0.0/33" is not a network');
    const created = dozor(t.path, 'upload-token', 'create', '--label', 'Скрипты', '--names', 'ROMASHKA,VECTOR', '--from', '192.168.0.0/16', '--json');
    expect(created.stderr).toBe('');
    expect(JSON.parse(created.stdout)).toMatchObject({ label: 'Скрипты', names: ['ROMASHKA', 'VECTOR'], networks: ['192.168.0.0/16'] });
    const listed = dozor(t.path, 'upload-token', 'list');
    expect(listed.stdout).toMatch(/^4 +Скрипты +ROMASHKA,VECTOR +192\.168\.0\.0\/16 /m);
    expect(listed.stdout).toMatch(/^2 +Офис дилера +any +10\.0\.0\.0\/8,2001:db8::\/32 /m);
    expect(dozor(t.path, 'upload-token', 'create', '--label', 'y', '--from', 'everywhere').stderr).toContain('"everywhere" is not a network');
  });

  it('refuses file names with control characters or marks that reorder text, and shows such names stored before as � everywhere they are listed', async () => {
    const { token: fleetToken } = await createUploadToken(ctx(), '0000 Дилер');
    for (const name of ['evil\u202Egpj.xml', 'esc\u009B31m.xml', 'bom\uFEFF.xml']) {
      const refused = await curl('-F', `file=@${file('plain.xml', '<sysinfo/>')};filename=${name}`, `${url}/upload?token=${fleetToken}`);
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.body).error).toContain('without control characters or invisible formatting marks');
    }
    expect(await rows()).toBe(0);
    // Names an older dozor stored, for no installation and for one.
    const stored = (name: string, owner: number | null) =>
      writeTransaction(t.db, () =>
        insertUpload(t.db, { installationId: owner, name, kind: 'xml', path: 'uploads/x.xml', size: 1, sha256: 'x'.repeat(64), receivedAt: clock(), uploadTokenId: owner === null ? 1 : null, dealer: 'd\u202Ex' }),
      );
    await stored('evil\u202Egpj', null);
    await stored('esc\u009B31m', installationId);
    await tellAdminsOfUnmatchedUploads(t.db, clock());
    expect(await adminNotices()).toEqual([
      '📥 Пришёл файл evil\uFFFDgpj.xml по общему токену «0000 Дилер», но ни у одной установки нет имени загрузки evil\uFFFDgpj. Файл сохранён и засчитается, когда вы укажете, чья это установка.',
    ]);
    const unmatched = dozor(t.path, 'uploads', 'unmatched');
    expect(unmatched.stdout).toContain('evil\uFFFDgpj');
    expect(unmatched.stdout).toContain('d\uFFFDx');
    expect(unmatched.stdout).not.toMatch(/[\u202E\u009B]/);
    const listed = dozor(t.path, 'uploads', 'list', String(installationId));
    expect(listed.stdout).toContain('esc\uFFFD31m');
    expect(listed.stdout).not.toMatch(/[\u202E\u009B]/);
    // The cabinet's page of the installation lists its files the same way.
    const { base, close } = await serveWith({ web: true });
    try {
      const h = botHarness(t.db, clock, { publicUrl: 'https://dozor.example.ru' });
      await h.say({ id: 1001, first_name: 'Ксения' }, '/web');
      const token = /\/web\/login\?token=([A-Za-z0-9_-]+)/.exec(String(h.lastSent()!.payload.text))![1]!;
      const opened = await fetch(`${base}/web/login?token=${token}`, { redirect: 'manual' });
      const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
      const page = await (await fetch(`${base}/web/installations/${installationId}`, { headers: { cookie } })).text();
      expect(page).toContain('esc\uFFFD31m.xml');
      expect(page).not.toMatch(/[\u202E\u009B]/);
    } finally {
      await close();
    }
  });

  it('closes «служба остановлена» when the server itself shows it works: a sysinfo it made, or metrics it answered with', async () => {
    const stopped = async () => {
      await postReport(url, `<report id="down-${clock().getTime()}"><service state="stopped" account="user"/></report>`, { token: agentToken });
      expect((await listIncidentsWithNames(t.db, { includeResolved: false })).map((i) => i.ruleId)).toContain('KodeksServiceDown');
    };
    const serviceDown = async () => (await listIncidentsWithNames(t.db, { includeResolved: false })).some((i) => i.ruleId === 'KodeksServiceDown');
    await stopped();
    // A file that is not metrics proves nothing: the alert stays.
    clock.advance(60_000);
    expect((await curl('-F', `file=@${file('ROMASHKA.status', 'date: nonsense\n{{{ not metrics')}`, `${url}/upload?token=${agentToken}`)).status).toBe(200);
    expect(await serviceDown()).toBe(true);
    // Metrics the server answered with do.
    clock.advance(60_000);
    expect((await curl('-F', `file=@${file('ROMASHKA.status', 'date: Fri, 20 Nov 2026 06:02:00 GMT\nkserver_main_page 1\n')}`, `${url}/upload?token=${agentToken}`)).status).toBe(200);
    expect(await serviceDown()).toBe(false);
    expect(await getState(t.db, installationId)).toMatchObject({ serviceState: 'running', serviceAccount: 'user' });
    // And so does a sysinfo.
    clock.advance(60_000);
    await stopped();
    clock.advance(60_000);
    expect((await curl('-F', `file=@${file('ROMASHKA.xml', '<sysinfo/>')}`, `${url}/upload?token=${agentToken}`)).status).toBe(200);
    expect(await serviceDown()).toBe(false);
  });

  it('judges «XML не поступают» on sysinfo and agent reports, not on .status heartbeats, which have a shorter rule of their own', async () => {
    const open = async () => (await listIncidentsWithNames(t.db, { includeResolved: false })).map((i) => i.ruleId).sort();
    const heartbeat = async () => {
      const stamp = clock().toUTCString();
      expect((await curl('-F', `file=@${file('ROMASHKA.status', `date: ${stamp}\nkserver_main_page 1\n`)}`, `${url}/upload?token=${agentToken}`)).status).toBe(200);
    };
    // A sysinfo arrives, then only heartbeats for three days: the sysinfo upload is broken.
    expect((await curl('-F', `file=@${file('ROMASHKA.xml', '<sysinfo/>')}`, `${url}/upload?token=${agentToken}`)).status).toBe(200);
    const sysinfoAt = clock();
    for (let i = 0; i < 36; i++) {
      clock.advance(2 * 3_600_000);
      await heartbeat();
    }
    await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
    expect(await open()).toEqual(['KodeksXmlMissing']);
    const missing = (await listIncidentsWithNames(t.db, { includeResolved: false }))[0]!;
    expect(missing.details).toMatchObject({ lastReportAt: sysinfoAt.toISOString() });
    // The alert says which one is missing and since when, and that the heartbeat still comes.
    const alert = renderAlert((await getIncidentViews(t.db, [missing.id]))[0]!, { lang: 'ru', tz: 'Europe/Moscow', now: clock(), runbookUrl: () => null }).text;
    expect(alert).toContain('Sysinfo (XML) не поступает');
    expect(alert).toContain('Последний sysinfo или отчёт агента: 20.11 в 09:00 (3 дня назад)');
    expect(alert).toMatch(/Последний статус \(\.status\): .* — сервер на связи, не доходит именно sysinfo/);
    // The card says which is missing and since when: the sysinfo, not the heartbeat.
    const card = renderClientStatus((await getClientStatus(t.db, 1, clock()))!, 'ru', 'Europe/Moscow', clock());
    expect(card).toMatch(/Sysinfo: 3 дня назад/);
    // Heartbeats stop as well: after an hour, the shorter rule opens too.
    clock.advance(61 * 60_000);
    await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
    expect(await open()).toEqual(['KodeksStatusMissing', 'KodeksXmlMissing']);
    // The agent's own report carries the full state: it closes the sysinfo's silence; a heartbeat closes its own.
    await postReport(url, '<report id="full"><senselock state="ok"/></report>', { token: agentToken });
    expect(await open()).toEqual(['KodeksStatusMissing']);
    await heartbeat();
    expect(await open()).toEqual([]);
  });

  it('keeps the newest five of each kind and one a day for the retention, and clears what a crash left', async () => {
    for (let day = 0; day < 10; day++) {
      for (let n = 0; n < 2; n++) {
        expect((await curl('-F', `file=@${file('ROMASHKA.xml', `<s d="${day}" n="${n}"/>`)}`, `${url}/upload?token=${agentToken}`)).status).toBe(200);
        clock.advance(3_600_000);
      }
      clock.advance(DAY - 2 * 3_600_000);
    }
    expect(await rows()).toBe(20);
    // A file a crash left between storing it and recording it, an hour old.
    const stray = join(dataDir, 'uploads', String(installationId), 'xml', 'stray.xml');
    writeFileSync(stray, 'half');
    const old = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(stray, old, old);

    const result = await pruneUploads({ db: t.db, dataDir, logger: silentLogger(), keep: 5, retentionMs: 7 * DAY, dayOffsetMs: 0, unmatchedMs: 30 * DAY }, clock());
    expect(result.stray).toBe(1);
    const kept = await t.db.select().from(uploads);
    // The newest five (days 9, 9, 8, 8, 7), then one a day within seven days: days 6 to 3.
    const days = kept.map((u) => Math.floor((u.receivedAt.getTime() - Date.parse('2026-11-20T00:00:00Z')) / DAY)).sort((a, b) => b - a);
    expect(days).toEqual([9, 9, 8, 8, 7, 6, 5, 4, 3]);
    expect(filesOnDisk().sort()).toEqual(kept.map((u) => join(dataDir, u.path)).sort());
    expect(filesOnDisk().every((path) => statSync(path).size > 0)).toBe(true);
  });
});
