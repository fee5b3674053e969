// The REST contract: the rows GET /v1/services, /v1/vips, /v1/ha and /v1/bgp/neighbors answer with,
// and the bodies of /readyz and POST /v1/drain. Defined once: the node agent returns these types,
// the API server serves them (api/views.ts), and the CLI's client and tables read them. Plain data.
import type { Announce, BgpMode } from './desired-state.js';

export interface ServicePortRow {
  port: number;
  protocol: string;
  targetPort: number;
}

export interface EndpointRow {
  address: string;
  ready: boolean;
  /** The probe's verdict; absent when nothing probes (a daemon without a node agent). */
  healthy?: boolean;
}

/** GET /v1/services: one row per service. */
export interface ServiceRow {
  name: string;
  vips: string[];
  pool: string;
  shard: number;
  mode: string;
  ports: ServicePortRow[];
  endpoints: EndpointRow[];
  /** Endpoints ready and passing their probe; absent when nothing probes. */
  healthyEndpoints?: number;
  /** Data-path counters of the service; absent without a data path. */
  packets?: number;
  bytes?: number;
}

/** Whether a VIP is announced from this node by one method, and why (a stable reason string). */
export interface AnnounceDecision {
  announced: boolean;
  reason: string;
  detail?: string;
}

/** GET /v1/vips: one row per VIP. */
export interface VipRow {
  vip: string;
  services: string[];
  pool: string;
  shard: number;
  /** Node that masters the VIP's shard (null: unknown, or none). */
  master: string | null;
  /** The uplink the VIP is answered on. */
  interface: string;
  announce: Announce;
  bgpMode: BgpMode;
  bgp: AnnounceDecision & { med?: number };
  l2: AnnounceDecision;
}

export interface ShardRow {
  shard: number;
  /** UNKNOWN: a daemon without a node agent cannot tell. */
  state: 'MASTER' | 'BACKUP' | 'UNKNOWN';
  master: string | null;
  epoch: number;
}

export interface MemberRow {
  address: string;
  alive: boolean;
}

/** GET /v1/ha: this node, its drain flag and every shard. */
export interface HaRow {
  node: string;
  drained: boolean;
  shards: ShardRow[];
  /** The configured members (a daemon without a node agent lists them, none alive). */
  members?: MemberRow[];
}

/** Why a BGP session last failed. */
export interface NeighborErrorRow {
  at: string;
  class: string;
  reason: string;
  code?: number;
  subcode?: number;
  name?: string;
  received?: boolean;
  message: string;
}

/** GET /v1/bgp/neighbors: one row per configured peer (never its password). The speaker adds
 *  more detail (capabilities, End-of-RIB, timers) to each row. */
export interface NeighborRow {
  address: string;
  port: number;
  asn: number;
  state: string;
  /** Seconds since Established (0 when not Established). */
  uptime: number;
  prefixesSent: number;
  prefixesReceived: number;
  lastError: NeighborErrorRow | null;
}

/** GET /readyz (200 when ready, 503 otherwise). */
export interface Readiness {
  ready: boolean;
  reasons: string[];
}

/** POST /v1/drain and /v1/undrain. */
export interface DrainResult {
  drained: boolean;
}

/** GET /v1/sync: connection-state sync of this node (docs/sync.md); 404 when sync is off. */
export interface SyncRow {
  listen: string;
  /** Configured peers, and those whose sync socket answered (they receive flows). */
  peers: number;
  peersKnown: number;
  /** Flow records sent (one per peer), received, and inserted here. */
  sent: number;
  received: number;
  applied: number;
  bulkSent: number;
  queued: number;
  /** Age of a flow's news when applied here, ms (the sender's queueing; not network transit). */
  lagLastMs: number;
  lagMaxMs: number;
  /** Records received but not inserted, by reason. */
  skipped: Record<string, number>;
  /** Records or datagrams dropped, by reason. */
  dropped: Record<string, number>;
  restarts: number;
  /** SNAT addresses this node answers ARP for (its own and adopted ones). */
  snatHeld: string[];
  /** The peers' sync sockets ("host:port"), following the member set. */
  peerAddresses?: string[];
}

/** GET /v1/bfd: one row per BFD session (never a key). Intervals in milliseconds. */
export interface BfdRow {
  peer: string;
  local?: string;
  multihop: boolean;
  /** AdminDown, Down, Init, Up (RFC 5880). */
  state: string;
  remoteState: string;
  /** Our diagnostic code (RFC 5880 section 4.1; 1 = detection time expired, 3 = neighbour said down). */
  diag: number;
  localDiscr: number;
  remoteDiscr: number;
  /** Negotiated: our transmit interval, and how long we wait for the peer (its multiplier x the agreed interval). */
  txIntervalMs: number;
  detectTimeMs: number;
  multiplier: number;
  remoteMultiplier: number;
  /** "none" or "<type>/<key id>". */
  auth: string;
  upSeconds: number;
  flaps: number;
}
