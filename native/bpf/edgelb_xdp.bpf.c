/* edgelb_xdp.bpf.c: the XDP program on the node's uplink. Per packet: parse; a tracked flow
 * (conntrack LRU, both directions in one map) is rewritten and sent; a new flow to a service
 * (VIP, port, protocol) gets a backend (Maglev by default), conntrack entries for both
 * directions (with an SNAT port for onearm/fullnat), and is rewritten and sent. Next hops come
 * from bpf_fib_lookup; anything the program does not own goes to the kernel untouched. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "edgelb_shared.h"
#include "maps.h"
#include "parse.h"
#include "csum.h"
#include "nat.h"
#include "maglev.h"

#define AF_INET_ 2
#define AF_INET6_ 10
#define NS_PER_SEC 1000000000ULL
#define NAT_PORT_TRIES 32

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int is_vip(const struct pkt *p)
{
	struct edgelb_vip_key k = {};
	k.vip = p->key.dst;
	k.family = p->family;
	return bpf_map_lookup_elem(&edgelb_vips, &k) != 0;
}

static __always_inline int addr_eq(const struct edgelb_addr *a, const struct edgelb_addr *b)
{
	return a->a[0] == b->a[0] && a->a[1] == b->a[1] && a->a[2] == b->a[2] && a->a[3] == b->a[3];
}

/* TTL / hop limit: 1 if the packet may be forwarded (and decrement it when dec). */
static __always_inline int ttl_ok(struct xdp_md *ctx, int family, int dec)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	if (family == 4) {
		struct iphdr *ip = data + ETH_LEN;
		if ((void *)(ip + 1) > data_end)
			return 0;
		if (ip->ttl <= 1)
			return 0;
		if (dec) {
			__u16 *w = (__u16 *)&ip->ttl;
			__u16 old = *w;
			__u32 acc = 0;
			ip->ttl--;
			csum_acc16(&acc, old, *w);
			ip->check = csum_apply(ip->check, acc);
		}
		return 1;
	}
	struct ipv6hdr *ip6 = data + ETH_LEN;
	if ((void *)(ip6 + 1) > data_end)
		return 0;
	if (ip6->hop_limit <= 1)
		return 0;
	if (dec)
		ip6->hop_limit--;
	return 1;
}

/* Find the next hop toward ct->nh for the (already rewritten) packet, set the MACs and transmit,
 * or hand the packet to the kernel. Caches the next hop in ct for about a second. */
static __always_inline int send(struct xdp_md *ctx, struct pkt *p, struct edgelb_ct *ct, __u64 now)
{
	int dsr = ct->mode == EDGELB_MODE_DSR && !(ct->flags & EDGELB_CT_F_REPLY);
	if (!(ct->flags & EDGELB_CT_F_L2) || ct->ifindex != ctx->ingress_ifindex ||
	    now - ct->last_ns >= NS_PER_SEC) {
		struct bpf_fib_lookup f = {};
		void *data = (void *)(long)ctx->data;
		void *data_end = (void *)(long)ctx->data_end;
		f.ifindex = ctx->ingress_ifindex;
		f.l4_protocol = p->proto;
		if (p->family == 4) {
			struct iphdr *ip = data + ETH_LEN;
			if ((void *)(ip + 1) > data_end)
				return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
			f.family = AF_INET_;
			f.tos = ip->tos;
			f.tot_len = bpf_ntohs(ip->tot_len);
			f.ipv4_src = ip->saddr;
			f.ipv4_dst = ct->nh.a[0];
		} else {
			struct ipv6hdr *ip6 = data + ETH_LEN;
			if ((void *)(ip6 + 1) > data_end)
				return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
			f.family = AF_INET6_;
			f.tot_len = bpf_ntohs(ip6->payload_len) + IP6_LEN;
			__builtin_memcpy(f.ipv6_src, &ip6->saddr, 16);
			__builtin_memcpy(f.ipv6_dst, &ct->nh, 16);
		}
		long rc = bpf_fib_lookup(ctx, &f, sizeof(f), 0);
		if (dsr && (rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH)) {
			/* dsr only works on the uplink's segment: no gateway, same interface */
			struct edgelb_addr gw = {};
			if (p->family == 4)
				gw.a[0] = f.ipv4_dst;
			else
				__builtin_memcpy(&gw, f.ipv6_dst, 16);
			if (f.ifindex != ctx->ingress_ifindex || !addr_eq(&gw, &ct->nh))
				return verdict(EDGELB_CNT_DROP_DSR_OFFLINK, XDP_DROP);
			/* the kernel cannot forward a packet still addressed to the VIP: drop this one;
			 * the managed neighbour entry of the backend resolves it for the next */
			if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
				return verdict(EDGELB_CNT_DROP_DSR_NO_NEIGH, XDP_DROP);
		}
		/* next hop on another interface (an overlay, another NIC): the kernel routes it */
		if ((rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH) &&
		    f.ifindex != ctx->ingress_ifindex)
			return verdict(EDGELB_CNT_PASS_ROUTE, XDP_PASS);
		switch (rc) {
		case BPF_FIB_LKUP_RET_SUCCESS:
			break;
		case BPF_FIB_LKUP_RET_NO_NEIGH:
			return verdict(EDGELB_CNT_PASS_NO_NEIGH, XDP_PASS);
		case BPF_FIB_LKUP_RET_FWD_DISABLED:
			return verdict(EDGELB_CNT_PASS_FWD_DISABLED, XDP_PASS);
		case BPF_FIB_LKUP_RET_FRAG_NEEDED:
			return verdict(EDGELB_CNT_PASS_FRAG_NEEDED, XDP_PASS);
		case BPF_FIB_LKUP_RET_BLACKHOLE:
		case BPF_FIB_LKUP_RET_UNREACHABLE:
		case BPF_FIB_LKUP_RET_PROHIBIT:
			return verdict(EDGELB_CNT_DROP_FIB, XDP_DROP);
		default:
			return verdict(EDGELB_CNT_PASS_NOT_FWDED, XDP_PASS);
		}
		__builtin_memcpy(ct->smac, f.smac, 6);
		__builtin_memcpy(ct->dmac, f.dmac, 6);
		ct->ifindex = f.ifindex;
		ct->flags |= EDGELB_CT_F_L2;
		ct->last_ns = now;
	}
	if (!dsr && !ttl_ok(ctx, p->family, 1))
		return verdict(EDGELB_CNT_PASS_TTL, XDP_PASS);
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
	__builtin_memcpy(eth->h_dest, ct->dmac, 6);
	__builtin_memcpy(eth->h_source, ct->smac, 6);
	stats_add(&edgelb_svc_st, ct->svc_index, p->len);
	stats_add(&edgelb_be_st, ct->be_index, p->len);
	return verdict(EDGELB_CNT_TX, XDP_TX);
}

/* Rewrite a TCP/UDP packet of a tracked flow and send it. */
static __always_inline int xlate(struct xdp_md *ctx, struct pkt *p, struct edgelb_ct *ct, __u64 now)
{
	if (ct->flags & (EDGELB_CT_F_SNAT | EDGELB_CT_F_DNAT)) {
		if (!ttl_ok(ctx, p->family, 0))
			return verdict(EDGELB_CNT_PASS_TTL, XDP_PASS);
		int r = p->family == 4 ? nat_rewrite4(ctx, p, ct) : nat_rewrite6(ctx, p, ct);
		if (r < 0)
			return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
	}
	return send(ctx, p, ct, now);
}

/* Claim a reply entry with a free SNAT port; 0 on success. */
static __always_inline int nat_claim(struct edgelb_ct_key *rkey, struct edgelb_ct *rval,
				     const struct edgelb_cfg *cfg, __u32 h, __u64 now)
{
	__u32 lo = cfg->port_min, hi = cfg->port_max;
	if (lo == 0 || hi < lo)
		return -1;
	__u32 range = hi - lo + 1;
	/* hash-spread probes: at 50% of the range in use, 32 tries all fail with p = 2^-32 */
	for (int i = 0; i < NAT_PORT_TRIES; i++) {
		__u16 port = lo + (h + i * 40503u) % range;
		rkey->dport = bpf_htons(port);
		if (bpf_map_update_elem(&edgelb_ct, rkey, rval, BPF_NOEXIST) == 0)
			return port;
		struct edgelb_ct *old = bpf_map_lookup_elem(&edgelb_ct, rkey);
		if (old && now - old->last_ns > (__u64)old->timeout_sec * NS_PER_SEC) {
			if (bpf_map_update_elem(&edgelb_ct, rkey, rval, BPF_ANY) == 0)
				return port;
		}
	}
	return -1;
}

static __always_inline int new_flow(struct xdp_md *ctx, struct pkt *p, const struct edgelb_svc *svc,
				    __u64 now)
{
	__u32 zero = 0;
	struct edgelb_cfg *cfg = bpf_map_lookup_elem(&edgelb_cfg, &zero);
	if (!cfg)
		return verdict(EDGELB_CNT_DROP_NO_BACKEND, XDP_DROP);
	__u32 be_index = select_backend(&p->key, svc, cfg);
	if (be_index == EDGELB_MAGLEV_EMPTY)
		return verdict(EDGELB_CNT_DROP_NO_BACKEND, XDP_DROP);
	struct edgelb_backend *be = bpf_map_lookup_elem(&edgelb_be, &be_index);
	if (!be || be->family != p->family)
		return verdict(EDGELB_CNT_DROP_NO_BACKEND, XDP_DROP);

	struct edgelb_ct fwd = {};
	fwd.mode = svc->mode;
	fwd.last_ns = now;
	fwd.timeout_sec = svc->timeout_sec;
	fwd.svc_index = svc->index;
	fwd.be_index = be_index;
	fwd.be_gen = be->gen;
	fwd.nh = be->addr;
	fwd.new_src = p->key.src;
	fwd.new_sport = p->key.sport;
	fwd.new_dst = p->key.dst;
	fwd.new_dport = p->key.dport;

	if (svc->mode != EDGELB_MODE_DSR) {
		struct edgelb_ct_key rkey = {};
		struct edgelb_ct rval = {};
		fwd.flags = EDGELB_CT_F_DNAT;
		fwd.new_dst = be->addr;
		fwd.new_dport = be->port;
		/* the reply entry: backend -> (client | node | VIP) becomes VIP -> client */
		rkey.src = be->addr;
		rkey.sport = be->port;
		rkey.proto = p->proto;
		rkey.family = p->family;
		rval.mode = svc->mode;
		rval.flags = EDGELB_CT_F_REPLY | EDGELB_CT_F_SNAT;
		rval.last_ns = now;
		rval.timeout_sec = svc->timeout_sec;
		rval.svc_index = svc->index;
		rval.be_index = be_index;
		rval.be_gen = be->gen;
		rval.new_src = p->key.dst;
		rval.new_sport = p->key.dport;
		rval.new_dst = p->key.src;
		rval.new_dport = p->key.sport;
		rval.nh = p->key.src;
		if (svc->mode == EDGELB_MODE_DNAT) {
			rkey.dst = p->key.src;
			rkey.dport = p->key.sport;
			if (bpf_map_update_elem(&edgelb_ct, &rkey, &rval, BPF_ANY) != 0)
				cnt_inc(EDGELB_CNT_CT_INSERT_FAIL);
		} else {
			rval.flags |= EDGELB_CT_F_DNAT;
			if (svc->mode == EDGELB_MODE_ONEARM)
				rkey.dst = p->family == 4 ? cfg->node4 : cfg->node6;
			else
				rkey.dst = p->key.dst;
			if (rkey.dst.a[0] == 0 && rkey.dst.a[1] == 0 && rkey.dst.a[2] == 0 && rkey.dst.a[3] == 0)
				return verdict(EDGELB_CNT_DROP_NAT_PORTS, XDP_DROP);
			int port = nat_claim(&rkey, &rval, cfg, flow_hash(&p->key, 0), now);
			if (port < 0)
				return verdict(EDGELB_CNT_DROP_NAT_PORTS, XDP_DROP);
			fwd.flags |= EDGELB_CT_F_SNAT;
			fwd.new_src = rkey.dst;
			/* (the reply entry, already inserted, also rewrites node|VIP:port -> client) */
			fwd.new_sport = bpf_htons((__u16)port);
		}
	}
	if (p->proto == IPPROTO_TCP && !(p->tcp_flags & TCP_FLAG_SYN_))
		cnt_inc(EDGELB_CNT_CT_NEW_NON_SYN);
	cnt_inc(EDGELB_CNT_CT_NEW);
	if (bpf_map_update_elem(&edgelb_ct, &p->key, &fwd, BPF_ANY) != 0) {
		cnt_inc(EDGELB_CNT_CT_INSERT_FAIL);
		return xlate(ctx, p, &fwd, now);
	}
	struct edgelb_ct *ct = bpf_map_lookup_elem(&edgelb_ct, &p->key);
	return xlate(ctx, p, ct ? ct : &fwd, now);
}

/* ICMP errors about a tracked flow: translate and send toward the flow's other side. */
static __always_inline int icmp_err(struct xdp_md *ctx, struct pkt *p, __u64 now)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct edgelb_ct_key k = {};
	__u16 *ports;
	__u8 t = p->icmp_type;

	if (p->family == 4) {
		if (p->proto != IPPROTO_ICMP || !(t == 3 || t == 11 || t == 12))
			return verdict(EDGELB_CNT_PASS_ICMP, XDP_PASS);
		struct iphdr *in = data + ICMP4_INNER;
		ports = data + ICMP4_INNER + IP4_LEN;
		if ((void *)(ports + 2) > data_end || in->ihl != 5)
			return verdict(EDGELB_CNT_PASS_ICMP, XDP_PASS);
		k.family = 4;
		k.proto = in->protocol;
		k.src.a[0] = in->daddr;
		k.dst.a[0] = in->saddr;
	} else {
		if (p->proto != IPPROTO_ICMPV6 || !(t >= 1 && t <= 4))
			return verdict(EDGELB_CNT_PASS_ICMP, XDP_PASS);
		struct ipv6hdr *in = data + ICMP6_INNER;
		ports = data + ICMP6_INNER + IP6_LEN;
		if ((void *)(ports + 2) > data_end)
			return verdict(EDGELB_CNT_PASS_ICMP, XDP_PASS);
		k.family = 6;
		k.proto = in->nexthdr;
		__builtin_memcpy(&k.src, &in->daddr, 16);
		__builtin_memcpy(&k.dst, &in->saddr, 16);
	}
	if (k.proto != IPPROTO_TCP && k.proto != IPPROTO_UDP)
		return verdict(EDGELB_CNT_PASS_ICMP, XDP_PASS);
	k.sport = ports[1];
	k.dport = ports[0];
	struct edgelb_ct *ct = bpf_map_lookup_elem(&edgelb_ct, &k);
	if (!ct)
		return verdict(EDGELB_CNT_PASS_ICMP, XDP_PASS);
	if (!ttl_ok(ctx, p->family, 0))
		return verdict(EDGELB_CNT_PASS_TTL, XDP_PASS);
	int r = p->family == 4 ? icmp_rewrite4(ctx, ct) : icmp_rewrite6(ctx, ct);
	if (r < 0)
		return verdict(EDGELB_CNT_PASS_ICMP, XDP_PASS);
	cnt_inc(EDGELB_CNT_ICMP_TRANSLATED);
	return send(ctx, p, ct, now);
}

SEC("xdp")
int edgelb_xdp(struct xdp_md *ctx)
{
	struct pkt p = {};
	cnt_inc(EDGELB_CNT_RX);
	switch (parse(ctx, &p)) {
	case PARSE_OK:
		break;
	case PARSE_ICMP:
		return icmp_err(ctx, &p, bpf_ktime_get_ns());
	case PARSE_NOT_IP:
		return verdict(EDGELB_CNT_PASS_NOT_IP, XDP_PASS);
	case PARSE_FRAGMENT:
		return verdict(EDGELB_CNT_PASS_FRAGMENT, XDP_PASS);
	case PARSE_OPTIONS:
		return verdict(EDGELB_CNT_PASS_IP_OPTIONS, XDP_PASS);
	case PARSE_L4_MALFORMED:
		if (is_vip(&p))
			return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
		return verdict(EDGELB_CNT_PASS_MALFORMED, XDP_PASS);
	case PARSE_MALFORMED:
		return verdict(EDGELB_CNT_PASS_MALFORMED, XDP_PASS);
	default:
		return verdict(EDGELB_CNT_PASS_NOT_VIP, XDP_PASS);
	}

	__u64 now = bpf_ktime_get_ns();
	struct edgelb_ct *ct = bpf_map_lookup_elem(&edgelb_ct, &p.key);
	if (ct) {
		if (ct->flags & EDGELB_CT_F_REPLY) {
			cnt_inc(EDGELB_CNT_CT_REPLY_HIT);
			return xlate(ctx, &p, ct, now);
		}
		struct edgelb_backend *be = bpf_map_lookup_elem(&edgelb_be, &ct->be_index);
		if (!be || be->gen != ct->be_gen || be->family == 0) {
			cnt_inc(EDGELB_CNT_CT_BACKEND_GONE);
		} else if (now - ct->last_ns > (__u64)ct->timeout_sec * NS_PER_SEC) {
			cnt_inc(EDGELB_CNT_CT_EXPIRED);
		} else {
			cnt_inc(EDGELB_CNT_CT_HIT);
			return xlate(ctx, &p, ct, now);
		}
	}
	struct edgelb_svc_key sk = {};
	sk.vip = p.key.dst;
	sk.port = p.key.dport;
	sk.proto = p.proto;
	sk.family = p.family;
	struct edgelb_svc *svc = bpf_map_lookup_elem(&edgelb_svc, &sk);
	if (!svc) {
		if (is_vip(&p))
			return verdict(EDGELB_CNT_PASS_VIP_NO_SVC, XDP_PASS);
		return verdict(EDGELB_CNT_PASS_NOT_VIP, XDP_PASS);
	}
	return new_flow(ctx, &p, svc, now);
}
