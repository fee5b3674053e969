// `edgelb migrate metallb|kube-loxilb FILE…`: read the files, convert, check the result for
// clashes (two objects of one name, two BGPPeers of one address), and render it.
import { readFileSync, statSync } from 'node:fs';
import { EdgelbError } from '../lib/errors.js';
import { render } from './emit.js';
import { MAX_FILE_BYTES, readObjects } from './input.js';
import { convertLoxilb } from './loxilb.js';
import { convertMetallb } from './metallb.js';
import type { Converted, Migration, Note, SourceKind, SourceObject } from './types.js';

export type { SourceKind } from './types.js';
export { render } from './emit.js';

export interface MigrateResult {
  stdout: string;
  stderr: string;
  /** How many things could not be carried over (exit code 3 when > 0). */
  lost: number;
  migration: Migration;
}

/** Exit code of `edgelb migrate`: 0 all carried over, 3 some parts could not be. */
export const MIGRATE_EXIT = { OK: 0, PARTIAL: 3 } as const;

/** Convert texts (name → YAML text). Throws EDGELB_ERR_MIGRATE_INPUT when one is not YAML. */
export function migrateTexts(tool: SourceKind, files: Array<{ name: string; text: string }>): MigrateResult {
  const objects: SourceObject[] = [];
  const notes: Note[] = [];
  for (const f of files) {
    const r = readObjects(f.text, f.name);
    objects.push(...r.objects);
    for (const s of r.skipped) notes.push({ kind: 'lost', source: s.file, field: '', message: s.message });
  }
  const m = tool === 'metallb' ? convertMetallb(objects) : convertLoxilb(objects);
  const checked = dedupe(m);
  checked.notes.unshift(...notes);
  const r = render(checked, tool);
  return { ...r, migration: checked };
}

/** Read and convert files. Throws EDGELB_ERR_MIGRATE_INPUT when one cannot be read. */
export function migrateFiles(tool: SourceKind, paths: string[]): MigrateResult {
  const files = paths.map((p) => {
    try {
      const st = statSync(p);
      if (!st.isFile()) throw new EdgelbError('EDGELB_ERR_MIGRATE_INPUT', `${p}: not a file`);
      if (st.size > MAX_FILE_BYTES) throw new EdgelbError('EDGELB_ERR_MIGRATE_INPUT', `${p}: larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB; split it`);
      return { name: p, text: readFileSync(p, 'utf8') };
    } catch (e) {
      if (e instanceof EdgelbError) throw e;
      throw new EdgelbError('EDGELB_ERR_MIGRATE_INPUT', `${p}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
    }
  });
  return migrateTexts(tool, files);
}

/** Two outputs of one kind and name, or two BGPPeers of one address: the first wins, the rest is noted. */
function dedupe(m: Migration): Migration {
  const seen = new Map<string, Converted>();
  const addr = new Map<string, Converted>();
  const objects: Converted[] = [];
  const notes = [...m.notes];
  for (const c of m.objects) {
    const key = `${c.obj.kind}/${c.obj.metadata.namespace ?? ''}/${c.obj.metadata.name}`;
    const first = seen.get(key);
    const src = c.from.join('; ');
    if (first) {
      notes.push({ kind: 'lost', source: src, field: 'metadata.name', message: `gives ${c.obj.kind} ${c.obj.metadata.name} again (already from ${first.from.join('; ')}); only the first is written` });
      continue;
    }
    if (c.obj.kind === 'BGPPeer') {
      const a = (c.obj.spec as { address: string }).address;
      const other = addr.get(a);
      if (other) {
        notes.push({ kind: 'lost', source: src, field: 'address', message: `a second BGPPeer for ${a} (already ${other.obj.metadata.name}); only the first is written: merge their settings by hand` });
        continue;
      }
      addr.set(a, c);
    }
    seen.set(key, c);
    objects.push(c);
  }
  return { objects, notes };
}
