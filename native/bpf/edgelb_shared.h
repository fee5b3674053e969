/* edgelb_shared.h: the ONE definition of the XDP data path's map keys, values, flags and counter
 * codes, included by the BPF program (native/bpf/edgelb_xdp.bpf.c) and by the addon
 * (native/dataplane*.cc). TypeScript never keeps a copy of these layouts: it asks the addon to
 * encode and decode them.
 *
 * Rules: counter codes (EDGELB_CNT_*) and mode/selection codes are permanent — append, never
 * renumber or reuse. Any change to a struct below bumps EDGELB_LAYOUT_VERSION; the daemon then
 * re-creates the pinned maps (and says so in its log) instead of reusing them.
 */
#ifndef EDGELB_SHARED_H
#define EDGELB_SHARED_H

#include <linux/types.h>

#ifdef __cplusplus
#define EDGELB_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define EDGELB_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

/* Bumped on any incompatible change of a map key/value layout or map set. */
#define EDGELB_LAYOUT_VERSION 6

/* Map names (also the pin file names under /sys/fs/bpf/edgelb/<node>/). */
#define EDGELB_MAP_CFG "edgelb_cfg"
#define EDGELB_MAP_SVC "edgelb_svc"
#define EDGELB_MAP_VIPS "edgelb_vips"
#define EDGELB_MAP_BACKENDS "edgelb_be"
#define EDGELB_MAP_SVC_LIST "edgelb_svc_list"
#define EDGELB_MAP_MAGLEV "edgelb_maglev"
#define EDGELB_MAP_CT4 "edgelb_ct4" /* IPv4 flows, compact key (since layout 5) */
#define EDGELB_MAP_CT6 "edgelb_ct6" /* IPv6 flows (layout <= 4: every flow, in edgelb_ct) */
#define EDGELB_MAP_COUNTERS "edgelb_cnt"
#define EDGELB_MAP_SVC_STATS "edgelb_svc_st"
#define EDGELB_MAP_BE_STATS "edgelb_be_st"
#define EDGELB_MAP_RR "edgelb_rr"
#define EDGELB_MAP_ADDRF "edgelb_addrf"
#define EDGELB_MAP_SNAT_CLIENTS "edgelb_snat_cl"
#define EDGELB_MAP_ECHO "edgelb_echo"
#define EDGELB_MAP_FRAGS "edgelb_frags"
#define EDGELB_MAP_SCRATCH "edgelb_scratch"
#define EDGELB_MAP_BE_NH "edgelb_be_nh"
#define EDGELB_MAP_CT_EVENTS "edgelb_ct_ev"
#define EDGELB_MAP_BFD "edgelb_bfd"           /* BFD offload: sessions (bfd.h, docs/bfd.md) */
#define EDGELB_MAP_BFD_FRAMES "edgelb_bfd_fr"  /* BFD offload: frames signed ahead */
#define EDGELB_MAP_BFD_LEASE "edgelb_bfd_ls"   /* BFD offload: the daemon's lease */
#define EDGELB_PROG_XDP "edgelb_xdp"

/* Compile-time defaults; the addon resizes the maps before load (bpf_map__set_max_entries). */
#define EDGELB_DEFAULT_MAX_SERVICES 64
#define EDGELB_DEFAULT_MAX_BACKENDS 4096
#define EDGELB_DEFAULT_MAGLEV_SIZE 65537
#define EDGELB_DEFAULT_CT_SIZE 65536
/* Backends listed per service for the `hash` and `rr` selections (Maglev has no such limit). */
#define EDGELB_SVC_LIST_MAX 256
#define EDGELB_MAGLEV_EMPTY 0xffffffffu
#define EDGELB_CNT_MAX 64
/* Address filter (edgelb_addrf): one bit per hash of an address, VIPs in the first half, backends
 * in the second. A packet whose destination bit and source bit are both clear is neither to a VIP
 * nor a reply, and leaves on the fast path after two array reads. */
#define EDGELB_ADDRF_WORDS 2048 /* per half: 65536 bits */
#define EDGELB_SNAT_CLIENTS_SIZE 65536 /* a power of two */
#define EDGELB_FRAGS_SIZE 8192
#define EDGELB_PORT_RANGES 4
/* Bytes of the conntrack event ring (a power of two): ~3,800 events between two reads. */
#define EDGELB_CT_EVENTS_SIZE (1 << 20)

/* Load-balancing modes (edgelb_svc.mode). Permanent. */
#define EDGELB_MODE_DNAT 0    /* destination only; replies translated back (src -> VIP) */
#define EDGELB_MODE_ONEARM 1  /* + source -> node address and allocated port */
#define EDGELB_MODE_FULLNAT 2 /* + source -> VIP and allocated port */
#define EDGELB_MODE_DSR 3     /* MAC rewrite only; the backend answers the client directly */

/* Endpoint selection (edgelb_svc.sel). Permanent. `lc` is not implemented in XDP (see docs). */
#define EDGELB_SEL_MAGLEV 0  /* 5-tuple hash into the service's Maglev table */
#define EDGELB_SEL_HASH 1    /* 5-tuple hash modulo the backend list (not consistent) */
#define EDGELB_SEL_RR 2      /* per-CPU round robin over the backend list */
#define EDGELB_SEL_PERSIST 3 /* client-address hash into the Maglev table (client affinity) */

/* Address: IPv4 in a[0] (network order) with a[1..3] zero; IPv6 in a[0..3]. */
struct edgelb_addr {
	__u32 a[4];
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_addr) == 16, "edgelb_addr");

/* edgelb_cfg[0]: node-wide settings written by the addon. */
#define EDGELB_CFG_F_RST_UNSERVED 0x01 /* answer TCP to an unserved VIP port with RST */
#define EDGELB_CFG_F_SYNC 0x02 /* connection sync runs: flows that become established are reported (edgelb_ct_ev) */

struct edgelb_port_range {
	__u16 lo; /* host order, inclusive */
	__u16 hi;
};

struct edgelb_cfg {
	__u32 layout_version;   /* EDGELB_LAYOUT_VERSION of the maps */
	__u32 maglev_size;      /* entries per service in edgelb_maglev (prime) */
	__u32 max_services;     /* slots in edgelb_svc_st / edgelb_maglev */
	__u32 flags;            /* EDGELB_CFG_F_* */
	struct edgelb_addr node4; /* onearm source address, IPv4 (a[0]) */
	struct edgelb_addr node6; /* onearm source address, IPv6 */
	/* SNAT source ports: up to EDGELB_PORT_RANGES ranges (outside ip_local_port_range and the
	 * daemon's own ports), port_total ports in all */
	struct edgelb_port_range ports[EDGELB_PORT_RANGES];
	__u32 port_total;
	__u32 snat_share;       /* new SNAT ports one client may take per backend per window */
	__u32 tcp_syn_timeout;  /* s: embryonic TCP (SYN seen, not yet established) */
	__u32 tcp_fin_timeout;  /* s: after a FIN */
	__u32 tcp_rst_timeout;  /* s: after an RST */
	__u32 echo_rate;        /* ICMP echo replies per second per CPU (0: echo dropped) */
	__u32 hash_key[4];      /* flow hash key, the same on every node */
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_cfg) == 104, "edgelb_cfg");

/* edgelb_svc key: (VIP, port, protocol). */
struct edgelb_svc_key {
	struct edgelb_addr vip;
	__u16 port;  /* network order */
	__u8 proto;  /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 family; /* 4 or 6 */
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_svc_key) == 20, "edgelb_svc_key");

struct edgelb_svc {
	__u32 index;       /* slot in edgelb_maglev / edgelb_svc_list / edgelb_svc_st */
	__u8 mode;         /* EDGELB_MODE_* */
	__u8 sel;          /* EDGELB_SEL_* */
	__u16 flags;       /* reserved, 0 */
	__u32 timeout_sec; /* idle timeout of a tracked flow */
	__u32 count;       /* backends in edgelb_svc_list (<= EDGELB_SVC_LIST_MAX) */
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_svc) == 16, "edgelb_svc");

/* edgelb_vips key: every VIP address (marks traffic that must never reach the stack malformed). */
struct edgelb_vip_key {
	struct edgelb_addr vip;
	__u32 family;
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_vip_key) == 20, "edgelb_vip_key");

/* edgelb_be[index]: a backend (real). gen changes whenever the slot is freed or reused, so a
 * tracked flow whose backend went away is re-balanced instead of black-holed. */
struct edgelb_backend {
	struct edgelb_addr addr;
	__u16 port;      /* network order */
	__u8 family;     /* 4 or 6; 0 = slot unused */
	__u8 flags;      /* reserved, 0 */
	__u32 gen;
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_backend) == 24, "edgelb_backend");

/* A packet's tuple as it arrives (client->VIP for forward entries, backend->translated source
 * for reply entries): the key of edgelb_ct6 (IPv6 flows) and the parser's tuple of every packet.
 * IPv4 flows are kept in edgelb_ct4 under the compact struct edgelb_ct4_key (see ct.h). */
struct edgelb_ct_key {
	struct edgelb_addr src;
	struct edgelb_addr dst;
	__u16 sport; /* network order */
	__u16 dport;
	__u8 proto;
	__u8 family;
	__u16 pad;
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_ct_key) == 40, "edgelb_ct_key");

/* edgelb_ct4 key: the same tuple for an IPv4 flow in 16 bytes (4 words hashed and compared per
 * lookup instead of 10). Fields in this order, pad always 0; the family is the map's. */
struct edgelb_ct4_key {
	__u32 src;   /* network order */
	__u32 dst;
	__u16 sport; /* network order */
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_ct4_key) == 16, "edgelb_ct4_key");

#define EDGELB_CT_F_REPLY 0x01 /* entry translates backend -> client replies */
#define EDGELB_CT_F_SNAT 0x02  /* the source is rewritten (onearm, fullnat, every reply) */
#define EDGELB_CT_F_DNAT 0x04  /* the destination is rewritten (all but dsr forward) */
#define EDGELB_CT_F_L2 0x08    /* smac/dmac/ifindex hold a cached next hop */
#define EDGELB_CT_F_SYNCED 0x10 /* inserted by connection sync, and no packet of it passed here since */
#define EDGELB_CT_F_SHARED 0x20 /* UDP reply entry: the flow was reported once the backend answered */

/* TCP states of a conntrack entry (both entries of a flow carry the same, except that the reply
 * entry alone records that the backend answered). UDP entries are always ESTABLISHED. The timeout
 * of an entry follows its state: embryonic states use cfg.tcp_syn_timeout, FIN cfg.tcp_fin_timeout,
 * RST cfg.tcp_rst_timeout, ESTABLISHED the service's timeout_sec (kept in the entry). */
#define EDGELB_CT_ST_ESTABLISHED 0
#define EDGELB_CT_ST_SYN 1       /* embryonic: created by a SYN (or, dnat/dsr, any first packet) */
#define EDGELB_CT_ST_SYN_REPLY 2 /* embryonic, reply entry: the backend answered */
#define EDGELB_CT_ST_FIN 3       /* closing: a FIN was seen */
#define EDGELB_CT_ST_RST 4       /* closed: an RST was seen */

/* edgelb_ct4 / edgelb_ct6 value (one layout for both maps; unchanged by layout 5): how to rewrite
 * a packet with that key, and where to send it. */
struct edgelb_ct {
	struct edgelb_addr new_src;
	struct edgelb_addr new_dst;
	struct edgelb_addr nh;  /* address to look the next hop up for (backend or client) */
	__u16 new_sport;        /* network order */
	__u16 new_dport;
	__u8 mode;
	__u8 flags;             /* EDGELB_CT_F_* */
	__u8 state;             /* EDGELB_CT_ST_* */
	__u8 pad;
	__u64 last_ns;          /* now_ns() (ct.h) of the last refresh (about once a second) */
	__u32 timeout_sec;
	__u32 svc_index;
	__u32 be_index;
	__u32 be_gen;
	__u32 ifindex;          /* cached egress */
	__u8 smac[6];
	__u8 dmac[6];
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_ct) == 96, "edgelb_ct");

/* edgelb_ct_ev (ring buffer, read by the connection-sync thread): a flow that became established
 * (TCP: the client's ACK after the backend's answer; UDP: the backend's first answer) or started
 * closing (FIN, RST), with both of its entries as they are now. Embryonic flows are never
 * reported, so a SYN flood stays on the node it hits. */
struct edgelb_ct_event {
	struct edgelb_ct_key fkey; /* forward entry (client -> VIP) */
	struct edgelb_ct_key rkey; /* reply entry (backend -> translated source) */
	struct edgelb_ct fwd;
	struct edgelb_ct rev;
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_ct_event) == 2 * sizeof(struct edgelb_ct_key) + 2 * sizeof(struct edgelb_ct), "edgelb_ct_event");

/* edgelb_snat_cl[keyed hash of (client address, IPv6 /64; backend; protocol) mod
 * EDGELB_SNAT_CLIENTS_SIZE]: new SNAT ports taken in the window that started at win_ns. An array,
 * not a hash map: a new client costs no insert; clients in one bucket share its count (1 in 65,536,
 * and without the hash key nobody can choose a victim's bucket). */
struct edgelb_snat_client {
	__u64 win_ns;
	__u32 count;
	__u32 pad;
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_snat_client) == 16, "edgelb_snat_client");

/* edgelb_echo (per CPU, one entry): ICMP echo replies sent in the second that started at win_ns. */
struct edgelb_echo {
	__u64 win_ns;
	__u64 count;
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_echo) == 16, "edgelb_echo");

/* edgelb_frags key: a fragmented datagram (source, destination, IP ID, protocol). */
struct edgelb_frag_key {
	struct edgelb_addr src;
	struct edgelb_addr dst;
	__u32 id;
	__u8 proto;
	__u8 family;
	__u16 pad;
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_frag_key) == 40, "edgelb_frag_key");

/* edgelb_frags value: the ports of its first fragment. */
struct edgelb_frag {
	__u16 sport; /* network order */
	__u16 dport;
	__u32 pad;
	__u64 last_ns;
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_frag) == 16, "edgelb_frag");

/* edgelb_be_nh[backend index]: the next-hop map. The daemon alone writes it, from netlink
 * neighbour and link events of the uplink (src/dataplane/xdp-nexthop.ts): the backend address's
 * neighbour MAC (dmac, while the kernel's entry is valid), the uplink's MAC (smac) and ifindex,
 * for the slot generation it was written for. A packet toward a backend whose entry is valid for
 * its flow's generation takes the MACs from it; otherwise (miss) bpf_fib_lookup as before. */
#define EDGELB_NH_F_VALID 0x01
struct edgelb_nh {
	__u8 smac[6];
	__u8 dmac[6];
	__u32 ifindex;
	__u32 gen;   /* edgelb_be[index].gen it belongs to */
	__u32 flags; /* EDGELB_NH_F_*; 0 = no next hop (miss) */
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_nh) == 24, "edgelb_nh");

/* BFD offload (bfd.h, docs/bfd.md "Surviving a daemon restart"): while the daemon's lease has run
 * out, XDP answers each BFD control packet of an offloaded Up session with the next frame the
 * daemon encoded (and signed) ahead. New maps only: pins of an older edgelb lack them and libbpf
 * creates them, so no layout bump. edgelb_bfd: key = our discriminator (host order). */
#define EDGELB_BFD_SESSIONS_MAX 64
#define EDGELB_BFD_WINDOW_MAX 1024 /* frames per session (edgelb_bfd_fr: slot * this + i) */
#define EDGELB_BFD_FRAME_MAX 64    /* BFD payload bytes: 24 + the longest auth section (28) */
#define EDGELB_BFD_KEY_MAX 72
#define EDGELB_BFD_F_MULTIHOP 0x01 /* RFC 5883: no TTL check (single hop: TTL 255 required) */
#define EDGELB_BFD_F_METICULOUS 0x02 /* one frame per answer; else frame 0 again and again */
struct edgelb_bfd_sess {
	struct edgelb_addr local; /* our address: the router's packets' destination, our source */
	struct edgelb_addr peer;
	__u32 remote_discr;       /* the router's discriminator (host order) */
	__u32 first_seq;          /* sequence number of frame 0 */
	__u32 last_seq;           /* last number on the wire when the daemon renewed its lease */
	__u32 sent;               /* frames XDP answered with since (may overshoot nframes) */
	__u32 nframes;            /* frames in the slot (1..EDGELB_BFD_WINDOW_MAX) */
	__u32 slot;               /* frames at edgelb_bfd_fr[slot * EDGELB_BFD_WINDOW_MAX + i] */
	__u16 src_port;           /* ours (network order) */
	__u16 dst_port;           /* 3784 or 4784 (network order) */
	__u8 family;
	__u8 flags;               /* EDGELB_BFD_F_* */
	__u8 auth_type;           /* 0 none, else the RFC 5880 auth type the router must use too */
	__u8 key_id;
	/* not read by XDP: what the next daemon resumes the session from (src/bfd/offload.ts) */
	__u32 desired_min_tx_us;
	__u32 required_min_rx_us;
	__u32 remote_desired_min_tx_us;
	__u32 remote_min_rx_us;
	__u8 detect_mult;
	__u8 remote_detect_mult;
	__u8 pad[6];
	char key[EDGELB_BFD_KEY_MAX]; /* the session's key, NUL-padded */
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_bfd_sess) == 160, "edgelb_bfd_sess");

struct edgelb_bfd_frame {
	__u16 len;  /* BFD payload length (24..EDGELB_BFD_FRAME_MAX) */
	__u16 csum; /* folded one's complement sum of data as 16-bit words in memory order */
	__u8 data[EDGELB_BFD_FRAME_MAX];
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_bfd_frame) == 68, "edgelb_bfd_frame");

/* edgelb_bfd_ls[0]: XDP answers only while until_ns <= now < max_ns (CLOCK_MONOTONIC ns). */
struct edgelb_bfd_lease {
	__u64 until_ns; /* the daemon is alive until then (renewed with each packet it sends) */
	__u64 max_ns;   /* the offload answers nothing after this (the longest a dead daemon is covered) */
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_bfd_lease) == 16, "edgelb_bfd_lease");

/* Per service / per backend traffic, per CPU. */
struct edgelb_stats {
	__u64 packets;
	__u64 bytes;
};
EDGELB_STATIC_ASSERT(sizeof(struct edgelb_stats) == 16, "edgelb_stats");

/* Counter codes: index into the per-CPU edgelb_cnt array. PERMANENT: append only.
 * Every packet increments exactly one verdict code (PASS_*, TX*, DROP_*); EDGELB_CNT_RX is their
 * sum, computed by the reader (the program does not count it). CT_*, ICMP_TRANSLATED and
 * FRAG_TRACKED are events counted on the way. */
#define EDGELB_CNT_RX 0              /* packets seen (sum of the verdicts; not written) */
#define EDGELB_CNT_PASS_NOT_IP 1     /* not IPv4/IPv6 (ARP, VLAN, ...) */
#define EDGELB_CNT_PASS_NOT_VIP 2    /* IP, but no service and no tracked flow */
#define EDGELB_CNT_PASS_FRAGMENT 3   /* IPv4 fragment or IPv6 fragment header */
#define EDGELB_CNT_PASS_IP_OPTIONS 4 /* IPv4 options or IPv6 extension headers */
#define EDGELB_CNT_PASS_NO_NEIGH 5   /* translated, no neighbour yet: the kernel resolves */
#define EDGELB_CNT_PASS_ROUTE 6      /* translated, next hop on another interface: kernel routes */
#define EDGELB_CNT_PASS_TTL 7        /* TTL/hop limit expiring: the kernel answers */
#define EDGELB_CNT_PASS_MALFORMED 8  /* unparsable, not to a VIP: the kernel decides */
#define EDGELB_CNT_TX 9              /* translated and sent back out of the uplink */
#define EDGELB_CNT_REDIRECT 10       /* reserved */
#define EDGELB_CNT_DROP_MALFORMED 11 /* truncated or malformed packet to a VIP */
#define EDGELB_CNT_DROP_NO_BACKEND 12 /* service without a usable backend */
#define EDGELB_CNT_DROP_NAT_PORTS 13 /* no free SNAT port for the flow */
#define EDGELB_CNT_DROP_FIB 14       /* route lookup: blackhole, unreachable or prohibited */
#define EDGELB_CNT_DROP_DSR_OFFLINK 15 /* dsr backend not on the uplink's segment */
#define EDGELB_CNT_CT_NEW 16         /* flows created (conntrack inserts) */
#define EDGELB_CNT_CT_HIT 17         /* packets of tracked flows (forward) */
#define EDGELB_CNT_CT_EXPIRED 18     /* tracked flow idle past its timeout, re-balanced */
#define EDGELB_CNT_CT_INSERT_FAIL 19 /* conntrack insert failed */
#define EDGELB_CNT_ICMP_TRANSLATED 20 /* ICMP error of a tracked flow, translated */
#define EDGELB_CNT_PASS_ICMP 21      /* ICMP not about a tracked flow */
#define EDGELB_CNT_CT_REPLY_HIT 22   /* packets of tracked flows (reply) */
#define EDGELB_CNT_PASS_VIP_NO_SVC 23 /* unused since layout 2 (such packets: DROP_VIP_NO_SVC) */
#define EDGELB_CNT_CT_NEW_NON_SYN 24 /* flow created from a TCP packet without SYN (e.g. moved) */
#define EDGELB_CNT_CT_BACKEND_GONE 25 /* tracked flow's backend removed, re-balanced */
#define EDGELB_CNT_PASS_FWD_DISABLED 26 /* forwarding disabled on the uplink */
#define EDGELB_CNT_PASS_FRAG_NEEDED 27 /* larger than the egress MTU: the kernel answers */
#define EDGELB_CNT_PASS_NOT_FWDED 28 /* route lookup says local/not forwarded */
#define EDGELB_CNT_DROP_DSR_NO_NEIGH 29 /* dsr backend not resolved yet (its managed entry will be) */
#define EDGELB_CNT_DROP_CT_STRAY 30 /* TCP non-SYN with no tracked flow (onearm/fullnat) */
#define EDGELB_CNT_CT_ESTABLISHED 31 /* embryonic TCP flow seen established */
#define EDGELB_CNT_CT_CLOSING 32   /* FIN or RST seen on a tracked flow */
#define EDGELB_CNT_DROP_SNAT_SHARE 33 /* client over its share of a backend's SNAT ports */
#define EDGELB_CNT_TX_ECHO 34      /* ICMP/ICMPv6 echo to a VIP answered */
#define EDGELB_CNT_DROP_ECHO_RATE 35 /* ICMP echo to a VIP over the reply rate */
#define EDGELB_CNT_DROP_VIP_NO_SVC 36 /* to a VIP, no service on that port/protocol */
#define EDGELB_CNT_TX_RST 37       /* TCP to an unserved VIP port answered with RST */
#define EDGELB_CNT_DROP_IP_OPTIONS 38 /* IPv4 options / IPv6 extension headers to a VIP */
#define EDGELB_CNT_DROP_FRAGMENT 39 /* fragment to a VIP without a tracked first fragment */
#define EDGELB_CNT_PASS_NDP 40     /* ICMPv6 router/neighbour discovery (133-137): the announcer's */
#define EDGELB_CNT_DROP_VIP_ICMP 41 /* other ICMP to a VIP (untracked errors, other types) */
#define EDGELB_CNT_FRAG_TRACKED 42 /* first fragment's flow remembered by IP ID */
#define EDGELB_CNT_NH_CACHED 43    /* new flow's next hop from the next-hop map (no FIB lookup) */
#define EDGELB_CNT_NH_MISS 44      /* new flow toward a backend without a next-hop entry: FIB lookup */
#define EDGELB_CNT_SYNC_EVENT 45    /* flow reported to connection sync (edgelb_ct_ev) */
#define EDGELB_CNT_SYNC_EVENT_LOST 46 /* report lost: the event ring was full */
#define EDGELB_CNT_TX_BFD 47       /* BFD control packet answered from the offload (daemon's lease out) */
#define EDGELB_CNT_PASS_BFD 48     /* BFD control packet of an offloaded session, daemon's lease live */
#define EDGELB_CNT_PASS_BFD_SPENT 49 /* lease out, but frames used up or past the offload's max time */
#define EDGELB_CNT_FLOW_CACHE_HIT 50 /* tracked-flow packet sent from the per-CPU flow cache (fcache.h) */
#define EDGELB_CNT_LAST 50

EDGELB_STATIC_ASSERT(EDGELB_CNT_LAST < EDGELB_CNT_MAX, "counter codes fit edgelb_cnt");

#endif /* EDGELB_SHARED_H */
