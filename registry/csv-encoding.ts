import { inputError } from '../i18n/index.ts';

export type CsvEncoding = 'utf-8' | 'utf-16le' | 'windows-1251';

/** Cyrillic letters and the signs a Russian spreadsheet uses beyond ASCII. */
const RUSSIAN_TEXT = /[А-яЁё«»№—–…„“”‘’•\u00A0\u00B0\u00A7\u00A9\u00AE\u20AC]/u;
/** Control characters no spreadsheet writes into text: a binary file, or one decoded wrongly. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;

/**
 * Read a CSV file's bytes as text, in the encodings spreadsheets write here:
 * UTF-8 (with or without a BOM), UTF-16 with a BOM (Excel's "Unicode text"),
 * and windows-1251 (what Russian Excel writes as plain "CSV"). UTF-8 is taken
 * when the bytes are valid UTF-8; windows-1251 only when the text it gives is
 * Russian text, since any bytes decode as windows-1251. Anything else is
 * refused: a guess would turn every name into `�` for good. (A statistical
 * detector would also name encodings we cannot tell apart on short files.)
 */
export function decodeCsv(bytes: Uint8Array): { text: string; encoding: CsvEncoding } {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) throw inputError('csvIsWorkbook', {});
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { text: strict('utf-8', bytes.subarray(3)), encoding: 'utf-8' };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { text: strict('utf-16le', bytes.subarray(2)), encoding: 'utf-16le' };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) throw inputError('csvEncoding', {});
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (CONTROL.test(text)) throw inputError('csvEncoding', {});
    return { text, encoding: 'utf-8' };
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
  }
  const text = new TextDecoder('windows-1251').decode(bytes);
  if (CONTROL.test(text) || !looksRussian(text)) throw inputError('csvEncoding', {});
  return { text, encoding: 'windows-1251' };
}

function strict(encoding: 'utf-8' | 'utf-16le', bytes: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    throw inputError('csvEncoding', {});
  }
  if (CONTROL.test(text)) throw inputError('csvEncoding', {});
  return text;
}

/**
 * Text decoded as windows-1251 is taken when every non-ASCII character is a
 * Russian letter or a sign Russian text uses: DOS (cp866) text or a binary
 * file read as windows-1251 turns out pseudographics and Serbian letters.
 */
function looksRussian(text: string): boolean {
  for (const char of text) {
    if (char.charCodeAt(0) >= 0x80 && !RUSSIAN_TEXT.test(char)) return false;
  }
  return true;
}
