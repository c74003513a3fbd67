import type { BotEvent } from '../tools/standin/telegram.ts';
/**
 * Every message the bot sends in Russian, in any test, is checked for words
 * in Latin letters a manager would not know: English that leaked in, error
 * codes, commands of the command line. Names are allowed: of rules, of the
 * products and protocols the trade knows, and anything that is an address.
 */
const ALLOWED = new Set([
  'SenseLock', 'TestSlKey', 'copybaseweb', 'smartupload', 'sysinfo', 'Sysinfo', 'dozor', 'NAS', 'DNS', 'IP', 'HTTPS', 'HTTP', 'ping', 'web', 'TCP',
  'IPv4', 'IPv6', 'USB', 'Telegram', 'Linux', 'Windows', 'PNG', 'CSV', 'id', 'Id', 'SMART', 'XML', 'Kodeks', 'Alertmanager', 'Prometheus',
  // Arguments of commands, written as they are typed: /incidents all, /mydigest on|off.
  'all', 'on', 'off',
]);

const outgoing: string[] = [];

/** Texts a Bot API call carries to a Russian-speaking person: the message, a caption, a button, a pop-up. */
export function noteOutgoing(method: string, payload: Record<string, unknown>): void {
  for (const key of ['text', 'caption']) if (typeof payload[key] === 'string') outgoing.push(payload[key] as string);
  const markup = payload.reply_markup as { inline_keyboard?: { text: string }[][] } | undefined;
  for (const button of markup?.inline_keyboard?.flat() ?? []) outgoing.push(button.text);
  void method;
}

/** The Latin-letter words a manager would trip over in a text. */
export function strangeWordsIn(text: string): string[] {
  const plain = text
    // Markup a person typed into a name arrives escaped: it is theirs, not ours.
    .replace(/&lt;\/?[a-z]+&gt;/gi, ' ')
    .replace(/<code>[^<]*<\/code>/g, ' ')
    .replace(/<a href="[^"]*">/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&[a-z]+;/g, ' ')
    // Addresses, hosts, paths, commands and ids are names, not words.
    .replace(/\S*[./:@\\_]\S*/g, ' ')
    .replace(/(^|\s)\/[a-z]+/g, ' ');
  // Two letters or fewer are initials, units or abbreviations («Co», «OK»), not words a reader trips over.
  return [...plain.matchAll(/[A-Za-z][A-Za-z0-9]*(?:['-][A-Za-z0-9]+)*/g)]
    .map((m) => m[0])
    // Words all in capitals are abbreviations and names (NAS, the upload name ROMASHKA), not English.
    .filter((word) => word.length > 2 && !ALLOWED.has(word) && !/^Kodeks[A-Za-z]+$/.test(word) && !/^[A-Z0-9]+$/.test(word));
}

/** What was noted in this test file that is Russian (has Cyrillic) and has strange words in it. */
export function russianMessagesWithStrangeWords(): { text: string; words: string[] }[] {
  return outgoing
    .filter((text) => /[а-яё]/i.test(text))
    .map((text) => ({ text: text.slice(0, 300), words: strangeWordsIn(text) }))
    .filter((found) => found.words.length > 0);
}

export function forgetOutgoing(): void {
  outgoing.length = 0;
}

/** What the service process sends through the Bot API stand-in is checked the same way (the process tests). */
export function watchStandIn(standIn: { onEvent(listener: (event: BotEvent) => void): () => void }): void {
  standIn.onEvent((event) => {
    if (event.type === 'sent' || event.type === 'edited') {
      outgoing.push(event.message.text, ...event.message.buttons.flat().map((button) => button.text));
    } else if (event.type === 'answered' && event.text) outgoing.push(event.text);
  });
}
