/* ct.h: TCP-aware conntrack — an entry's timeout by state, the transitions on the backend's
 * answer, the client's ACK, FIN and RST (applied to both entries of a flow), and the SNAT side of
 * a new flow: the per-client fair share of a backend's ports and the port claim over the
 * configured ranges. States and timeouts are documented in docs/dataplane.md. */
#ifndef EDGELB_CT_H
#define EDGELB_CT_H

#include "maps.h"
#include "parse.h"
#include "maglev.h"
#include "clock.h"

/* Conntrack maps (layout 5): IPv4 flows in edgelb_ct4 under struct edgelb_ct4_key (16 bytes:
 * src, dst, sport, dport, proto, 3 zero bytes), IPv6 flows in edgelb_ct6 under struct
 * edgelb_ct_key (40 bytes). The value (struct edgelb_ct) and the TCP states are the same in both
 * and did not change with the key: a flow has a forward entry (client -> VIP) and, except dsr, a
 * reply entry (backend -> translated source), each found by the tuple a packet arrives with.
 * Everything in BPF goes through ct_lookup / ct_update below; user space picks the map by family
 * and encodes either key with xdpEncode('ctKey', ...) (16 bytes for IPv4, 40 for IPv6). */
static __always_inline void ct4_key(struct edgelb_ct4_key *k4, const struct edgelb_ct_key *k)
{
	k4->src = k->src.a[0];
	k4->dst = k->dst.a[0];
	k4->sport = k->sport;
	k4->dport = k->dport;
	k4->proto = k->proto;
	k4->pad[0] = 0;
	k4->pad[1] = 0;
	k4->pad[2] = 0;
}

static __always_inline struct edgelb_ct *ct_lookup(const struct edgelb_ct_key *k)
{
	if (k->family == 4) {
		struct edgelb_ct4_key k4;
		ct4_key(&k4, k);
		return bpf_map_lookup_elem(&edgelb_ct4, &k4);
	}
	return bpf_map_lookup_elem(&edgelb_ct6, k);
}

static __always_inline long ct_update(const struct edgelb_ct_key *k, const struct edgelb_ct *v, __u64 flags)
{
	if (k->family == 4) {
		struct edgelb_ct4_key k4;
		ct4_key(&k4, k);
		return bpf_map_update_elem(&edgelb_ct4, &k4, v, flags);
	}
	return bpf_map_update_elem(&edgelb_ct6, k, v, flags);
}

#define NAT_PORT_TRIES 32

/* A TCP packet that may open a flow: SYN without ACK, RST or FIN. */
static __always_inline int tcp_pure_syn(const struct pkt *p)
{
	return (p->tcp_flags & (TCP_FLAG_SYN_ | TCP_FLAG_ACK_ | TCP_FLAG_RST_ | TCP_FLAG_FIN_)) == TCP_FLAG_SYN_;
}

static __always_inline __u64 ct_timeout_ns(const struct edgelb_ct *ct, const struct edgelb_cfg *cfg)
{
	__u32 s = ct->timeout_sec;
	if (ct->state == EDGELB_CT_ST_SYN || ct->state == EDGELB_CT_ST_SYN_REPLY)
		s = cfg->tcp_syn_timeout;
	else if (ct->state == EDGELB_CT_ST_FIN)
		s = cfg->tcp_fin_timeout;
	else if (ct->state == EDGELB_CT_ST_RST)
		s = cfg->tcp_rst_timeout;
	return (__u64)s * NS_PER_SEC;
}

static __always_inline int ct_expired(const struct edgelb_ct *ct, const struct edgelb_cfg *cfg, __u64 now)
{
	return now - ct->last_ns > ct_timeout_ns(ct, cfg);
}

/* The other entry of an entry's flow (forward <-> reply), or 0: its key is this entry's
 * translated tuple reversed, and it must translate back to the packet's sender (else the key was
 * re-used by another flow). k receives its key (ct_other_key: without the lookup). */
static __always_inline void ct_other_key(struct edgelb_ct_key *k, const struct edgelb_ct *ct, const struct pkt *p)
{
	k->src = ct->new_dst;
	k->sport = ct->new_dport;
	k->dst = ct->new_src;
	k->dport = ct->new_sport;
	k->proto = p->proto;
	k->family = p->family;
	k->pad = 0;
}

static __always_inline struct edgelb_ct *ct_other(const struct edgelb_ct *ct, const struct pkt *p, struct edgelb_ct_key *k)
{
	ct_other_key(k, ct, p);
	struct edgelb_ct *o = ct_lookup(k);
	if (!o || o->new_dport != p->key.sport || o->new_dst.a[0] != p->key.src.a[0] ||
	    o->new_dst.a[3] != p->key.src.a[3])
		return 0;
	return o;
}

/* Report a flow to connection sync (both entries, forward first), when sync runs. Never for an
 * embryonic flow: callers report on established, FIN and RST only. */
static __always_inline void ct_report(const struct edgelb_ct_key *ka, const struct edgelb_ct *a,
				      const struct edgelb_ct_key *kb, const struct edgelb_ct *b)
{
	__u32 zero = 0;
	struct edgelb_cfg *cfg = bpf_map_lookup_elem(&edgelb_cfg, &zero);
	if (!cfg || !(cfg->flags & EDGELB_CFG_F_SYNC))
		return;
	struct edgelb_ct_event *ev = bpf_ringbuf_reserve(&edgelb_ct_ev, sizeof(*ev), 0);
	if (!ev) {
		cnt_inc(EDGELB_CNT_SYNC_EVENT_LOST);
		return;
	}
	int a_fwd = !(a->flags & EDGELB_CT_F_REPLY);
	__builtin_memcpy(&ev->fkey, a_fwd ? ka : kb, sizeof(ev->fkey));
	__builtin_memcpy(&ev->rkey, a_fwd ? kb : ka, sizeof(ev->rkey));
	__builtin_memcpy(&ev->fwd, a_fwd ? a : b, sizeof(ev->fwd));
	__builtin_memcpy(&ev->rev, a_fwd ? b : a, sizeof(ev->rev));
	/* adaptive wake-up: the sync thread's poll wakes only when the ring was drained (empty),
	 * at most once per drain however many flows follow */
	bpf_ringbuf_submit(ev, 0);
	cnt_inc(EDGELB_CNT_SYNC_EVENT);
}

/* Set the state of an entry and of the other entry of its flow, and report the flow to sync. */
static __always_inline void ct_set_state(struct edgelb_ct *ct, const struct pkt *p, __u8 state, __u64 now)
{
	ct->state = state;
	ct->last_ns = now;
	if (ct->mode == EDGELB_MODE_DSR)
		return;
	struct edgelb_ct_key k = {};
	struct edgelb_ct *o = ct_other(ct, p, &k);
	if (!o)
		return;
	o->state = state;
	o->last_ns = now;
	ct_report(&p->key, ct, &k, o);
}

/* A UDP flow's reply entry on the backend's first answer: report the flow once (UDP has no
 * handshake; an answered flow is the established one, a one-way flood is not). */
static __noinline void ct_share_udp(struct edgelb_ct *ct, const struct pkt *p)
{
	ct->flags |= EDGELB_CT_F_SHARED;
	struct edgelb_ct_key k = {};
	struct edgelb_ct *o = ct_other(ct, p, &k);
	if (o)
		ct_report(&p->key, ct, &k, o);
}

/* Is the other entry of this forward entry's flow a reply entry that has seen the backend? */
static __always_inline int ct_backend_answered(const struct edgelb_ct *ct, const struct pkt *p)
{
	struct edgelb_ct_key k = {};
	struct edgelb_ct *o = ct_other(ct, p, &k);
	return o && o->state == EDGELB_CT_ST_SYN_REPLY;
}

/* Does this packet change its flow's TCP state? (Inline: most packets of a flow do not.) */
static __always_inline int ct_track_needed(const struct edgelb_ct *ct, const struct pkt *p)
{
	return p->proto == IPPROTO_TCP &&
	       (ct->state != EDGELB_CT_ST_ESTABLISHED || (p->tcp_flags & (TCP_FLAG_FIN_ | TCP_FLAG_RST_)));
}

/* TCP state of a tracked flow, from one of its packets. */
static __noinline void ct_track(struct edgelb_ct *ct, const struct pkt *p, __u64 now)
{
	if (p->proto != IPPROTO_TCP)
		return;
	__u8 f = p->tcp_flags, st = ct->state;
	if (f & TCP_FLAG_RST_) {
		if (st != EDGELB_CT_ST_RST) {
			ct_set_state(ct, p, EDGELB_CT_ST_RST, now);
			cnt_inc(EDGELB_CNT_CT_CLOSING);
		}
		return;
	}
	if (f & TCP_FLAG_FIN_) {
		if (st != EDGELB_CT_ST_FIN && st != EDGELB_CT_ST_RST) {
			ct_set_state(ct, p, EDGELB_CT_ST_FIN, now);
			cnt_inc(EDGELB_CNT_CT_CLOSING);
		}
		return;
	}
	if (ct->flags & EDGELB_CT_F_REPLY) {
		/* the backend answered (SYN-ACK): recorded in the reply entry only */
		if (st == EDGELB_CT_ST_SYN)
			ct->state = EDGELB_CT_ST_SYN_REPLY;
		return;
	}
	/* the client's ACK after the backend's answer (dsr: the client's second packet) */
	if (st == EDGELB_CT_ST_SYN && (f & TCP_FLAG_ACK_) && !(f & TCP_FLAG_SYN_) &&
	    (ct->mode == EDGELB_MODE_DSR || ct_backend_answered(ct, p))) {
		ct_set_state(ct, p, EDGELB_CT_ST_ESTABLISHED, now);
		cnt_inc(EDGELB_CNT_CT_ESTABLISHED);
	}
}

/* Fair share: at most cfg->snat_share new SNAT ports per (client, backend, protocol) per window
 * (the embryonic timeout for TCP, the service timeout for UDP: how long an unanswered port stays
 * held). IPv6 clients are counted per /64. Counters live in a keyed-hash-indexed array. */
static __noinline int snat_share_ok(const struct pkt *p, __u32 be_index, const struct edgelb_cfg *cfg,
				    __u32 window_sec, __u64 now)
{
	if (cfg->snat_share == 0)
		return 1;
	__u64 m[2];
	m[0] = ((__u64)p->key.src.a[1] << 32) | p->key.src.a[0]; /* IPv4: a[1] = 0; IPv6: its /64 */
	m[1] = ((__u64)p->proto << 32) | be_index;
	__u32 idx = siphash13(m, 2, cfg) & (EDGELB_SNAT_CLIENTS_SIZE - 1);
	struct edgelb_snat_client *c = bpf_map_lookup_elem(&edgelb_snat_cl, &idx);
	if (!c)
		return 1;
	if (now - c->win_ns < (__u64)window_sec * NS_PER_SEC) {
		if (c->count >= cfg->snat_share)
			return 0;
		__sync_fetch_and_add(&c->count, 1);
		return 1;
	}
	c->win_ns = now;
	c->count = 1;
	return 1;
}

/* The i-th port of the configured ranges (host order), 0 when out of range. */
static __always_inline __u16 nat_port_at(const struct edgelb_cfg *cfg, __u32 i)
{
#pragma unroll
	for (int r = 0; r < EDGELB_PORT_RANGES; r++) {
		__u32 lo = cfg->ports[r].lo, hi = cfg->ports[r].hi;
		if (lo == 0 || hi < lo)
			return 0;
		__u32 n = hi - lo + 1;
		if (i < n)
			return lo + i;
		i -= n;
	}
	return 0;
}

/* Claim a reply entry with a free SNAT port (or one whose flow expired); the port, or -1. */
static __always_inline int nat_claim(struct edgelb_ct_key *rkey, struct edgelb_ct *rval,
				     const struct edgelb_cfg *cfg, __u32 h, __u64 now)
{
	__u32 total = cfg->port_total;
	if (total == 0)
		return -1;
	/* hash-spread probes: at 50% of the ports in use, 32 tries all fail with p = 2^-32 */
	for (int i = 0; i < NAT_PORT_TRIES; i++) {
		__u16 port = nat_port_at(cfg, (h + i * 40503u) % total);
		if (port == 0)
			return -1;
		rkey->dport = bpf_htons(port);
		if (ct_update(rkey, rval, BPF_NOEXIST) == 0)
			return port;
		struct edgelb_ct *old = ct_lookup(rkey);
		if (old && ct_expired(old, cfg, now)) {
			if (ct_update(rkey, rval, BPF_ANY) == 0)
				return port;
		}
	}
	return -1;
}

#endif
