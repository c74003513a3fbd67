/**
 * How alerts depend on each other, in one table. While a cause is open, the
 * alerts that follow from it wait: they are recorded, counted on the cause's
 * alert, and announced only if they outlive it (so a server that does not
 * answer ping is one alert, not four). Some causes are not waited for but
 * named: a key alert whose licence manager is out of reach says that is the
 * probable cause.
 */
export interface Dependency {
  /** The rule whose open incident holds the others back. */
  cause: string;
  /** What holds while it is open, said in docs/prometheus.md and by `dozor rules --deps`. */
  waiting: readonly string[];
}

export const DEPENDENCIES: readonly Dependency[] = [
  // A server that does not answer sends no reports and serves no page.
  { cause: 'KodeksIcmp', waiting: ['KodeksXmlMissing', 'KodeksStatusMissing', 'KodeksOperapStale', 'KodeksTcpStatus', 'KodeksHttp200Status', 'KodeksBehindProxyDown', 'KodeksAuthNotWork'] },
  // A web port that takes no connection serves no page and takes no login.
  { cause: 'KodeksTcpStatus', waiting: ['KodeksHttp200Status', 'KodeksBehindProxyDown', 'KodeksAuthNotWork'] },
  // In maintenance the main page and logins are down on purpose.
  { cause: 'KodeksMaintenance', waiting: ['KodeksHttp200Status', 'KodeksBehindProxyDown', 'KodeksAuthNotWork'] },
  // Every seat taken: the service account is one user too many (SMART's known false alarm).
  { cause: 'KodeksLimitsUsers', waiting: ['KodeksAuthNotWork'] },
];

/**
 * Alerts that name a cause rather than wait for it: the licence manager out
 * of reach, as the report says (`<licman state="unreachable">`) or as its
 * probes find it (`LICMAN_RULES` open), explains a key alert and a database
 * error with a protection code.
 */
export const EXPLAINED: readonly { cause: string; explained: readonly string[] }[] = [
  { cause: 'licman', explained: ['KodeksXmlSensLockStatus', 'KodeksDBErrors'] },
];

/** The probes of the licence manager: either open means it is out of reach. */
export const LICMAN_RULES: readonly string[] = ['LicmanIcmp', 'LicmanTcpStatus'];

/** Whether the licence manager out of reach would explain this alert. */
export function explainedByLicman(ruleId: string): boolean {
  return EXPLAINED.some((e) => e.cause === 'licman' && e.explained.includes(ruleId));
}

const CAUSES_OF = new Map<string, string[]>();
for (const { cause, waiting } of DEPENDENCIES) for (const rule of waiting) CAUSES_OF.set(rule, [...(CAUSES_OF.get(rule) ?? []), cause]);

/** Whether any rule holds this one back at all (most do not: their check needs no lookup). */
export function canWait(ruleId: string): boolean {
  return CAUSES_OF.has(ruleId);
}

/** The open cause an alert waits for, if one is open among the installation's active rules. */
export function waitingFor(ruleId: string, activeRuleIds: ReadonlySet<string>): string | null {
  return CAUSES_OF.get(ruleId)?.find((cause) => activeRuleIds.has(cause)) ?? null;
}
