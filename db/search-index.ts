import { SearchIndex, type Searchable } from '../core/search.ts';
import { readValue, writeValue } from './key-value.ts';
import type { DB, Queryable } from './open.ts';
import { clients, installations } from './schema.ts';

const VERSION_KEY = 'registry.version';

/** Note that clients or installations changed, so search indexes are rebuilt (in every process). */
export async function bumpRegistryVersion(db: Queryable, at: Date): Promise<void> {
  await writeValue(db, VERSION_KEY, ((await readValue<number>(db, VERSION_KEY)) ?? 0) + 1, at);
}

/** What client search looks through: each client's name and INN, its installations' names and hosts. */
export async function loadSearchables(db: Queryable): Promise<Searchable[]> {
  const byClient = new Map<number, Searchable>();
  for (const c of await db.select({ id: clients.id, name: clients.name, inn: clients.inn }).from(clients)) {
    byClient.set(c.id, { clientId: c.id, names: [c.name], inn: c.inn });
  }
  for (const i of await db.select({ clientId: installations.clientId, name: installations.name, host: installations.host }).from(installations)) {
    const entry = byClient.get(i.clientId);
    if (!entry) continue;
    entry.names.push(i.name);
    if (i.host) entry.names.push(i.host);
  }
  return [...byClient.values()];
}

const cache = new WeakMap<object, { version: number; index: SearchIndex }>();

/** The client search index, rebuilt only when the registry changed since it was built. */
export async function searchIndexFor(db: DB): Promise<SearchIndex> {
  const version = (await readValue<number>(db, VERSION_KEY)) ?? 0;
  const cached = cache.get(db.$client);
  if (cached && cached.version === version) return cached.index;
  const index = new SearchIndex(await loadSearchables(db));
  cache.set(db.$client, { version, index });
  return index;
}
