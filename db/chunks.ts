/** Rows per multi-row statement: well under SQLite's limit of bound parameters, large enough to cost little per row. */
export const ROWS_PER_STATEMENT = 500;

export function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
