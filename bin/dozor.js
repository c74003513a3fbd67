#!/usr/bin/env node
// `dozor`, the command-line tool. Its sources are TypeScript and there is no
// build step: the first run (and the first run after a source changed) bundles
// the tool with esbuild into node_modules/.cache/dozor/, and every other run
// loads that bundle, which starts in a fraction of the time that transpiling
// on the fly takes. If the cache cannot be written, the sources run through tsx.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = join(ROOT, 'cli', 'main.ts');
const CACHE = join(ROOT, 'node_modules', '.cache', 'dozor');
const BUNDLE = join(CACHE, 'cli.mjs');
const MANIFEST = join(CACHE, 'cli.json');

/** The bundle is fresh when every file it was built from is unchanged (by size and modification time). */
function isFresh() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    statSync(BUNDLE);
  } catch {
    return false;
  }
  if (!manifest.inputs?.['bin/dozor.js']) return false;
  for (const [file, stamp] of Object.entries(manifest.inputs)) {
    try {
      const stats = statSync(join(ROOT, file));
      if (`${stats.size}:${stats.mtimeMs}` !== stamp) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Bundle the tool with what it imports into one file. `import.meta.url` in our
 * sources is replaced by each file's own URL, so paths the code finds next to
 * itself (the migrations) still resolve.
 */
async function build() {
  const esbuild = await import('esbuild');
  const ownUrl = {
    name: 'own-import-meta-url',
    setup(plugin) {
      plugin.onLoad({ filter: /\.ts$/ }, (args) => ({
        contents: readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
        loader: 'ts',
      }));
    },
  };
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Packages are bundled too: loading one file is much faster than resolving hundreds. The driver
    // has a native part and stays outside; CommonJS packages inside get a `require` of their own.
    external: ['better-sqlite3'],
    banner: { js: "import { createRequire as dozorCreateRequire } from 'node:module'; const require = dozorCreateRequire(import.meta.url);" },
    metafile: true,
    write: false,
    logLevel: 'silent',
    absWorkingDir: ROOT,
    plugins: [ownUrl],
  });
  const inputs = {};
  // This file too: a change to how the bundle is built makes it stale.
  for (const file of ['bin/dozor.js', ...Object.keys(result.metafile.inputs)]) {
    const stats = statSync(join(ROOT, file));
    inputs[file] = `${stats.size}:${stats.mtimeMs}`;
  }
  mkdirSync(CACHE, { recursive: true });
  // Written aside and renamed, so a run started meanwhile never loads half a file.
  const suffix = `.${process.pid}.tmp`;
  writeFileSync(BUNDLE + suffix, result.outputFiles[0].contents);
  writeFileSync(MANIFEST + suffix, JSON.stringify({ inputs }));
  renameSync(BUNDLE + suffix, BUNDLE);
  renameSync(MANIFEST + suffix, MANIFEST);
}

let bundled = isFresh();
if (!bundled) {
  try {
    await build();
    bundled = true;
  } catch {
    bundled = false;
  }
}
if (bundled) {
  await import(pathToFileURL(BUNDLE).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(ENTRY).href);
}
