import type { Severity } from '../../core/rules.ts';

/** How bad, at a glance: 🔴 critical, 🟡 warning, 🔵 a notice that is never sent (`info`). */
export function severityMark(severity: Severity): string {
  return severity === 'critical' ? '🔴' : severity === 'warning' ? '🟡' : '🔵';
}
