/**
 * An agent's status report, normalised from XML or JSON.
 *
 * Every fact is optional: a missing element means "not reported", never "false".
 */
export const SERVICE_STATES = ['running', 'stopped'] as const;
export const SERVICE_ACCOUNTS = ['user', 'system'] as const;
export const SENSELOCK_STATES = ['ok', 'lost', 'absent'] as const;

export type ServiceState = (typeof SERVICE_STATES)[number];
export type ServiceAccount = (typeof SERVICE_ACCOUNTS)[number];
export type SenselockState = (typeof SENSELOCK_STATES)[number];

export interface ReportFacts {
  shellVersion?: string;
  updateNumber?: number;
  /** Calendar date of the last operational update (оперативное пополнение), `YYYY-MM-DD`. */
  operapDate?: string;
  serviceState?: ServiceState;
  serviceAccount?: ServiceAccount;
  senselockState?: SenselockState;
  kitAssembled?: boolean;
  dailyUpdate?: boolean;
  copybaseweb?: boolean;
  storagePath?: string;
  storageReachable?: boolean;
  licenseLimit?: number;
  licensePeak?: number;
  /** Times the online licence limit was hit since the previous report. */
  licenseExhausted?: number;
}

export interface AgentReport {
  /**
   * The agent's own id for this report. The same id with the same content is
   * a repeat (an agent retrying); with other content it is a new report. A
   * report without an id counts every time it arrives.
   */
  reportId: string;
  /** A hash of the report as it arrived: with the id, what tells a repeat from a new report. */
  contentHash: string;
  /** Format version the agent declared (1 today; newer agents are read as far as we understand them). */
  formatVersion: number;
  generatedAt: Date | null;
  facts: ReportFacts;
}

export const FACT_KEYS = [
  'shellVersion',
  'updateNumber',
  'operapDate',
  'serviceState',
  'serviceAccount',
  'senselockState',
  'kitAssembled',
  'dailyUpdate',
  'copybaseweb',
  'storagePath',
  'storageReachable',
  'licenseLimit',
  'licensePeak',
  'licenseExhausted',
] as const satisfies readonly (keyof ReportFacts)[];
