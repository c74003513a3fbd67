import { distance } from 'fastest-levenshtein';
import { LEGAL_FORMS } from './text.ts';

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

export function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/ё/g, 'е')
    .replace(/[«»"'„“”‘’`]/g, ' ')
    .replace(/[^\p{L}\p{N}.-]+/gu, ' ')
    .split(' ')
    .filter((word) => word && !LEGAL_FORMS.has(word))
    .join(' ')
    .trim();
}

/** Words that ask about a client rather than name one («что с …», «как там …», «what about …»). */
const QUESTION_WORDS: ReadonlySet<string> = new Set([
  'что', 'как', 'где', 'там', 'с', 'со', 'у', 'по', 'про', 'ли', 'дела', 'делишки', 'происходит', 'случилось', 'творится', 'статус', 'состояние',
  'клиент', 'клиента', 'клиентом', 'клиенту', 'покажи', 'скажи', 'ну', 'а', 'и', 'же', 'сейчас', 'вообще',
  'what', 'how', 'about', 'is', 'are', 'the', 'with', 'status', 'of', 'show', 'client',
]);

/** Russian case endings a name takes in a question («с Ромашкой», «у Вектора», «о Севере»), longest first. */
const CASE_ENDINGS = ['ами', 'ями', 'ой', 'ей', 'ом', 'ем', 'ах', 'ях', 'ы', 'и', 'у', 'ю', 'е', 'а', 'я'];
/** Endings of the nominative a stem may have taken. */
const NOMINATIVE_ENDINGS = ['', 'а', 'я', 'о', 'е', 'ь', 'й'];

/** The word's possible nominatives, by its case ending: «ромашкой» → «ромашка», «вектора» → «вектор». */
function nominativesOf(word: string): string[] {
  const forms: string[] = [];
  for (const ending of CASE_ENDINGS) {
    if (!word.endsWith(ending) || word.length - ending.length < 3) continue;
    const stem = word.slice(0, word.length - ending.length);
    for (const nominative of NOMINATIVE_ENDINGS) if (stem + nominative !== word) forms.push(stem + nominative);
  }
  return forms;
}

const tokens = (text: string) => normalize(text).split(' ').filter(Boolean);

/** Typos allowed in a word of this length. */
const allowance = (length: number) => (length <= 3 ? 0 : length <= 6 ? 1 : 2);

/**
 * An index over every client's names, built once and kept while the registry
 * does not change: exact names and INNs are map lookups, words and their
 * prefixes are found by binary search, and only a word that matches nothing
 * exactly is compared with every known word for typos.
 */
export class SearchIndex {
  private readonly byInn = new Map<string, number>();
  private readonly byName = new Map<string, Set<number>>();
  private readonly byWord = new Map<string, Set<number>>();
  private readonly words: string[];

  constructor(items: readonly Searchable[]) {
    const add = (map: Map<string, Set<number>>, key: string, clientId: number) => {
      const set = map.get(key) ?? new Set<number>();
      set.add(clientId);
      map.set(key, set);
    };
    for (const item of items) {
      if (item.inn) this.byInn.set(item.inn, item.clientId);
      for (const name of item.names) {
        const normalized = normalize(name);
        if (!normalized) continue;
        add(this.byName, normalized, item.clientId);
        for (const word of normalized.split(' ')) add(this.byWord, word, item.clientId);
      }
    }
    this.words = [...this.byWord.keys()].sort();
  }

  /**
   * A question as people type it in chat («что с ромашкой?», «как там
   * Вектор»): the query as it is first; failing that, without the words that
   * ask rather than name; failing that, each word alone, the best found.
   */
  searchQuestion(query: string): SearchHit[] {
    const asIs = this.search(query);
    if (asIs.length > 0) return asIs;
    const naming = tokens(query).filter((word) => !QUESTION_WORDS.has(word));
    if (naming.length === 0) return [];
    const without = this.search(naming.join(' '));
    if (without.length > 0 || naming.length === 1) return without;
    const best = new Map<number, number>();
    for (const word of naming) for (const hit of this.search(word)) best.set(hit.clientId, Math.min(best.get(hit.clientId) ?? Infinity, hit.score));
    const hits = [...best].map(([clientId, score]) => ({ clientId, score })).sort((a, b) => a.score - b.score);
    const bestScore = hits[0]?.score ?? Infinity;
    return hits.filter((h) => h.score <= bestScore + 1);
  }

  search(query: string): SearchHit[] {
    if (/^\s*\d{10}(\d{2})?\s*$/.test(query)) {
      const clientId = this.byInn.get(query.trim());
      return clientId === undefined ? [] : [{ clientId, score: 0 }];
    }
    const queryWords = tokens(query);
    if (queryWords.length === 0) return [];
    const exact = this.byName.get(queryWords.join(' '));
    if (exact) return [...exact].map((clientId) => ({ clientId, score: 0 }));

    // Every word of the query must be close to some word of the client's names ("ромашка офис").
    let scores: Map<number, number> | null = null;
    for (const word of queryWords) {
      const distances = this.closeWords(word);
      const next = new Map<number, number>();
      for (const [known, distance] of distances) {
        for (const clientId of this.byWord.get(known)!) {
          const previous = scores === null ? 0 : scores.get(clientId);
          if (previous === undefined) continue;
          const best = next.get(clientId);
          const score = previous + distance;
          if (best === undefined || score < best) next.set(clientId, score);
        }
      }
      scores = next;
      if (scores.size === 0) return [];
    }
    const hits = [...scores!].map(([clientId, score]) => ({ clientId, score: 0.1 + score })).sort((a, b) => a.score - b.score);
    const bestScore = hits[0]?.score ?? Infinity;
    return hits.filter((h) => h.score <= bestScore + 1);
  }

  /**
   * Known words close to a query word: itself (0), the same word in another
   * case («ромашкой» for «ромашка», 0.25), words it begins (0.5), else words
   * within a few typos.
   */
  private closeWords(word: string): Map<string, number> {
    const close = new Map<string, number>();
    if (this.byWord.has(word)) close.set(word, 0);
    else for (const form of nominativesOf(word)) if (this.byWord.has(form)) close.set(form, 0.25);
    if (close.size > 0) return close;
    if (word.length >= 3) {
      for (let i = lowerBound(this.words, word); i < this.words.length && this.words[i]!.startsWith(word); i++) {
        if (this.words[i] !== word) close.set(this.words[i]!, 0.5);
      }
    }
    if (close.size > 0) return close;
    const allowed = allowance(word.length);
    if (allowed === 0) return close;
    for (const known of this.words) {
      if (Math.abs(known.length - word.length) > allowed + 3) continue;
      const d = Math.min(distance(word, known), distance(word, known.slice(0, word.length)));
      if (d <= allowed) close.set(known, d);
    }
    return close;
  }
}

function lowerBound(sorted: readonly string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function searchClients(query: string, items: readonly Searchable[]): SearchHit[] {
  return new SearchIndex(items).search(query);
}
