import { resolve } from 'node:path';
import type { Command } from 'commander';
import { dataDirOf } from '../../app/config.ts';
import { copyToPostgres } from '../../db/postgres-copy.ts';
import { emit, secretArgument, table } from '../output.ts';
import { run } from '../run.ts';

/** Commands about the database itself. */
export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('the database itself');

  db.command('copy')
    .description(
      'copy everything in the SQLite database in force (DATABASE_PATH) into an empty PostgreSQL database, and check the copy; ' +
        'stop the service first: what arrives while it copies is not in the copy',
    )
    .requiredOption('--to <url>', 'the PostgreSQL database, e.g. postgres://dozor:PASSWORD@127.0.0.1:5432/dozor (none of dozor\'s tables may hold a row; its schema is brought up to date); "-" reads the URL from standard input, so the password stays out of the shell\'s history')
    .action(
      run<{ to: string }>(async (ctx, { json, opts, config }) => {
        const source = resolve(config.DATABASE_PATH);
        const dataDir = dataDirOf(config);
        const progress = !json && process.stderr.isTTY;
        const result = await copyToPostgres(ctx.db, secretArgument(opts.to), {
          ...(progress ? { onProgress: (name: string, copied: number, total: number) => process.stderr.write(`\r\x1b[Kcopying ${name}: ${copied} of ${total} rows`) } : {}),
        });
        if (progress) process.stderr.write('\r\x1b[K');
        const seconds = result.milliseconds / 1000;
        const env = { DATABASE_URL: result.target, DATA_DIR: dataDir };
        emit(json, { source, target: result.target, tables: result.tables, rows: result.rows, seconds: Number(seconds.toFixed(3)), env }, () =>
          [
            `Copied ${source} into PostgreSQL at ${result.target}: ${result.rows} rows in ${seconds.toFixed(1)} s.`,
            table(['TABLE', 'ROWS'], result.tables.map((t) => [t.table, t.rows])),
            'Checked: every table holds as many rows in PostgreSQL as in SQLite, and every id sequence goes on past the highest id SQLite gave.',
            'Rows that reached SQLite after the copy began are not in it: copy with the service stopped, and copy again into an empty database if it was running.',
            '',
            'What to change in .env:',
            `  DATABASE_URL=${result.target}${result.target.includes('…') ? '   (put the password in place of …)' : ''}`,
            `  DATA_DIR=${dataDir}`,
            `DATABASE_PATH is then no longer used; ${source} stays as it was, untouched by the copy.`,
            `Uploaded files are not in the database and were not copied: they stay in ${dataDir} (the uploads table names each by its path under DATA_DIR), which is why DATA_DIR is set above: its default is the database file's folder.`,
            'Every instance of dozor that uses this database must see those same files there: see docs/postgres.md.',
          ].join('\n'),
        );
      }),
    );
}
