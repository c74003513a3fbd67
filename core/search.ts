import { distance } from 'fastest-levenshtein';

/**
 * Finding a client the way a manager types it: case and ё/е do not matter,
 * nor quotes of any kind, nor legal forms (ООО, АО, ИП…); an INN matches
 * exactly; small typos are forgiven.
 */
export interface Searchable {
  clientId: number;
  /** Texts that identify the client: its name, its installations' names and hosts. */
  names: string[];
  inn: string | null;
}

export interface SearchHit {
  clientId: number;
  /** Lower is better: 0 for an exact match. */
  score: number;
}

const LEGAL_FORMS = new Set([
  'ооо', 'оао', 'зао', 'пао', 'ао', 'нао', 'ип', 'нко', 'ано', 'гуп', 'муп', 'фгуп', 'фгбу', 'гбу', 'мбу', 'ооо.', 'ooo', 'llc', 'ltd', 'inc',
]);

export function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/ё/g, 'е')
    .replace(/[«»"'„“”‘’`]/g, ' ')
    .replace(/[^\p{L}\p{N}.\-]+/gu, ' ')
    .split(' ')
    .filter((word) => word && !LEGAL_FORMS.has(word))
    .join(' ')
    .trim();
}

const tokens = (text: string) => normalize(text).split(' ').filter(Boolean);

/** Typos allowed in a word of this length. */
const allowance = (length: number) => (length <= 3 ? 0 : length <= 6 ? 1 : 2);

/** How far a query word is from the closest word of a name (prefixes count as close). */
function wordDistance(queryWord: string, nameWords: string[]): number {
  let best = Infinity;
  for (const word of nameWords) {
    if (word === queryWord) return 0;
    if (word.startsWith(queryWord) && queryWord.length >= 3) best = Math.min(best, 0.5);
    const d = distance(queryWord, word.slice(0, Math.max(queryWord.length, word.length)));
    if (d <= allowance(queryWord.length)) best = Math.min(best, d);
  }
  return best;
}

export function searchClients(query: string, items: readonly Searchable[]): SearchHit[] {
  const digits = query.replace(/\D/g, '');
  if (/^\s*\d{10}(\d{2})?\s*$/.test(query)) {
    return items.filter((i) => i.inn === digits).map((i) => ({ clientId: i.clientId, score: 0 }));
  }
  const queryWords = tokens(query);
  if (queryWords.length === 0) return [];
  const normalizedQuery = queryWords.join(' ');
  const hits: SearchHit[] = [];
  for (const item of items) {
    const normalizedNames = item.names.map(normalize);
    if (normalizedNames.includes(normalizedQuery)) {
      hits.push({ clientId: item.clientId, score: 0 });
      continue;
    }
    // Every word of the query must be close to some word of the client's names ("ромашка офис").
    const words = normalizedNames.flatMap((name) => name.split(' '));
    let sum = 0;
    for (const word of queryWords) {
      sum += wordDistance(word, words);
      if (sum === Infinity) break;
    }
    if (sum !== Infinity) hits.push({ clientId: item.clientId, score: 0.1 + sum });
  }
  hits.sort((a, b) => a.score - b.score);
  // An exact match leaves no doubt; otherwise keep the closest ones.
  if (hits[0]?.score === 0) return hits.filter((h) => h.score === 0);
  const bestScore = hits[0]?.score ?? Infinity;
  return hits.filter((h) => h.score <= bestScore + 1);
}
