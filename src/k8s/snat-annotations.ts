// Per-node SNAT addresses of connection sync in Kubernetes mode (docs/sync.md). The ConfigMap's
// cluster.sync.snatAddresses / snatAddresses6 give a map of node name to address; a Node's
// edgelb.io/snat-address annotation (one IPv4 and/or one IPv6 address, comma-separated) sets that
// node's, overriding the ConfigMap's for its family. Every node reads every Node's annotation, so
// a survivor knows the address of a node that died. A bad value, or an address another node
// already has, is a Problem on that Node and gives it no address of that family (never two nodes
// answering for one address). Pure.
import { canonicalIp, familyOf } from '../lib/addr.js';
import type { ClusterSyncSpec } from '../model/desired-state.js';
import type { Problem } from './objects.js';
import type { NodeObj } from './types.js';

export const ANN_NODE_SNAT = 'edgelb.io/snat-address';

/** The addresses of one annotation value, or why it is refused. */
export function parseSnatAnnotation(raw: string): { ok: true; v4?: string; v6?: string } | { ok: false; why: string } {
  const parts = raw.split(/[\s,]+/).filter((p) => p.length > 0);
  if (parts.length === 0 || parts.length > 2) return { ok: false, why: 'must be one IPv4 and/or one IPv6 address, comma-separated' };
  const out: { v4?: string; v6?: string } = {};
  for (const p of parts) {
    const f = p.includes('%') ? 0 : familyOf(p);
    if (f === 0) return { ok: false, why: `${JSON.stringify(p)} is not an IP address` };
    const a = canonicalIp(p);
    if (f === 4 && (a === '0.0.0.0' || a === '255.255.255.255' || a.startsWith('127.') || Number(a.split('.')[0]) >= 224)) return { ok: false, why: `${a} is not a unicast address` };
    if (f === 6 && (a === '::' || a === '::1' || a.startsWith('ff') || a.startsWith('fe80:'))) return { ok: false, why: `${a} is not a global unicast address` };
    const k = f === 4 ? 'v4' : 'v6';
    if (out[k]) return { ok: false, why: `two IPv${f} addresses (one per family)` };
    out[k] = a;
  }
  return { ok: true, ...out };
}

/** The sync spec with the Nodes' annotations laid over the ConfigMap's maps, and what was refused. */
export function snatFromNodes(sync: ClusterSyncSpec, nodes: readonly NodeObj[]): { sync: ClusterSyncSpec; problems: Problem[] } {
  const problems: Problem[] = [];
  const maps: Record<4 | 6, Map<string, string>> = {
    4: new Map(Object.entries(sync.snatAddresses)),
    6: new Map(Object.entries(sync.snatAddresses6 ?? {})),
  };
  for (const n of [...nodes].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const raw = n.metadata.annotations?.[ANN_NODE_SNAT];
    if (raw === undefined) continue;
    const r = parseSnatAnnotation(raw);
    if (!r.ok) {
      problems.push({ object: `Node ${n.metadata.name}`, reason: 'InvalidSnatAddress', message: `${ANN_NODE_SNAT}: ${JSON.stringify(raw)} ${r.why}; using the ConfigMap's addresses for this node` });
      continue;
    }
    if (r.v4) maps[4].set(n.metadata.name, r.v4);
    if (r.v6) maps[6].set(n.metadata.name, r.v6);
  }
  // one address, one node: the first by name keeps it
  for (const fam of [4, 6] as const) {
    const owner = new Map<string, string>();
    for (const name of [...maps[fam].keys()].sort()) {
      const addr = maps[fam].get(name)!;
      const first = owner.get(addr);
      if (first === undefined) {
        owner.set(addr, name);
        continue;
      }
      maps[fam].delete(name);
      problems.push({ object: `Node ${name}`, reason: 'DuplicateSnatAddress', message: `${ANN_NODE_SNAT}: ${addr} is already ${first}'s; this node has no IPv${fam} SNAT address (every node needs its own)` });
    }
  }
  const sorted = (m: Map<string, string>) => Object.fromEntries([...m.entries()].sort(([a], [b]) => a.localeCompare(b)));
  const out: ClusterSyncSpec = { ...sync, snatAddresses: sorted(maps[4]) };
  if (maps[6].size > 0) out.snatAddresses6 = sorted(maps[6]);
  else delete out.snatAddresses6;
  return { sync: out, problems };
}
