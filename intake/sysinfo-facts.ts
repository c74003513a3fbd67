import pLimit from 'p-limit';
import type { ReportFacts } from '../core/report.ts';
import { factsFromSysinfo, isEmptyMapping, MappingMatcher, type ReadingProblem, type SysinfoFacts, type SysinfoMapping, type UploadReading } from '../core/sysinfo-mapping.ts';
import { readSysinfo, type SysinfoReading } from './sysinfo-reader.ts';

/** The mapping in force, ready to read with: where it came from, and its matcher. */
export interface SysinfoMappingInUse {
  path: string;
  mapping: SysinfoMapping;
  matcher: MappingMatcher;
}

export function useSysinfoMapping(loaded: { path: string; mapping: SysinfoMapping }): SysinfoMappingInUse {
  return { ...loaded, matcher: new MappingMatcher(loaded.mapping) };
}

/**
 * Sysinfo files read at once in this process; the rest wait their turn.
 * Reading is work for the one JavaScript thread, so more at once would finish
 * no sooner, and each holds its own parser's memory: ten uploads at once read
 * two at a time.
 */
const READS_AT_ONCE = 2;
const readingTurn = pLimit(READS_AT_ONCE);

export interface SysinfoOutcome {
  facts: ReportFacts;
  generatedAt: Date | null;
  reading: UploadReading;
}

/** A sysinfo read with a mapping: what was met, what the mapping gives, and the reading kept with the upload. */
export interface SysinfoReadWithMapping {
  read: SysinfoReading;
  detail: SysinfoFacts;
  reading: UploadReading;
}

/**
 * The one reader of a sysinfo with a mapping: an upload, `dozor sysinfo
 * reparse` and `dozor sysinfo inspect` all come here, so what inspect says a
 * mapping reads is what goes into the state. Throws when the file will not open.
 */
export async function readWithMapping(inUse: SysinfoMappingInUse, path: string, kind: 'zip' | 'xml', tz: string, options: { outline?: boolean } = {}): Promise<SysinfoReadWithMapping> {
  const read = await readingTurn(() => readSysinfo(path, kind, { matcher: inUse.matcher, outline: options.outline ?? false }));
  const detail = factsFromSysinfo(inUse.mapping, read.found, tz);
  const problems: ReadingProblem[] = [
    ...read.documents.filter((d) => d.error).map((d): ReadingProblem => ({ kind: 'document', name: d.name, error: d.error! })),
    ...(read.documents.some((d) => d.kind === 'xml') ? [] : [{ kind: 'noXml' } as const]),
    ...detail.unreadable.slice(0, 10).map((u): ReadingProblem => ({ kind: 'value', field: u.field, value: u.value.slice(0, 60), path: u.path })),
  ];
  const fields = Object.fromEntries(detail.extracted.map((e) => [e.field, e.value]));
  return { read, detail, reading: { fields, problems } };
}

/**
 * Read what the mapping names from a stored sysinfo file, as state facts,
 * with what could not be read said. Null when the mapping names nothing (the
 * file is not opened then).
 */
export async function readSysinfoFacts(inUse: SysinfoMappingInUse, path: string, kind: 'zip' | 'xml', tz: string): Promise<SysinfoOutcome | null> {
  if (isEmptyMapping(inUse.mapping)) return null;
  let done: SysinfoReadWithMapping;
  try {
    done = await readWithMapping(inUse, path, kind, tz);
  } catch (err) {
    // The archive itself was checked on arrival; a file that still cannot be opened is said, not thrown.
    return { facts: {}, generatedAt: null, reading: { fields: {}, problems: [{ kind: 'unopenable', error: (err as Error).message }] } };
  }
  return { facts: done.detail.facts, generatedAt: done.detail.generatedAt, reading: done.reading };
}
