import { constants, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { dataDirOf } from '../../app/config.ts';
import { inputError, notFound } from '../../i18n/index.ts';
import { describeReadingProblem } from '../../i18n/sysinfo.ts';
import { getUpload, listUnmatchedUploadNames, listUploadsOf, listUploadTokens } from '../../db/uploads.ts';
import { requireInstallation } from '../../registry/installations.ts';
import { assignUploads, createUploadToken, revokeUploadToken } from '../../registry/uploads.ts';
import { emit, formatTime, table } from '../output.ts';
import type { UploadReading } from '../../core/sysinfo-mapping.ts';
import { run } from '../run.ts';

/** Commands for files uploaded from the field: fleet upload tokens, uploads and the names nobody has. */
export function registerUploadCommands(program: Command): void {
  const tokens = program.command('upload-token').description('fleet upload tokens: one secret for a distributor\'s scripts, the file name naming the installation');

  tokens
    .command('create')
    .description('make a fleet upload token; it is shown once')
    .requiredOption('--label <label>', 'what it is for, e.g. "0000 Дилер scripts"')
    .action(
      run<{ label: string }>((ctx, { json, opts }) => {
        const { uploadToken, token } = createUploadToken(ctx, opts.label);
        emit(json, { id: uploadToken.id, label: uploadToken.label, token }, () =>
          [
            `Fleet upload token ${uploadToken.id} "${uploadToken.label}" (shown only now):`,
            token,
            'Scripts upload with it as SMART\'s do: curl -F file=@<NAME>.zip "<PUBLIC_URL>/upload?token=<token>"; <NAME> must be an installation\'s upload name (dozor installation set <id> --upload-name <NAME>).',
          ].join('\n'),
        );
      }),
    );

  tokens
    .command('list')
    .description('fleet upload tokens (never the tokens themselves)')
    .action(
      run((ctx, { json, config }) => {
        const rows = listUploadTokens(ctx.db).map(({ tokenHash: _hash, ...rest }) => rest);
        emit(json, rows, () =>
          rows.length === 0
            ? 'No upload tokens. Make one with: dozor upload-token create --label "<what for>"'
            : table(
                ['ID', 'LABEL', 'CREATED', 'BY', 'REVOKED'],
                rows.map((r) => [r.id, r.label, formatTime(r.createdAt, config.DISPLAY_TZ), r.createdBy, r.revokedAt ? formatTime(r.revokedAt, config.DISPLAY_TZ) : '']),
              ),
        );
      }),
    );

  tokens
    .command('revoke')
    .description('stop accepting uploads under a fleet token, at once')
    .argument('<id>', 'upload token id')
    .action(
      run((ctx, { json, args }) => {
        const revoked = revokeUploadToken(ctx, args[0]!);
        emit(json, { id: revoked.id, revokedAt: revoked.revokedAt }, () => `Upload token ${revoked.id} "${revoked.label}" is revoked: uploads under it are refused.`);
      }),
    );

  const uploads = program.command('uploads').description('files uploaded from the field');

  uploads
    .command('list')
    .description('an installation\'s uploads, latest first')
    .argument('<installation>', 'installation id')
    .action(
      run((ctx, { json, args, config }) => {
        const installation = requireInstallation(ctx.db, args[0]!);
        const rows = listUploadsOf(ctx.db, installation.id);
        emit(json, rows, () =>
          rows.length === 0
            ? `No uploads from installation ${installation.id} "${installation.name}".`
            : table(
                ['ID', 'NAME', 'KIND', 'SIZE', 'RECEIVED', 'MADE', 'DEALER', 'READ'],
                rows.map((r) => [r.id, r.name, r.kind, r.size, formatTime(r.receivedAt, config.DISPLAY_TZ), r.takenAt ? formatTime(r.takenAt, config.DISPLAY_TZ) : '', r.dealer, readingText(r.reading)]),
              ),
        );
      }),
    );

  uploads
    .command('get')
    .description('copy an uploaded file out (a sysinfo too large for Telegram, say)')
    .argument('<id>', 'upload id (see dozor uploads list)')
    .requiredOption('--out <file>', 'where to write it (an existing file is not overwritten)')
    .action(
      run<{ out: string }>((ctx, { json, opts, args, config }) => {
        const id = /^\d+$/.test(args[0]!) ? Number(args[0]) : NaN;
        const upload = Number.isSafeInteger(id) ? getUpload(ctx.db, id) : undefined;
        if (!upload) throw notFound('uploadNotFound', { id: args[0]! });
        try {
          copyFileSync(join(dataDirOf(config), upload.path), opts.out, constants.COPYFILE_EXCL);
        } catch (err) {
          throw inputError('fileNotWritten', { file: opts.out, reason: (err as Error).message });
        }
        emit(json, { id: upload.id, out: opts.out, size: upload.size }, () => `Upload ${upload.id} (${upload.name}.${upload.kind}, ${upload.size} bytes) written to ${opts.out}.`);
      }),
    );

  uploads
    .command('unmatched')
    .description('names uploaded under a fleet token that no installation has (their files are kept)')
    .action(
      run((ctx, { json, config }) => {
        const rows = listUnmatchedUploadNames(ctx.db);
        emit(json, rows, () =>
          rows.length === 0
            ? 'No unmatched uploads.'
            : [
                table(
                  ['NAME', 'FILES', 'FIRST', 'LAST', 'DEALER'],
                  rows.map((r) => [r.name, r.files, formatTime(r.firstAt, config.DISPLAY_TZ), formatTime(r.lastAt, config.DISPLAY_TZ), r.dealer]),
                ),
                'Attach them with: dozor uploads assign <NAME> <installation id>',
              ].join('\n'),
        );
      }),
    );

  uploads
    .command('assign')
    .description('attach the files uploaded under a name to an installation, which takes that upload name; they count as received')
    .argument('<name>', 'the upload name (the file\'s base name, e.g. ROMASHKA)')
    .argument('<installation>', 'installation id')
    .action(
      run((ctx, { json, args }) => {
        const { installation, attached } = assignUploads(ctx, args[0]!, args[1]!);
        emit(json, { installation: installation.id, uploadName: installation.uploadName, attached }, () =>
          `${attached} file(s) named ${args[0]} now belong to installation ${installation.id} "${installation.name}", whose upload name is ${installation.uploadName}.`,
        );
      }),
    );
}

/** What the sysinfo mapping read from a file: its fields, or what went wrong. */
function readingText(reading: UploadReading | null): string {
  if (!reading) return '';
  const fields = Object.entries(reading.fields).map(([field, value]) => `${field}=${value}`);
  return [...fields, ...reading.problems.map((problem) => `problem: ${describeReadingProblem('en', problem)}`)].join('; ') || 'nothing';
}
