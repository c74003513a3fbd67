import { parse } from 'csv-parse/sync';
import type { z } from 'zod';
import { InputError, type ClientConflict } from '../core/errors.ts';
import { describeError, inputError } from '../i18n/index.ts';
import { recordAudit } from '../db/audit.ts';
import { getClientByInn, getClientByName, type Client } from '../db/clients.ts';
import { listInstallationNames } from '../db/installations.ts';
import { findInstallationByUploadName } from '../db/uploads.ts';
import type { Queryable } from '../db/open.ts';
import { createClient, newClientSchema } from './clients.ts';
import type { RegistryContext } from './context.ts';
import { validate } from './fields.ts';
import { createInstallations, newInstallationSchema } from './installations.ts';
import { decodeCsv, type CsvEncoding } from './csv-encoding.ts';
import { requireActiveUser } from './users.ts';
import { writeTransaction } from '../db/transaction.ts';

/**
 * Bulk import of clients and installations from CSV: one installation per row,
 * its client created on first mention and matched by INN or exact name after.
 * All rows are checked first, reading only; any error imports nothing. Then
 * everything is written in one transaction of bulk statements, short enough
 * (about a second for 10,000 rows) that agents' reports wait for it instead
 * of being refused.
 */
export const CSV_COLUMNS = ['client', 'inn', 'manager', 'chat', 'installation', 'kind', 'host', 'ip', 'url', 'provider', 'tz', 'upload_name'] as const;
const REQUIRED_COLUMNS = ['client', 'installation', 'kind'] as const;

type Row = Partial<Record<(typeof CSV_COLUMNS)[number], string>>;
type ClientFields = z.output<typeof newClientSchema>;
type InstallationFields = z.output<typeof newInstallationSchema>;

export interface ImportedInstallation {
  line: number;
  /** Absent in a dry run for a client the file creates. */
  clientId?: number;
  client: string;
  /** Absent in a dry run. */
  installationId?: number;
  installation: string;
  /** The agent token, shown once; absent in a dry run. */
  token?: string;
}

export interface ImportResult {
  dryRun: boolean;
  /** How the file's bytes were read. */
  encoding: CsvEncoding;
  /** `id` is absent in a dry run. */
  clientsCreated: { id?: number; name: string }[];
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

/** A client the file names: one already registered, or one it creates (first named on `line`). */
type PlannedClient = { existing: Client } | { line: number; fields: ClientFields; created?: Client };

interface PlannedRow {
  line: number;
  client: PlannedClient;
  fields: InstallationFields;
}

/** Import a CSV file: its bytes (the encoding is detected) or text already read. */
export async function importCsv(ctx: RegistryContext, csv: string | Uint8Array, options: { dryRun: boolean }): Promise<ImportResult> {
  const { text, encoding } = typeof csv === 'string' ? { text: csv, encoding: 'utf-8' as const } : decodeCsv(csv);
  const plan = await planImport(ctx.db, readRows(text));
  if (options.dryRun) {
    return {
      dryRun: true,
      encoding,
      clientsCreated: newClients(plan).map(({ fields }) => ({ name: fields.name })),
      installations: plan.map(({ line, client, fields }) => ({
        line,
        ...('existing' in client ? { clientId: client.existing.id } : {}),
        client: clientName(client),
        installation: fields.name,
      })),
    };
  }
  return writeTransaction(ctx.db, async (tx) => writePlan(tx, ctx, plan, encoding));
}

function readRows(csv: string): { line: number; row: Row }[] {
  const firstLine = csv.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  // Spreadsheets in Russian locales save CSV with semicolons; "Unicode text" uses tabs.
  const counts = (['\t', ';', ','] as const).map((d) => ({ d, n: firstLine.split(d).length - 1 }));
  const delimiter = counts.reduce((best, c) => (c.n > best.n ? c : best), { d: ',', n: 0 }).d;
  let duplicated: string[] = [];
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(csv, {
      columns: (header: string[]) => {
        const names = header.map((h) => h.trim().toLowerCase());
        duplicated = [...new Set(names.filter((name, i) => names.indexOf(name) !== i))];
        return names;
      },
      bom: true,
      trim: true,
      skip_empty_lines: true,
      delimiter,
      info: true,
    });
  } catch (err) {
    throw inputError('csvUnreadable', { reason: (err as Error).message });
  }
  // Two columns of one name: which one is meant cannot be known, and the last would silently win.
  if (duplicated.length > 0) throw inputError('csvDuplicateColumns', { columns: duplicated.join(', ') });
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

/** Check every row, reading only: which client each belongs to, and that every name is free. */
async function planImport(db: Queryable, rows: { line: number; row: Row }[]): Promise<PlannedRow[]> {
  const plan: PlannedRow[] = [];
  const problems: { line: number; error: InputError }[] = [];
  const fileClients = { byName: new Map<string, PlannedClient>(), byInn: new Map<string, PlannedClient>() };
  const validRows: { line: number; client: PlannedClient; fields: InstallationFields }[] = [];
  for (const { line, row } of rows) {
    try {
      const client = await planClient(db, row, line, fileClients);
      const fields = validate(
        newInstallationSchema,
        {
          name: row.installation,
          kind: row.kind,
          host: blankToUndefined(row.host),
          ip: blankToUndefined(row.ip),
          url: blankToUndefined(row.url),
          provider: blankToUndefined(row.provider),
          tz: blankToUndefined(row.tz),
          uploadName: blankToUndefined(row.upload_name),
        },
        'installation',
      );
      validRows.push({ line, client, fields });
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      problems.push({ line, error: err });
    }
  }
  const existingIds = [...new Set(validRows.flatMap(({ client }) => ('existing' in client ? [client.existing.id] : [])))];
  const taken = new Set((await listInstallationNames(db, existingIds)).map((n) => `${n.clientId}\u0000${n.name}`));
  const named = new Map<PlannedClient, Set<string>>();
  const uploadNames = new Map<string, number>();
  for (const planned of validRows) {
    const { client, fields } = planned;
    const inFile = named.get(client) ?? new Set<string>();
    named.set(client, inFile);
    if (inFile.has(fields.name) || ('existing' in client && taken.has(`${client.existing.id}\u0000${fields.name}`))) {
      problems.push({ line: planned.line, error: inputError('installationNameTaken', { client: clientName(client), name: fields.name }) });
      continue;
    }
    if (fields.uploadName) {
      const key = fields.uploadName.toLowerCase();
      const holder = await findInstallationByUploadName(db, fields.uploadName);
      const earlier = uploadNames.get(key);
      if (holder || earlier !== undefined) {
        const error = holder
          ? inputError('uploadNameTaken', { name: fields.uploadName, id: holder.id, installation: holder.name })
          : inputError('uploadNameInFile', { name: fields.uploadName, line: earlier! });
        problems.push({ line: planned.line, error });
        continue;
      }
      uploadNames.set(key, planned.line);
    }
    inFile.add(fields.name);
    plan.push(planned);
  }
  if (problems.length > 0) throw new ImportError(problems.sort((a, b) => a.line - b.line));
  return plan;
}

async function planClient(
  db: Queryable,
  row: Row,
  line: number,
  fileClients: { byName: Map<string, PlannedClient>; byInn: Map<string, PlannedClient> },
): Promise<PlannedClient> {
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
  // A client the file named before is matched without asking the database again.
  const earlier = (fields.inn ? fileClients.byInn.get(fields.inn) : undefined) ?? fileClients.byName.get(fields.name);
  if (earlier) {
    if ('existing' in earlier) refuseConflicts(fields, earlier.existing, { id: earlier.existing.id });
    else refuseConflicts(fields, { name: earlier.fields.name, inn: earlier.fields.inn ?? null, managerId: earlier.fields.managerId ?? null, chatId: earlier.fields.chatId ?? null }, { line: earlier.line });
    return earlier;
  }
  const registered = (fields.inn ? await getClientByInn(db, fields.inn) : undefined) ?? (await getClientByName(db, fields.name));
  if (registered) {
    refuseConflicts(fields, registered, { id: registered.id });
    return remember(fileClients, { existing: registered }, registered.name, registered.inn);
  }
  if (fields.managerId !== undefined) await requireActiveUser(db, fields.managerId, 'manager');
  return remember(fileClients, { line, fields }, fields.name, fields.inn ?? null);
}

function remember(
  fileClients: { byName: Map<string, PlannedClient>; byInn: Map<string, PlannedClient> },
  client: PlannedClient,
  name: string,
  inn: string | null,
): PlannedClient {
  fileClients.byName.set(name, client);
  if (inn) fileClients.byInn.set(inn, client);
  return client;
}

function refuseConflicts(
  fields: ClientFields,
  known: Pick<Client, 'name' | 'inn' | 'managerId' | 'chatId'>,
  of: { id: number } | { line: number },
): void {
  const conflicts: ClientConflict[] = [];
  if (known.name !== fields.name) conflicts.push({ field: 'name', value: known.name });
  if (fields.inn !== undefined && known.inn !== fields.inn) conflicts.push({ field: 'inn', value: known.inn });
  if (fields.managerId !== undefined && known.managerId !== fields.managerId) conflicts.push({ field: 'manager', value: known.managerId });
  if (fields.chatId !== undefined && known.chatId !== fields.chatId) conflicts.push({ field: 'chat', value: known.chatId });
  if (conflicts.length > 0) throw inputError('csvClientConflict', { name: fields.name, of, conflicts });
}

/** Write a checked plan: the new clients, then every installation in bulk, then one audit entry for the import. */
async function writePlan(tx: Queryable, ctx: RegistryContext, plan: PlannedRow[], encoding: CsvEncoding): Promise<ImportResult> {
  const created: Client[] = [];
  for (const client of newClients(plan)) {
    client.created = await createClient(tx, ctx, client.fields);
    created.push(client.created);
  }
  const clientOf = (client: PlannedClient): Client => ('existing' in client ? client.existing : client.created!);
  const issued = await createInstallations(tx, ctx, plan.map(({ client, fields }) => ({ client: clientOf(client), fields })));
  const result: ImportResult = {
    dryRun: false,
    encoding,
    clientsCreated: created.map((c) => ({ id: c.id, name: c.name })),
    installations: plan.map(({ line, client }, i) => ({
      line,
      clientId: clientOf(client).id,
      client: clientName(client),
      installationId: issued[i]!.installation.id,
      installation: issued[i]!.installation.name,
      token: issued[i]!.token,
    })),
  };
  await recordAudit(tx, {
    at: ctx.clock(),
    actor: ctx.actor,
    action: 'import.csv',
    subjectType: 'import',
    details: { clients: result.clientsCreated.length, installations: result.installations.length, encoding },
  });
  return result;
}

/** The clients the file creates, in the order it first names them. */
function newClients(plan: PlannedRow[]): Extract<PlannedClient, { fields: ClientFields }>[] {
  return [...new Set(plan.map((row) => row.client))].filter((client) => 'fields' in client);
}

function clientName(client: PlannedClient): string {
  return 'existing' in client ? client.existing.name : client.fields.name;
}

function blankToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
