// Reading the user's files for `edgelb migrate`: multi-document YAML, `kind: List` expanded,
// bounded (file size, documents, YAML aliases), and typed field access that never trusts a value:
// a field of the wrong type becomes a note, not a crash.
import { parseAllDocuments } from 'yaml';
import { EdgelbError } from '../lib/errors.js';
import type { Notes, SourceObject } from './types.js';

/** Larger inputs are refused: `kubectl get -A -o yaml` of a big cluster stays far below. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;
export const MAX_DOCUMENTS = 20_000;
/** YAML alias expansions per document (a "billion laughs" file stops here). */
export const MAX_ALIASES = 1000;

export type YamlMap = Record<string, unknown>;

export function isMap(v: unknown): v is YamlMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** A document that is not an object of any kind: said in notes, skipped. */
export interface Skipped {
  file: string;
  message: string;
}

/**
 * Parse one file's text into objects. Throws EDGELB_ERR_MIGRATE_INPUT when the file is too large
 * or is not YAML (with line and column); documents that are not Kubernetes objects are returned
 * as `skipped`.
 */
export function readObjects(text: string, file: string): { objects: SourceObject[]; skipped: Skipped[] } {
  if (Buffer.byteLength(text, 'utf8') > MAX_FILE_BYTES)
    throw new EdgelbError('EDGELB_ERR_MIGRATE_INPUT', `${file}: larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB; split it`);
  if (text.includes('\u0000')) throw new EdgelbError('EDGELB_ERR_MIGRATE_INPUT', `${file}: not a text file (it holds NUL bytes)`);
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true, strict: true });
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length > MAX_DOCUMENTS) throw new EdgelbError('EDGELB_ERR_MIGRATE_INPUT', `${file}: more than ${MAX_DOCUMENTS} YAML documents`);
  const objects: SourceObject[] = [];
  const skipped: Skipped[] = [];
  list.forEach((doc, i) => {
    const where = list.length > 1 ? `${file}#${i + 1}` : file;
    const err = doc.errors[0];
    if (err) throw new EdgelbError('EDGELB_ERR_MIGRATE_INPUT', `${where}: not YAML: ${err.message.split('\n')[0]}`);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (e) {
      throw new EdgelbError('EDGELB_ERR_MIGRATE_INPUT', `${where}: ${(e as Error).message}`);
    }
    if (value === null || value === undefined) return; // an empty document ("---" at the end)
    collect(value, where, objects, skipped, 0);
  });
  return { objects, skipped };
}

function collect(value: unknown, where: string, objects: SourceObject[], skipped: Skipped[], depth: number): void {
  if (!isMap(value)) {
    skipped.push({ file: where, message: `a ${Array.isArray(value) ? 'list' : typeof value} at the top, not a Kubernetes object: skipped` });
    return;
  }
  const kind = typeof value.kind === 'string' ? value.kind : undefined;
  const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : undefined;
  if (kind !== undefined && /List$/.test(kind) && Array.isArray(value.items)) {
    if (depth > 2) {
      skipped.push({ file: where, message: 'a List nested more than twice: skipped' });
      return;
    }
    value.items.forEach((item, j) => collect(item, `${where} items[${j}]`, objects, skipped, depth + 1));
    return;
  }
  if (!kind || !apiVersion) {
    skipped.push({ file: where, message: `no ${!kind ? 'kind' : 'apiVersion'}: not a Kubernetes object, skipped` });
    return;
  }
  const meta = isMap(value.metadata) ? value.metadata : {};
  const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : '(no name)';
  const labels: Record<string, string> = {};
  if (isMap(meta.labels)) for (const [k, v] of Object.entries(meta.labels)) if (typeof v === 'string') labels[k] = v;
  objects.push({
    apiVersion,
    kind,
    name,
    ...(typeof meta.namespace === 'string' ? { namespace: meta.namespace } : {}),
    labels,
    raw: value,
    file: where,
  });
}

/**
 * Typed reads of an untrusted map: a present value of the wrong type is noted as lost (with its
 * dotted path) and read as absent.
 */
export class Fields {
  constructor(
    readonly map: YamlMap,
    private readonly notes: Notes,
    readonly path: string,
  ) {}

  static of(v: unknown, notes: Notes, path: string): Fields {
    if (v !== undefined && v !== null && !isMap(v)) notes.lost(path, `must be a map; ignored`);
    return new Fields(isMap(v) ? v : {}, notes, path);
  }

  at(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  has(key: string): boolean {
    return this.map[key] !== undefined && this.map[key] !== null;
  }

  keys(): string[] {
    return Object.keys(this.map).filter((k) => this.has(k));
  }

  str(key: string): string | undefined {
    const v = this.map[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v.trim();
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.notes.lost(this.at(key), `must be a string; ignored`);
    return undefined;
  }

  int(key: string, min: number, max: number): number | undefined {
    const v = this.map[key];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      this.notes.lost(this.at(key), `${JSON.stringify(v)} is not a whole number ${min}..${max}; ignored`);
      return undefined;
    }
    return n;
  }

  bool(key: string): boolean | undefined {
    const v = this.map[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    this.notes.lost(this.at(key), `${JSON.stringify(v)} is not true or false; ignored`);
    return undefined;
  }

  list(key: string): unknown[] {
    const v = this.map[key];
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v;
    this.notes.lost(this.at(key), 'must be a list; ignored');
    return [];
  }

  strList(key: string): string[] {
    const out: string[] = [];
    this.list(key).forEach((v, i) => {
      if (typeof v === 'string' || typeof v === 'number') out.push(String(v).trim());
      else this.notes.lost(`${this.at(key)}[${i}]`, 'must be a string; ignored');
    });
    return out;
  }

  sub(key: string): Fields {
    return Fields.of(this.map[key], this.notes, this.at(key));
  }
}
