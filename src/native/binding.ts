// The typed interface of the native addon (native/*.cc): what every other module codes against.
// The real binding comes from loadNative() (./load.ts); tests may inject a fake with
// setNativeBinding(). Keys and values of BPF maps are raw bytes: callers encode their structs.

/** Kernel view of an interface address (getifaddrs). */
export interface InterfaceAddress {
  name: string;
  ifindex: number;
  family: 4 | 6;
  address: string;
  prefixLen: number;
  up: boolean;
  /** IPv6 only: the scope id (the ifindex for link-local addresses). */
  scopeId?: number;
}

export interface BpfProgramInfo {
  name: string;
  /** ELF section, e.g. "xdp". */
  section: string;
  /** libbpf's program type name, e.g. "xdp". */
  type: string;
  fd: number;
}

export interface BpfMapSummary {
  name: string;
  fd: number;
  /** libbpf's map type name: "array", "hash", "lru_hash", "percpu_array", ... */
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** Where the map is pinned (only when a pinDir was given; internal .data/.bss maps never are). */
  pinPath?: string;
  /** The map is the one that was already pinned (a previous daemon's): its contents survive. */
  reused?: boolean;
  /** The pinned map was incompatible and was replaced by a fresh one (replaceIncompatible). */
  replaced?: boolean;
}

export interface BpfObjectOptions {
  /**
   * Pin directory for the object's maps (created if missing). A map already pinned at
   * DIR/<name> is reused (bpf_map__reuse_fd), every other map is pinned there after load.
   */
  pinDir?: string;
  /** A pinned map whose type/key/value/max_entries/flags differ is unpinned and re-created
   *  (otherwise the open fails with errno EEXIST). */
  replaceIncompatible?: boolean;
  /** Map sizes set before load, by map name (e.g. a conntrack size from the configuration). */
  maxEntries?: Record<string, number>;
}

/** A loaded BPF object file. close() releases the fds; pins and XDP attachments stay. */
export interface BpfObjectHandle {
  programs(): BpfProgramInfo[];
  maps(): BpfMapSummary[];
  /** Program fd by function name; throws (ENOENT) if there is none. */
  progFd(name: string): number;
  /** Map fd by map name; throws (ENOENT) if there is none. */
  mapFd(name: string): number;
  close(): void;
  readonly closed: boolean;
}

export interface BpfMapInfo {
  id: number;
  name: string;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  perCpu: boolean;
}

/**
 * A map handle that owns its own fd (a duplicate, or opened from a pin) and knows the map's shape,
 * so each operation is one syscall. Same semantics as the fd functions of NativeBinding.
 */
export interface BpfMapHandle {
  readonly fd: number;
  readonly info: BpfMapInfo;
  lookup(key: Buffer): Buffer | null;
  lookupPerCpu(key: Buffer): Buffer[] | null;
  update(key: Buffer, value: Buffer, flags?: number): void;
  delete(key: Buffer): boolean;
  nextKey(key: Buffer | null): Buffer | null;
  dump(max?: number): Array<{ key: Buffer; value: Buffer }>;
  close(): void;
}

export interface BpfProgInfo {
  id: number;
  name: string;
  type: string;
  /** The program tag (hex), equal for the same instructions. */
  tag: string;
  mapIds: number[];
}

export type XdpMode = 'native' | 'generic' | 'offload';

export interface XdpAttachOptions {
  /** native = XDP_FLAGS_DRV_MODE, generic = XDP_FLAGS_SKB_MODE; absent/auto = the kernel's choice. */
  mode?: XdpMode | 'auto';
  /** Replace exactly this attached program, atomically (XDP_FLAGS_REPLACE); EEXIST if another is attached. */
  replaceFd?: number;
  /** Fail with EBUSY if any program is attached (XDP_FLAGS_UPDATE_IF_NOEXIST). */
  noReplace?: boolean;
}

export interface XdpQueryResult {
  /** How the (first) program is attached: none | native | generic | offload | multi. */
  mode: 'none' | XdpMode | 'multi';
  /** The attached program's id (0 = none); use progFdById to take it over. */
  progId: number;
  nativeProgId: number;
  genericProgId: number;
  offloadProgId: number;
}

export interface TestRunOptions {
  /** struct xdp_md to pass as context (e.g. to set ingress_ifindex); its output comes back as `ctx`. */
  ctx?: Buffer;
  /** Room for the output packet (default input length + 512). */
  dataOutSize?: number;
}

export interface TestRunResult {
  /** The program's return value (XDP verdict). */
  retval: number;
  /** The packet after the program (rewritten, grown or shrunk). */
  data: Buffer;
  /** Average run time per repetition, ns. */
  durationNs: number;
  ctx?: Buffer;
}

export type PacketType = 'host' | 'broadcast' | 'multicast' | 'otherhost' | 'outgoing' | 'other';

export interface FrameMeta {
  pktType: PacketType;
  /** EtherType (host order). */
  protocol: number;
  ifindex: number;
}

export interface PacketSocketOptions {
  /** Do not deliver frames this host sends (PACKET_IGNORE_OUTGOING). */
  ignoreOutgoing?: boolean;
  /** Put the interface in promiscuous mode while the socket is open. */
  promiscuous?: boolean;
  /** A kernel socket filter attached before bind: only ARP requests, or only IPv6 neighbour
   *  solicitations (hop limit 255, no extension header; narrow the targets with setNdpTargets). */
  filter?: 'arp-request' | 'neighbour-solicitation';
}

/** An AF_PACKET socket bound to one interface and one EtherType. */
export interface PacketSocketHandle {
  readonly fd: number;
  readonly ifindex: number;
  /** The interface's MAC address. */
  readonly mac: Buffer;
  /** Send a whole Ethernet frame (destination MAC first); returns the bytes sent. */
  send(frame: Buffer): number;
  /** Join a link-layer multicast group: a 6-byte MAC, or an IPv6 group address (→ 33:33:xx:xx:xx:xx). */
  addMembership(group: Buffer | string): void;
  dropMembership(group: Buffer | string): void;
  /** Replace the filter with the neighbour-solicitation one, passing only these targets (null: every
   *  target). Returns true when the kernel matches the targets exactly, false when the list is too
   *  long for one filter program (more than 400) and every solicitation passes. */
  setNdpTargets(targets: readonly string[] | null): boolean;
  /** Frames handed to the onFrame callback since the socket was opened. */
  readonly delivered: number;
  /** Deliver each received frame; keeps the process alive until stop() or close(). */
  start(onFrame: (frame: Buffer, meta: FrameMeta) => void): void;
  stop(): void;
  close(): void;
}

/** An ICMP (4) or ICMPv6 (6) socket for echo: raw if allowed, else an unprivileged ping socket. */
export interface IcmpSocketHandle {
  readonly fd: number;
  /** raw: every echo reply to this host is delivered (match id/sequence/payload);
   *  dgram: the kernel replaces the identifier with the socket's own. */
  readonly kind: 'raw' | 'dgram';
  readonly family: 4 | 6;
  /** Send an ICMP message (type, code, checksum, rest); IPv4 checksums are computed for you. */
  send(address: string, message: Buffer): number;
  /** Messages handed to the onMessage callback since the socket was opened. */
  readonly delivered: number;
  /** Deliver each echo reply (ICMP header onwards, no IP header) and its source address. */
  start(onMessage: (message: Buffer, from: string) => void): void;
  stop(): void;
  close(): void;
}

/** An event of a NetlinkWatch (native/netlink_watch.cc). */
export type NetlinkEvent =
  | { kind: 'neigh'; op: 'new' | 'del'; ifindex: number; family: 4 | 6; address: string; /** NUD_* */ state: number; mac?: string }
  | { kind: 'link'; op: 'new' | 'del'; ifindex: number; /** IFF_UP and carrier (IFF_LOWER_UP) */ up: boolean; mac?: string }
  /** An IPv4/IPv6 route (RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE): replace is NLM_F_REPLACE (it replaced
   *  the route with this key); nexthops: RTA_MULTIPATH's, else one with RTA_OIF and RTA_GATEWAY (or RTA_VIA). */
  | { kind: 'route'; op: 'new' | 'del'; replace: boolean; family: 4 | 6; table: number; /** RTN_* */ type: number; dst: string; dstLen: number; priority: number; tos: number; nexthops: RouteNextHop[] }
  /** a dump requested on this socket ended */
  | { kind: 'done' }
  /** the socket's buffer overflowed: events were lost, dump again */
  | { kind: 'overflow' };

/** A next hop of a route event: its interface and gateway (absent: a directly connected route). */
export interface RouteNextHop {
  ifindex: number;
  gateway?: string;
}

/** What a NetlinkWatch subscribes to: neighbours, links, IPv4 and IPv6 routes. */
export type NetlinkGroup = 'neigh' | 'link' | 'route';

/** Neighbour, link and route events (RTNLGRP_NEIGH, RTNLGRP_LINK, RTNLGRP_IPV4/6_ROUTE) on the event loop; dumps arrive in order with them. */
export interface NetlinkWatchHandle {
  readonly fd: number;
  readonly delivered: number;
  /** Each datagram's events, in the kernel's order. */
  start(onEvents: (events: NetlinkEvent[]) => void): void;
  /** Request every neighbour entry (as 'new' events, then 'done'). */
  dumpNeighbours(): void;
  /** Request every link (as 'new' events, then 'done'). */
  dumpLinks(): void;
  /** Request every IPv4 and IPv6 route (as 'new' events, then 'done'). */
  dumpRoutes(): void;
  stop(): void;
  close(): void;
}

/** A neighbour entry as netlink reports it (IPv4 and IPv6 only). */
export interface NeighbourEntry {
  address: string;
  family: 4 | 6;
  /** NUD_* bits (0x02 REACHABLE, 0x20 FAILED, 0x80 PERMANENT, ...). */
  state: number;
  /** NTF_EXT_MANAGED: the kernel keeps it resolved. */
  managed: boolean;
}

export interface NeighbourUpdateResult {
  /** Requests the kernel accepted. */
  applied: number;
  /** The others, each with its errno (ENOENT for a deletion of an entry already gone). */
  errors: Array<{ address: string; op: 'replace' | 'delete'; errno: number; code: string }>;
}

/** A routing table (not 253..255) and a route protocol number (5..255) that mark edgelb's routes. */
export interface RouteSelector {
  table: number;
  protocol: number;
}

export interface RouteUpdateResult {
  applied: number;
  /** address ("inet"/"inet6" for a rule), with its errno (EEXIST, ENOENT, ESRCH...). */
  errors: Array<{ address: string; op: 'add' | 'delete'; errno: number; code: string }>;
}

/** The XDP program's layout as the addon reports it (native/dataplane.cc, from edgelb_shared.h). */
export interface XdpLayout {
  version: number;
  program: string;
  /** ct4: IPv4 flows (compact key), ct6: IPv6 flows; one value layout (xdpEncode('ctKey') picks the key by family). */
  maps: Record<'cfg' | 'svc' | 'vips' | 'backends' | 'svcList' | 'maglev' | 'ct4' | 'ct6' | 'counters' | 'svcStats' | 'backendStats' | 'rr' | 'addrf' | 'snatClients' | 'echo' | 'frags' | 'scratch' | 'backendNextHop' | 'ctEvents' | 'bfd' | 'bfdFrames' | 'bfdLease', string>;
  sizes: Record<string, number>;
  modes: Record<'dnat' | 'onearm' | 'fullnat' | 'dsr', number>;
  selections: Record<'maglev' | 'hash' | 'rr' | 'persist', number>;
  counters: Record<string, number>;
  counterSlots: number;
  svcListMax: number;
  maglevEmpty: number;
  /** u32 words per half of the address filter (VIPs, backends). */
  addrfWords: number;
  /** SNAT port ranges edgelb_cfg holds. */
  portRanges: number;
  /** BFD offload (native/bpf/bfd.h): sessions the table holds, frames per session. */
  bfdSessionsMax: number;
  bfdWindowMax: number;
  /** Conntrack entry states (EDGELB_CT_ST_*). */
  ctStates: Record<'established' | 'syn' | 'synReply' | 'fin' | 'rst', number>;
  defaults: { maxServices: number; maxBackends: number; maglevSize: number; conntrackSize: number };
}

export interface XdpLoadOptions {
  /** Pin folder: maps pinned there are reused when compatible, re-created (and `replaced` says why) when not. */
  pinDir?: string;
  /** Map sizes set before load, by map name. */
  maxEntries?: Record<string, number>;
  /** The program to return (default edgelb_xdp). */
  program?: string;
}

export interface XdpLoadResult {
  /** The program's fd (a duplicate: the object is closed, pins and the attachment keep things alive). */
  progFd: number;
  /** pinned: false for a map without LIBBPF_PIN_BY_NAME (the program's own, e.g. the flow cache). */
  maps: Record<string, { fd: number; reused: boolean; pinned?: boolean; replaced?: string; maxEntries: number }>;
}

export interface Md5Key {
  /** Peer address (an IPv4 address on an IPv6 socket is v4-mapped). */
  address: string;
  /** The key (at most 80 bytes): a Buffer, or a string taken as UTF-8. */
  key: Buffer | string;
  /** Apply to a whole prefix of peers (TCP_MD5SIG_EXT). */
  prefixLen?: number;
}

export interface TcpSocketOptions {
  family: 4 | 6;
  reuseAddr?: boolean;
  v6Only?: boolean;
  /** Outgoing TTL / hop limit (eBGP multihop; 255 for GTSM). */
  ttl?: number;
  /** Minimum incoming TTL (GTSM, RFC 5082): IP_MINTTL / IPV6_MINHOPCOUNT. */
  minTtl?: number;
  /** A listener keeps each connection's SYN (TCP_SAVE_SYN), for tcpSavedSynTtl after accept. */
  saveSyn?: boolean;
  /** TCP MD5 signature keys (RFC 2385), one per peer; also on a listening socket. */
  md5?: Md5Key[];
  bindAddress?: string;
  bindPort?: number;
}

export interface SocketName {
  address: string;
  port: number;
  family: 4 | 6;
}

export interface NativeVersion {
  napi: number;
  libbpf: string;
  /** The native modules registered in the addon (one per native/*.cc that registers one). */
  modules: string[];
}

/**
 * The whole native binding. Functions throw NativeError (errno, and the errno name in `sysCode`)
 * when the kernel refuses, TypeError/RangeError when called with bad arguments.
 * Other engineers' modules (e.g. the XDP data path's xdp* encoders) add their own keys; they are
 * typed where those modules declare them and reachable through `extra`.
 */
export interface NativeBinding {
  version(): NativeVersion;
  /** Sockets and BPF objects the addon holds open (released by close() or at environment teardown). */
  trackedResources(): number;

  // ---- interfaces ----
  ifNameToIndex(name: string): number;
  ifIndexToName(ifindex: number): string;
  ifHwAddr(name: string): Buffer;
  ifMtu(name: string): number;
  interfaceAddresses(): InterfaceAddress[];

  // ---- BPF objects, maps, programs ----
  openBpfObject(path: string, options?: BpfObjectOptions): BpfObjectHandle;
  /** fd of a pinned object (map, program or link). */
  objGet(path: string): number;
  /** Pin an fd (map, program or link) at path; parent folders are created. */
  objPin(fd: number, path: string): void;
  /** Remove a pin; false if it did not exist. */
  unpin(path: string): boolean;
  closeFd(fd: number): void;

  mapInfo(fd: number): BpfMapInfo;
  /** The value, or null if the key is absent. Per-CPU maps: every CPU's value, 8-byte aligned. */
  mapLookup(fd: number, key: Buffer): Buffer | null;
  /** One value per possible CPU, or null if the key is absent. */
  mapLookupPerCpu(fd: number, key: Buffer): Buffer[] | null;
  /** flags: BPF_ANY (0), BPF_NOEXIST (1), BPF_EXIST (2). Per-CPU maps accept one value for all CPUs. */
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags?: number): void;
  /** true if deleted, false if absent. */
  mapDelete(fd: number, key: Buffer): boolean;
  /** The key after `key` (null: the first key); null after the last one. */
  mapGetNextKey(fd: number, key: Buffer | null): Buffer | null;
  /** Every entry (at most `max`), values as mapLookup returns them. */
  mapDump(fd: number, max?: number): Array<{ key: Buffer; value: Buffer }>;
  possibleCpus(): number;
  /** A map handle from an fd (duplicated: the caller keeps its own) or a pin path. */
  openMap(fdOrPinPath: number | string): BpfMapHandle;

  xdpAttach(ifindex: number, progFd: number, options?: XdpAttachOptions): void;
  /** expectedFd: detach only if that program is the attached one. */
  xdpDetach(ifindex: number, options?: { mode?: XdpMode | 'auto'; expectedFd?: number }): void;
  xdpQuery(ifindex: number): XdpQueryResult;
  /** An XDP bpf_link (returns the link fd; pin it to outlive the process). */
  xdpLinkAttach(progFd: number, ifindex: number, options?: { mode?: XdpMode | 'auto' }): number;
  linkUpdate(linkFd: number, progFd: number, options?: { oldProgFd?: number }): void;
  linkDetach(linkFd: number): void;
  progFdById(id: number): number;
  mapFdById(id: number): number;
  progInfo(fd: number): BpfProgInfo;
  /** BPF_PROG_TEST_RUN on the calling thread. */
  progTestRun(progFd: number, packet: Buffer, repeat?: number, options?: TestRunOptions): TestRunResult;
  /** BPF_PROG_TEST_RUN on the libuv thread pool (long repeats). */
  progTestRunAsync(progFd: number, packet: Buffer, repeat?: number, options?: TestRunOptions): Promise<TestRunResult>;

  // ---- the XDP data path's own functions (native/dataplane.cc, native/dataplane_load.cc) ----
  xdpLayout(): XdpLayout;
  /** A plain object as the edgelb_shared.h struct `kind` ("cfg", "svc", "svcKey", "vipKey", "backend", ...). */
  xdpEncode(kind: string, obj: object): Buffer;
  xdpDecode(kind: string, buf: Buffer, family?: number): Record<string, unknown>;
  /** Load the XDP object with sizes and pinned-map reuse; returns duplicated fds. */
  xdpLoad(path: string, options: XdpLoadOptions): XdpLoadResult;
  /** Write u32 values at keys start, start+1, ... of an ARRAY map (one batch call). */
  xdpArrayWrite(fd: number, start: number, values: Buffer): void;
  /** Keys in a hash map (walks it). */
  xdpCountEntries(fd: number): number;
  /** Move the calling thread into the network namespace at path, or back (null); tests only. */
  xdpSetNetns(path: string | null): void;

  // ---- netlink (native/netlink.cc): a raw NETLINK_ROUTE socket, never an iproute2 process ----
  /** Replace (managed by default) and delete neighbour entries on ifindex in one batch on the
   *  thread pool; deletions go first. Per-address failures are reported, not thrown. */
  neighUpdate(ifindex: number, replace: readonly string[], remove: readonly string[], options?: { managed?: boolean }): Promise<NeighbourUpdateResult>;
  /** The IPv4/IPv6 neighbour entries of ifindex (a dump on the thread pool). */
  neighList(ifindex: number): Promise<NeighbourEntry[]>;
  /** The interface's kind ("veth", "bridge", ...), "" for a plain device. */
  linkKind(ifindex: number): string;
  /** Host blackhole routes (/32, /128) of one table and protocol: deletions first, then creations
   *  (never a replace: EEXIST when any route for the address is there). Per-address failures are
   *  reported, not thrown (native/netlink_route.cc). */
  routeUpdate(sel: RouteSelector, add: readonly string[], remove: readonly string[]): Promise<RouteUpdateResult>;
  /** The destinations of the host blackhole routes of that table and protocol (a dump). */
  routeList(sel: RouteSelector): Promise<string[]>;
  /** Add (present) or remove the IPv4 and IPv6 rules "iif IIF lookup TABLE pref PRIORITY proto P". */
  ruleUpdate(sel: RouteSelector, rule: { iif: string; priority: number }, present: boolean): Promise<RouteUpdateResult>;

  // ---- packet and ICMP sockets ----
  /** protocol: an EtherType (ETH_P_ARP 0x0806, ETH_P_IPV6 0x86dd, ETH_P_ALL 0x0003). */
  openPacketSocket(ifname: string, protocol: number, options?: PacketSocketOptions): PacketSocketHandle;
  openIcmpSocket(family: 4 | 6, options?: { kind?: 'raw' | 'dgram' }): IcmpSocketHandle;
  /** A NETLINK_ROUTE socket subscribed to these groups' events (default neighbours and links; the caller's network namespace). */
  openNetlinkWatch(groups?: readonly NetlinkGroup[]): NetlinkWatchHandle;

  // ---- TCP sockets for BGP (the fd goes to node:net, which then owns it) ----
  /** A non-blocking TCP socket with options set before connect/listen; returns the fd. */
  tcpSocket(options: TcpSocketOptions): number;
  /** Set (or with key null/empty remove) the MD5 key for a peer on a socket. */
  tcpSetMd5(fd: number, address: string, key: Buffer | string | null, prefixLen?: number): void;
  tcpSetTtl(fd: number, ttl: number): void;
  tcpSetMinTtl(fd: number, minTtl: number): void;
  /** TTL / hop limit of the SYN that opened an accepted connection (listener with saveSyn), or null. */
  tcpSavedSynTtl(fd: number): number | null;
  tcpBind(fd: number, address: string, port: number): void;
  /** Start a non-blocking connect: true if connected at once, false while in progress. */
  tcpConnect(fd: number, address: string, port: number): boolean;
  /** Resolves when the connect completes; rejects with its error (ECONNREFUSED, ETIMEDOUT after
   *  timeoutMs; 0 = no timeout). The fd stays open either way; do not close it while this is pending. */
  tcpConnectWait(fd: number, timeoutMs?: number): Promise<void>;
  tcpListen(fd: number, backlog?: number): void;
  /** SO_ERROR (0 = none). */
  socketError(fd: number): number;
  sockName(fd: number): SocketName;
  peerName(fd: number): SocketName;

  /** The raw addon exports (for modules that add their own native functions). */
  readonly extra: Readonly<Record<string, unknown>>;
}
