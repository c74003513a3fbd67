import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sysinfoMappingSchema, type SysinfoMapping } from '../core/sysinfo-mapping.ts';

/** The mapping that ships with dozor: only paths a real sysinfo confirms. */
export const DEFAULT_SYSINFO_MAPPING = fileURLToPath(new URL('./sysinfo-mapping.json', import.meta.url));

/** A mapping file that cannot be used: the message names the file and every problem. */
export class SysinfoMappingError extends Error {
  override readonly name = 'SysinfoMappingError';
}

/** Read and check a mapping file (SYSINFO_MAPPING, or the one that ships). */
export function loadSysinfoMapping(path: string = DEFAULT_SYSINFO_MAPPING): { path: string; mapping: SysinfoMapping } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SysinfoMappingError(`cannot read the sysinfo mapping ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new SysinfoMappingError(`the sysinfo mapping ${path} is not JSON: ${(err as Error).message}`);
  }
  const parsed = sysinfoMappingSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(the file)'}: ${issue.message}`);
    throw new SysinfoMappingError(`the sysinfo mapping ${path} is not usable: ${problems.join('; ')}`);
  }
  return { path, mapping: parsed.data };
}
