import { isIP } from 'node:net';
import { blockListOf, parseSubnet, type Subnet } from './subnets.ts';

/**
 * Which addresses dozor may send a metrics account to when it pulls
 * `/sysmon/metrics`. Private ranges (10/8, 172.16/12, 192.168/16, 100.64/10,
 * fc00::/7) are where Kodeks servers live in the field and are allowed. Refused
 * unless PULL_ALLOW_PRIVATE lists them: addresses that are never a client's
 * server but are dozor's own host or its cloud's services, which trust a
 * caller for being there (the instance metadata with its credentials above
 * all). Loopback is refused too: it is this very machine, whose local services
 * answer anyone on it; a dozor beside a Kodeks server allows 127.0.0.1/32.
 */
export type RefusedKind = 'loopback' | 'link-local' | 'metadata' | 'unspecified' | 'multicast' | 'reserved';

const REFUSED: readonly { kind: RefusedKind; subnets: readonly string[] }[] = [
  // Checked first: the metadata addresses inside link-local ranges are named as what they are.
  { kind: 'metadata', subnets: ['169.254.169.254/32', '169.254.170.2/32', '100.100.100.200/32', 'fd00:ec2::254/128'] },
  { kind: 'loopback', subnets: ['127.0.0.0/8', '::1/128'] },
  { kind: 'link-local', subnets: ['169.254.0.0/16', 'fe80::/10'] },
  { kind: 'unspecified', subnets: ['0.0.0.0/8', '::/128'] },
  { kind: 'multicast', subnets: ['224.0.0.0/4', 'ff00::/8'] },
  { kind: 'reserved', subnets: ['240.0.0.0/4'] },
];

export interface PullAddressPolicy {
  /** Why this address is not to be pulled from, or null when it may be. */
  refusal(address: string): RefusedKind | null;
}

/** The refused ranges above, less what `allowed` (PULL_ALLOW_PRIVATE) lists. */
export function pullAddressPolicy(allowed: readonly Subnet[] = []): PullAddressPolicy {
  const allow = blockListOf(allowed);
  const refused = REFUSED.map(({ kind, subnets }) => ({ kind, list: blockListOf(subnets.map((s) => parseSubnet(s)!)) }));
  return {
    refusal(address) {
      const version = isIP(address);
      if (version === 0) return 'reserved';
      const family = version === 4 ? 'ipv4' : 'ipv6';
      if (allow.check(address, family)) return null;
      return refused.find(({ list }) => list.check(address, family))?.kind ?? null;
    },
  };
}
