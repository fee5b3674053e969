// Lab routers: parsers for vtysh `show bgp neighbors json` and `show bgp ipv4|ipv6 unicast [PREFIX] json` (pure).
import { groupPaths, normalizeState, type Neighbor, type RibPath, type RibRoute } from './types.js';

interface FrrNeighborJson {
  remoteAs?: number;
  bgpState?: string;
  nbrDesc?: string;
  addressFamilyInfo?: Record<string, { acceptedPrefixCounter?: number }>;
}

export function parseFrrNeighbors(json: string): Neighbor[] {
  const text = json.trim();
  if (!text) return [];
  const obj = JSON.parse(text) as Record<string, FrrNeighborJson>;
  return Object.entries(obj).map(([address, n]) => {
    let received = 0;
    for (const af of Object.values(n.addressFamilyInfo ?? {})) received += af.acceptedPrefixCounter ?? 0;
    const out: Neighbor = { address, asn: n.remoteAs ?? 0, state: normalizeState(n.bgpState), prefixesReceived: received };
    if (n.nbrDesc) out.name = n.nbrDesc;
    return out;
  });
}

/** A path in `show bgp … json` (table form) */
interface FrrTablePath {
  bestpath?: boolean | { overall?: boolean };
  multipath?: boolean;
  metric?: number;
  locPrf?: number;
  peerId?: string;
  path?: string;
  origin?: string;
  nexthops?: { ip?: string; used?: boolean }[];
  // detail form (`show bgp … PREFIX json`)
  aspath?: { string?: string; segments?: { list?: number[] }[] };
  community?: { list?: string[]; string?: string };
  largeCommunity?: { list?: string[]; string?: string };
  peer?: { peerId?: string };
}

function toPath(p: FrrTablePath): RibPath {
  const best = typeof p.bestpath === 'object' ? Boolean(p.bestpath.overall) : Boolean(p.bestpath);
  const asText = p.aspath?.string ?? p.path ?? '';
  const nh = p.nexthops?.find((h) => h.used)?.ip ?? p.nexthops?.[0]?.ip ?? '';
  const out: RibPath = {
    nexthop: nh,
    best,
    asPath: asText.match(/\d+/g)?.map(Number) ?? [],
    communities: p.community?.list ?? (p.community?.string ? p.community.string.split(' ') : []),
    largeCommunities: p.largeCommunity?.list ?? (p.largeCommunity?.string ? p.largeCommunity.string.split(' ') : []),
  };
  const from = p.peer?.peerId ?? p.peerId;
  if (from && from !== '(unspec)') out.from = from;
  const origin = p.origin?.toLowerCase();
  if (origin === 'igp' || origin === 'egp' || origin === 'incomplete') out.origin = origin;
  if (p.metric !== undefined) out.med = p.metric;
  if (p.locPrf !== undefined) out.localPref = p.locPrf;
  return out;
}

/**
 * Routes from `show bgp ipv4|ipv6 unicast json` (table: no communities there) or
 * `show bgp ipv4|ipv6 unicast PREFIX json` (one prefix, every attribute).
 */
export function parseFrrRoutes(json: string): RibRoute[] {
  const text = json.trim();
  if (!text) return [];
  const obj = JSON.parse(text) as { routes?: Record<string, FrrTablePath[]>; prefix?: string; paths?: FrrTablePath[] };
  const byPrefix = new Map<string, RibPath[]>();
  if (obj.routes) {
    for (const [prefix, paths] of Object.entries(obj.routes)) byPrefix.set(prefix, paths.map(toPath));
  } else if (obj.prefix && obj.paths) {
    byPrefix.set(obj.prefix, obj.paths.map(toPath));
  }
  return groupPaths(byPrefix);
}
