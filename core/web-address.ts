/**
 * Web addresses that go into agent scripts and onto curl's command line: an
 * installation's URL, the agent's `--kodeks` and `--proxy`, this service's
 * PUBLIC_URL. Windows PowerShell 5.1 hands a native program its arguments
 * without escaping the quotes inside them, so `http://h/a" --output C:\x.ps1 "`
 * would become options of curl.exe; a shell would read `$(…)` or a backtick.
 * Only what a real address needs is taken, by the character: letters and
 * digits of any script (Cyrillic domain names), and `- . _ ~ : / ? # [ ] @ & + , =`.
 * Refused so: quotes of every kind, whitespace, backticks, `$`, `%`, `;`,
 * backslashes, `< > ^ | { }`, control and invisible characters.
 */
export type WebAddressProblem = 'notUrl' | 'unsafe' | 'credentials';

const ALLOWED = /^[\p{L}\p{N}\-._~:/?#[\]@&+,=]+$/u;

/** Why `text` is not an http(s) address with a host that is safe in a script, or null when it is. */
export function webAddressProblem(text: string): WebAddressProblem | null {
  if (text === '') return 'notUrl';
  if (!ALLOWED.test(text)) return 'unsafe';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'notUrl';
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || !text.toLowerCase().startsWith(`${url.protocol}//`)) return 'notUrl';
  // Brackets only around an IPv6 host (curl would take them elsewhere for a pattern).
  const brackets = text.match(/[[\]]/g)?.length ?? 0;
  if (brackets > 0 && !(brackets === 2 && url.hostname.startsWith('['))) return 'unsafe';
  // A password in an address would be kept and shown with it; the metrics account has its own sealed place.
  if (url.username !== '' || url.password !== '') return 'credentials';
  return null;
}

/**
 * A proxy as the agent's curl takes it: `host:port`, or that as an http(s)://
 * address; nothing after the port, no user name or password (the proxy is
 * kept with the installation's agent settings, which hold no secret).
 */
export function proxyAddressProblem(text: string): WebAddressProblem | null {
  const address = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  const problem = webAddressProblem(address);
  if (problem) return problem;
  const port = /^https?:\/\/(?:\[[0-9a-f:.]+\]|[^/:@[\]]+):(\d{1,5})\/?$/i.exec(address)?.[1];
  return port !== undefined && Number(port) >= 1 && Number(port) <= 65_535 ? null : 'notUrl';
}
