import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { SaxesParser } from 'saxes';
import yauzl from 'yauzl';
import type { FoundValue, MappingMatcher, SysinfoField } from '../core/sysinfo-mapping.ts';

/** One document in an uploaded sysinfo: the XML itself, or an entry of its archive. */
export interface SysinfoDocument {
  name: string;
  /** Only XML is read; anything else in an archive is listed. */
  kind: 'xml' | 'other';
  /** Unpacked size. */
  bytes: number;
  /** Why the document could not be read (nothing of it is used then). */
  error?: string;
}

/** A path met in a document: how often, and the first value seen there. */
export interface OutlineEntry {
  path: string;
  count: number;
  sample: string | null;
}

export interface SysinfoReading {
  documents: SysinfoDocument[];
  /** Database elements met so far (across the documents), numbering the database fields' values. */
  databases: number;
  /** Values at the mapped paths, in document order. */
  found: Partial<Record<SysinfoField, FoundValue[]>>;
  /** Per XML document, when asked for: every element and attribute path. */
  outlines: Map<string, OutlineEntry[]>;
  /** Characters of the values kept so far, across the documents (READ_LIMITS.keptChars). */
  keptChars: number;
}

export interface ReadOptions {
  matcher?: MappingMatcher | undefined;
  outline?: boolean;
}

/**
 * What reading one sysinfo may hold in memory, whatever the file holds
 * (docs/sysinfo.md). Past a limit on what the parser must
 * gather, the document is refused and said to be; past a limit on what is
 * kept, the rest is not kept.
 */
export const READ_LIMITS = {
  /** Nesting deeper than this is no sysinfo. */
  depth: 256,
  /** Distinct paths in one document; a generated document with unbounded names is refused rather than remembered. */
  paths: 20_000,
  /** Characters of all the distinct paths together. */
  pathChars: 2_000_000,
  /** An element or attribute name. */
  nameChars: 1_000,
  /**
   * One run of text the parser gathers whole before it hands it on: an
   * element's text up to the next tag, a comment, a CDATA section, an
   * attribute value. Past it the document is refused.
   */
  textRunChars: 4 * 1024 * 1024,
  /** Attributes of one element, and their characters together. */
  attributes: 10_000,
  attributeChars: 4 * 1024 * 1024,
  /** Values kept per field, characters kept of one value, and characters kept in all. */
  valuesPerField: 10_000,
  valueChars: 1_000,
  keptChars: 4_000_000,
};
const SAMPLE_LENGTH = 80;
/** The decoded text goes to the parser in pieces this long, so what it gathers is checked often. */
const PIECE = 64 * 1024;

/**
 * A copy of (a short part of) a string that does not keep the string it came
 * from alive. V8 makes a slice of a long string a view into it, and a text the
 * parser gathered from a chunk is such a slice: a kept value of ten
 * characters would otherwise keep a whole megabyte of document in memory.
 */
function detached(text: string, max: number): string {
  const part = text.length > max ? text.slice(0, max) : text;
  return Buffer.from(part, 'utf16le').toString('utf16le');
}

/** A sample for a terminal: one line, no control characters (a hostile file's escape sequences stay out). */
const sampleOf = (value: string) => detached(value.slice(0, SAMPLE_LENGTH * 4).replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim(), SAMPLE_LENGTH);

/**
 * What saxes gathers in its own fields until it can hand it on (it has no
 * limit of its own): read after each piece, so none grows past its limit
 * unnoticed. (Listening to its `attribute` and `opentagstart` events instead
 * made the parser three times slower.)
 */
interface SaxesGathering {
  text: string;
  name: string;
  piTarget: string;
  entity: string;
  attribList: { name: string; value: string }[];
}

class DocumentRefused extends Error {}

/**
 * Read a sysinfo as it was uploaded (`.xml`, or a `.zip` whose `.xml` entries
 * are read in turn), streaming: the XML goes through a strict SAX parser
 * chunk by chunk, nothing is built in memory, no DOCTYPE (and so no entity)
 * is accepted, and an archive's entries are read from the archive, never
 * written out by their names. Only the values at mapped paths are kept, and,
 * for `dozor sysinfo inspect`, an outline of the paths.
 */
export async function readSysinfo(path: string, kind: 'zip' | 'xml', options: ReadOptions): Promise<SysinfoReading> {
  const reading: SysinfoReading = { documents: [], databases: 0, found: {}, outlines: new Map(), keptChars: 0 };
  if (kind === 'xml') {
    await readDocument(reading, path.split(/[\\/]/).at(-1)!, createReadStream(path, { highWaterMark: 256 * 1024 }), options);
    return reading;
  }
  const zip = await yauzl.openPromise(path, { autoClose: false, validateEntrySizes: true });
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith('/')) continue;
      if (!/\.xml$/i.test(entry.fileName)) {
        reading.documents.push({ name: entry.fileName, kind: 'other', bytes: entry.uncompressedSize });
        continue;
      }
      await readDocument(reading, entry.fileName, await zip.openReadStreamPromise(entry), options, entry.uncompressedSize);
    }
  } finally {
    zip.close();
  }
  return reading;
}

/**
 * A path met in a document. Paths form a tree, so an element costs a lookup
 * in its parent's children (no string is built once a path is known), and
 * what the mapping wants of a path is worked out once.
 */
interface PathNode {
  path: string;
  /** Fields the text of this element feeds. */
  fields: readonly { field: SysinfoField }[];
  /** The element holds one database (the mapping's databaseElement). */
  database: boolean;
  count: number;
  sample: string | null;
  children: Map<string, PathNode>;
  attributes: Map<string, PathNode>;
}

async function readDocument(reading: SysinfoReading, name: string, stream: Readable, options: ReadOptions, size?: number): Promise<void> {
  const document: SysinfoDocument = { name, kind: 'xml', bytes: size ?? 0 };
  reading.documents.push(document);
  const found: Partial<Record<SysinfoField, FoundValue[]>> = {};
  const nodes: PathNode[] = [];
  let pathChars = 0;
  const nodeOf = (parentPath: string | null, name: string): PathNode => {
    if (nodes.length >= READ_LIMITS.paths) throw new DocumentRefused(`more than ${READ_LIMITS.paths} distinct element paths`);
    const path = detached(parentPath === null ? name : `${parentPath}/${name}`, Infinity);
    pathChars += path.length;
    if (pathChars > READ_LIMITS.pathChars) throw new DocumentRefused(`its distinct element paths are longer than ${READ_LIMITS.pathChars} characters together`);
    const node: PathNode = {
      path,
      fields: options.matcher?.match(path) ?? [],
      database: options.matcher?.isDatabase(path) ?? false,
      count: 0,
      sample: null,
      children: new Map(),
      attributes: new Map(),
    };
    nodes.push(node);
    return node;
  };
  const roots = new Map<string, PathNode>();
  const parser = new SaxesParser();
  // The open elements, and the text gathered for each that wants it (null: not wanted).
  const stack: PathNode[] = [];
  const texts: (string | null)[] = [];
  let decoder: InstanceType<typeof TextDecoder> | null = null;
  let bytes = 0;

  // The database element open now (its number and depth), if any: values found inside it are that database's.
  let database: { number: number; depth: number } | null = null;
  const keep = (field: SysinfoField, path: string, value: string) => {
    const values = (found[field] ??= []);
    if (values.length >= READ_LIMITS.valuesPerField || reading.keptChars + Math.min(value.length, READ_LIMITS.valueChars) > READ_LIMITS.keptChars) return;
    const kept = detached(value, READ_LIMITS.valueChars);
    reading.keptChars += kept.length;
    values.push(database ? { path, value: kept, database: database.number } : { path, value: kept });
  };
  const gather = (text: string) => {
    const last = texts.length - 1;
    const gathered = texts[last];
    // Only the start of a long text is wanted, and it is copied out at once (see `detached`).
    if (gathered != null && gathered.length < READ_LIMITS.valueChars) texts[last] = gathered + detached(text, READ_LIMITS.valueChars - gathered.length);
  };
  const gathering = parser as unknown as SaxesGathering;
  // The attributes of the element being opened, counted as saxes gathers them (a new list for each element).
  let attributeList: SaxesGathering['attribList'] | null = null;
  let attributesCounted = 0;
  let attributeChars = 0;
  const checkGathering = () => {
    if (gathering.text.length > READ_LIMITS.textRunChars || gathering.entity.length > READ_LIMITS.textRunChars) {
      throw new DocumentRefused(`a text, comment, CDATA section or attribute value longer than ${READ_LIMITS.textRunChars} characters`);
    }
    if (gathering.name.length > READ_LIMITS.nameChars || gathering.piTarget.length > READ_LIMITS.nameChars) {
      throw new DocumentRefused(`a name longer than ${READ_LIMITS.nameChars} characters`);
    }
    const list = gathering.attribList;
    if (list !== attributeList) {
      attributeList = list;
      attributesCounted = 0;
      attributeChars = 0;
    }
    for (; attributesCounted < list.length; attributesCounted++) attributeChars += list[attributesCounted]!.name.length + list[attributesCounted]!.value.length;
    if (list.length > READ_LIMITS.attributes) throw new DocumentRefused(`an element with more than ${READ_LIMITS.attributes} attributes`);
    if (attributeChars > READ_LIMITS.attributeChars) throw new DocumentRefused(`an element whose attributes are longer than ${READ_LIMITS.attributeChars} characters together`);
  };

  parser.on('doctype', () => {
    throw new DocumentRefused('a DOCTYPE (entity declarations) is not read');
  });
  parser.on('error', (err) => {
    throw new DocumentRefused(`malformed XML at line ${parser.line}, column ${parser.column + 1}: ${err.message.replace(/^\d+:\d+: /, '')}`);
  });
  parser.on('opentag', (tag) => {
    if (stack.length >= READ_LIMITS.depth) throw new DocumentRefused(`elements nested more than ${READ_LIMITS.depth} deep`);
    const parent = stack.at(-1);
    const siblings = parent ? parent.children : roots;
    let node = siblings.get(tag.name);
    if (!node) {
      node = nodeOf(parent ? parent.path : null, tag.name);
      // A copy of the name as the key, not the parser's view into a chunk.
      siblings.set(detached(tag.name, Infinity), node);
    }
    node.count++;
    stack.push(node);
    if (node.database && !database) database = { number: ++reading.databases, depth: stack.length };
    texts.push(node.fields.length > 0 || (options.outline && node.sample === null) ? '' : null);
    const attributes = tag.attributes as Record<string, string>;
    for (const attribute in attributes) {
      let attributeNode = node.attributes.get(attribute);
      if (!attributeNode) {
        attributeNode = nodeOf(node.path, `@${attribute}`);
        node.attributes.set(detached(attribute, Infinity), attributeNode);
      }
      const value = attributes[attribute]!;
      attributeNode.count++;
      if (attributeNode.sample === null && options.outline && value) attributeNode.sample = sampleOf(value);
      for (const { field } of attributeNode.fields) keep(field, attributeNode.path, value);
    }
  });
  parser.on('text', gather);
  parser.on('cdata', gather);
  parser.on('closetag', () => {
    const depth = stack.length;
    const node = stack.pop()!;
    const text = texts.pop()?.trim();
    if (text) {
      if (options.outline && node.sample === null) node.sample = sampleOf(text);
      for (const { field } of node.fields) keep(field, node.path, text);
    }
    if (database?.depth === depth) database = null;
  });

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      decoder ??= new TextDecoder(encodingOf(chunk), { fatal: true });
      const text = decoder.decode(chunk, { stream: true });
      for (let at = 0; at < text.length; at += PIECE) {
        parser.write(text.length <= PIECE ? text : text.slice(at, at + PIECE));
        checkGathering();
      }
    }
    if (decoder) parser.write(decoder.decode());
    parser.close();
  } catch (err) {
    stream.destroy();
    if (err instanceof DocumentRefused) document.error = err.message;
    else if (err instanceof TypeError && /decode|encoded/i.test(err.message)) document.error = `not valid ${decoder?.encoding ?? 'UTF-8'} text`;
    else if (err instanceof RangeError) document.error = err.message;
    else throw err;
  }
  document.bytes = bytes;
  if (document.error) return;
  for (const [field, values] of Object.entries(found) as [SysinfoField, FoundValue[]][]) {
    const all = (reading.found[field] ??= []);
    for (const value of values) if (all.length < READ_LIMITS.valuesPerField) all.push(value);
  }
  if (options.outline) reading.outlines.set(name, outlineOf(roots));
}

/** The paths of a document in the order met, each element followed by its attributes and then its children. */
function outlineOf(roots: Map<string, PathNode>): OutlineEntry[] {
  const entries: OutlineEntry[] = [];
  const visit = (node: PathNode) => {
    entries.push({ path: node.path, count: node.count, sample: node.sample });
    for (const attribute of node.attributes.values()) entries.push({ path: attribute.path, count: attribute.count, sample: attribute.sample });
    for (const child of node.children.values()) visit(child);
  };
  for (const root of roots.values()) visit(root);
  return entries;
}

/** The encoding a document declares (or its byte order mark says); UTF-8 when it says nothing. */
function encodingOf(head: Buffer): string {
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  const declared = /^(?:\xEF\xBB\xBF)?<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head.subarray(0, 200).toString('latin1'))?.[1];
  if (!declared) return 'utf-8';
  try {
    // TextDecoder knows the labels (windows-1251, cp1251, koi8-r…); an unknown one is said, not guessed.
    return new TextDecoder(declared).encoding;
  } catch {
    throw new RangeError(`the document declares an encoding dozor does not know: ${declared}`);
  }
}
