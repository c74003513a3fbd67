/**
 * The words commands take after them, in Russian as people type them, or in
 * English: «/mydigest выкл», «/incidents все», «/quiet по умолчанию».
 */
export type CommandWord = 'on' | 'off' | 'all' | 'default';

const WORDS: Readonly<Record<string, CommandWord>> = {
  on: 'on',
  вкл: 'on',
  включить: 'on',
  включено: 'on',
  да: 'on',
  off: 'off',
  выкл: 'off',
  выключить: 'off',
  выключено: 'off',
  нет: 'off',
  all: 'all',
  все: 'all',
  всё: 'all',
  default: 'default',
  'по умолчанию': 'default',
  обычные: 'default',
};

/** The word's meaning, whatever the case, or null when it is not one of them. */
export function commandWord(text: string): CommandWord | null {
  return WORDS[text.trim().toLowerCase().replace(/\s+/g, ' ').replace(/[.!]$/, '')] ?? null;
}
