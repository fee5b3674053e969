// Helpers for the `edgelb migrate` tables: run the converter on inline YAML, find an output
// object, and check notes by kind, field and message; every output is checked the way the
// cluster would (IPPool rules of ipam.ts, the YAML printed parses back to the same objects).
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { migrateTexts, type MigrateResult } from '../../src/migrate/index.js';
import { poolFromObj } from '../../src/k8s/ipam.js';
import type { IPPoolObj } from '../../src/k8s/types.js';
import type { Note, NoteKind, SourceKind } from '../../src/migrate/types.js';

export function run(tool: SourceKind, yaml: string): MigrateResult {
  const r = migrateTexts(tool, [{ name: 'in.yaml', text: yaml }]);
  checkOutput(r);
  return r;
}

/** What every output must satisfy: stdout parses to exactly the objects, IPPools pass ipam.ts. */
export function checkOutput(r: MigrateResult): void {
  const docs = parseAllDocuments(r.stdout);
  const parsed = (Array.isArray(docs) ? docs : [docs]).map((d) => d.toJS()).filter((x) => x !== null && x !== undefined);
  assert.deepEqual(parsed, r.migration.objects.map((c) => c.obj).sort((a, b) => order(a.kind) - order(b.kind) || a.metadata.name.localeCompare(b.metadata.name)));
  for (const c of r.migration.objects) {
    assert.match(c.obj.metadata.name, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, `${c.obj.kind} name is a Kubernetes name`);
    if (c.obj.kind === 'IPPool') assert.deepEqual(poolFromObj(c.obj as unknown as IPPoolObj).errors, [], `IPPool ${c.obj.metadata.name} is valid`);
  }
}

const order = (k: string) => ['Secret', 'IPPool', 'BGPPeer', 'BGPPolicy'].indexOf(k);

export function spec(r: MigrateResult, kind: string, name: string): Record<string, unknown> | undefined {
  return r.migration.objects.find((c) => c.obj.kind === kind && c.obj.metadata.name === name)?.obj.spec as Record<string, unknown> | undefined;
}

export function allNotes(r: MigrateResult): Note[] {
  return [...r.migration.notes, ...r.migration.objects.flatMap((c) => c.notes)];
}

/** [kind, field (exact or regex), message regex] */
export type WantNote = [NoteKind, string | RegExp, RegExp];

export function hasNote(r: MigrateResult, [kind, field, msg]: WantNote): void {
  const ok = allNotes(r).some((n) => n.kind === kind && (typeof field === 'string' ? n.field === field : field.test(n.field)) && msg.test(n.message));
  assert.ok(ok, `no ${kind} note on ${String(field)} matching ${msg}; notes:\n${allNotes(r).map((n) => `  ${n.kind} ${n.field}: ${n.message}`).join('\n')}`);
}

export interface Row {
  desc: string;
  yaml: string;
  /** [kind, name, exact spec] of output objects */
  objects?: Array<[string, string, Record<string, unknown>]>;
  /** kinds+names that must NOT be in the output */
  absent?: Array<[string, string]>;
  notes?: WantNote[];
  /** a Secret written in edgelb-system: [name, password] */
  secret?: [string, string];
  /** exact number of lost notes */
  lost?: number;
}

export function checkRow(tool: SourceKind, row: Row): void {
  const r = run(tool, row.yaml);
  for (const [kind, name, want] of row.objects ?? []) {
    const c = r.migration.objects.find((x) => x.obj.kind === kind && x.obj.metadata.name === name);
    assert.ok(c, `${kind} ${name} is written`);
    if (want !== undefined) assert.deepEqual(c.obj.spec, want, `${kind} ${name}`);
  }
  for (const [kind, name] of row.absent ?? []) assert.equal(spec(r, kind, name), undefined, `${kind} ${name} must not be written`);
  for (const n of row.notes ?? []) hasNote(r, n);
  if (row.secret) {
    const c = r.migration.objects.find((x) => x.obj.kind === 'Secret' && x.obj.metadata.name === row.secret![0]);
    assert.deepEqual([c?.obj.metadata.namespace, (c?.obj as { stringData?: unknown } | undefined)?.stringData], ['edgelb-system', { password: row.secret[1] }]);
  }
  if (row.lost !== undefined) assert.equal(r.lost, row.lost, `lost notes: ${allNotes(r).filter((n) => n.kind === 'lost').map((n) => `${n.field}: ${n.message}`).join(' | ')}`);
}
