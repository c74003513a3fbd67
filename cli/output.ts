import { readFileSync } from 'node:fs';
import { DateTime } from 'luxon';
import { formatDuration } from '../core/duration.ts';

/** Print one JSON document (for scripts) or human text. */
export function emit(json: boolean, data: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

/** Columns padded to their widest cell. */
export function table(header: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export function formatTime(date: Date | null | undefined, tz: string): string {
  if (!date) return '—';
  return DateTime.fromJSDate(date).setZone(tz).toFormat('yyyy-MM-dd HH:mm ZZZZ');
}

export function formatAge(from: Date, now: Date): string {
  const minutes = Math.max(0, Math.round((now.getTime() - from.getTime()) / 60_000));
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min ago`;
  return `${Math.floor(hours / 24)} days ${hours % 24} h ago`;
}

/** Threshold overrides as people write them: KodeksXmlMissing=3d, KodeksShellVersionOutdated=6.4.2.73. */
export function describeThresholds(thresholds: Record<string, number | string>): string {
  const entries = Object.entries(thresholds);
  if (entries.length === 0) return 'all defaults';
  return entries.map(([rule, value]) => `${rule}=${typeof value === 'number' ? formatDuration(value) : value}`).join(', ');
}

/** A secret given on the command line, or "-" to read it from standard input (so it stays out of the shell's history). */
export function secretArgument(value: string): string {
  if (value !== '-') return value;
  return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
}
