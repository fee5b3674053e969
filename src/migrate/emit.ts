// The output of `edgelb migrate`: edgelb objects as multi-document YAML for `kubectl apply -f -`,
// each with comments naming the objects it came from and its notes; a header with what to do
// elsewhere and what could not be carried over; and the lines for stderr.
import { stringify } from 'yaml';
import type { Migration, Note, SourceKind } from './types.js';

const ORDER = ['Secret', 'IPPool', 'BGPPeer', 'BGPPolicy'];
const LABEL: Record<Note['kind'], string> = { lost: 'not carried over', todo: 'to do', info: 'note' };

/** Text from the user's files made safe for one comment line (no line breaks, no control characters). */
export function oneLine(s: string, max = 400): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

export function noteText(n: Note): string {
  return oneLine(`${n.source}${n.field ? `: ${n.field}` : ''}: ${n.message}`, 600);
}

export function render(m: Migration, tool: SourceKind): { stdout: string; stderr: string; lost: number } {
  const all = [...m.notes, ...m.objects.flatMap((o) => o.notes)];
  const lost = all.filter((n) => n.kind === 'lost');
  const todo = all.filter((n) => n.kind === 'todo');
  const info = m.notes.filter((n) => n.kind === 'info');
  const out: string[] = [];
  out.push(`# edgelb objects converted from ${tool === 'metallb' ? 'MetalLB' : 'kube-loxilb'} by \`edgelb migrate ${tool}\`.`);
  out.push('# Read every note, then: kubectl apply -f THIS-FILE (see docs/migrate.md).');
  const section = (title: string, notes: Note[]) => {
    if (notes.length === 0) return;
    out.push('#', `# ${title}:`);
    for (const n of notes) out.push(`#   - ${noteText(n)}`);
  };
  section('To do outside these objects (ConfigMap, daemon flags, Secrets, Services)', todo);
  section('Not carried over', lost);
  section('Notes', info);
  if (m.objects.length === 0) out.push('#', '# Nothing in the input converts to an edgelb object.');
  const objs = [...m.objects].sort((a, b) => ORDER.indexOf(a.obj.kind) - ORDER.indexOf(b.obj.kind) || a.obj.metadata.name.localeCompare(b.obj.metadata.name));
  for (const c of objs) {
    out.push('---');
    for (const f of c.from) out.push(`# from ${oneLine(f)}`);
    for (const n of c.notes) out.push(`# ${LABEL[n.kind]}: ${oneLine(`${n.field ? `${n.field}: ` : ''}${n.message}`, 600)}`);
    out.push(stringify(c.obj, { lineWidth: 0 }).trimEnd());
  }
  const stderr = [...lost, ...todo].map((n) => `edgelb migrate: ${LABEL[n.kind]}: ${noteText(n)}`);
  return { stdout: out.join('\n') + '\n', stderr: stderr.length ? stderr.join('\n') + '\n' : '', lost: lost.length };
}
