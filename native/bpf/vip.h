/* vip.h: what the program answers itself for a VIP — the address filter of the fast path, the
 * exact VIP test, ICMP/ICMPv6 echo replies (rate-limited per CPU), RST for TCP to an unserved
 * port (optional), and the first-fragment table that lets later IPv4 fragments follow their flow. */
#ifndef EDGELB_VIP_H
#define EDGELB_VIP_H

#include "maps.h"
#include "parse.h"
#include "csum.h"
#include "ct.h"

/* Bit of an address in a half of edgelb_addrf (src/dataplane/xdp-addrf.ts computes the same). */
static __always_inline int addrf_test(__u32 half, const struct edgelb_addr *a)
{
	__u32 x = a->a[0] ^ a->a[1] ^ a->a[2] ^ a->a[3];
	__u32 b = (x * 0x9e3779b1u) >> 16;
	__u32 key = half * EDGELB_ADDRF_WORDS + (b >> 5);
	__u32 *w = bpf_map_lookup_elem(&edgelb_addrf, &key);
	return w && (*w & (1u << (b & 31)));
}

static __always_inline int is_vip(const struct pkt *p)
{
	struct edgelb_vip_key k = {};
	k.vip = p->key.dst;
	k.family = p->family;
	return bpf_map_lookup_elem(&edgelb_vips, &k) != 0;
}

static __always_inline void swap_macs(struct ethhdr *eth)
{
	__u8 tmp[6];
	__builtin_memcpy(tmp, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, eth->h_source, 6);
	__builtin_memcpy(eth->h_source, tmp, 6);
}

/* Echo request to a VIP -> echo reply from the VIP, back where it came from. */
static __noinline int echo_reply(struct xdp_md *ctx, struct pkt *p, const struct edgelb_cfg *cfg, __u64 now)
{
	__u32 zero = 0;
	struct edgelb_echo *e = bpf_map_lookup_elem(&edgelb_echo, &zero);
	if (!e)
		return verdict(EDGELB_CNT_DROP_ECHO_RATE, XDP_DROP);
	if (now - e->win_ns >= NS_PER_SEC) {
		e->win_ns = now;
		e->count = 0;
	}
	if (e->count >= cfg->echo_rate)
		return verdict(EDGELB_CNT_DROP_ECHO_RATE, XDP_DROP);
	e->count++;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 acc = 0;
	if (p->family == 4) {
		struct iphdr *ip = data + ETH_LEN;
		struct icmp_hdr *ic = data + L4_OFF4;
		if ((void *)(ic + 1) > data_end)
			return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
		__u32 a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		__u16 old = *(__u16 *)&ip->ttl;
		ip->ttl = 64;
		csum_acc16(&acc, old, *(__u16 *)&ip->ttl);
		ip->check = csum_apply(ip->check, acc);
		acc = 0;
		old = *(__u16 *)ic;
		ic->type = 0;
		csum_acc16(&acc, old, *(__u16 *)ic);
		ic->checksum = csum_apply(ic->checksum, acc);
	} else {
		struct ipv6hdr *ip6 = data + ETH_LEN;
		struct icmp_hdr *ic = data + L4_OFF6;
		if ((void *)(ic + 1) > data_end)
			return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
		struct in6_addr a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a; /* the pseudo-header sum does not change when the addresses swap */
		ip6->hop_limit = 64;
		__u16 old = *(__u16 *)ic;
		ic->type = 129;
		csum_acc16(&acc, old, *(__u16 *)ic);
		ic->checksum = csum_apply(ic->checksum, acc);
	}
	swap_macs(eth);
	return verdict(EDGELB_CNT_TX_ECHO, XDP_TX);
}

/* Sum of 16-bit words for a checksum computed from scratch. */
static __always_inline __u32 sum16(const __u16 *w, int n, __u32 acc)
{
#pragma unroll
	for (int i = 0; i < 20; i++)
		if (i < n)
			acc += w[i];
	return acc;
}

/* TCP to a VIP port without a service -> RST from the VIP (RFC 9293 3.10.7.1): the segment is
 * cut to a bare 20-byte header, addresses and ports swapped, checksums computed from scratch. */
static __noinline int rst_reply(struct xdp_md *ctx, struct pkt *p)
{
	__u32 l4off = p->family == 4 ? L4_OFF4 : L4_OFF6;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 seglen;
	if (p->family == 4) {
		struct iphdr *ip = data + ETH_LEN;
		if ((void *)(ip + 1) > data_end)
			return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
		seglen = bpf_ntohs(ip->tot_len) - IP4_LEN;
	} else {
		struct ipv6hdr *ip6 = data + ETH_LEN;
		if ((void *)(ip6 + 1) > data_end)
			return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
		seglen = bpf_ntohs(ip6->payload_len);
	}
	struct tcphdr *th = data + l4off;
	if ((void *)(th + 1) > data_end)
		return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
	__u32 hl = th->doff * 4;
	__u32 ack_in = th->ack_seq, seq_in = bpf_ntohl(th->seq);
	__u8 f = ((__u8 *)th)[13];
	if (f & TCP_FLAG_RST_)
		return verdict(EDGELB_CNT_DROP_VIP_NO_SVC, XDP_DROP); /* never answer an RST */
	__u32 datalen = seglen > hl ? seglen - hl : 0;
	/* cut everything after a bare TCP header */
	int shrink = (int)p->len - (int)(l4off + 20);
	if (shrink > 0 && bpf_xdp_adjust_tail(ctx, -shrink))
		return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	th = data + l4off;
	if ((void *)(th + 1) > data_end)
		return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
	__u16 sp = th->source;
	th->source = th->dest;
	th->dest = sp;
	if (f & TCP_FLAG_ACK_) {
		th->seq = ack_in;
		th->ack_seq = 0;
		((__u8 *)th)[13] = TCP_FLAG_RST_;
	} else {
		th->seq = 0;
		th->ack_seq = bpf_htonl(seq_in + datalen + ((f & TCP_FLAG_SYN_) ? 1 : 0) + ((f & TCP_FLAG_FIN_) ? 1 : 0));
		((__u8 *)th)[13] = TCP_FLAG_RST_ | TCP_FLAG_ACK_;
	}
	((__u8 *)th)[12] = 5 << 4;
	th->window = 0;
	th->check = 0;
	th->urg_ptr = 0;
	__u32 acc = sum16((__u16 *)th, 10, 0);
	if (p->family == 4) {
		struct iphdr *ip = data + ETH_LEN;
		if ((void *)(ip + 1) > data_end)
			return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
		__u32 a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		ip->tot_len = bpf_htons(IP4_LEN + 20);
		ip->ttl = 64;
		ip->frag_off = bpf_htons(0x4000);
		ip->check = 0;
		ip->check = ~csum_fold(sum16((__u16 *)ip, 10, 0));
		acc = sum16((__u16 *)&ip->saddr, 4, acc);
		acc += bpf_htons(IPPROTO_TCP) + bpf_htons(20);
	} else {
		struct ipv6hdr *ip6 = data + ETH_LEN;
		if ((void *)(ip6 + 1) > data_end)
			return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
		struct in6_addr a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		ip6->payload_len = bpf_htons(20);
		ip6->hop_limit = 64;
		acc = sum16((__u16 *)&ip6->saddr, 16, acc);
		acc += bpf_htons(IPPROTO_TCP) + bpf_htons(20);
	}
	th->check = ~csum_fold(acc);
	swap_macs(eth);
	return verdict(EDGELB_CNT_TX_RST, XDP_TX);
}

/* An IPv4 first fragment: remember its ports for the later fragments of the same datagram. */
static __noinline void frag_track(const struct pkt *p, __u64 now)
{
	struct edgelb_frag_key k = {};
	struct edgelb_frag v = {};
	k.src = p->key.src;
	k.dst = p->key.dst;
	k.id = p->ip_id;
	k.proto = p->proto;
	k.family = p->family;
	v.sport = p->key.sport;
	v.dport = p->key.dport;
	v.last_ns = now;
	if (bpf_map_update_elem(&edgelb_frags, &k, &v, BPF_ANY) == 0)
		cnt_inc(EDGELB_CNT_FRAG_TRACKED);
}

/* A later fragment: the ports of its first fragment (seen within the last few seconds), or -1. */
static __always_inline int frag_ports(struct pkt *p, __u64 now)
{
	struct edgelb_frag_key k = {};
	k.src = p->key.src;
	k.dst = p->key.dst;
	k.id = p->ip_id;
	k.proto = p->proto;
	k.family = p->family;
	struct edgelb_frag *v = bpf_map_lookup_elem(&edgelb_frags, &k);
	if (!v || now - v->last_ns > 30 * NS_PER_SEC)
		return -1;
	p->key.sport = v->sport;
	p->key.dport = v->dport;
	return 0;
}

#endif
