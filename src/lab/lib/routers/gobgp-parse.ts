// Lab routers: parsers for `gobgp -j neighbor` and `gobgp -j global rib` (pure).
import { groupPaths, normalizeState, type Neighbor, type RibPath, type RibRoute } from './types.js';

interface GobgpPeerJson {
  conf?: { neighbor_address?: string; peer_asn?: number; description?: string };
  state?: { neighbor_address?: string; peer_asn?: number; session_state?: number | string };
  afi_safis?: { state?: { received?: number; accepted?: number } }[];
}

export function parseGobgpNeighbors(json: string): Neighbor[] {
  const text = json.trim();
  if (!text) return [];
  const peers = JSON.parse(text) as GobgpPeerJson[] | null;
  return (peers ?? []).map((p) => {
    let received = 0;
    for (const af of p.afi_safis ?? []) received += af.state?.accepted ?? af.state?.received ?? 0;
    const out: Neighbor = {
      address: p.state?.neighbor_address ?? p.conf?.neighbor_address ?? '',
      asn: p.state?.peer_asn ?? p.conf?.peer_asn ?? 0,
      state: normalizeState(p.state?.session_state),
      prefixesReceived: received,
    };
    if (p.conf?.description) out.name = p.conf.description;
    return out;
  });
}

interface GobgpAttr {
  type: number;
  value?: unknown;
  nexthop?: string;
  metric?: number;
  as_paths?: { asns?: number[] }[];
  communities?: number[];
}

interface GobgpPathJson {
  best?: boolean;
  attrs?: GobgpAttr[];
  'neighbor-ip'?: string;
  neighbor_ip?: string;
  'source-id'?: string;
}

const ORIGINS = ['igp', 'egp', 'incomplete'] as const;

function toPath(p: GobgpPathJson): RibPath {
  const out: RibPath = { nexthop: '', best: Boolean(p.best), asPath: [], communities: [], largeCommunities: [] };
  for (const a of p.attrs ?? []) {
    switch (a.type) {
      case 1: {
        const o = ORIGINS[Number(a.value)];
        if (o) out.origin = o;
        break;
      }
      case 2:
        out.asPath = (a.as_paths ?? []).flatMap((s) => s.asns ?? []);
        break;
      case 3:
      case 14:
        if (a.nexthop) out.nexthop = a.nexthop;
        break;
      case 4:
        if (a.metric !== undefined) out.med = a.metric;
        break;
      case 5:
        out.localPref = Number(a.value);
        break;
      case 8:
        out.communities = (a.communities ?? []).map((c) => `${Math.floor(c / 65536)}:${c % 65536}`);
        break;
      case 32:
        out.largeCommunities = ((a.value ?? []) as { ASN?: number; LocalData1?: number; LocalData2?: number }[]).map(
          (l) => `${l.ASN ?? 0}:${l.LocalData1 ?? 0}:${l.LocalData2 ?? 0}`,
        );
        break;
    }
  }
  const from = p['neighbor-ip'] ?? p.neighbor_ip;
  if (from && from !== '<nil>') out.from = from;
  return out;
}

/** `gobgp -j global rib [-a FAMILY] [PREFIX]`: an object of prefix → paths. */
export function parseGobgpRib(json: string): RibRoute[] {
  const text = json.trim();
  if (!text) return [];
  const obj = JSON.parse(text) as Record<string, GobgpPathJson[]> | null;
  const byPrefix = new Map<string, RibPath[]>();
  for (const [prefix, paths] of Object.entries(obj ?? {})) byPrefix.set(prefix, paths.map(toPath));
  return groupPaths(byPrefix);
}
