/* nat.h: address/port rewrite of TCP/UDP packets and of ICMP errors about tracked flows, with
 * incremental IPv4 header, TCP, UDP and ICMP/ICMPv6 checksum updates. */
#ifndef EDGELB_NAT_H
#define EDGELB_NAT_H

#include "parse.h"
#include "csum.h"

static __always_inline __u16 *l4_csum_ptr(__u8 proto, void *l4, void *data_end)
{
	if (proto == IPPROTO_TCP) {
		if (l4 + 20 > data_end)
			return 0;
		return (__u16 *)(l4 + 16);
	}
	if (l4 + 8 > data_end)
		return 0;
	return (__u16 *)(l4 + 6);
}

/* Apply acc to a TCP/UDP checksum (an IPv4 UDP checksum of 0 means "none" and stays 0). */
static __always_inline void l4_csum_update(__u16 *csum, __u8 proto, int family, __u32 acc)
{
	if (proto == IPPROTO_UDP) {
		if (family == 4 && *csum == 0)
			return;
		__u16 c = csum_apply(*csum, acc);
		*csum = c ? c : 0xffff;
		return;
	}
	*csum = csum_apply(*csum, acc);
}

static __always_inline int nat_rewrite4(struct xdp_md *ctx, struct pkt *p, const struct edgelb_ct *ct)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + ETH_LEN;
	if ((void *)(ip + 1) > data_end)
		return -1;
	if (p->frag == 2) {
		/* a later fragment: addresses only (its ports and checksum are in the first one) */
		__u32 acc = 0;
		if (ct->flags & EDGELB_CT_F_SNAT) {
			csum_acc32(&acc, ip->saddr, ct->new_src.a[0]);
			ip->saddr = ct->new_src.a[0];
		}
		if (ct->flags & EDGELB_CT_F_DNAT) {
			csum_acc32(&acc, ip->daddr, ct->new_dst.a[0]);
			ip->daddr = ct->new_dst.a[0];
		}
		ip->check = csum_apply(ip->check, acc);
		return 0;
	}
	void *l4 = (void *)(ip + 1);
	__u16 *csum = l4_csum_ptr(p->proto, l4, data_end);
	if (!csum)
		return -1;
	__u16 *ports = l4;
	__u32 acc3 = 0, acc4 = 0;
	if (ct->flags & EDGELB_CT_F_SNAT) {
		csum_acc32(&acc3, ip->saddr, ct->new_src.a[0]);
		ip->saddr = ct->new_src.a[0];
		csum_acc16(&acc4, ports[0], ct->new_sport);
		ports[0] = ct->new_sport;
	}
	if (ct->flags & EDGELB_CT_F_DNAT) {
		csum_acc32(&acc3, ip->daddr, ct->new_dst.a[0]);
		ip->daddr = ct->new_dst.a[0];
		csum_acc16(&acc4, ports[1], ct->new_dport);
		ports[1] = ct->new_dport;
	}
	ip->check = csum_apply(ip->check, acc3);
	l4_csum_update(csum, p->proto, 4, acc3 + acc4);
	return 0;
}

static __always_inline void addr6_rewrite(__u32 *acc, __u32 *field, const struct edgelb_addr *to)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		csum_acc32(acc, field[i], to->a[i]);
		field[i] = to->a[i];
	}
}

static __always_inline int nat_rewrite6(struct xdp_md *ctx, struct pkt *p, const struct edgelb_ct *ct)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip6 = data + ETH_LEN;
	if ((void *)(ip6 + 1) > data_end)
		return -1;
	void *l4 = (void *)(ip6 + 1);
	__u16 *csum = l4_csum_ptr(p->proto, l4, data_end);
	if (!csum)
		return -1;
	__u16 *ports = l4;
	__u32 acc = 0;
	if (ct->flags & EDGELB_CT_F_SNAT) {
		addr6_rewrite(&acc, (__u32 *)&ip6->saddr, &ct->new_src);
		csum_acc16(&acc, ports[0], ct->new_sport);
		ports[0] = ct->new_sport;
	}
	if (ct->flags & EDGELB_CT_F_DNAT) {
		addr6_rewrite(&acc, (__u32 *)&ip6->daddr, &ct->new_dst);
		csum_acc16(&acc, ports[1], ct->new_dport);
		ports[1] = ct->new_dport;
	}
	l4_csum_update(csum, p->proto, 6, acc);
	return 0;
}

/* ICMP errors carry the offending packet: for an error about a packet of the direction opposite
 * to `ct` (key = inner tuple reversed), the packet as the other side knows it is
 * (ct->new_dst:new_dport -> ct->new_src:new_sport). Rewrite the inner header to that, the outer
 * destination to ct->new_dst, the outer source to ct->new_src when the flow is source-NATed. */

#define ICMP4_INNER (L4_OFF4 + 8)
#define ICMP6_INNER (L4_OFF6 + 8)

static __always_inline int icmp_rewrite4(struct xdp_md *ctx, const struct edgelb_ct *ct)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + ETH_LEN;
	struct icmp_hdr *ic = data + L4_OFF4;
	struct iphdr *in = data + ICMP4_INNER;
	__u16 *inports = data + ICMP4_INNER + IP4_LEN;
	if ((void *)(inports + 2) > data_end)
		return -1;
	__u32 acc3 = 0, acci = 0, acc_icmp = 0;

	/* inner header: source <- new_dst, destination <- new_src */
	if (ct->flags & (EDGELB_CT_F_SNAT | EDGELB_CT_F_DNAT)) {
		csum_acc32(&acci, in->saddr, ct->new_dst.a[0]);
		in->saddr = ct->new_dst.a[0];
		csum_acc32(&acci, in->daddr, ct->new_src.a[0]);
		in->daddr = ct->new_src.a[0];
		csum_acc16(&acc_icmp, inports[0], ct->new_dport);
		inports[0] = ct->new_dport;
		csum_acc16(&acc_icmp, inports[1], ct->new_sport);
		inports[1] = ct->new_sport;
		__u16 old = in->check;
		in->check = csum_apply(in->check, acci);
		csum_acc16(&acc_icmp, old, in->check);
		acc_icmp += acci;
	}
	/* outer header */
	if (ct->flags & EDGELB_CT_F_SNAT) {
		csum_acc32(&acc3, ip->saddr, ct->new_src.a[0]);
		ip->saddr = ct->new_src.a[0];
	}
	if (ct->flags & (EDGELB_CT_F_SNAT | EDGELB_CT_F_DNAT)) {
		csum_acc32(&acc3, ip->daddr, ct->new_dst.a[0]);
		ip->daddr = ct->new_dst.a[0];
	}
	ip->check = csum_apply(ip->check, acc3);
	ic->checksum = csum_apply(ic->checksum, acc_icmp);
	return 0;
}

static __always_inline int icmp_rewrite6(struct xdp_md *ctx, const struct edgelb_ct *ct)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip6 = data + ETH_LEN;
	struct icmp_hdr *ic = data + L4_OFF6;
	struct ipv6hdr *in = data + ICMP6_INNER;
	__u16 *inports = data + ICMP6_INNER + IP6_LEN;
	if ((void *)(inports + 2) > data_end)
		return -1;
	__u32 acc = 0; /* ICMPv6 checksum covers the outer pseudo header and the inner packet */

	if (ct->flags & (EDGELB_CT_F_SNAT | EDGELB_CT_F_DNAT)) {
		addr6_rewrite(&acc, (__u32 *)&in->saddr, &ct->new_dst);
		addr6_rewrite(&acc, (__u32 *)&in->daddr, &ct->new_src);
		csum_acc16(&acc, inports[0], ct->new_dport);
		inports[0] = ct->new_dport;
		csum_acc16(&acc, inports[1], ct->new_sport);
		inports[1] = ct->new_sport;
	}
	if (ct->flags & EDGELB_CT_F_SNAT)
		addr6_rewrite(&acc, (__u32 *)&ip6->saddr, &ct->new_src);
	if (ct->flags & (EDGELB_CT_F_SNAT | EDGELB_CT_F_DNAT))
		addr6_rewrite(&acc, (__u32 *)&ip6->daddr, &ct->new_dst);
	ic->checksum = csum_apply(ic->checksum, acc);
	return 0;
}

#endif
