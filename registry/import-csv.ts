import { parse } from 'csv-parse/sync';
import { InputError, type ClientConflict } from '../core/errors.ts';
import { describeError, inputError } from '../i18n/index.ts';
import { recordAudit } from '../db/audit.ts';
import { getClientByInn, getClientByName, type Client } from '../db/clients.ts';
import type { Queryable } from '../db/open.ts';
import { createClient, newClientSchema } from './clients.ts';
import type { RegistryContext } from './context.ts';
import { validate } from './fields.ts';
import { createInstallation, newInstallationSchema } from './installations.ts';
import { writeTransaction } from '../db/transaction.ts';

/**
 * Bulk import of clients and installations from CSV: one installation per row,
 * its client created on first mention and matched by INN or exact name after.
 * All rows are checked; any error imports nothing.
 */
export const CSV_COLUMNS = ['client', 'inn', 'manager', 'chat', 'installation', 'kind', 'host', 'ip', 'url', 'provider', 'tz'] as const;
const REQUIRED_COLUMNS = ['client', 'installation', 'kind'] as const;

type Row = Partial<Record<(typeof CSV_COLUMNS)[number], string>>;

export interface ImportedInstallation {
  line: number;
  clientId: number;
  client: string;
  installationId: number;
  installation: string;
  /** The agent token, shown once; absent in a dry run. */
  token?: string;
}

export interface ImportResult {
  dryRun: boolean;
  clientsCreated: { id: number; name: string }[];
  installations: ImportedInstallation[];
}

/** The rows that are wrong, each with what is wrong with it. */
export class ImportError extends InputError<'importRefused'> {
  readonly problems: { line: number; message: string }[];

  constructor(rows: { line: number; error: InputError }[]) {
    const refused = inputError('importRefused', { problems: rows });
    super('importRefused', refused.params, refused.message);
    this.problems = rows.map(({ line, error }) => ({ line, message: describeError(error, 'en') }));
  }
}

class DryRunRollback extends Error {
  constructor(readonly result: ImportResult) {
    super('dry run');
  }
}

export function importCsv(ctx: RegistryContext, csv: string, options: { dryRun: boolean }): ImportResult {
  const rows = readRows(csv);
  try {
    return writeTransaction(ctx.db, (tx) => importRows(tx, ctx, rows, options.dryRun));
  } catch (err) {
    if (err instanceof DryRunRollback) return err.result;
    throw err;
  }
}

function readRows(csv: string): { line: number; row: Row }[] {
  const firstLine = csv.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  // Spreadsheets in Russian locales save CSV with semicolons.
  const delimiter = (firstLine.match(/;/g)?.length ?? 0) > (firstLine.match(/,/g)?.length ?? 0) ? ';' : ',';
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(csv, {
      columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
      bom: true,
      trim: true,
      skip_empty_lines: true,
      delimiter,
      info: true,
    });
  } catch (err) {
    throw inputError('csvUnreadable', { reason: (err as Error).message });
  }
  const header = Object.keys(records[0]?.record ?? {});
  if (records.length === 0) throw inputError('csvNoRows', {});
  const unknown = header.filter((h) => !(CSV_COLUMNS as readonly string[]).includes(h));
  if (unknown.length > 0) {
    throw inputError('csvUnknownColumns', { columns: unknown.join(', '), known: CSV_COLUMNS.join(', ') });
  }
  const missing = REQUIRED_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length > 0) throw inputError('csvMissingColumns', { columns: missing.join(', ') });
  return records.map(({ record, info }) => ({ line: info.lines, row: record as Row }));
}

function importRows(tx: Queryable, ctx: RegistryContext, rows: { line: number; row: Row }[], dryRun: boolean): ImportResult {
  const result: ImportResult = { dryRun, clientsCreated: [], installations: [] };
  const problems: { line: number; error: InputError }[] = [];
  for (const { line, row } of rows) {
    try {
      const client = findOrCreateClient(tx, ctx, row, result);
      const { installation, token } = createInstallation(
        tx,
        ctx,
        client,
        validate(
          newInstallationSchema,
          {
            name: row.installation,
            kind: row.kind,
            host: blankToUndefined(row.host),
            ip: blankToUndefined(row.ip),
            url: blankToUndefined(row.url),
            provider: blankToUndefined(row.provider),
            tz: blankToUndefined(row.tz),
          },
          'installation',
        ),
      );
      result.installations.push({
        line,
        clientId: client.id,
        client: client.name,
        installationId: installation.id,
        installation: installation.name,
        ...(dryRun ? {} : { token }),
      });
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      problems.push({ line, error: err });
    }
  }
  if (problems.length > 0) throw new ImportError(problems);
  if (dryRun) throw new DryRunRollback(result);
  recordAudit(tx, {
    at: ctx.clock(),
    actor: ctx.actor,
    action: 'import.csv',
    subjectType: 'import',
    details: { clients: result.clientsCreated.length, installations: result.installations.length },
  });
  return result;
}

function findOrCreateClient(tx: Queryable, ctx: RegistryContext, row: Row, result: ImportResult): Client {
  const fields = validate(
    newClientSchema,
    {
      name: row.client,
      inn: blankToUndefined(row.inn),
      managerId: blankToUndefined(row.manager),
      chatId: blankToUndefined(row.chat),
    },
    'client',
  );
  const existing = (fields.inn ? getClientByInn(tx, fields.inn) : undefined) ?? getClientByName(tx, fields.name);
  if (!existing) {
    const client = createClient(tx, ctx, fields);
    result.clientsCreated.push({ id: client.id, name: client.name });
    return client;
  }
  const conflicts: ClientConflict[] = [];
  if (existing.name !== fields.name) conflicts.push({ field: 'name', value: existing.name });
  if (fields.inn !== undefined && existing.inn !== fields.inn) conflicts.push({ field: 'inn', value: existing.inn });
  if (fields.managerId !== undefined && existing.managerId !== fields.managerId) conflicts.push({ field: 'manager', value: existing.managerId });
  if (fields.chatId !== undefined && existing.chatId !== fields.chatId) conflicts.push({ field: 'chat', value: existing.chatId });
  if (conflicts.length > 0) throw inputError('csvClientConflict', { name: fields.name, id: existing.id, conflicts });
  return existing;
}

function blankToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
