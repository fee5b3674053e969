/* fcache.h: the per-CPU flow cache in front of the conntrack lookup. A direct-mapped per-CPU array
 * (slot = a multiply-xor hash of the tuple; the slot holds the full tuple, so a collision is only a
 * miss) of established flows, each with everything the packet's rewrite and send need: the new
 * addresses and ports, mode and flags, service/backend index and backend generation, the cached
 * MACs toward clients, and an expiry. Array lookups are inlined by the verifier, so a hit makes no
 * kernel call. Rules (docs/dataplane.md, "Flow cache"):
 * - filled by the full path only, from an entry it just validated and sent (XDP_TX): TCP
 *   ESTABLISHED, UDP (a reply entry once EDGELB_CT_F_SHARED), never an entry that arrived with
 *   EDGELB_CT_F_SYNCED, never over another flow's live slot; expiry = min(now + FC_BOUND_NS, the entry's own expiry, and for MACs
 *   taken from the entry's FIB cache the end of that cache), on the jiffies clock now_ns() uses;
 * - used only for a whole TCP/UDP packet without SYN/FIN/RST, before expiry, while edgelb_be still
 *   holds the same backend generation; toward a backend the next-hop map is read exactly as send()
 *   reads it (fwd.h);
 * - a packet that changes its flow's state clears the local slots of both of its tuples; a tuple
 *   whose entry is replaced (re-use after FIN/RST/expiry/backend gone) is cleared on every CPU.
 * Not pinned: a program starts with an empty cache. IPv4 slots are 64 bytes (one cache line),
 * IPv6 slots 112. */
#ifndef EDGELB_FCACHE_H
#define EDGELB_FCACHE_H

#include "maps.h"
#include "parse.h"
#include "csum.h"
#include "nat.h"
#include "ct.h"
#include "fwd.h"
#include "clock.h"

#define FC4_BITS 12 /* 4096 IPv4 slots per CPU: 256 KiB */
#define FC6_BITS 11 /* 2048 IPv6 slots per CPU: 224 KiB */
/* How long a slot may serve without the full path: the bound on how late a CPU sees a change user
 * space or another CPU made to the entry, and how often a cached flow refreshes its entry. */
#define FC_BOUND_NS (50ULL * 1000 * 1000)
#define FC_MAX_CPUS 8192 /* bound of the every-CPU clear; it stops at the first CPU that is not */

/* What a hit needs besides the tuple; 8-byte aligned in both slot types. */
struct fc_meta {
	__u16 new_sport;   /* network order */
	__u16 new_dport;
	__u32 ifindex;     /* with EDGELB_CT_F_L2: the egress the MACs below are for */
	__u64 expires;     /* now_ns(); 0 = empty */
	__u32 svc_index;
	__u32 be_index;
	__u32 be_gen;
	__u8 smac[6];      /* with EDGELB_CT_F_L2: the entry's FIB-cached MACs */
	__u8 dmac[6];
};

struct fc4_slot {
	__u32 src;         /* the tuple, as the packet arrives */
	__u32 dst;
	__u32 ports;       /* source and destination port as they sit in the header */
	__u8 proto;
	__u8 mode;         /* EDGELB_MODE_* */
	__u8 flags;        /* the entry's EDGELB_CT_F_REPLY | SNAT | DNAT | L2 */
	__u8 pad;
	__u32 new_src;
	__u32 new_dst;
	struct fc_meta m;
};
_Static_assert(sizeof(struct fc4_slot) == 64, "fc4_slot: one cache line");

struct fc6_slot {
	struct edgelb_addr src;
	struct edgelb_addr dst;
	__u32 ports;
	__u8 proto;
	__u8 mode;
	__u8 flags;
	__u8 pad;
	struct edgelb_addr new_src;
	struct edgelb_addr new_dst;
	struct fc_meta m;
};
_Static_assert(sizeof(struct fc6_slot) == 112, "fc6_slot");

/* not pinned (no LIBBPF_PIN_BY_NAME: the loader pins only maps that ask for it) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1 << FC4_BITS);
	__type(key, __u32);
	__type(value, struct fc4_slot);
} edgelb_fc4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1 << FC6_BITS);
	__type(key, __u32);
	__type(value, struct fc6_slot);
} edgelb_fc6 SEC(".maps");

/* The slot clock: jiffies where now_ns() counts them (one load, no division on a hit), else the
 * coarse ns clock; now_ns() = fc_clock() * fc_unit(). */
static __always_inline __u64 fc_clock(void)
{
	__u32 hz = CONFIG_HZ;
	if (hz >= 24 && hz <= 10000)
		return bpf_jiffies64();
	return bpf_ktime_get_coarse_ns();
}

/* ns per slot-clock unit and the bound in units, worked out by the first fill (.bss) */
static __u64 fc_unit_ns, fc_bound_units;

static __always_inline __u64 fc_unit(void)
{
	__u64 u = fc_unit_ns;
	if (!u) {
		__u32 hz = CONFIG_HZ;
		u = hz >= 24 && hz <= 10000 ? NS_PER_SEC / hz : 1;
		fc_bound_units = FC_BOUND_NS / u;
		fc_unit_ns = u;
	}
	return u;
}

static __always_inline __u32 fc_ports(const struct edgelb_ct_key *k)
{
	return (__u32)k->sport | ((__u32)k->dport << 16);
}

/* Slot of a tuple: a couple of multiplies and xors (bench/dataplane-testrun.ts computes the same
 * to build two flows that share a slot). */
static __always_inline __u32 fc_index(const struct edgelb_ct_key *k)
{
	__u32 a = k->src.a[0], b = k->dst.a[0];
	if (k->family == 6) {
		a ^= k->src.a[1] ^ k->src.a[2] ^ k->src.a[3];
		b ^= k->dst.a[1] ^ k->dst.a[2] ^ k->dst.a[3];
	}
	__u32 h = a * 0x9e3779b1u ^ b * 0x85ebca77u ^ fc_ports(k) * 0xc2b2ae3du ^ k->proto;
	h ^= h >> 16;
	h *= 0x7feb352du;
	return h >> (32 - (k->family == 4 ? FC4_BITS : FC6_BITS));
}

/* ---- the hit ---- */

/* The slot's backend is still the same and the packet has somewhere to go: the MACs, as send()
 * would choose them (next-hop map toward a backend, else the entry's cached FIB answer). */
static __always_inline int fc_usable(struct xdp_md *ctx, const struct fc_meta *m, __u8 flags, __u8 family, __u64 now,
				     const __u8 **smac, const __u8 **dmac)
{
	if (now >= m->expires)
		return 0;
	struct edgelb_backend *be = bpf_map_lookup_elem(&edgelb_be, &m->be_index);
	if (!be || be->gen != m->be_gen || be->family != family)
		return 0;
	if (!(flags & EDGELB_CT_F_REPLY)) {
		struct edgelb_nh *nh = bpf_map_lookup_elem(&edgelb_be_nh, &m->be_index);
		if (nh && nh->flags == EDGELB_NH_F_VALID && nh->gen == m->be_gen && nh->ifindex == ctx->ingress_ifindex) {
			*smac = nh->smac;
			*dmac = nh->dmac;
			return 1;
		}
	}
	*smac = m->smac;
	*dmac = m->dmac;
	return (flags & EDGELB_CT_F_L2) && m->ifindex == ctx->ingress_ifindex;
}

/* MACs, the counters the full path keeps for the same packet, XDP_TX. */
static __always_inline int fc_send(struct xdp_md *ctx, const struct pkt *p, const struct fc_meta *m, __u8 flags,
				   const __u8 *smac, const __u8 *dmac)
{
	cnt_inc(flags & EDGELB_CT_F_REPLY ? EDGELB_CNT_CT_REPLY_HIT : EDGELB_CNT_CT_HIT);
	cnt_inc(EDGELB_CNT_FLOW_CACHE_HIT);
	return tx_macs(ctx, p, smac, dmac, m->svc_index, m->be_index);
}

static __always_inline int fc_hit4(struct xdp_md *ctx, const struct pkt *p, __u64 now)
{
	__u32 i = fc_index(&p->key);
	struct fc4_slot *s = bpf_map_lookup_elem(&edgelb_fc4, &i);
	if (!s || s->src != p->key.src.a[0] || s->dst != p->key.dst.a[0] || s->ports != fc_ports(&p->key) ||
	    s->proto != p->proto)
		return -1;
	const __u8 *smac, *dmac;
	if (!fc_usable(ctx, &s->m, s->flags, 4, now, &smac, &dmac))
		return -1;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + ETH_LEN;
	if ((void *)(ip + 1) > data_end)
		return -1;
	if (s->mode != EDGELB_MODE_DSR || (s->flags & EDGELB_CT_F_REPLY)) {
		/* translated: addresses, ports and the TTL, one IPv4 header checksum update (the sum
		 * is associative: the same bytes as the full path's two updates) */
		__u16 *csum = l4_csum_ptr(p->proto, (void *)(ip + 1), data_end);
		if (!csum || ip->ttl <= 1)
			return -1; /* the full path passes it (TTL) or drops it (malformed) */
		__u16 *ports = (void *)(ip + 1);
		__u32 acc3 = 0, acc4 = 0, accttl = 0;
		if (s->flags & EDGELB_CT_F_SNAT) {
			csum_acc32(&acc3, ip->saddr, s->new_src);
			ip->saddr = s->new_src;
			csum_acc16(&acc4, ports[0], s->m.new_sport);
			ports[0] = s->m.new_sport;
		}
		if (s->flags & EDGELB_CT_F_DNAT) {
			csum_acc32(&acc3, ip->daddr, s->new_dst);
			ip->daddr = s->new_dst;
			csum_acc16(&acc4, ports[1], s->m.new_dport);
			ports[1] = s->m.new_dport;
		}
		__u16 *w = (__u16 *)&ip->ttl;
		__u16 old = *w;
		ip->ttl--;
		csum_acc16(&accttl, old, *w);
		ip->check = csum_apply(ip->check, acc3 + accttl);
		l4_csum_update(csum, p->proto, 4, acc3 + acc4);
	}
	return fc_send(ctx, p, &s->m, s->flags, smac, dmac);
}

static __always_inline int fc_hit6(struct xdp_md *ctx, const struct pkt *p, __u64 now)
{
	__u32 i = fc_index(&p->key);
	struct fc6_slot *s = bpf_map_lookup_elem(&edgelb_fc6, &i);
	if (!s || s->ports != fc_ports(&p->key) || s->proto != p->proto ||
	    s->src.a[0] != p->key.src.a[0] || s->src.a[1] != p->key.src.a[1] || s->src.a[2] != p->key.src.a[2] ||
	    s->src.a[3] != p->key.src.a[3] || s->dst.a[0] != p->key.dst.a[0] || s->dst.a[1] != p->key.dst.a[1] ||
	    s->dst.a[2] != p->key.dst.a[2] || s->dst.a[3] != p->key.dst.a[3])
		return -1;
	const __u8 *smac, *dmac;
	if (!fc_usable(ctx, &s->m, s->flags, 6, now, &smac, &dmac))
		return -1;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip6 = data + ETH_LEN;
	if ((void *)(ip6 + 1) > data_end)
		return -1;
	if (s->mode != EDGELB_MODE_DSR || (s->flags & EDGELB_CT_F_REPLY)) {
		__u16 *csum = l4_csum_ptr(p->proto, (void *)(ip6 + 1), data_end);
		if (!csum || ip6->hop_limit <= 1)
			return -1;
		__u16 *ports = (void *)(ip6 + 1);
		__u32 acc = 0;
		if (s->flags & EDGELB_CT_F_SNAT) {
			addr6_rewrite(&acc, (__u32 *)&ip6->saddr, &s->new_src);
			csum_acc16(&acc, ports[0], s->m.new_sport);
			ports[0] = s->m.new_sport;
		}
		if (s->flags & EDGELB_CT_F_DNAT) {
			addr6_rewrite(&acc, (__u32 *)&ip6->daddr, &s->new_dst);
			csum_acc16(&acc, ports[1], s->m.new_dport);
			ports[1] = s->m.new_dport;
		}
		l4_csum_update(csum, p->proto, 6, acc);
		ip6->hop_limit--;
	}
	return fc_send(ctx, p, &s->m, s->flags, smac, dmac);
}

/* A packet's verdict from the cache, or -1: the full path decides (a miss, or a packet the cache
 * never serves). Called for PARSE_OK packets that passed the address filter. */
static __always_inline int fc_hit(struct xdp_md *ctx, const struct pkt *p)
{
	if (p->frag || (p->proto == IPPROTO_TCP && (p->tcp_flags & (TCP_FLAG_SYN_ | TCP_FLAG_FIN_ | TCP_FLAG_RST_))))
		return -1;
	__u64 now = fc_clock();
	return p->family == 4 ? fc_hit4(ctx, p, now) : fc_hit6(ctx, p, now);
}

/* ---- the full path's side ---- */

/* Is the packet's slot live and another flow's? Then the fill leaves it be: a miss costs only the
 * compare, and flows that collide in a slot (a uniform mix of many flows, or two flows hammering
 * one slot) do not evict each other on every packet; the holder keeps it until its expiry (at most
 * FC_BOUND_NS) or until the full path clears it. */
static __always_inline int fc_taken(const struct pkt *p, __u64 clk)
{
	__u32 i = fc_index(&p->key);
	if (p->family == 4) {
		struct fc4_slot *s = bpf_map_lookup_elem(&edgelb_fc4, &i);
		return s && s->m.expires > clk &&
		       (s->src != p->key.src.a[0] || s->dst != p->key.dst.a[0] || s->ports != fc_ports(&p->key) || s->proto != p->proto);
	}
	struct fc6_slot *s = bpf_map_lookup_elem(&edgelb_fc6, &i);
	return s && s->m.expires > clk &&
	       (s->ports != fc_ports(&p->key) || s->proto != p->proto || s->src.a[0] != p->key.src.a[0] ||
		s->src.a[1] != p->key.src.a[1] || s->src.a[2] != p->key.src.a[2] || s->src.a[3] != p->key.src.a[3] ||
		s->dst.a[0] != p->key.dst.a[0] || s->dst.a[1] != p->key.dst.a[1] || s->dst.a[2] != p->key.dst.a[2] ||
		s->dst.a[3] != p->key.dst.a[3]);
}

/* Fill the local slot of the packet's tuple from the entry the full path just used (was: the
 * entry's flags before the packet; v: the full path's verdict, returned unchanged). */
static __always_inline int fc_fill(struct xdp_md *ctx, const struct pkt *p, const struct edgelb_ct *ct,
				   const struct edgelb_cfg *cfg, __u64 now, __u8 was, int v)
{
	if (v != XDP_TX || p->frag || (was & EDGELB_CT_F_SYNCED) || ct->state != EDGELB_CT_ST_ESTABLISHED)
		return v;
	if (p->proto == IPPROTO_UDP && (ct->flags & EDGELB_CT_F_REPLY) && !(ct->flags & EDGELB_CT_F_SHARED))
		return v;
	__u64 clk = fc_clock();
	if (fc_taken(p, clk))
		return v;
	/* how long the slot may serve (ns): the bound, at most what the entry has left, and with the
	 * entry's FIB-cached MACs, what send() still trusts them for */
	__u64 end = ct->last_ns + ct_timeout_ns(ct, cfg);
	int l2 = (ct->flags & EDGELB_CT_F_L2) && ct->ifindex == ctx->ingress_ifindex;
	if (l2 && ct->last_ns + NS_PER_SEC < end)
		end = ct->last_ns + NS_PER_SEC;
	else if (!l2 && (ct->flags & EDGELB_CT_F_REPLY))
		return v;
	if (end <= now)
		return v;
	__u64 unit = fc_unit(), units = fc_bound_units;
	if (end - now < FC_BOUND_NS)
		units = (end - now) / unit; /* rare: no division otherwise */
	if (units == 0)
		return v;
	__u64 exp = clk + units;
	__u32 i = fc_index(&p->key);
	struct fc_meta *m;
	__u8 *hdr; /* proto, mode, flags */
	if (p->family == 4) {
		struct fc4_slot *s = bpf_map_lookup_elem(&edgelb_fc4, &i);
		if (!s)
			return v;
		s->m.expires = 0;
		s->src = p->key.src.a[0];
		s->dst = p->key.dst.a[0];
		s->new_src = ct->new_src.a[0];
		s->new_dst = ct->new_dst.a[0];
		s->ports = fc_ports(&p->key);
		hdr = &s->proto;
		m = &s->m;
	} else {
		struct fc6_slot *s = bpf_map_lookup_elem(&edgelb_fc6, &i);
		if (!s)
			return v;
		s->m.expires = 0;
		s->src = p->key.src;
		s->dst = p->key.dst;
		s->new_src = ct->new_src;
		s->new_dst = ct->new_dst;
		s->ports = fc_ports(&p->key);
		hdr = &s->proto;
		m = &s->m;
	}
	hdr[0] = p->proto;
	hdr[1] = ct->mode;
	hdr[2] = (ct->flags & (EDGELB_CT_F_REPLY | EDGELB_CT_F_SNAT | EDGELB_CT_F_DNAT)) | (l2 ? EDGELB_CT_F_L2 : 0);
	m->new_sport = ct->new_sport;
	m->new_dport = ct->new_dport;
	m->ifindex = ct->ifindex;
	m->svc_index = ct->svc_index;
	m->be_index = ct->be_index;
	m->be_gen = ct->be_gen;
	__builtin_memcpy(m->smac, ct->smac, 6);
	__builtin_memcpy(m->dmac, ct->dmac, 6);
	asm volatile("" ::: "memory"); /* the expiry last: a slot is never used half-written */
	m->expires = exp;
	return v;
}

/* Clear the local slots of a tuple (the full path saw it change state, or makes a new flow). */
static __always_inline void fc_forget(const struct edgelb_ct_key *k)
{
	__u32 i = fc_index(k);
	if (k->family == 4) {
		struct fc4_slot *s = bpf_map_lookup_elem(&edgelb_fc4, &i);
		if (s)
			s->m.expires = 0;
	} else {
		struct fc6_slot *s = bpf_map_lookup_elem(&edgelb_fc6, &i);
		if (s)
			s->m.expires = 0;
	}
}

/* Clear the local slots of both tuples of ct's flow. */
static __always_inline void fc_forget_flow(const struct pkt *p, const struct edgelb_ct *ct)
{
	fc_forget(&p->key);
	if (ct->mode != EDGELB_MODE_DSR) {
		struct edgelb_ct_key k = {};
		ct_other_key(&k, ct, p);
		fc_forget(&k);
	}
}

struct fc_clear {
	__u32 index;
	__u32 family;
};

static long fc_clear_cpu(__u32 cpu, void *arg)
{
	struct fc_clear *c = arg;
	if (c->family == 4) {
		struct fc4_slot *s = bpf_map_lookup_percpu_elem(&edgelb_fc4, &c->index, cpu);
		if (!s)
			return 1; /* past the last CPU */
		s->m.expires = 0;
	} else {
		struct fc6_slot *s = bpf_map_lookup_percpu_elem(&edgelb_fc6, &c->index, cpu);
		if (!s)
			return 1;
		s->m.expires = 0;
	}
	return 0;
}

/* Clear a tuple's slot on every CPU (rare: its entry is being replaced). */
static __noinline void fc_forget_everywhere(const struct edgelb_ct_key *k)
{
	struct fc_clear c = {};
	c.index = fc_index(k);
	c.family = k->family;
	bpf_loop(FC_MAX_CPUS, fc_clear_cpu, &c, 0);
}

/* The full path replaces ct's flow (tuple re-use after FIN/RST, expiry, backend gone): no CPU may
 * keep serving either of its tuples. */
static __always_inline void fc_forget_replaced(const struct pkt *p, const struct edgelb_ct *ct)
{
	fc_forget_everywhere(&p->key);
	if (ct->mode != EDGELB_MODE_DSR) {
		struct edgelb_ct_key k = {};
		ct_other_key(&k, ct, p);
		fc_forget_everywhere(&k);
	}
}

#endif
