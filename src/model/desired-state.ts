// DesiredState: the plain data that both sources (the YAML file and Kubernetes) produce and the
// node agent consumes. No behaviour here; nothing downstream knows which source made it.

export type LbMode = 'dnat' | 'onearm' | 'fullnat' | 'dsr';
export type Protocol = 'tcp' | 'udp';
export type EpSelect = 'maglev' | 'rr' | 'hash' | 'persist' | 'lc';
export type Announce = 'bgp' | 'l2' | 'both';
export type BgpMode = 'ecmp' | 'activeBackup';
export type ProbeType = 'none' | 'tcp' | 'udp' | 'http' | 'https' | 'ping';
export type AttachMode = 'auto' | 'native' | 'generic';

export interface NodeSpec {
  name: string;
  /** BGP router id and default source of onearm traffic (IPv4). */
  routerId: string;
  /** The uplink: XDP attaches here, ARP/NDP are answered here. */
  interface: string;
  /** Set: this node announces no VIP, and why (Kubernetes: node excluded from external load
   * balancers, or NetworkUnavailable). It still forwards what reaches it. */
  noAnnounceReason?: string;
}

export interface ApiSpec {
  listen: string; // host:port
  /** Bearer token required when listening on a non-loopback address. */
  token?: string;
  /** host:port of the metrics-only listener (/metrics and /healthz, no token). */
  metricsListen?: string;
  /** host:port of the read-only views listener (GET /v1 views and /healthz, no token). */
  viewsListen?: string;
}

export interface ClusterSpec {
  listen: string; // host:port of this node's heartbeat socket
  members: string[]; // addresses (host or host:port) of every edgelb node, this one included
  keyFile?: string;
  shards: number;
  heartbeatIntervalMs: number;
  deadAfterMs: number;
  /** A returning node waits this long before it takes shards back. */
  holdDownMs: number;
  /** SCHED_FIFO priority of the heartbeat thread, 0 = none (absent: Membership's default, 10). */
  realtimePriority?: number;
  /** Connection-state sync (docs/sync.md); absent = off. */
  sync?: ClusterSyncSpec;
}

export interface ClusterSyncSpec {
  /** UDP port of the sync socket on cluster.listen's address. */
  port: number;
  /** node name -> its onearm SNAT address (IPv4), adopted by a survivor when that node dies. */
  snatAddresses: Record<string, string>;
  /** node name -> its onearm SNAT address for IPv6 flows (absent: the interface's address). */
  snatAddresses6?: Record<string, string>;
  refreshMs: number;
  queueLimit: number;
}

export interface PeerSpec {
  address: string;
  asn: number;
  port: number; // remote TCP port, default 179
  holdTime: number; // seconds, 0 or >= 3
  keepalive?: number; // seconds; default holdTime / 3
  passwordFile?: string;
  /** The password itself, read from passwordFile or a Secret. Never logged or shown. */
  password?: string;
  passive: boolean;
  connectRetry: number; // seconds
  idleHold: number; // seconds
  gracefulRestart: boolean;
  restartTime: number; // seconds
  /** eBGP multihop TTL (1 = directly connected). */
  ebgpMultihop?: number;
  /** GTSM (RFC 5082): send TTL 255 and require >= 255 - (hops - 1). */
  gtsm?: boolean;
  localAddress?: string;
  families: Array<'ipv4' | 'ipv6'>;
  /** Names of BGPPolicy objects applied on export to this peer, in order. */
  exportPolicies: string[];
  /** Max prefixes accepted into the adj-RIB-in (0 = no limit); see maxPrefixesAction. */
  maxPrefixes: number;
  /** Over maxPrefixes: 'warn' (default: warn once, drop the excess, keep the session) or 'teardown' (Cease). */
  maxPrefixesAction?: 'warn' | 'teardown';
  /** Keep received routes' attributes for visibility (default: per-family counts only). */
  keepReceived?: boolean;
  /** Byte budget of the kept attributes (default 1 MiB). */
  keepReceivedBytes?: number;
  /** BFD (RFC 5880/5881/5883) for this peer: a BFD Down takes the BGP session down at once. */
  bfd?: BfdPeerSpec;
}

/** Authentication of a BFD session (RFC 5880 section 6.7). */
export interface BfdAuthSpec {
  type: 'simple' | 'keyed-md5' | 'meticulous-keyed-md5' | 'keyed-sha1' | 'meticulous-keyed-sha1';
  keyId: number;
  keyFile?: string;
  /** The secret, read from keyFile or a Secret. Never logged or shown. */
  key?: string;
}

export interface BfdPeerSpec {
  /** Required Min RX Interval and Desired Min TX Interval we advertise (ms). */
  minRxMs: number;
  minTxMs: number;
  /** Detect Mult. */
  multiplier: number;
  auth?: BfdAuthSpec;
}

export interface BgpSpec {
  asn: number;
  routerId: string;
  listenPort: number; // 0 = connect only
  peers: PeerSpec[];
  /** Communities added to every advertised VIP ("65000:1"), large communities ("1:2:3"). */
  communities: string[];
  largeCommunities: string[];
}

export interface PoolSpec {
  name: string;
  cidrs: string[];
  /** Inclusive ranges "a-b" (Kubernetes IPPool); the YAML file uses cidrs. */
  ranges: string[];
  announce: Announce;
  bgpMode: BgpMode;
  /** Skip .0 and .255 addresses when allocating (IPAM). */
  avoidBuggyIPs: boolean;
  autoAssign: boolean;
}

export interface ServicePort {
  port: number;
  protocol: Protocol;
  targetPort: number;
}

export interface ProbeSpec {
  type: ProbeType;
  port?: number;
  path?: string; // http/https
  request?: string; // udp/tcp payload, or http request body
  response?: string; // expected substring of the response
  intervalMs: number;
  timeoutMs: number;
  retries: number;
}

export interface Endpoint {
  address: string;
  /** Node the endpoint runs on (Kubernetes), for externalTrafficPolicy: Local. */
  nodeName?: string;
  ready: boolean;
}

export interface ServiceSpec {
  /** Unique key: "name" from the file, "namespace/name" from Kubernetes. */
  name: string;
  /** The VIPs (one per family at most in Kubernetes). */
  vips: string[];
  pool: string;
  shard: number;
  mode: LbMode;
  ports: ServicePort[];
  endpoints: Endpoint[];
  probe: ProbeSpec;
  epSelect: EpSelect;
  /** Idle timeout of a tracked connection, seconds. */
  timeoutSec: number;
  /** Withdraw the VIP from this node when no endpoint is healthy. */
  withdrawWhenUnhealthy: boolean;
  /** Only announce from nodes that host a ready endpoint (externalTrafficPolicy: Local). */
  localOnly: boolean;
}

export interface DataplaneSpec {
  attachMode: AttachMode;
  maglevSize: number; // prime
  conntrackSize: number;
  /** Pin root, default /sys/fs/bpf/edgelb/<node.name> */
  pinRoot?: string;
  /** Run without the XDP data path (announce only). */
  enabled: boolean;
  /** (VIP, port, protocol) slots of the data path (default 64; each holds a Maglev table). */
  maxServices?: number;
  /** Distinct backend address:port slots (default 4096). */
  maxBackends?: number;
  /** Seconds an embryonic TCP flow (SYN seen, not yet established) is kept (default 5). */
  tcpSynTimeout?: number;
  /** Seconds a TCP flow is kept after a FIN (default 10). */
  tcpFinTimeout?: number;
  /** Seconds a TCP flow is kept after an RST (default 2). */
  tcpRstTimeout?: number;
  /** Percent of the SNAT ports one client may take of a backend per window (default 10). */
  snatClientShare?: number;
  /** ICMP echo replies to VIPs per second per CPU; 0 drops echo (default 1000). */
  icmpEchoRate?: number;
  /** Answer TCP to an unserved VIP port with RST instead of dropping it (default false). */
  rstUnserved?: boolean;
  /** Cluster-wide flow-hash key (same on every node); default: derived from cluster.keyFile. */
  flowHashKey?: string;
  /** A file whose bytes (as they are) key the flow hash instead; absolute once validated. */
  flowHashKeyFile?: string;
}

export interface L2Spec {
  garpCount: number;
  garpIntervalMs: number;
  /** Periodic refresh of gratuitous announcements; 0 = off. */
  refreshIntervalMs: number;
}

// ---- BGP policy (the BGPPolicy model, shared by the file, the CRD and the speaker) ----

export interface PrefixSetEntry {
  prefix: string; // "10.0.0.0/8"
  /** Accepted prefix lengths, inclusive; default exactly the prefix's length. */
  minLen?: number;
  maxLen?: number;
}

export interface PolicyStatement {
  name: string;
  match: {
    prefixSet?: string;
    /** Peer addresses this statement applies to; empty = all. */
    peers?: string[];
    communitySet?: string;
  };
  actions: {
    med?: number;
    localPref?: number;
    addCommunities?: string[];
    setCommunities?: string[];
    removeCommunities?: string[];
    addLargeCommunities?: string[];
    removeLargeCommunities?: string[];
    prepend?: { asn?: number; count: number };
    nextHop?: string;
    /** accept ends evaluation with the route accepted, reject drops it; absent: go on. */
    result?: 'accept' | 'reject';
  };
}

export interface PolicySpec {
  name: string;
  prefixSets: Record<string, PrefixSetEntry[]>;
  communitySets: Record<string, string[]>;
  statements: PolicyStatement[];
  /** What happens when no statement ends evaluation. */
  defaultResult: 'accept' | 'reject';
}

export interface DesiredState {
  node: NodeSpec;
  api: ApiSpec;
  cluster?: ClusterSpec;
  bgp?: BgpSpec;
  pools: PoolSpec[];
  services: ServiceSpec[];
  policies: PolicySpec[];
  dataplane: DataplaneSpec;
  l2: L2Spec;
}

/** Number of shards in effect (1 without a cluster section). */
export function shardCount(s: DesiredState): number {
  return s.cluster?.shards ?? 1;
}
