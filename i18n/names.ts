import petrovich from 'petrovich';

/**
 * People's names in Russian sentences: the gender a name shows, and the name
 * declined («у Петра Сидорова»). Names are told apart by their endings; where
 * they do not say (Саша, Женя, a foreign name, one word that could be either),
 * the answer is null and the sentence is built without declining or a verb
 * in the past tense.
 */
export type Gender = 'male' | 'female';
export type NameCase = 'genitive' | 'dative' | 'accusative' | 'instrumental' | 'prepositional';

const CYRILLIC_WORD = /^[А-ЯЁ][а-яё]+(-[А-ЯЁ][а-яё]+)?$/;
/** Men's names that end as women's do. */
const MALE_IN_A = new Set(['никита', 'илья', 'лука', 'фома', 'кузьма', 'савва', 'данила', 'гаврила', 'иона', 'муса', 'лёва', 'лева', 'вова', 'дима', 'миша', 'гриша', 'паша', 'костя', 'петя', 'ваня', 'федя', 'серёжа', 'сережа', 'лёша', 'леша', 'алёша', 'алеша', 'толя', 'коля', 'юра', 'боря', 'слава', 'стёпа', 'степа']);
/** Names either may carry. */
const EITHER = new Set(['саша', 'женя', 'валя', 'шура', 'слава', 'сева', 'тоша', 'саня']);
/** Women's names in «ь». */
const FEMALE_IN_SOFT_SIGN = new Set(['любовь', 'нинель', 'адель', 'эсфирь', 'айгуль', 'асель', 'гуль', 'рахиль', 'юдифь', 'ассоль']);

function genderOfFirstName(word: string): Gender | null {
  const name = word.toLowerCase();
  if (EITHER.has(name)) return null;
  if (MALE_IN_A.has(name)) return 'male';
  if (/[ая]$/.test(name)) return 'female';
  return name.endsWith('ь') && FEMALE_IN_SOFT_SIGN.has(name) ? 'female' : 'male';
}

function genderOfLastName(word: string): Gender | null {
  const name = word.toLowerCase();
  if (/(ова|ева|ёва|ина|ына|ская|цкая|ая)$/.test(name)) return 'female';
  if (/(ов|ев|ёв|ин|ын|ский|цкий|ской|цкой|ый|ий)$/.test(name)) return 'male';
  return null;
}

const looksLikeLastName = (word: string) => genderOfLastName(word) !== null;

/** The name's first and last parts, in whichever order it was written («Сидоров Пётр» too); null unless it is one or two Russian words. */
function partsOf(fullName: string): { first: string; last: string | null; lastFirst: boolean } | null {
  const words = fullName.trim().split(/\s+/);
  if (words.length === 0 || words.length > 2 || !words.every((w) => CYRILLIC_WORD.test(w))) return null;
  if (words.length === 1) return { first: words[0]!, last: null, lastFirst: false };
  const [a, b] = words as [string, string];
  const swapped = looksLikeLastName(a) && !looksLikeLastName(b);
  return swapped ? { first: b, last: a, lastFirst: true } : { first: a, last: b, lastFirst: false };
}

/** The gender the name shows, or null when it does not say or its parts disagree. */
export function genderOf(fullName: string): Gender | null {
  const parts = partsOf(fullName);
  if (!parts) return null;
  const byFirst = genderOfFirstName(parts.first);
  const byLast = parts.last ? genderOfLastName(parts.last) : null;
  if (byFirst && byLast && byFirst !== byLast) return null;
  // One word alone is taken for a first name only when it plainly is one.
  if (!parts.last) return byFirst;
  return byFirst ?? byLast;
}

/** The name declined («Пётр Сидоров» → «Петра Сидорова» in the genitive), or null when its gender is unknown. */
export function declineName(fullName: string, nameCase: NameCase): string | null {
  const parts = partsOf(fullName);
  const gender = genderOf(fullName);
  if (!parts || !gender) return null;
  const rules = petrovich[gender];
  const first = rules.first[nameCase](parts.first);
  if (!parts.last) return first;
  const last = rules.last[nameCase](parts.last);
  return parts.lastFirst ? `${last} ${first}` : `${first} ${last}`;
}

/** «Пётр Сидоров отложил» / «Ксения Шабанова отложила»: the verb agreed with the person, or null when the name does not say. */
export function didWhat(fullName: string, male: string, female: string): string | null {
  const gender = genderOf(fullName);
  return gender ? `${fullName} ${gender === 'male' ? male : female}` : null;
}
