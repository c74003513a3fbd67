import { describe, expect, it } from 'vitest';
import { readSilenceEnd } from '../core/silence-phrase.ts';

const NOW = new Date('2026-12-20T18:00:00Z'); // 21:00 in Moscow
const read = (text: string) => {
  const end = readSilenceEnd(text.split(' '), NOW, 'Europe/Moscow', 9);
  return end && { at: end.endsAt.toISOString(), words: end.words };
};

describe('how long a silence lasts, as said in chat', () => {
  it('reads durations in Russian and short Latin, in one word or two', () => {
    expect(read('2ч')).toEqual({ at: '2026-12-20T20:00:00.000Z', words: 1 });
    expect(read('1ч30мин причина')).toEqual({ at: '2026-12-20T19:30:00.000Z', words: 1 });
    expect(read('30м')).toEqual({ at: '2026-12-20T18:30:00.000Z', words: 1 });
    expect(read('1д')).toEqual({ at: '2026-12-21T18:00:00.000Z', words: 1 });
    expect(read('2 часа')).toEqual({ at: '2026-12-20T20:00:00.000Z', words: 2 });
    expect(read('5 минут')).toEqual({ at: '2026-12-20T18:05:00.000Z', words: 2 });
    expect(read('1h30m')).toEqual({ at: '2026-12-20T19:30:00.000Z', words: 1 });
  });

  it('reads «до …»: morning, a time, a day, a day and a time; a day already past this year is next year\'s', () => {
    expect(read('до утра')).toEqual({ at: '2026-12-21T06:00:00.000Z', words: 2 });
    expect(read('до 18:00')).toEqual({ at: '2026-12-21T15:00:00.000Z', words: 2 });
    expect(read('до 23:30')).toEqual({ at: '2026-12-20T20:30:00.000Z', words: 2 });
    expect(read('до 25.12')).toEqual({ at: '2026-12-25T06:00:00.000Z', words: 2 });
    expect(read('до 25.12 18:00')).toEqual({ at: '2026-12-25T15:00:00.000Z', words: 3 });
    expect(read('до 05.01')).toEqual({ at: '2027-01-05T06:00:00.000Z', words: 2 });
    expect(read('until morning')).toEqual({ at: '2026-12-21T06:00:00.000Z', words: 2 });
  });

  it('takes nothing else for a term', () => {
    for (const text of ['Ромашка', '2', '0ч', 'до', 'до 25:00', 'до 31.02', '2 попугая', 'до вечера', '2х']) expect(read(text), text).toBeNull();
  });
});
