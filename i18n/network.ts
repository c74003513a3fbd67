import { texts } from './index.ts';
import type { Lang } from './plural.ts';

const DNS_MISSING = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'EAI_NONAME', 'NOTFOUND', 'NODATA']);
const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL']);

/**
 * A probe's failure as the probers record it (`ESERVFAIL`, `timed out after
 * 5000 ms`, `HTTP 502`, `TCP 10.0.0.5:443: ECONNREFUSED`…) in words a manager
 * reads; an unknown code is named as a network error rather than hidden.
 */
export function describeNetworkError(lang: Lang, error: string): string {
  const n = texts(lang).network;
  const text = error.trim();
  const unresolved = /^\S+ does not resolve: (.+)$/.exec(text);
  if (unresolved) return describeNetworkError(lang, unresolved[1]!);
  const elsewhere = /^\S+ resolves to (.+), not (\S+)$/.exec(text);
  if (elsewhere) return n.resolvesElsewhere(elsewhere[1]!, elsewhere[2]!);
  const port = /^TCP ([^\s]+): (.+)$/.exec(text);
  if (port) return n.port(port[1]!, port[2] === 'timed out' ? n.noAnswer : describeNetworkError(lang, port[2]!));
  const timeout = /^timed out after (\d+) ms$/.exec(text);
  if (timeout) return n.noAnswerWithin(String(Math.round(Number(timeout[1]) / 100) / 10).replace('.', lang === 'ru' ? ',' : '.'));
  const http = /^HTTP (\d{3})$/.exec(text);
  if (http) return n.httpStatus(http[1]!);
  if (/^no answer/.test(text)) return n.noAnswer;
  if (/^bad URL/.test(text)) return n.badUrl;
  if (/ping is not available/.test(text)) return n.noPing;
  if (DNS_MISSING.has(text)) return n.notInDns;
  if (text === 'ESERVFAIL' || text === 'EREFUSED' || text === 'SERVFAIL') return n.dnsServerFailed;
  if (text === 'ETIMEOUT') return n.dnsNoAnswer;
  if (text === 'ETIMEDOUT') return n.noAnswer;
  if (text === 'ECONNREFUSED') return n.refused;
  if (text === 'ECONNRESET' || text === 'EPIPE' || text === 'ECONNABORTED') return n.reset;
  if (UNREACHABLE.has(text)) return n.unreachable;
  if (/CERT|SSL|TLS|SELF_SIGNED/.test(text)) return n.certificate;
  return n.other(text);
}

/**
 * Why the latest metrics could not be read, as the intake and the pull record
 * it, in a manager's words; the address stays out (the card is about one
 * installation already).
 */
export function describeMetricsError(lang: Lang, error: string): string {
  const m = texts(lang).metricsProblem;
  const refused = / refused the account (\S+) \(HTTP \d+\)$/.exec(error);
  if (refused) return m.accountRefused(refused[1]!);
  const status = / answered HTTP (\d{3})$/.exec(error);
  if (status) return texts(lang).network.httpStatus(status[1]!);
  if (/cannot be opened with this SECRET_KEY/.test(error)) return m.passwordUnreadable;
  if (/^not in the Prometheus text format|^no metrics in it/.test(error)) return m.notMetrics;
  if (/ sent more than |metrics files over/.test(error)) return m.tooLarge;
  const refusedAddress = /^\S+\/sysmon\/metrics: address (\S+) refused \(([a-z-]+)\)/.exec(error);
  if (refusedAddress) return m.addressRefused(refusedAddress[1]!, m.addressKinds[refusedAddress[2]!] ?? refusedAddress[2]!);
  const network = /^\S+\/sysmon\/metrics: (.+)$/.exec(error);
  if (network) {
    const seconds = /^no answer within ([\d.]+) s$/.exec(network[1]!);
    return seconds ? texts(lang).network.noAnswerWithin(seconds[1]!.replace('.', lang === 'ru' ? ',' : '.')) : describeNetworkError(lang, network[1]!);
  }
  return m.other;
}
