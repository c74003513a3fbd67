import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli-helpers.ts';

/**
 * The layout is the architecture: folders are stages and layers, imports
 * follow the data flow, and no folder imports one that imports it back. These
 * tests read the import graph of the product's sources (not the tests, not
 * the development tools) the way the TypeScript compiler does.
 */

interface SourceFile {
  path: string;
  folder: string;
  imports: string[];
  text: string;
}

function productFiles(): SourceFile[] {
  const listed = ts.sys.readDirectory(ROOT, ['.ts', '.js'], ['node_modules', 'test', 'tools', 'data'], ['**/*']);
  return listed
    .map((absolute) => relative(ROOT, absolute))
    .filter((path) => path.includes('/') && !path.startsWith('test/') && !path.startsWith('tools/'))
    .map((path) => {
      const text = readFileSync(join(ROOT, path), 'utf8');
      const imports = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
      return { path, folder: path.split('/')[0]!, imports, text };
    });
}

/** Project files a file imports, as paths from the root (packages left out). */
function localImports(file: SourceFile): string[] {
  return file.imports.filter((s) => s.startsWith('.')).map((s) => normalize(join(dirname(file.path), s)));
}

function folderGraph(files: SourceFile[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of files) {
    const edges = graph.get(file.folder) ?? new Set<string>();
    for (const target of localImports(file)) {
      const folder = target.split('/')[0]!;
      if (folder !== file.folder && !folder.startsWith('..')) edges.add(folder);
    }
    graph.set(file.folder, edges);
  }
  return graph;
}

/** Groups of folders that import each other, directly or around a circle (Tarjan's strongly connected components). */
function cycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe('the layout', () => {
  const files = productFiles();

  it('reads a real graph', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(folderGraph(files).get('intake')).toContain('checks');
  });

  it('finds a circle when there is one (the check itself can fail)', () => {
    const graph = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ]);
    expect(cycles(graph)).toEqual([['a', 'b', 'c']]);
    expect(cycles(new Map([['a', new Set(['b'])], ['b', new Set<string>()]]))).toEqual([]);
  });

  it('has no import cycle between folders', () => {
    expect(cycles(folderGraph(files))).toEqual([]);
  });

  it('keeps the domain core free of everything else in the project', () => {
    const outward = files
      .filter((f) => f.folder === 'core')
      .flatMap((f) => localImports(f).filter((target) => !target.startsWith('core/')).map((target) => `${f.path} -> ${target}`));
    expect(outward).toEqual([]);
  });

  it('keeps every query in db/: no other folder uses the driver, drizzle or a raw connection', () => {
    const offending = files
      .filter((f) => f.folder !== 'db')
      .filter((f) => f.imports.some((s) => s.startsWith('drizzle-orm') || s === 'better-sqlite3') || /\.\$client\b|\.transaction\(/.test(f.text))
      .map((f) => f.path);
    expect(offending).toEqual([]);
  });

  it('describes every top-level folder in the README\'s layout table, and no folder that is gone', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## How the code is laid out'), readme.indexOf('## Development'));
    const described = [...table.matchAll(/^\| `([a-z0-9-]+)\/` \|/gm)].map((m) => m[1]!).sort();
    const folders = readdirSync(ROOT, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && !['node_modules', 'data'].includes(entry.name))
      .map((entry) => entry.name)
      .sort();
    expect(described).toEqual(folders);
  });

  it('lets nothing in the product import the development tools or the tests', () => {
    const offending = files.flatMap((f) => localImports(f).filter((t) => t.startsWith('tools/') || t.startsWith('test/')).map((t) => `${f.path} -> ${t}`));
    expect(offending).toEqual([]);
  });
});
