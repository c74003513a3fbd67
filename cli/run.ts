import { userInfo } from 'node:os';
import type { Command, OptionValues } from 'commander';
import { loadEnv, parseConfig, type Config } from '../app/config.ts';
import { systemClock } from '../core/clock.ts';
import { closeDatabase, openDatabase } from '../db/open.ts';
import { explainStorageError, shownDatabaseUrl } from '../db/storage-errors.ts';
import type { RegistryContext } from '../registry/context.ts';

/** What an action gets besides the registry context: `--json`, its options and arguments, the configuration. */
export interface Invocation<O> {
  json: boolean;
  opts: O;
  args: string[];
  config: Config;
}

let config: Config | undefined;

/** The database cannot be used for this command (read-only, locked, disk full…): said in one sentence, no stack trace. */
export class DatabaseUnusable extends Error {}

/** The configuration, read once per command. */
export function cliConfig(): Config {
  config ??= parseConfig(loadEnv());
  return config;
}

/** Wrap a command's action: read the configuration, open the database for it, close it after (an async action is awaited first). */
export function run<O extends OptionValues = OptionValues>(action: (ctx: RegistryContext, call: Invocation<O>) => void | Promise<void>) {
  return async (...actionArgs: unknown[]) => {
    // commander passes the command itself last.
    const command = actionArgs[actionArgs.length - 1] as Command;
    const { json } = command.optsWithGlobals<{ json: boolean }>();
    const config = cliConfig();
    const path = config.DATABASE_URL === undefined ? config.DATABASE_PATH : shownDatabaseUrl(config.DATABASE_URL);
    try {
      const db = await openDatabase({ url: config.DATABASE_URL, path: config.DATABASE_PATH, poolSize: 2 });
      try {
        await action({ db, clock: systemClock, actor: `cli:${userInfo().username}` }, { json, opts: command.opts<O>(), args: command.args, config });
      } finally {
        await closeDatabase(db);
      }
    } catch (err) {
      const explained = explainStorageError(err, path);
      if (explained) throw new DatabaseUnusable(explained, { cause: err });
      throw err;
    }
  };
}
