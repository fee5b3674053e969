// Pieces both converters share: label selectors (MetalLB's lists of selectors, which match when
// any matches, and edgelb's single selector), BGP communities, and the edgelb object shells.
import type { LabelSelector } from '../k8s/types.js';
import { Fields, isMap } from './input.js';
import type { Notes } from './types.js';

export const GROUP = 'edgelb.io/v1alpha1';
export const EDGELB_NAMESPACE = 'edgelb-system';
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** One label selector, checked; undefined (with a note) when it cannot be used. */
export function selectorOf(v: unknown, notes: Notes, path: string): LabelSelector | undefined {
  if (!isMap(v)) {
    notes.lost(path, 'a label selector must be a map; ignored');
    return undefined;
  }
  const f = new Fields(v, notes, path);
  const sel: LabelSelector = {};
  const ml = f.sub('matchLabels');
  const labels: Record<string, string> = {};
  for (const k of ml.keys()) {
    const val = ml.str(k);
    if (val !== undefined) labels[k] = val;
  }
  if (Object.keys(labels).length) sel.matchLabels = labels;
  const exprs: NonNullable<LabelSelector['matchExpressions']> = [];
  f.list('matchExpressions').forEach((e, i) => {
    const ef = Fields.of(e, notes, `${path}.matchExpressions[${i}]`);
    const key = ef.str('key');
    const op = ef.str('operator');
    if (!key || !op || !(OPERATORS as readonly string[]).includes(op)) {
      notes.lost(ef.path, `needs a key and an operator (${OPERATORS.join(', ')}); the whole selector is dropped`);
      exprs.push({ key: '', operator: 'In' }); // poison: see below
      return;
    }
    const values = ef.strList('values');
    exprs.push({ key, operator: op as (typeof OPERATORS)[number], ...(values.length ? { values } : {}) });
  });
  if (exprs.some((e) => e.key === '')) return undefined;
  if (exprs.length) sel.matchExpressions = exprs;
  return sel;
}

/**
 * MetalLB's `nodeSelectors` (match when any selector matches) as one edgelb selector: none → no
 * selector, one → itself, several single-label selectors on one key → `key In [values]`.
 * Otherwise only the first is kept (the narrower choice) and the rest is noted as lost.
 */
export function mergeSelectors(list: unknown[], notes: Notes, path: string): LabelSelector | undefined {
  const sels = list.map((v, i) => selectorOf(v, notes, `${path}[${i}]`));
  if (sels.some((s) => s === undefined)) return undefined;
  const ok = sels as LabelSelector[];
  const nonEmpty = ok.filter((s) => s.matchLabels || s.matchExpressions);
  if (nonEmpty.length < ok.length) return undefined; // an empty selector matches every node
  if (ok.length <= 1) return ok[0];
  const single = ok.every((s) => !s.matchExpressions && Object.keys(s.matchLabels ?? {}).length === 1);
  const keys = new Set(ok.map((s) => Object.keys(s.matchLabels ?? {})[0]));
  if (single && keys.size === 1) {
    const key = [...keys][0]!;
    return { matchExpressions: [{ key, operator: 'In', values: [...new Set(ok.map((s) => s.matchLabels![key]!))] }] };
  }
  notes.lost(path, `${ok.length} selectors (matching when any matches) cannot be one edgelb selector; only ${path}[0] is kept, so fewer nodes match: merge them into one selector by hand`);
  return ok[0];
}

export type Community = { standard: string } | { large: string } | { error: string };

/** "65000:100", "large:1:2:3", or a name from MetalLB's Community aliases. */
export function communityOf(raw: string, aliases: Map<string, string>): Community {
  const v = aliases.get(raw) ?? raw;
  const large = /^large:(\d{1,10}):(\d{1,10}):(\d{1,10})$/.exec(v);
  if (large) {
    if (large.slice(1).some((x) => Number(x) > 4294967295)) return { error: `"${raw}": a large community part is above 4294967295` };
    return { large: large.slice(1).map(Number).join(':') };
  }
  const std = /^(\d{1,5}):(\d{1,5})$/.exec(v);
  if (std) {
    if (Number(std[1]) > 65535 || Number(std[2]) > 65535) return { error: `"${raw}": a community part is above 65535` };
    return { standard: `${Number(std[1])}:${Number(std[2])}` };
  }
  return { error: aliases.has(raw) ? `"${raw}" (= "${v}") is not a community` : `"${raw}" is neither "ASN:value", "large:A:B:C" nor the name of a Community alias` };
}
