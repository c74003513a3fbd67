/** Shell versions compare numerically, part by part: 6.4.10 > 6.4.9, and 6.4 == 6.4.0. */
export function compareVersions(a: string, b: string): number {
  const left = a.trim().split('.').map(Number);
  const right = b.trim().split('.').map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const diff = (left[i] ?? 0) - (right[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

export const VERSION_PATTERN = /^\d{1,6}(\.\d{1,9}){0,5}$/;

export function isVersion(text: string): boolean {
  return VERSION_PATTERN.test(text.trim());
}
