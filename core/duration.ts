import { InputError } from './errors.ts';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "90m", "1h30m", "2d", "1w": a duration in milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim().toLowerCase();
  const parts = [...trimmed.matchAll(/(\d+)\s*([smhdw])/g)];
  const consumed = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || consumed.replace(/\s/g, '') !== trimmed.replace(/\s/g, '')) {
    throw new InputError('durationInvalid', { text }, `"${text}" is not a duration; write it like 30m, 4h, 2d or 1h30m`);
  }
  const ms = parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNITS[unit!]!, 0);
  if (ms <= 0) throw new InputError('durationNotPositive', { text }, `"${text}" is not a positive duration`);
  return ms;
}

/** The shortest exact text for a duration: 172800000 -> "2d", 5400000 -> "1h30m". */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0m';
  let rest = ms;
  let text = '';
  for (const [unit, size] of [['d', UNITS.d!], ['h', UNITS.h!], ['m', UNITS.m!], ['s', UNITS.s!]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      text += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return text || '0m';
}
