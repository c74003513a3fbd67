import type { Command } from 'commander';
import { dataDirOf } from '../../app/config.ts';
import { SYSINFO_FIELD_MEANINGS, SYSINFO_FIELDS } from '../../core/sysinfo-mapping.ts';
import { inputError } from '../../i18n/index.ts';
import { describeReadingProblem } from '../../i18n/sysinfo.ts';
import { readWithMapping, useSysinfoMapping } from '../../intake/sysinfo-facts.ts';
import { loadSysinfoMapping, SysinfoMappingError } from '../../intake/sysinfo-mapping-file.ts';
import type { OutlineEntry } from '../../intake/sysinfo-reader.ts';
import { reparseSysinfo } from '../../intake/sysinfo-reparse.ts';
import { requireInstallation } from '../../registry/installations.ts';
import { cliConfig, run } from '../run.ts';
import { emit, table } from '../output.ts';

/** Paths shown per document at most; the JSON output has them all. */
const OUTLINE_SHOWN = 400;

function mappingFrom(path: string | undefined) {
  try {
    return loadSysinfoMapping(path ?? cliConfig().SYSINFO_MAPPING);
  } catch (err) {
    if (err instanceof SysinfoMappingError) throw inputError('fileUnreadable', { file: path ?? cliConfig().SYSINFO_MAPPING ?? 'the sysinfo mapping', reason: err.message });
    throw err;
  }
}

/** `dozor sysinfo`: see inside a sysinfo, and read the stored ones again with a changed mapping. */
export function registerSysinfoCommands(program: Command): void {
  const sysinfo = program.command('sysinfo').description('the sysinfo files Kodeks servers produce: what is inside, and what dozor reads from them');

  sysinfo
    .command('inspect')
    .description('print the outline of a sysinfo file (element paths, counts, sample values) and what the mapping reads from it, read as reparse and uploads read it')
    .argument('<file>', 'a sysinfo .zip or .xml')
    .option(
      '--mapping <file>',
      'try this mapping file instead of the one in force (SYSINFO_MAPPING, or the one that ships); a database field\'s path may be written in full or relative to databaseElement (@name, license/@till)',
    )
    .option('--tz <zone>', 'time zone for dates without an offset', 'Europe/Moscow')
    .action(async (file: string, opts: { mapping?: string; tz: string }, command: Command) => {
      const { json } = command.optsWithGlobals<{ json: boolean }>();
      const loaded = mappingFrom(opts.mapping);
      const kind = /\.zip$/i.test(file) ? 'zip' : /\.xml$/i.test(file) ? 'xml' : null;
      if (!kind) throw inputError('fileUnreadable', { file, reason: 'expected a .zip or .xml sysinfo' });
      let done;
      try {
        done = await readWithMapping(useSysinfoMapping(loaded), file, kind, opts.tz, { outline: true });
      } catch (err) {
        throw inputError('fileUnreadable', { file, reason: (err as Error).message });
      }
      const { read, detail: facts } = done;
      const outlines = Object.fromEntries(read.outlines);
      emit(json, { file, mapping: loaded.path, documents: read.documents, outlines, extracted: facts.extracted, unreadable: facts.unreadable }, () => {
        const lines = [`${file}: ${read.documents.length} document(s)`];
        for (const document of read.documents) {
          const state = document.kind === 'other' ? 'not XML: not read' : document.error ? `not read: ${document.error}` : 'XML';
          lines.push(`  ${document.name}  ${document.bytes < 10_240 ? `${document.bytes} B` : `${Math.round(document.bytes / 1024)} KiB`}  ${state}`);
        }
        for (const [name, outline] of read.outlines) lines.push('', ...outlineText(name, outline));
        lines.push('', `What the mapping ${loaded.path} reads:`);
        lines.push(
          table(
            ['FIELD', 'VALUE', 'FROM', 'MEANING'],
            SYSINFO_FIELDS.map((field) => {
              const got = facts.extracted.find((e) => e.field === field);
              // Not found: the paths looked at, in full (a database field's relative path as it was read).
              const mapped = loaded.mapping.fields[field];
              return [field, got?.value ?? (mapped.length > 0 ? '(not found)' : '(no path in the mapping)'), got?.path ?? mapped.join(', '), SYSINFO_FIELD_MEANINGS[field]];
            }),
          ),
        );
        for (const u of facts.unreadable.slice(0, 20)) lines.push(`  ${u.field}: "${u.value.slice(0, 60)}" at ${u.path} cannot be read as one`);
        lines.push(
          '',
          'To read a field, add the path from the outline to its list in a copy of the mapping (a database field\'s path in full,',
          'or relative to databaseElement: @name for sysinfo/bases/base/@name when databaseElement is sysinfo/bases/base), check it with',
          `  dozor sysinfo inspect ${file} --mapping <your copy>`,
          'then set SYSINFO_MAPPING=<your copy>, restart dozor, and run dozor sysinfo reparse for the files already stored.',
        );
        return lines.join('\n');
      });
    });

  sysinfo
    .command('reparse')
    .description('read the latest stored sysinfo of every installation (or one) again with the mapping in force, and update their state')
    .option('--installation <id>', 'only this installation')
    .action(
      run<{ installation?: string }>(async (ctx, { json, opts, config }) => {
        const only = opts.installation === undefined ? undefined : (await requireInstallation(ctx.db, opts.installation)).id;
        const sysinfoMapping = useSysinfoMapping(mappingFrom(undefined));
        const done = await reparseSysinfo({ db: ctx.db, clock: ctx.clock, actor: ctx.actor, dataDir: dataDirOf(config), sysinfo: sysinfoMapping }, only);
        emit(json, { mapping: sysinfoMapping.path, installations: done }, () =>
          done.length === 0
            ? 'No stored sysinfo to read.'
            : [
                `Read with ${sysinfoMapping.path}:`,
                table(
                  ['INSTALLATION', 'UPLOAD', 'FIELDS READ', 'PROBLEMS'],
                  done.map((d) => [
                    d.installationId,
                    d.uploadId,
                    Object.entries(d.reading.fields).map(([field, value]) => `${field}=${value}`).join(' ') || '—',
                    d.reading.problems.map((problem) => describeReadingProblem('en', problem)).join('; '),
                  ]),
                ),
                'The rules look at these installations again at the next sweep (within CHECK_CRON).',
              ].join('\n'),
        );
      }),
    );
}

function outlineText(name: string, outline: OutlineEntry[]): string[] {
  const shown = outline.slice(0, OUTLINE_SHOWN);
  const lines = [`Outline of ${name} (${outline.length} paths):`, table(['PATH', 'COUNT', 'SAMPLE'], shown.map((e) => [e.path, e.count, e.sample ?? '']))];
  if (outline.length > shown.length) lines.push(`… and ${outline.length - shown.length} more paths (all of them with --json)`);
  return lines;
}
