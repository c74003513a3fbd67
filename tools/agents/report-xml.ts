/**
 * The report a simulated agent sends (format version 1, as in
 * docs/agent-report.md), for the demo, the benchmark and the soak.
 */
/** What a simulated agent reports; the XML is built from it each time. */
export interface AgentFacts {
  shell: string;
  update: number;
  operapDate: string;
  service: 'running' | 'stopped';
  account: 'user' | 'system';
  senselock: 'ok' | 'lost' | 'absent';
  kit: boolean;
  dailyUpdate: boolean;
  copybaseweb: boolean;
  storage: boolean;
  licenseLimit: number;
  licensePeak: number;
  exhausted: number;
}

const today = () => new Date().toISOString().slice(0, 10);

export const healthyFacts = (): AgentFacts => ({
  shell: '6.4.3.59',
  update: 2251,
  operapDate: today(),
  service: 'running',
  account: 'user',
  senselock: 'ok',
  kit: true,
  dailyUpdate: true,
  copybaseweb: true,
  storage: true,
  licenseLimit: 10,
  licensePeak: 4,
  exhausted: 0,
});

export function reportXml(id: string, f: AgentFacts): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<report version="1" id="${id}" generated-at="${new Date().toISOString()}">
  <shell version="${f.shell}"/>
  <update number="${f.update}" operap-date="${f.operapDate}"/>
  <service state="${f.service}" account="${f.account}"/>
  <senselock state="${f.senselock}"/>
  <kit assembled="${f.kit}" daily-update="${f.dailyUpdate}" copybaseweb="${f.copybaseweb}"/>
  <storage path="\\\\nas\\kodeks" reachable="${f.storage}"/>
  <license limit="${f.licenseLimit}" peak="${f.licensePeak}" exhausted="${f.exhausted}"/>
</report>`;
}

