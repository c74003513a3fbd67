/**
 * E-mail addresses as dozor takes them: one plain address (no display name,
 * no list), nothing that could end a header line or start another. What a
 * person types is checked here before it is stored or put in a header.
 */
const MAX_LENGTH = 254;
/** Local part and domain as mail servers accept them in practice: no spaces, quotes, angle brackets or controls. */
const ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

/** The address, trimmed and with its domain in lower case, or null when it is not one plain address. */
export function mailAddress(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_LENGTH || !ADDRESS.test(trimmed)) return null;
  if (trimmed.startsWith('.') || trimmed.includes('..') || trimmed.split('@')[0]!.endsWith('.')) return null;
  const at = trimmed.lastIndexOf('@');
  return `${trimmed.slice(0, at)}@${trimmed.slice(at + 1).toLowerCase()}`;
}

/** An address with its local part shown only by its first letter («k***@example.ru»): for logs. */
export function maskedAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return at <= 0 ? '***' : `${address[0]}***${address.slice(at)}`;
}
