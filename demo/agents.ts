import type { DemoInstallation } from './fleet.ts';

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

const healthy = (): AgentFacts => ({
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

function toXml(id: string, f: AgentFacts): string {
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

/** Agents at the clients: each posts its report to the service's intake every few seconds, unless silenced. */
export class DemoAgents {
  private readonly facts = new Map<string, AgentFacts>();
  private readonly silent = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;

  constructor(
    private readonly intakeUrl: string,
    private readonly installations: DemoInstallation[],
    private readonly onError: (message: string) => void,
  ) {
    for (const i of installations) this.facts.set(i.key, healthy());
  }

  start(intervalMs: number): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Change what an installation reports, and report it right away. */
  async change(key: DemoInstallation['key'], changes: Partial<AgentFacts>): Promise<void> {
    this.facts.set(key, { ...this.facts.get(key)!, ...changes });
    await this.report(key);
  }

  /** The agent stops reporting (smartupload removed). */
  silence(key: DemoInstallation['key']): void {
    this.silent.add(key);
  }

  private async tick(): Promise<void> {
    await Promise.all(this.installations.filter((i) => !this.silent.has(i.key)).map((i) => this.report(i.key)));
  }

  private async report(key: string): Promise<void> {
    const installation = this.installations.find((i) => i.key === key)!;
    try {
      const response = await fetch(`${this.intakeUrl}/api/v1/reports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${installation.token}`, 'content-type': 'application/xml' },
        body: toXml(`${key}-${++this.seq}`, this.facts.get(key)!),
      });
      if (response.status !== 202) this.onError(`agent ${key}: HTTP ${response.status} ${await response.text()}`);
    } catch (err) {
      this.onError(`agent ${key}: ${(err as Error).message}`);
    }
  }
}
