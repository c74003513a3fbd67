import { isIP } from 'node:net';
import { addressIn, blockListOf, parseSubnetList } from './subnets.ts';

/**
 * Names and addresses set aside for documentation and examples, which never
 * belong to a real server: the `.example` top-level domain and
 * example.com/.net/.org (RFC 2606), and the TEST-NET ranges 192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32 (RFC 5737, 3849). An
 * installation entered from an example is not probed at them, so trying the
 * README's commands sends nothing onto the internet. (`.invalid` and `.test`
 * are probed: a name that must fail is what a test of the probes wants.)
 */
const DOCUMENTATION_NETWORKS = blockListOf(parseSubnetList('192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32'));

const DOCUMENTATION_NAME = /(^|\.)(example|example\.com|example\.net|example\.org)\.?$/i;

/** Whether a host name or address (brackets around IPv6 allowed) is one of those set aside for documentation. */
export function isDocumentationAddress(hostOrAddress: string): boolean {
  const bare = hostOrAddress.trim().replace(/^\[(.*)\]$/, '$1');
  return isIP(bare) !== 0 ? addressIn(DOCUMENTATION_NETWORKS, bare) : DOCUMENTATION_NAME.test(bare);
}
