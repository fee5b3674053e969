/* bfd.h: the BFD offload (docs/bfd.md, "Surviving a daemon restart"). A BFD control packet to
 * this node (UDP 3784 single hop with TTL 255, or 4784 multihop) for a session the daemon
 * published in edgelb_bfd is answered here, with XDP_TX and the next frame the daemon encoded and
 * signed ahead, but only while the daemon's lease has run out (it is dead or restarting) and
 * before the offload's max time. While the lease is live it goes to the daemon's socket (PASS),
 * as does everything that is not exactly an Up packet of a published session. XDP keeps no time
 * and sends nothing on its own: the router's packets, one per negotiated interval, are the clock;
 * a node without power runs no XDP, so a power cut is still seen in the detection time. */
#ifndef EDGELB_BFD_H
#define EDGELB_BFD_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "edgelb_shared.h"
#include "maps.h"
#include "parse.h"
#include "csum.h"
#include "fwd.h" /* addr_eq */

#define BFD_PORT_SINGLE 3784
#define BFD_PORT_MULTI 4784
#define BFD_HDR_LEN 24

/* our discriminator -> session (written by src/bfd/xdp-offload.ts) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EDGELB_BFD_SESSIONS_MAX);
	__type(key, __u32);
	__type(value, struct edgelb_bfd_sess);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_bfd SEC(".maps");

/* slot * EDGELB_BFD_WINDOW_MAX + i -> the session's frame i */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EDGELB_BFD_SESSIONS_MAX * EDGELB_BFD_WINDOW_MAX);
	__type(key, __u32);
	__type(value, struct edgelb_bfd_frame);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_bfd_fr SEC(".maps");

/* [0]: the daemon's lease */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct edgelb_bfd_lease);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_bfd_ls SEC(".maps");

static __always_inline int bfd_port(__u16 dport)
{
	return dport == bpf_htons(BFD_PORT_SINGLE) || dport == bpf_htons(BFD_PORT_MULTI);
}

static __always_inline __u32 bfd_sum16(const void *p, int words)
{
	const __u16 *w = p;
	__u32 s = 0;
#pragma unroll
	for (int i = 0; i < 8; i++)
		if (i < words)
			s += w[i];
	return s;
}

/* Answer a BFD control packet from the offload. -1: not a packet of an offloaded session (the
 * caller goes on as for any packet; malformed BFD ends up at the daemon's socket, which counts it). */
static __noinline int bfd_answer(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l4 = p->family == 4 ? L4_OFF4 : L4_OFF6;
	struct udphdr *uh = data + l4;
	__u8 *b = data + l4 + sizeof(struct udphdr);
	__u8 ttl;

	if (p->frag || (void *)(b + BFD_HDR_LEN) > data_end)
		return -1;
	if (p->family == 4)
		ttl = ((struct iphdr *)(data + ETH_LEN))->ttl;
	else
		ttl = ((struct ipv6hdr *)(data + ETH_LEN))->hop_limit;
	__u32 ulen = bpf_ntohs(uh->len);
	__u8 blen = b[3];
	/* RFC 5880 6.8.6: version 1, length >= 24 (26 with A) and within the UDP payload, detect
	 * mult > 0, M clear, both discriminators set; only the router's Up is answered with our Up */
	if ((b[0] >> 5) != 1 || blen < BFD_HDR_LEN || ulen < 8 + (__u32)blen || b[2] == 0 || (b[1] & 0x01) ||
	    (b[1] >> 6) != 3)
		return -1;
	__u32 my = ((__u32)b[4] << 24) | ((__u32)b[5] << 16) | ((__u32)b[6] << 8) | b[7];
	__u32 your = ((__u32)b[8] << 24) | ((__u32)b[9] << 16) | ((__u32)b[10] << 8) | b[11];
	if (my == 0 || your == 0)
		return -1;
	struct edgelb_bfd_sess *s = bpf_map_lookup_elem(&edgelb_bfd, &your);
	if (!s || s->remote_discr != my || s->family != p->family || s->dst_port != p->key.dport)
		return -1;
	if (!addr_eq(&s->peer, &p->key.src) || !addr_eq(&s->local, &p->key.dst))
		return -1;
	if (!(s->flags & EDGELB_BFD_F_MULTIHOP) && ttl != 255)
		return -1;
	/* authentication present exactly as published, same type (XDP cannot check the digest: a
	 * forged packet only makes us send one of our valid packets early) */
	int a = (b[1] & 0x04) != 0;
	if (a != (s->auth_type != 0))
		return -1;
	if (a) {
		if ((void *)(b + BFD_HDR_LEN + 2) > data_end || blen < BFD_HDR_LEN + 2 || b[BFD_HDR_LEN] != s->auth_type)
			return -1;
	}

	__u32 zero = 0;
	struct edgelb_bfd_lease *ls = bpf_map_lookup_elem(&edgelb_bfd_ls, &zero);
	__u64 now = bpf_ktime_get_ns();
	if (!ls || ls->max_ns == 0 || now < ls->until_ns) /* no lease yet, or live */
		return verdict(EDGELB_CNT_PASS_BFD, XDP_PASS);
	if (now >= ls->max_ns)
		return verdict(EDGELB_CNT_PASS_BFD_SPENT, XDP_PASS);
	__u32 i = 0;
	/* one router packet per interval: no two CPUs race for a session's next frame (were they to,
	 * one frame goes out twice and the router drops the repeat, RFC 5880 6.7.3; nothing else) */
	__u32 n = s->sent;
	s->sent = n + 1;
	if (s->flags & EDGELB_BFD_F_METICULOUS)
		i = s->last_seq + 1 - s->first_seq + n;
	if (i >= s->nframes || i >= EDGELB_BFD_WINDOW_MAX)
		return verdict(EDGELB_CNT_PASS_BFD_SPENT, XDP_PASS);
	__u32 fi = s->slot * EDGELB_BFD_WINDOW_MAX + i;
	struct edgelb_bfd_frame *f = bpf_map_lookup_elem(&edgelb_bfd_fr, &fi);
	if (!f)
		return verdict(EDGELB_CNT_PASS_BFD_SPENT, XDP_PASS);
	__u32 flen = f->len;
	if (flen < BFD_HDR_LEN || flen > EDGELB_BFD_FRAME_MAX)
		return verdict(EDGELB_CNT_PASS_BFD_SPENT, XDP_PASS);

	/* resize to exactly Ethernet + IP + UDP + frame, then write every header anew */
	__u32 ihl = p->family == 4 ? IP4_LEN : IP6_LEN;
	__u32 ulen2 = 8 + flen;
	int delta = (int)(ETH_LEN + ihl + ulen2) - (int)(data_end - data);
	if (delta && bpf_xdp_adjust_tail(ctx, delta))
		return verdict(EDGELB_CNT_PASS_BFD_SPENT, XDP_PASS);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	if (bpf_xdp_store_bytes(ctx, ETH_LEN + ihl + 8, f->data, flen))
		return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	__u32 sum = f->csum;
	if (p->family == 4) {
		struct iphdr *ip = data + ETH_LEN;
		uh = data + L4_OFF4;
		if ((void *)(uh + 1) > data_end)
			return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
		ip->version = 4;
		ip->ihl = 5;
		ip->tos = 0; /* as the daemon's socket sends */
		ip->tot_len = bpf_htons(IP4_LEN + ulen2);
		ip->id = 0;
		ip->frag_off = bpf_htons(0x4000);
		ip->ttl = 255;
		ip->protocol = IPPROTO_UDP;
		ip->saddr = s->local.a[0];
		ip->daddr = s->peer.a[0];
		ip->check = 0;
		ip->check = ~csum_fold(bfd_sum16(ip, 8) + bfd_sum16((__u8 *)ip + 16, 2));
		sum += bfd_sum16(&ip->saddr, 4) + bpf_htons(IPPROTO_UDP) + bpf_htons(ulen2);
	} else {
		struct ipv6hdr *ip6 = data + ETH_LEN;
		uh = data + L4_OFF6;
		if ((void *)(uh + 1) > data_end)
			return verdict(EDGELB_CNT_DROP_MALFORMED, XDP_DROP);
		*(__u32 *)ip6 = bpf_htonl(0x60000000); /* version 6, as the daemon's socket sends */
		ip6->payload_len = bpf_htons(ulen2);
		ip6->nexthdr = IPPROTO_UDP;
		ip6->hop_limit = 255;
		__builtin_memcpy(&ip6->saddr, &s->local, 16);
		__builtin_memcpy(&ip6->daddr, &s->peer, 16);
		sum += bfd_sum16(&ip6->saddr, 8) + bfd_sum16(&ip6->daddr, 8) + bpf_htons(IPPROTO_UDP) + bpf_htons(ulen2);
	}
	uh->source = s->src_port;
	uh->dest = s->dst_port;
	uh->len = bpf_htons(ulen2);
	uh->check = 0;
	sum += uh->source + uh->dest + uh->len;
	__u16 c = ~csum_fold(sum);
	uh->check = c ? c : 0xffff;
	return verdict(EDGELB_CNT_TX_BFD, XDP_TX);
}

#endif
