import { healthyFacts, reportXml, type AgentFacts } from '../agents/report-xml.ts';
import type { DemoInstallation } from './fleet.ts';

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
    for (const i of installations) this.facts.set(i.key, healthyFacts());
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
        body: reportXml(`${key}-${++this.seq}`, this.facts.get(key)!),
      });
      if (response.status !== 202) this.onError(`agent ${key}: HTTP ${response.status} ${await response.text()}`);
    } catch (err) {
      this.onError(`agent ${key}: ${(err as Error).message}`);
    }
  }
}
