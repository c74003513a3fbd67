import { addressIn, blockListOf, parseSubnet } from './subnets.ts';

/**
 * What a fleet upload token may send: a fleet token lives on every client's
 * server (SMART's model), so it can be held to the upload names of its
 * distributor's scripts and to the networks they send from.
 */
export interface FleetLimits {
  /** Upload names it may send under, any case (null: any). */
  names: readonly string[] | null;
  /** Networks (CIDR) it may send from (null: anywhere). */
  networks: readonly string[] | null;
}

/** Whether an address (as the HTTP server gives it) lies in one of the networks. */
export function inNetworks(networks: readonly string[], address: string): boolean {
  return addressIn(blockListOf(networks.map(parseSubnet).filter((subnet) => subnet !== null)), address);
}

/**
 * Why a fleet token may not send from this address, or this file (`name`
 * null: the address alone); null when it may. Names compare in any case, as
 * upload names do.
 */
export function fleetRefusal(limits: FleetLimits, name: string | null, address: string): string | null {
  if (limits.networks && !inNetworks(limits.networks, address)) {
    return `this fleet upload token takes files only from ${limits.networks.join(', ')}, and ${address} is not among them (upload-token create --from)`;
  }
  if (name !== null && limits.names && !limits.names.some((allowed) => allowed.toLowerCase() === name.toLowerCase())) {
    return `this fleet upload token takes files only under the names ${limits.names.join(', ')}, and ${name} is not one of them (upload-token create --names)`;
  }
  return null;
}
