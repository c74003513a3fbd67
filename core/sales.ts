/**
 * Sales signals: an installation that hit its online licence limit on enough
 * days lately needs more licences (or a network version). Not incidents: they
 * never page anyone; they appear in the digest and in /sales.
 */
export interface LicenseDay {
  installationId: number;
  /** YYYY-MM-DD in the installation's time zone. */
  day: string;
  limitHits: number;
  maxPeak: number | null;
  licenseLimit: number | null;
}

export interface SalesSignal {
  installationId: number;
  daysAtLimit: number;
  licenseLimit: number | null;
  peak: number | null;
}

/** A day counts when the limit was hit, or the peak reached the limit. */
export function dayAtLimit(day: LicenseDay): boolean {
  return day.limitHits > 0 || (day.licenseLimit !== null && day.licenseLimit > 0 && day.maxPeak !== null && day.maxPeak >= day.licenseLimit);
}

export function salesSignals(days: readonly LicenseDay[], minDays: number): SalesSignal[] {
  const byInstallation = new Map<number, LicenseDay[]>();
  for (const day of days) {
    const list = byInstallation.get(day.installationId) ?? [];
    list.push(day);
    byInstallation.set(day.installationId, list);
  }
  const signals: SalesSignal[] = [];
  for (const [installationId, list] of byInstallation) {
    const daysAtLimit = list.filter(dayAtLimit).length;
    if (daysAtLimit < minDays) continue;
    const latest = [...list].sort((a, b) => a.day.localeCompare(b.day)).at(-1)!;
    const peak = Math.max(...list.map((d) => d.maxPeak ?? 0));
    signals.push({ installationId, daysAtLimit, licenseLimit: latest.licenseLimit, peak });
  }
  return signals.sort((a, b) => b.daysAtLimit - a.daysAtLimit || a.installationId - b.installationId);
}
