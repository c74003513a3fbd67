import { soonestLicense } from '../core/server-rules.ts';
import type { FleetRow } from '../db/fleet.ts';

/** What the fleet page is asked for: its filters and order, all from the query string (so a view can be linked and exported). */
export interface FleetQuery {
  /** The `/status` search: client name, INN, installation or host, forgiving typos. */
  q: string;
  manager: string;
  kind: string;
  provider: string;
  /** Only installations with problems (or silent). */
  problems: boolean;
  sort: SortKey;
  desc: boolean;
}

export const SORT_KEYS = ['state', 'client', 'installation', 'report', 'sysinfo', 'operap', 'version', 'licence', 'seats', 'manager'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

const text = (value: unknown, max = 200) => (typeof value === 'string' ? value.trim().slice(0, max) : '');

/** The query string read leniently: anything unknown is simply not a filter. */
export function readFleetQuery(raw: Record<string, unknown>): FleetQuery {
  const sort = text(raw.sort) as SortKey;
  return {
    q: text(raw.q),
    manager: text(raw.manager),
    kind: text(raw.kind, 20),
    provider: text(raw.provider),
    problems: raw.problems === '1',
    sort: SORT_KEYS.includes(sort) ? sort : 'state',
    desc: raw.dir === 'desc',
  };
}

/** The query string of a view, for links (sorting, CSV) that keep its filters. */
export function fleetQueryString(query: FleetQuery, change: Partial<FleetQuery> = {}): string {
  const merged = { ...query, ...change };
  const params = new URLSearchParams();
  for (const key of ['q', 'manager', 'kind', 'provider'] as const) if (merged[key]) params.set(key, merged[key]);
  if (merged.problems) params.set('problems', '1');
  if (merged.sort !== 'state') params.set('sort', merged.sort);
  if (merged.desc) params.set('dir', 'desc');
  const string = params.toString();
  return string ? `?${string}` : '';
}

/** A fleet row with how bad it is: 0 critical, 1 other problems, 2 silent or never reported, 3 fine. */
export interface RankedRow {
  row: FleetRow;
  rank: number;
}

/**
 * The rows a view shows, in its order: filtered by the query (the search by
 * the clients it matched), problems first unless another column is asked for.
 */
export function fleetView(rows: readonly RankedRow[], query: FleetQuery, matchedClients: ReadonlySet<number> | null): RankedRow[] {
  const shown = rows.filter(
    ({ row, rank }) =>
      (matchedClients === null || matchedClients.has(row.clientId)) &&
      (!query.manager || row.managerName === query.manager) &&
      (!query.kind || row.kind === query.kind) &&
      (!query.provider || row.provider === query.provider) &&
      (!query.problems || rank <= 2),
  );
  // Null: not known (never reported, no licence term); such rows go last whichever way the column is sorted.
  const key = (entry: RankedRow): string | number | null => {
    const { row } = entry;
    switch (query.sort) {
      case 'state':
        return entry.rank;
      case 'client':
        return row.clientName.toLowerCase();
      case 'installation':
        return row.installationName.toLowerCase();
      case 'report':
        return row.lastReceivedAt?.getTime() ?? null;
      case 'sysinfo':
        return row.lastSysinfoAt?.getTime() ?? null;
      case 'operap':
        return row.operapDate;
      case 'licence':
        return soonestLicense(row.databases ?? undefined)?.expires ?? null;
      case 'seats':
        return row.seatsUsed;
      case 'version':
        return row.shellVersion;
      case 'manager':
        return row.managerName?.toLowerCase() ?? null;
    }
  };
  const direction = query.desc ? -1 : 1;
  const keyed = shown.map((entry) => ({ entry, key: key(entry) }));
  keyed.sort((a, b) => {
    if (a.key === null || b.key === null) return a.key === b.key ? 0 : a.key === null ? 1 : -1;
    return a.key < b.key ? -direction : a.key > b.key ? direction : 0;
  });
  return keyed.map((k) => k.entry);
}

/** A CSV file as spreadsheets here read it: a byte order mark (so UTF-8 is seen), `;` between fields, CRLF lines. */
export function csvDocument(rows: readonly (readonly (string | number | null)[])[]): string {
  return `\uFEFF${rows.map((row) => row.map(csvField).join(';')).join('\r\n')}\r\n`;
}

/** One CSV field: quoted when it must be, and never a formula a spreadsheet would run (a name starting with =, +, - or @). */
export function csvField(value: string | number | null): string {
  let text = value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n;]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
