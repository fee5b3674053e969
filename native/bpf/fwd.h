/* fwd.h: the last step of a translated packet — TTL / hop limit, the next hop (toward a backend
 * from the daemon's next-hop map; on a miss and toward clients from bpf_fib_lookup, cached in the
 * flow's entry for about a second), MAC rewrite and XDP_TX, or the kernel when it must resolve or
 * route. */
#ifndef EDGELB_FWD_H
#define EDGELB_FWD_H

#include "maps.h"
#include "parse.h"
#include "csum.h"
#include "ct.h"

#define AF_INET_ 2
#define AF_INET6_ 10

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

/* Set the MACs, count the service's and backend's statistics, XDP_TX (the full path's send() and
 * the flow cache's hit). */
static __always_inline int tx_macs(struct xdp_md *ctx, const struct pkt *p, const __u8 *smac, const __u8 *dmac,
				   __u32 svc_index, __u32 be_index)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
	__builtin_memcpy(eth->h_dest, dmac, 6);
	__builtin_memcpy(eth->h_source, smac, 6);
	stats_add(&edgelb_svc_st, svc_index, p->len);
	stats_add(&edgelb_be_st, be_index, p->len);
	return verdict(EDGELB_CNT_TX, XDP_TX);
}

/* Find the next hop toward ct->nh for the (already rewritten) packet, set the MACs and transmit,
 * or hand the packet to the kernel. Toward a backend: the next-hop map (the daemon keeps it from
 * netlink events), so a MAC change reaches the next packet; on a miss, and toward clients, the
 * flow's entry caches bpf_fib_lookup's answer for about a second. new_flow: count the map's hit
 * or miss (NH_CACHED / NH_MISS) for a flow's first packet. */
static __always_inline int send(struct xdp_md *ctx, struct pkt *p, struct edgelb_ct *ct, __u64 now, int new_flow)
{
	int dsr = ct->mode == EDGELB_MODE_DSR && !(ct->flags & EDGELB_CT_F_REPLY);
	int fresh = 0;
	const __u8 *smac = ct->smac, *dmac = ct->dmac;
	if (!(ct->flags & EDGELB_CT_F_REPLY)) {
		struct edgelb_nh *nh = bpf_map_lookup_elem(&edgelb_be_nh, &ct->be_index);
		if (nh && nh->flags == EDGELB_NH_F_VALID && nh->gen == ct->be_gen && nh->ifindex == ctx->ingress_ifindex) {
			smac = nh->smac;
			dmac = nh->dmac;
			/* the idle timer, refreshed about once a second like the FIB path does; the
			 * entry's own FIB cache is dropped (were the map entry to go, a FIB lookup follows) */
			if (now - ct->last_ns >= NS_PER_SEC)
				ct->last_ns = now;
			if (ct->flags & EDGELB_CT_F_L2)
				ct->flags &= ~EDGELB_CT_F_L2;
			fresh = 1;
			if (new_flow)
				cnt_inc(EDGELB_CNT_NH_CACHED);
		} else if (new_flow) {
			cnt_inc(EDGELB_CNT_NH_MISS);
		}
	}
	if (!fresh)
		fresh = (ct->flags & EDGELB_CT_F_L2) && ct->ifindex == ctx->ingress_ifindex && now - ct->last_ns < NS_PER_SEC;
	if (!fresh) {
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
	return tx_macs(ctx, p, smac, dmac, ct->svc_index, ct->be_index);
}

#endif
