import { BlockList, isIP } from 'node:net';

/** A network as `10.0.0.0/8` or `2001:db8::/32`; a bare address is a /32 or /128. */
export interface Subnet {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** "10.0.0.0/8", "[2001:db8::]/32" or a bare address; null when it is none of them. */
export function parseSubnet(text: string): Subnet | null {
  const match = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(text.trim());
  if (!match) return null;
  const address = match[1]!.replace(/^\[(.*)\]$/, '$1');
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  const prefix = match[2] === undefined ? max : Number(match[2]);
  if (prefix > max) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A comma separated list of subnets; throws naming the first entry that is not one. */
export function parseSubnetList(text: string): Subnet[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const subnet = parseSubnet(part);
      if (!subnet) throw new Error(`"${part}" is not an address or subnet such as 127.0.0.1/32 or fe80::/10`);
      return subnet;
    });
}

export function blockListOf(subnets: readonly Subnet[]): BlockList {
  const list = new BlockList();
  for (const subnet of subnets) list.addSubnet(subnet.address, subnet.prefix, subnet.family);
  return list;
}

/** Whether an address lies in the list; an IPv4 client as the HTTP server may give it (::ffff:a.b.c.d) counts as IPv4. */
export function addressIn(list: BlockList, address: string): boolean {
  const plain = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;
  const version = isIP(plain);
  return version !== 0 && list.check(plain, version === 4 ? 'ipv4' : 'ipv6');
}
