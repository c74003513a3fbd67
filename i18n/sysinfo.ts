import type { ReadingProblem } from '../core/sysinfo-mapping.ts';
import { texts } from './index.ts';
import type { Lang } from './plural.ts';

/**
 * Something in a sysinfo that could not be read, in the reader's language:
 * which document or field, and why in words («документ report.xml: XML
 * повреждён (строка 3)», «поле «версия ПК»: «6.4.x» не читается»). A problem
 * stored as English text by an older dozor is shown as it is.
 */
export function describeReadingProblem(lang: Lang, problem: ReadingProblem | string): string {
  const r = texts(lang).sysinfoReading;
  if (typeof problem === 'string') return problem;
  switch (problem.kind) {
    case 'unopenable':
      return r.unopenable;
    case 'noXml':
      return r.noXml;
    case 'noMapping':
      return r.noMapping;
    case 'value':
      return r.value(r.fields[problem.field], problem.value);
    case 'document':
      return r.document(problem.name, documentReason(lang, problem.error));
  }
}

/** Why the reader refused a document (its English message), in words. */
function documentReason(lang: Lang, error: string): string {
  const r = texts(lang).sysinfoReading;
  const malformed = /^malformed XML at line (\d+)/.exec(error);
  if (malformed) return r.malformed(Number(malformed[1]));
  if (/DOCTYPE/.test(error)) return r.doctype;
  if (/distinct element paths|nested more than/.test(error)) return r.tooComplex;
  if (/longer than \d+ characters|more than \d+ attributes/.test(error)) return r.tooLarge;
  const encoding = /^not valid (\S+) text$/.exec(error);
  if (encoding) return r.encoding(encoding[1]!);
  const unknown = /declares an encoding dozor does not know: (\S+)/.exec(error);
  if (unknown) return r.unknownEncoding(unknown[1]!);
  return r.unreadable;
}
