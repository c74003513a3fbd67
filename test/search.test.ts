import { describe, expect, it } from 'vitest';
import { normalize, searchClients, type Searchable } from '../core/search.ts';

const fleet: Searchable[] = [
  { clientId: 1, names: ['ООО «Ромашка»', 'Сервер офиса', 'romashka.example.ru'], inn: '7701234567' },
  { clientId: 2, names: ['АО "Ёлка-Инвест"', 'Облако'], inn: '7801234567' },
  { clientId: 3, names: ['ИП Сидоров', 'Бухгалтерия'], inn: '770123456789' },
  { clientId: 4, names: ['ООО «Ромашка-Юг»'], inn: null },
];
const ids = (query: string) => searchClients(query, fleet).map((h) => h.clientId);

describe('client search', () => {
  it('normalizes case, ё, quotes and legal forms', () => {
    expect(normalize('ООО «Ромашка»')).toBe('ромашка');
    expect(normalize('АО "Ёлка-Инвест"')).toBe('елка-инвест');
  });

  it('finds by exact name, ignoring the legal form and quotes', () => {
    expect(ids('Ромашка')).toEqual([1]);
    expect(ids('ооо ромашка')).toEqual([1]);
    expect(ids('"Ромашка"')).toEqual([1]);
  });

  it('treats ё and е alike', () => {
    expect(ids('елка-инвест')).toEqual([2]);
    expect(ids('Ёлка')).toEqual([2]);
  });

  it('finds by INN exactly', () => {
    expect(ids('7801234567')).toEqual([2]);
    expect(ids('770123456789')).toEqual([3]);
    expect(ids('7700000000')).toEqual([]);
  });

  it('forgives small typos', () => {
    expect(ids('Рамашка')).toContain(1);
    expect(ids('Сидорв')).toEqual([3]);
  });

  it('finds by installation name or host', () => {
    expect(ids('бухгалтерия')).toEqual([3]);
    expect(ids('romashka.example.ru')).toEqual([1]);
  });

  it('returns several candidates when the query is ambiguous', () => {
    expect(ids('Ромаш').sort()).toEqual([1, 4]);
  });

  it('returns nothing for nonsense or an empty query', () => {
    expect(ids('Газпром')).toEqual([]);
    expect(ids('  «» ')).toEqual([]);
  });
});
