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
import { defuse } from '../../core/text.ts';

/** Commands for files uploaded from the field: fleet upload tokens, uploads and the names nobody has. */
export function registerUploadCommands(program: Command): void {
  const tokens = program.command('upload-token').description('fleet upload tokens: one secret for a distributor\'s scripts, the file name naming the installation');

  tokens
    .command('create')
    .description('make a fleet upload token; it is shown once')
    .requiredOption('--label <label>', 'what it is for, e.g. "0000 Дилер scripts"')
    .option('--names <names>', 'the only upload names it may send under, comma separated (any case), e.g. ROMASHKA,VECTOR')
    .option('--from <networks>', 'the only networks it may send from, comma separated, e.g. 10.0.0.0/8,2001:db8::/32')
    .action(
      run<{ label: string; names?: string; from?: string }>(async (ctx, { json, opts }) => {
        const list = (text: string | undefined) => (text === undefined ? undefined : text.split(','));
        const { uploadToken, token } = await createUploadToken(ctx, opts.label, { ...(opts.names !== undefined ? { names: list(opts.names)! } : {}), ...(opts.from !== undefined ? { networks: list(opts.from)! } : {}) });
        emit(json, { id: uploadToken.id, label: uploadToken.label, token, names: uploadToken.names, networks: uploadToken.networks }, () =>
          [
            `Fleet upload token ${uploadToken.id} "${uploadToken.label}" (shown only now):`,
            token,
            `It takes ${limitsText(uploadToken)}.`,
            'Scripts upload with it as SMART\'s do: curl -F file=@<NAME>.zip "<PUBLIC_URL>/upload?token=<token>"; <NAME> must be an installation\'s upload name (dozor installation set <id> --upload-name <NAME>).',
            'A fleet token lives on every client\'s server: anyone there can upload under any name it takes. Prefer each installation\'s own agent token.',
          ].join('\n'),
        );
      }),
    );

  tokens
    .command('list')
    .description('fleet upload tokens (never the tokens themselves)')
    .action(
      run(async (ctx, { json, config }) => {
        const rows = (await listUploadTokens(ctx.db)).map(({ tokenHash: _hash, ...rest }) => rest);
        emit(json, rows, () =>
          rows.length === 0
            ? 'No upload tokens. Make one with: dozor upload-token create --label "<what for>"'
            : table(
                ['ID', 'LABEL', 'NAMES', 'FROM', 'CREATED', 'BY', 'REVOKED'],
                rows.map((r) => [
                  r.id,
                  r.label,
                  r.names?.join(',') ?? 'any',
                  r.networks?.join(',') ?? 'anywhere',
                  formatTime(r.createdAt, config.DISPLAY_TZ),
                  r.createdBy,
                  r.revokedAt ? formatTime(r.revokedAt, config.DISPLAY_TZ) : '',
                ]),
              ),
        );
      }),
    );

  tokens
    .command('revoke')
    .description('stop accepting uploads under a fleet token, at once')
    .argument('<id>', 'upload token id')
    .action(
      run(async (ctx, { json, args }) => {
        const revoked = await revokeUploadToken(ctx, args[0]!);
        emit(json, { id: revoked.id, revokedAt: revoked.revokedAt }, () => `Upload token ${revoked.id} "${revoked.label}" is revoked: uploads under it are refused.`);
      }),
    );

  const uploads = program.command('uploads').description('files uploaded from the field');

  uploads
    .command('list')
    .description('an installation\'s uploads, latest first')
    .argument('<installation>', 'installation id')
    .action(
      run(async (ctx, { json, args, config }) => {
        const installation = await requireInstallation(ctx.db, args[0]!);
        const rows = await listUploadsOf(ctx.db, installation.id);
        emit(json, rows, () =>
          rows.length === 0
            ? `No uploads from installation ${installation.id} "${installation.name}".`
            : table(
                ['ID', 'NAME', 'KIND', 'SIZE', 'RECEIVED', 'MADE', 'DEALER', 'READ'],
                rows.map((r) => [
                  r.id,
                  defuse(r.name),
                  r.kind,
                  r.size,
                  formatTime(r.receivedAt, config.DISPLAY_TZ),
                  r.takenAt ? formatTime(r.takenAt, config.DISPLAY_TZ) : '',
                  r.dealer === null ? null : defuse(r.dealer),
                  readingText(r.reading),
                ]),
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
      run<{ out: string }>(async (ctx, { json, opts, args, config }) => {
        const id = /^\d+$/.test(args[0]!) ? Number(args[0]) : NaN;
        const upload = Number.isSafeInteger(id) ? await getUpload(ctx.db, id) : undefined;
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
      run(async (ctx, { json, config }) => {
        const rows = await listUnmatchedUploadNames(ctx.db);
        emit(json, rows, () =>
          rows.length === 0
            ? 'No unmatched uploads.'
            : [
                table(
                  ['NAME', 'FILES', 'FIRST', 'LAST', 'DEALER'],
                  // Names from before such marks were refused at the door show them as �, never raw on a terminal.
                  rows.map((r) => [defuse(r.name), r.files, formatTime(r.firstAt, config.DISPLAY_TZ), formatTime(r.lastAt, config.DISPLAY_TZ), r.dealer === null ? null : defuse(r.dealer)]),
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
      run(async (ctx, { json, args }) => {
        const { installation, attached } = await assignUploads(ctx, args[0]!, args[1]!);
        emit(json, { installation: installation.id, uploadName: installation.uploadName, attached }, () =>
          `${attached} file(s) named ${args[0]} now belong to installation ${installation.id} "${installation.name}", whose upload name is ${installation.uploadName}.`,
        );
      }),
    );
}

/** What a fleet token takes: its names and networks, or any. */
function limitsText(token: { names: string[] | null; networks: string[] | null }): string {
  return `${token.names ? `only the names ${token.names.join(', ')}` : 'any name'}, ${token.networks ? `only from ${token.networks.join(', ')}` : 'from anywhere'}`;
}

/** What the sysinfo mapping read from a file: its fields, or what went wrong. */
function readingText(reading: UploadReading | null): string {
  if (!reading) return '';
  const fields = Object.entries(reading.fields).map(([field, value]) => `${field}=${value}`);
  return [...fields, ...reading.problems.map((problem) => `problem: ${describeReadingProblem('en', problem)}`)].join('; ') || 'nothing';
}
