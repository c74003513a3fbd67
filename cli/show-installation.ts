import type { InstallationState } from '../core/state.ts';
import type { Installation } from '../db/installations.ts';
import type { IntakeRejection } from '../db/rejections.ts';
import { describeThresholds, formatAge, formatTime } from './output.ts';

export interface InstallationView {
  installation: Installation;
  state: InstallationState | null;
  rejection: IntakeRejection | undefined;
}

/** The JSON shape of an installation with its latest state; never includes the token hash. */
export function installationJson({ installation: i, state, rejection }: InstallationView) {
  return {
    id: i.id,
    clientId: i.clientId,
    name: i.name,
    kind: i.kind,
    host: i.host,
    ip: i.ip,
    url: i.url,
    provider: i.provider,
    tz: i.tz,
    uploadName: i.uploadName,
    monitoringEnabled: i.monitoringEnabled,
    thresholds: i.thresholds,
    tokenIssuedAt: i.tokenIssuedAt,
    createdAt: i.createdAt,
    state,
    lastRejectedReport: rejection
      ? { at: rejection.lastRejectedAt, reason: rejection.reason, count: rejection.count }
      : null,
  };
}

const yesNo = (value: boolean | undefined, yes: string, no: string) => (value === undefined ? null : value ? yes : no);

/** A few lines a person can read at a glance. */
export function installationText({ installation: i, state, rejection }: InstallationView, now: Date, tz: string): string {
  const address = [i.host, i.ip, i.url].filter(Boolean).join(' ');
  const lines = [
    `#${i.id} ${i.name} [${i.kind}]${i.provider ? ` @ ${i.provider}` : ''}${address ? `  ${address}` : ''}${i.uploadName ? `  upload name ${i.uploadName}` : ''}${i.monitoringEnabled ? '' : '  (monitoring off)'}`,
  ];
  if (Object.keys(i.thresholds).length > 0) lines.push(`    thresholds: ${describeThresholds(i.thresholds)}`);
  if (!state) {
    lines.push('    no report received yet');
  } else {
    lines.push(`    last report: ${formatTime(state.lastReceivedAt, tz)} (${formatAge(state.lastReceivedAt, now)})`);
    const versions = [
      state.shellVersion && `shell ${state.shellVersion}`,
      state.previousShellVersion && `(was ${state.previousShellVersion} until ${formatTime(state.shellVersionChangedAt, tz)})`,
      state.updateNumber !== undefined && `update ${state.updateNumber}`,
      state.operapDate && `operap ${state.operapDate}`,
    ].filter(Boolean);
    if (versions.length) lines.push(`    ${versions.join(' · ')}`);
    const health = [
      state.serviceState && `service ${state.serviceState}${state.serviceAccount ? ` (${state.serviceAccount} account)` : ''}`,
      state.senselockState && `key ${state.senselockState}`,
      yesNo(state.kitAssembled, 'kit assembled', 'kit NOT assembled'),
      yesNo(state.dailyUpdate, 'daily update on', 'daily update OFF'),
      yesNo(state.copybaseweb, 'copybaseweb on', 'copybaseweb OFF'),
      yesNo(state.storageReachable, 'storage reachable', 'storage UNREACHABLE'),
    ].filter(Boolean);
    if (health.length) lines.push(`    ${health.join(' · ')}${state.storagePath ? ` (${state.storagePath})` : ''}`);
    if (state.licenseLimit !== undefined || state.licensePeak !== undefined) {
      lines.push(
        `    licences: limit ${state.licenseLimit ?? '?'}, peak ${state.licensePeak ?? '?'}, limit hit ${state.licenseExhausted ?? 0} time(s) since the previous report`,
      );
    }
  }
  if (rejection && (!state || rejection.lastRejectedAt > state.lastReceivedAt)) {
    lines.push(`    last report REFUSED ${formatTime(rejection.lastRejectedAt, tz)}: ${rejection.reason}`);
  }
  return lines.join('\n');
}
