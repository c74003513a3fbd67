import yazl from 'yazl';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { closeDatabase, closeDb, openDb, type DB } from '../db/open.ts';
import { openPostgres } from '../db/open-postgres.ts';
import { statement, type PortableStatement } from '../db/statements.ts';
import { freshPgDatabase, onPostgres } from './pg-helpers.ts';
import { Dispatcher, type Delivery, type OutboxMessage } from '../delivery/dispatcher.ts';
import { unpaced } from '../delivery/pacer.ts';
import { buildHttpServer } from '../app/http.ts';
import { DEFAULT_INCIDENT_SETTINGS, type IncidentSettings } from '../incidents/settings.ts';
import type { RegistryContext } from '../registry/context.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation, type NewInstallationInput } from '../registry/installations.ts';
import { addUser } from '../registry/users.ts';

/** A clock a test sets by hand. */
export interface TestClock {
  (): Date;
  set(iso: string | Date): void;
  advance(ms: number): void;
}

export function testClock(start: string): TestClock {
  let now = new Date(start);
  const clock = (() => new Date(now)) as TestClock;
  clock.set = (iso) => {
    now = new Date(iso);
  };
  clock.advance = (ms) => {
    now = new Date(now.getTime() + ms);
  };
  return clock;
}

export const HOUR = 3600_000;
export const DAY = 24 * HOUR;

/** A directory removed when `cleanup` runs. */
export function tempDir(): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), 'dozor-test-'));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface TestDb {
  db: DB;
  /** The SQLite file, or on PostgreSQL the database's address. */
  path: string;
  dir: string;
  close(): Promise<void>;
}

/**
 * A real database, migrated: a SQLite file in a temporary directory, or,
 * when the suite runs on PostgreSQL (the `postgres` project of
 * vitest.config.ts), a new PostgreSQL database dropped on close.
 */
export async function testDb(): Promise<TestDb> {
  if (onPostgres()) return testPostgresDb();
  const dir = tempDir();
  const path = join(dir.path, 'dozor.sqlite');
  const db = openDb(path);
  return {
    db,
    path,
    dir: dir.path,
    async close() {
      closeDb(db);
      dir.cleanup();
    },
  };
}

async function testPostgresDb(): Promise<TestDb> {
  const dir = tempDir();
  const database = await freshPgDatabase('t', { migrated: true });
  const db = await openPostgres(database.url, { maxConnections: 4 });
  return {
    db,
    path: database.url,
    dir: dir.path,
    async close() {
      await closeDatabase(db);
      await database.drop();
      dir.cleanup();
    },
  };
}

const statements = new Map<string, PortableStatement>();
function statementFor(text: string): PortableStatement {
  let found = statements.get(text);
  if (!found) {
    found = statement(`test.${statements.size}`, text);
    statements.set(text, found);
  }
  return found;
}

/** Rows of raw SQL both databases read (`?` placeholders), for a test's set-up or checks outside db/. */
export function sqlRows<R = Record<string, unknown>>(db: DB, text: string, ...params: unknown[]): Promise<R[]> {
  return statementFor(text).all<R>(db, ...params);
}

/** The first value of the first row of raw SQL (a count, say). */
export function sqlValue<V = unknown>(db: DB, text: string, ...params: unknown[]): Promise<V | undefined> {
  return statementFor(text).value<V>(db, ...params);
}

/** Run raw SQL that changes rows; how many. */
export function sqlRun(db: DB, text: string, ...params: unknown[]): Promise<number> {
  return statementFor(text).run(db, ...params);
}

export const silentLogger = () => pino({ level: process.env.DEBUG_LOG ? 'debug' : 'silent' });

export interface TestIntake {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** The real intake server on an ephemeral port. */
export async function startIntake(
  db: DB,
  clock: () => Date,
  options: { settings?: IncidentSettings; onIncidentChange?: () => void; failedAuthLimit?: number } = {},
): Promise<TestIntake> {
  const app = buildHttpServer({
    db,
    clock,
    logger: silentLogger(),
    settings: options.settings ?? DEFAULT_INCIDENT_SETTINGS,
    ...(options.onIncidentChange ? { onIncidentChange: options.onIncidentChange } : {}),
    ...(options.failedAuthLimit ? { failedAuthLimit: options.failedAuthLimit } : {}),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, close: () => app.close() };
}

/** A lead, a manager, a client and one installation, the way an admin would set them up. */
export async function seedFleet(ctx: RegistryContext, installation: Partial<NewInstallationInput> = {}) {
  const lead = await addUser(ctx, { telegramId: 2001, role: 'lead', name: 'Ирина Петрова' });
  const manager = await addUser(ctx, { telegramId: 1001, role: 'manager', name: 'Ксения Шабанова', leadId: 2001 });
  const client = await addClient(ctx, { name: 'ООО «Ромашка»', inn: '7701234567', managerId: 1001 });
  const issued = await addInstallation(ctx, {
    client: String(client.id),
    name: 'Сервер офиса',
    kind: 'network',
    host: 'romashka.example.ru',
    ip: '10.1.2.3',
    ...installation,
  });
  return { lead, manager, client, installation: issued.installation, token: issued.token };
}

export const SAMPLE_XML = `<?xml version="1.0" encoding="UTF-8"?>
<report version="1" id="agent-unique-report-id" generated-at="2023-02-15T09:12:00+03:00">
  <shell version="6.4.3.59"/>
  <update number="2251" operap-date="2023-02-14"/>
  <service state="running" account="user"/>
  <senselock state="ok"/>
  <kit assembled="true" daily-update="true" copybaseweb="true"/>
  <storage path="\\\\nas\\kodeks" reachable="true"/>
  <license limit="10" peak="10" exhausted="3"/>
</report>`;

/** POST a report body to the intake. */
export async function postReport(
  url: string,
  body: string | Buffer,
  options: { token?: string | null; contentType?: string | null } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (options.token !== null && options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.contentType !== null) headers['content-type'] = options.contentType ?? 'application/xml';
  const response = await fetch(`${url}/api/v1/reports`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** A delivery channel that records what it was given, and can be told to fail. */
export class RecordingDelivery implements Delivery {
  readonly delivered: OutboxMessage[] = [];
  readonly batches: OutboxMessage[][] = [];
  /** Fail this many deliveries from now on (Infinity: until told otherwise). */
  failures = 0;
  attempts = 0;
  private waiters: { count: number; resolve: () => void }[] = [];

  async deliver(batch: OutboxMessage[]): Promise<void> {
    this.attempts++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('channel unavailable');
    }
    this.batches.push(batch);
    this.delivered.push(...batch);
    this.waiters = this.waiters.filter((w) => (this.delivered.length >= w.count ? (w.resolve(), false) : true));
  }

  kinds(): string[] {
    return this.delivered.map((m) => `${m.kind} ${(m.payload as { ruleId?: string }).ruleId ?? ''} -> ${m.chatId}`.trim());
  }

  /** Resolves once `count` messages have been delivered in all. */
  waitFor(count: number): Promise<void> {
    if (this.delivered.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

export function testDispatcher(db: DB, clock: () => Date, delivery: Delivery, groupWindowMs = 30_000): Dispatcher {
  return new Dispatcher({ db, delivery, clock, logger: silentLogger(), retryBaseMs: 1000, retryMaxMs: 60_000, pacer: unpaced, groupWindowMs });
}

/** A ZIP archive of the given entries, made by yazl. */
export function zipOf(entries: Record<string, Buffer | string>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(entries)) zip.addBuffer(Buffer.from(content), name);
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}
