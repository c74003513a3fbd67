import { clients, installations } from './schema.ts';
import type { Queryable } from './open.ts';
import type { Searchable } from '../core/search.ts';

/** What client search looks through: each client's name and INN, its installations' names and hosts. */
export function loadSearchables(db: Queryable): Searchable[] {
  const byClient = new Map<number, Searchable>();
  for (const c of db.select({ id: clients.id, name: clients.name, inn: clients.inn }).from(clients).all()) {
    byClient.set(c.id, { clientId: c.id, names: [c.name], inn: c.inn });
  }
  for (const i of db.select({ clientId: installations.clientId, name: installations.name, host: installations.host }).from(installations).all()) {
    const entry = byClient.get(i.clientId);
    if (!entry) continue;
    entry.names.push(i.name);
    if (i.host) entry.names.push(i.host);
  }
  return [...byClient.values()];
}
