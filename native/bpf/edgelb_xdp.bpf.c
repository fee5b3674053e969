/* edgelb_xdp.bpf.c: the XDP program on the node's uplink. Per packet: parse; a packet neither to
 * a VIP nor from a backend (address filter) leaves at once; an established flow's packet is sent
 * from the per-CPU flow cache when its slot is there (fcache.h); a tracked flow (conntrack LRU, both
 * directions in one map, TCP-aware: ct.h) is rewritten and sent; a new flow to a service (VIP,
 * port, protocol) gets a backend (Maglev by default, keyed hash), conntrack entries for both
 * directions (with a fairly shared SNAT port for onearm/fullnat), and is rewritten and sent.
 * Everything else addressed to a VIP ends here too: echo answered, unserved ports, options,
 * untracked fragments and stray TCP dropped and counted (vip.h). Next hops: fwd.h. BFD control
 * packets of offloaded sessions are answered while the daemon is away (bfd.h). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "edgelb_shared.h"
#include "maps.h"
#include "parse.h"
#include "csum.h"
#include "nat.h"
#include "maglev.h"
#include "ct.h"
#include "fwd.h"
#include "vip.h"
#include "bfd.h"
#include "fcache.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Rewrite a TCP/UDP packet of a tracked flow and send it. */
static __always_inline int xlate(struct xdp_md *ctx, struct pkt *p, struct edgelb_ct *ct, __u64 now, int new_flow)
{
	if (ct->flags & (EDGELB_CT_F_SNAT | EDGELB_CT_F_DNAT)) {
		if (!ttl_ok(ctx, p->family, 0))
			return verdict(EDGELB_CNT_PASS_TTL, XDP_PASS);
		int r = p->family == 4 ? nat_rewrite4(ctx, p, ct) : nat_rewrite6(ctx, p, ct);
		if (r < 0)
			return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
	}
	/* a synced flow that passes here is this node's from now on (its refresh reports it) */
	if (ct->flags & EDGELB_CT_F_SYNCED)
		ct->flags &= ~EDGELB_CT_F_SYNCED;
	return send(ctx, p, ct, now, new_flow);
}

static __noinline int new_flow(struct xdp_md *ctx, struct pkt *p, const struct edgelb_svc *svc,
				    const struct edgelb_cfg *cfg, __u64 now)
{
	__u8 state = EDGELB_CT_ST_ESTABLISHED;
	if (p->proto == IPPROTO_TCP) {
		state = EDGELB_CT_ST_SYN;
		if (!tcp_pure_syn(p)) {
			/* no state from a stray segment where a port would be taken: a flow whose entry
			 * arrives later (restart, sync) lives on once it is there */
			if (svc->mode == EDGELB_MODE_ONEARM || svc->mode == EDGELB_MODE_FULLNAT)
				return verdict(EDGELB_CNT_DROP_CT_STRAY, XDP_DROP);
			cnt_inc(EDGELB_CNT_CT_NEW_NON_SYN);
		}
	}
	__u32 fh = 0;
	int have_fh = 0;
	__u32 be_index = select_backend(&p->key, svc, cfg, &fh, &have_fh);
	if (be_index == EDGELB_MAGLEV_EMPTY)
		return verdict(EDGELB_CNT_DROP_NO_BACKEND, XDP_DROP);
	struct edgelb_backend *be = bpf_map_lookup_elem(&edgelb_be, &be_index);
	if (!be || be->family != p->family)
		return verdict(EDGELB_CNT_DROP_NO_BACKEND, XDP_DROP);

	/* both entries are built in per-CPU scratch (slot 1: forward, 0: reply), off the stack */
	__u32 one = 1;
	struct edgelb_ct *fwd = bpf_map_lookup_elem(&edgelb_scratch, &one);
	if (!fwd)
		return verdict(EDGELB_CNT_DROP_NO_BACKEND, XDP_DROP);
	__builtin_memset(fwd, 0, sizeof(*fwd));
	fwd->mode = svc->mode;
	fwd->state = state;
	fwd->last_ns = now;
	fwd->timeout_sec = svc->timeout_sec;
	fwd->svc_index = svc->index;
	fwd->be_index = be_index;
	fwd->be_gen = be->gen;
	fwd->nh = be->addr;
	fwd->new_src = p->key.src;
	fwd->new_sport = p->key.sport;
	fwd->new_dst = p->key.dst;
	fwd->new_dport = p->key.dport;

	if (svc->mode != EDGELB_MODE_DSR) {
		struct edgelb_ct_key rkey = {};
		__u32 zero = 0;
		struct edgelb_ct *rv = bpf_map_lookup_elem(&edgelb_scratch, &zero);
		if (!rv)
			return verdict(EDGELB_CNT_DROP_NO_BACKEND, XDP_DROP);
		__builtin_memset(rv, 0, sizeof(*rv));
		fwd->flags = EDGELB_CT_F_DNAT;
		fwd->new_dst = be->addr;
		fwd->new_dport = be->port;
		/* the reply entry: backend -> (client | node | VIP) becomes VIP -> client */
		rkey.src = be->addr;
		rkey.sport = be->port;
		rkey.proto = p->proto;
		rkey.family = p->family;
		rv->mode = svc->mode;
		rv->state = state;
		rv->flags = EDGELB_CT_F_REPLY | EDGELB_CT_F_SNAT;
		rv->last_ns = now;
		rv->timeout_sec = svc->timeout_sec;
		rv->svc_index = svc->index;
		rv->be_index = be_index;
		rv->be_gen = be->gen;
		rv->new_src = p->key.dst;
		rv->new_sport = p->key.dport;
		rv->new_dst = p->key.src;
		rv->new_dport = p->key.sport;
		rv->nh = p->key.src;
		if (svc->mode == EDGELB_MODE_DNAT) {
			rkey.dst = p->key.src;
			rkey.dport = p->key.sport;
			if (ct_update(&rkey, rv, BPF_ANY) != 0)
				cnt_inc(EDGELB_CNT_CT_INSERT_FAIL);
		} else {
			rv->flags |= EDGELB_CT_F_DNAT;
			if (svc->mode == EDGELB_MODE_ONEARM)
				rkey.dst = p->family == 4 ? cfg->node4 : cfg->node6;
			else
				rkey.dst = p->key.dst;
			if (rkey.dst.a[0] == 0 && rkey.dst.a[1] == 0 && rkey.dst.a[2] == 0 && rkey.dst.a[3] == 0)
				return verdict(EDGELB_CNT_DROP_NAT_PORTS, XDP_DROP);
			if (!snat_share_ok(p, be_index, cfg, p->proto == IPPROTO_TCP ? cfg->tcp_syn_timeout : svc->timeout_sec, now))
				return verdict(EDGELB_CNT_DROP_SNAT_SHARE, XDP_DROP);
			int port = nat_claim(&rkey, rv, cfg, have_fh ? fh : flow_hash(&p->key, 0, cfg), now);
			if (port < 0)
				return verdict(EDGELB_CNT_DROP_NAT_PORTS, XDP_DROP);
			fwd->flags |= EDGELB_CT_F_SNAT;
			fwd->new_src = rkey.dst;
			/* (the reply entry, already inserted, also rewrites node|VIP:port -> client) */
			fwd->new_sport = bpf_htons((__u16)port);
		}
	}
	cnt_inc(EDGELB_CNT_CT_NEW);
	/* translate and send with the new entry first (its next hop cached in it), then insert it:
	 * one map operation instead of an insert and a lookup */
	int v = xlate(ctx, p, fwd, now, 1);
	if (ct_update(&p->key, fwd, BPF_ANY) != 0)
		cnt_inc(EDGELB_CNT_CT_INSERT_FAIL);
	return v;
}

/* ICMP errors about a tracked flow: translate and send toward the flow's other side. Returns -1
 * (nothing counted) when the message is not an error about a tracked flow. */
static __noinline int icmp_err(struct xdp_md *ctx, struct pkt *p, __u64 now)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct edgelb_ct_key k = {};
	__u16 *ports;
	__u8 t = p->icmp_type;

	if (p->family == 4) {
		if (p->proto != IPPROTO_ICMP || !(t == 3 || t == 11 || t == 12))
			return -1;
		struct iphdr *in = data + ICMP4_INNER;
		ports = data + ICMP4_INNER + IP4_LEN;
		if ((void *)(ports + 2) > data_end || in->ihl != 5)
			return -1;
		k.family = 4;
		k.proto = in->protocol;
		k.src.a[0] = in->daddr;
		k.dst.a[0] = in->saddr;
	} else {
		if (p->proto != IPPROTO_ICMPV6 || !(t >= 1 && t <= 4))
			return -1;
		struct ipv6hdr *in = data + ICMP6_INNER;
		ports = data + ICMP6_INNER + IP6_LEN;
		if ((void *)(ports + 2) > data_end)
			return -1;
		k.family = 6;
		k.proto = in->nexthdr;
		__builtin_memcpy(&k.src, &in->daddr, 16);
		__builtin_memcpy(&k.dst, &in->saddr, 16);
	}
	if (k.proto != IPPROTO_TCP && k.proto != IPPROTO_UDP)
		return -1;
	k.sport = ports[1];
	k.dport = ports[0];
	struct edgelb_ct *ct = ct_lookup(&k);
	if (!ct)
		return -1;
	if (!ttl_ok(ctx, p->family, 0))
		return verdict(EDGELB_CNT_PASS_TTL, XDP_PASS);
	int r = p->family == 4 ? icmp_rewrite4(ctx, ct) : icmp_rewrite6(ctx, ct);
	if (r < 0)
		return -1;
	cnt_inc(EDGELB_CNT_ICMP_TRANSLATED);
	return send(ctx, p, ct, now, 0);
}

/* Packets the fast path does not end: ICMP, to a VIP, or from a backend. */
static __always_inline int slow_path(struct xdp_md *ctx, struct pkt *p, int r, int maybe_vip)
{
	__u32 zero = 0;
	__u64 now = now_ns();
	/* the exact VIP test (a hash lookup) only where the verdict depends on it */
	int to_vip = r != PARSE_OK && maybe_vip && is_vip(p);
	struct edgelb_cfg *cfg = bpf_map_lookup_elem(&edgelb_cfg, &zero);
	if (!cfg)
		return verdict(EDGELB_CNT_PASS_NOT_VIP, XDP_PASS);
	switch (r) {
	case PARSE_OK:
		break;
	case PARSE_ICMP:
		if (p->frag)
			return to_vip ? verdict(EDGELB_CNT_DROP_FRAGMENT, XDP_DROP) : verdict(EDGELB_CNT_PASS_FRAGMENT, XDP_PASS);
		/* router and neighbour discovery: the L2 announcer's, whatever the address */
		if (p->family == 6 && p->icmp_type >= 133 && p->icmp_type <= 137)
			return verdict(EDGELB_CNT_PASS_NDP, XDP_PASS);
		if (to_vip && p->icmp_type == (p->family == 4 ? 8 : 128))
			return echo_reply(ctx, p, cfg, now);
		r = icmp_err(ctx, p, now);
		if (r >= 0)
			return r;
		return to_vip ? verdict(EDGELB_CNT_DROP_VIP_ICMP, XDP_DROP) : verdict(EDGELB_CNT_PASS_ICMP, XDP_PASS);
	case PARSE_FRAGMENT:
		if (frag_ports(p, now) == 0) {
			struct edgelb_ct *ct = ct_lookup(&p->key);
			if (ct) {
				cnt_inc(ct->flags & EDGELB_CT_F_REPLY ? EDGELB_CNT_CT_REPLY_HIT : EDGELB_CNT_CT_HIT);
				return xlate(ctx, p, ct, now, 0);
			}
		}
		return to_vip ? verdict(EDGELB_CNT_DROP_FRAGMENT, XDP_DROP) : verdict(EDGELB_CNT_PASS_FRAGMENT, XDP_PASS);
	case PARSE_OPTIONS:
		return to_vip ? verdict(EDGELB_CNT_DROP_IP_OPTIONS, XDP_DROP) : verdict(EDGELB_CNT_PASS_IP_OPTIONS, XDP_PASS);
	case PARSE_L4_MALFORMED:
		return to_vip ? verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP) : verdict(EDGELB_CNT_PASS_MALFORMED, XDP_PASS);
	default: /* another protocol */
		return to_vip ? verdict(EDGELB_CNT_DROP_VIP_NO_SVC, XDP_DROP) : verdict(EDGELB_CNT_PASS_NOT_VIP, XDP_PASS);
	}

	if (p->frag == 1)
		frag_track(p, now);
	struct edgelb_ct *ct = ct_lookup(&p->key);
	if (ct) {
		__u8 was = ct->flags; /* the flow cache never takes an entry that arrived SYNCED */
		if (ct->flags & EDGELB_CT_F_REPLY) {
			cnt_inc(EDGELB_CNT_CT_REPLY_HIT);
			if (ct_track_needed(ct, p)) {
				ct_track(ct, p, now);
				fc_forget_flow(p, ct);
			} else if (p->proto == IPPROTO_UDP && !(ct->flags & EDGELB_CT_F_SHARED) && ct->mode != EDGELB_MODE_DSR)
				ct_share_udp(ct, p);
			return fc_fill(ctx, p, ct, cfg, now, was, xlate(ctx, p, ct, now, 0));
		}
		struct edgelb_backend *be = bpf_map_lookup_elem(&edgelb_be, &ct->be_index);
		if (!be || be->gen != ct->be_gen || be->family == 0) {
			cnt_inc(EDGELB_CNT_CT_BACKEND_GONE);
		} else if (ct_expired(ct, cfg, now)) {
			cnt_inc(EDGELB_CNT_CT_EXPIRED);
		} else if (p->proto == IPPROTO_TCP && tcp_pure_syn(p) &&
			   (ct->state == EDGELB_CT_ST_FIN || ct->state == EDGELB_CT_ST_RST)) {
			/* the client re-uses a closing flow's tuple: a new flow */
		} else {
			cnt_inc(EDGELB_CNT_CT_HIT);
			if (ct_track_needed(ct, p)) {
				ct_track(ct, p, now);
				fc_forget_flow(p, ct);
			}
			return fc_fill(ctx, p, ct, cfg, now, was, xlate(ctx, p, ct, now, 0));
		}
		/* the tuple's flow is replaced below: no CPU may serve the old one from its cache */
		fc_forget_replaced(p, ct);
	}
	struct edgelb_svc_key sk = {};
	sk.vip = p->key.dst;
	sk.port = p->key.dport;
	sk.proto = p->proto;
	sk.family = p->family;
	struct edgelb_svc *svc = bpf_map_lookup_elem(&edgelb_svc, &sk);
	if (!svc) {
		if (!maybe_vip || !is_vip(p))
			return verdict(EDGELB_CNT_PASS_NOT_VIP, XDP_PASS);
		if (p->proto == IPPROTO_TCP && (cfg->flags & EDGELB_CFG_F_RST_UNSERVED) && !p->frag)
			return rst_reply(ctx, p);
		return verdict(EDGELB_CNT_DROP_VIP_NO_SVC, XDP_DROP);
	}
	fc_forget(&p->key); /* (an entry the LRU evicted may have left a slot) */
	return new_flow(ctx, p, svc, cfg, now);
}

SEC("xdp")
int edgelb_xdp(struct xdp_md *ctx)
{
	struct pkt p = {};
	int r = parse(ctx, &p);
	if (r == PARSE_NOT_IP)
		return verdict(EDGELB_CNT_PASS_NOT_IP, XDP_PASS);
	if (r == PARSE_MALFORMED)
		return verdict(EDGELB_CNT_PASS_MALFORMED, XDP_PASS);
	if (r == PARSE_OK && p.proto == IPPROTO_UDP && bfd_port(p.key.dport)) {
		/* BFD control packets of sessions the daemon offloaded (bfd.h) */
		int v = bfd_answer(ctx, &p);
		if (v >= 0)
			return v;
	}
	int maybe_vip = addrf_test(0, &p.key.dst);
	if (!maybe_vip && r != PARSE_ICMP && !addrf_test(1, &p.key.src)) {
		/* fast path: neither to a VIP nor a reply from a backend */
		if (r == PARSE_FRAGMENT)
			return verdict(EDGELB_CNT_PASS_FRAGMENT, XDP_PASS);
		if (r == PARSE_OPTIONS)
			return verdict(EDGELB_CNT_PASS_IP_OPTIONS, XDP_PASS);
		if (r == PARSE_L4_MALFORMED)
			return verdict(EDGELB_CNT_PASS_MALFORMED, XDP_PASS);
		return verdict(EDGELB_CNT_PASS_NOT_VIP, XDP_PASS);
	}
	if (r == PARSE_OK) {
		/* an established flow from the per-CPU flow cache (fcache.h): no conntrack lookup */
		int v = fc_hit(ctx, &p);
		if (v >= 0)
			return v;
	}
	return slow_path(ctx, &p, r, maybe_vip);
}
