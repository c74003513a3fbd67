import type { Facts } from './rules.ts';

/**
 * What SMART calls each of dozor's alerts, for people who switch from it: the
 * same name where SMART has the alert, SMART's own where it names it
 * otherwise, null where SMART has no such alert. docs/smart-names.md holds
 * the same table for people (a test keeps the two together).
 */
export const SMART_NAMES: Readonly<Record<string, string | null>> = {
  KodeksXmlMissing: 'SmartXMLfileIsToOld',
  KodeksStatusMissing: null,
  KodeksOperapStale: 'KodeksDBOperUpToOld',
  KodeksXmlSensLockStatus: 'KodeksXmlSensLockStatus',
  KodeksServiceDown: null,
  KodeksStorageUnreachable: null,
  KodeksKitNotAssembled: null,
  KodeksDailyUpdateOff: null,
  KodeksShellVersionOutdated: null,
  KodeksVersionChangeIncomplete: null,
  KodeksLicenseExpiring90day: 'KodeksLicenseExpiring90day',
  KodeksLicenseExpiring7day: 'KodeksLicenseExpiring7day',
  KodeksLicenseExpiring2day: 'KodeksLicenseExpiring2day',
  KodeksLicenseExpired: null,
  KodeksLimitsUsers: 'KodeksLimitsUsers',
  KodeksDetectOverUserError: 'KodeksDetectOverUserError',
  KodeksDBErrors: 'KodeksDBerrorsCode<N>',
  KodeksMaintenance: 'KodeksMaintenance',
  KodeksMaintenanceToLong: 'KodeksMaintenanceToLong',
  KodeksNeedSupport: 'KodeksNeedSupport',
  KodeksWarning: 'KodeksWarning',
  KodeksAuthNotWork: 'KodeksAuthNotWork',
  KodeksIcmp: 'KodeksIcmp',
  KodeksTcpStatus: 'KodeksTcpStatus',
  KodeksHttp200Status: 'KodeksHttp200Status',
  KodeksBehindProxyDown: 'KodeksBehindProxyDown',
  KodeksDns: null,
  LicmanIcmp: 'LicmanIcmp',
  LicmanTcpStatus: 'LicmanTcpStatus',
};

/**
 * SMART's name of this very alert: database errors are named by their codes
 * there («KodeksDBerrorsCode4111», «KodeksDBerrorsNoCode»); undefined for an
 * alert dozor does not know (one from Alertmanager), null where SMART has none.
 */
export function smartNameOf(ruleId: string, details: Facts): string | null | undefined {
  if (!(ruleId in SMART_NAMES)) return undefined;
  if (ruleId === 'KodeksDBErrors') {
    const codes = Array.isArray(details.codes) ? details.codes.map(String).filter((code) => /^\d+$/.test(code)) : [];
    return codes.length > 0 ? codes.map((code) => `KodeksDBerrorsCode${code}`).join(', ') : 'KodeksDBerrorsNoCode';
  }
  return SMART_NAMES[ruleId] ?? null;
}
