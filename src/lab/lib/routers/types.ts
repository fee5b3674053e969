// Lab routers: the options and the data every router adapter (BIRD, FRR, GoBGP) shares.
import type { LabResource } from '../lab.js';
import type { LabProcess } from '../process.js';
import type { WaitOptions } from '../wait.js';

export type BgpState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established' | 'Unknown';

export interface NeighborConfig {
  /** the peer's address (IPv4 or IPv6); its family picks the address family of the session */
  address: string;
  /** the peer's ASN */
  asn: number;
  /** our ASN on this session (default: the router's asn) */
  localAsn?: number;
  /** our source address (BIRD `local`, FRR `update-source`, GoBGP `local-address`) */
  localAddress?: string;
  /** never connect out, only accept */
  passive?: boolean;
  /** hold time in seconds (default 9; keepalive = hold / 3) */
  holdTime?: number;
  /** TCP MD5 password (RFC 2385) */
  password?: string;
  /** graceful restart capability (default true) */
  gracefulRestart?: boolean;
  /** seconds between connection attempts (default 1, so labs converge fast) */
  connectRetry?: number;
  /** address families carried (default: the family of `address`) */
  families?: (4 | 6)[];
  /** BIRD protocol name / description (default derived from the address) */
  name?: string;
  /** BFD for this session (BIRD `protocol bfd` + `bfd on`; FRR bfdd + `neighbor X bfd profile`) */
  bfd?: LabBfd;
  /** eBGP multihop: the session's TTL (BIRD `multihop N`, FRR `ebgp-multihop N`, GoBGP
   *  ebgp-multihop); with `bfd` the BFD session is multihop too (RFC 5883, UDP 4784) */
  multihop?: number;
}

/** BFD timers in milliseconds; auth only with BIRD (Debian's FRR 8.4 bfdd has none). */
export interface LabBfd {
  minRx: number;
  minTx: number;
  multiplier: number;
  auth?: { type: 'simple' | 'keyed-md5' | 'meticulous-keyed-md5' | 'keyed-sha1' | 'meticulous-keyed-sha1'; keyId: number; key: string };
}

/** A BFD session as the router reports it. */
export interface RouterBfdSession {
  peer: string;
  /** Up, Down, Init, AdminDown */
  state: string;
  /** negotiated transmit interval and detection time (ms), when the router shows them */
  txMs?: number;
  detectMs?: number;
}

/** A router's counters of one BFD session (FRR's `show bfd peers counters`). */
export interface RouterBfdCounters {
  peer: string;
  multihop: boolean;
  /** transitions to Up and out of Up since the session was made */
  sessionUp: number;
  sessionDown: number;
  /** control packets received and sent */
  rx: number;
  tx: number;
}

export interface RouterOptions {
  asn: number;
  routerId: string;
  neighbors: NeighborConfig[];
  /** BGP listen port (default 179; FRR `-p`, GoBGP `port`, -1 = GoBGP does not listen; BIRD always 179) */
  listenPort?: number;
}

export interface Neighbor {
  address: string;
  state: BgpState;
  asn: number;
  /** routes received (and accepted) from this neighbour, all families */
  prefixesReceived: number;
  name?: string;
}

/** One path to a prefix, as the router holds it in its RIB. */
export interface RibPath {
  nexthop: string;
  /** the neighbour the path came from (undefined for a local route) */
  from?: string;
  best: boolean;
  asPath: number[];
  origin?: 'igp' | 'egp' | 'incomplete';
  med?: number;
  localPref?: number;
  /** 'ASN:VALUE' */
  communities: string[];
  /** 'GLOBAL:DATA1:DATA2' */
  largeCommunities: string[];
}

/** A prefix in the router's RIB: next hops of every path, the best path's attributes, and every path. */
export interface RibRoute {
  prefix: string;
  /** next hops of all paths held (deduplicated, in the router's order) */
  nexthops: string[];
  med?: number;
  localPref?: number;
  asPath: number[];
  communities: string[];
  largeCommunities: string[];
  paths: RibPath[];
}

export interface BgpRouter extends LabResource {
  readonly kind: 'bird' | 'frr' | 'gobgp';
  readonly node: string;
  /** the router's own processes (for logs) */
  readonly processes: readonly LabProcess[];
  /** path of the generated configuration */
  readonly configPath: string;
  neighbors(): Promise<Neighbor[]>;
  routes(prefix?: string): Promise<RibRoute[]>;
  /** wait until every listed neighbour (default: all configured) is Established */
  waitEstablished(addresses?: string[], opts?: WaitOptions): Promise<Neighbor[]>;
  /** wait until `prefix` is in the RIB and `accept` holds (default: present) */
  waitRoute(prefix: string, accept?: (r: RibRoute) => boolean, opts?: WaitOptions): Promise<RibRoute>;
}

/** Group paths by prefix into RibRoutes (best path first for the summary attributes). */
export function groupPaths(byPrefix: Map<string, RibPath[]>): RibRoute[] {
  const out: RibRoute[] = [];
  for (const [prefix, paths] of byPrefix) {
    const best = paths.find((p) => p.best) ?? paths[0];
    const route: RibRoute = {
      prefix,
      nexthops: [...new Set(paths.map((p) => p.nexthop).filter(Boolean))],
      asPath: best?.asPath ?? [],
      communities: best?.communities ?? [],
      largeCommunities: best?.largeCommunities ?? [],
      paths,
    };
    if (best?.med !== undefined) route.med = best.med;
    if (best?.localPref !== undefined) route.localPref = best.localPref;
    out.push(route);
  }
  return out;
}

export function familyOf(addr: string): 4 | 6 {
  return addr.includes(':') ? 6 : 4;
}

/** Normalise a state name from any of the three routers to the RFC 4271 spelling. */
export function normalizeState(s: string | number | undefined): BgpState {
  if (typeof s === 'number') {
    // GoBGP api.PeerState_SessionState
    return (['Unknown', 'Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const)[s] ?? 'Unknown';
  }
  const k = String(s ?? '').toLowerCase().replace(/^bgp_fsm_/, '').replace(/[^a-z]/g, '');
  const map: Record<string, BgpState> = {
    idle: 'Idle',
    connect: 'Connect',
    active: 'Active',
    opensent: 'OpenSent',
    openconfirm: 'OpenConfirm',
    established: 'Established',
  };
  return map[k] ?? 'Unknown';
}
