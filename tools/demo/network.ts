import { systemProbers, type Probers } from '../../checks/probes/probers.ts';

/**
 * The demo's view of the network: the cloud installations' names resolve to
 * the local demo web server, until the scripted DNS outage; their IP keeps
 * working all along. Everything else is real.
 */
export class DemoNetwork {
  dnsDown = false;

  constructor(private readonly cloudHosts: Set<string>) {}

  probers(): Probers {
    return {
      ...systemProbers,
      ping: async () => ({ ok: true, latencyMs: 1, error: null }),
      resolve: async (host, timeoutMs) => {
        if (!this.cloudHosts.has(host)) return systemProbers.resolve(host, timeoutMs);
        return this.dnsDown ? { error: 'ESERVFAIL' } : { addresses: ['127.0.0.1'] };
      },
      http: async (url, options) => {
        const host = new URL(url).hostname;
        if (!this.cloudHosts.has(host)) return systemProbers.http(url, options);
        return systemProbers.http(url, { ...options, connectTo: '127.0.0.1' });
      },
    };
  }
}
