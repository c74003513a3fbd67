/**
 * An agent's status report, normalised from XML or JSON.
 *
 * Every fact is optional: a missing element means "not reported", never "false".
 */
export const SERVICE_STATES = ['running', 'stopped'] as const;
export const SERVICE_ACCOUNTS = ['user', 'system'] as const;
export const SENSELOCK_STATES = ['ok', 'lost', 'absent'] as const;
/** What the Kodeks server says of itself: working, in maintenance, asking for support, in an emergency, not started. */
export const SERVER_STATES = ['ok', 'maintenance', 'need-support', 'warning', 'not-started'] as const;
export const LICMAN_STATES = ['ok', 'unreachable'] as const;
/** The port a Kodeks licence manager listens on unless told otherwise. */
export const LICMAN_PORT = 8888;

export type ServiceState = (typeof SERVICE_STATES)[number];
export type ServiceAccount = (typeof SERVICE_ACCOUNTS)[number];
export type SenselockState = (typeof SENSELOCK_STATES)[number];
export type ServerState = (typeof SERVER_STATES)[number];
export type LicmanState = (typeof LICMAN_STATES)[number];

/** One database of the installation as the server reports it. */
export interface DatabaseFacts {
  name: string;
  updateNumber?: number;
  /** The last day of its licence, `YYYY-MM-DD`. */
  licenseExpires?: string;
  /** Kodeks error codes on its volumes, as reported (empty: none). */
  errors: number[];
}

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
  /** Times the online licence limit was hit (users refused a seat) since the previous report. */
  licenseExhausted?: number;
  /** Seats in use when the report was made. */
  seatsUsed?: number;
  /** The databases, all of them when reported: a report that lists them replaces the list. */
  databases?: DatabaseFacts[];
  serverState?: ServerState;
  /** The server's own words about its state ('' when it said none). */
  serverMessage?: string;
  licmanHost?: string;
  licmanPort?: number;
  licmanState?: LicmanState;
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
  'seatsUsed',
  'databases',
  'serverState',
  'serverMessage',
  'licmanHost',
  'licmanPort',
  'licmanState',
] as const satisfies readonly (keyof ReportFacts)[];
