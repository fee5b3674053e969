/* parse.h: bounded parsing of Ethernet / IPv4 / IPv6 / TCP / UDP / ICMP into struct pkt.
 * Offsets are constants per family (IPv4 options and IPv6 extension headers are classified, not
 * walked), which keeps every packet access provably in bounds for the verifier. An IPv4 first
 * fragment is parsed like a whole packet (frag = 1); later fragments (frag = 2, no L4 header) and
 * IPv6 fragments are PARSE_FRAGMENT. */
#ifndef EDGELB_PARSE_H
#define EDGELB_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "edgelb_shared.h"

#define ETH_LEN 14
#define IP4_LEN 20
#define IP6_LEN 40
#define L4_OFF4 (ETH_LEN + IP4_LEN)
#define L4_OFF6 (ETH_LEN + IP6_LEN)
/* ICMP and ICMPv6 share this 4-byte start (linux/icmp.h pulls in libc headers) */
struct icmp_hdr {
	__u8 type;
	__u8 code;
	__u16 checksum;
};

#define IP_MF 0x2000
#define IP_OFFMASK 0x1fff
#define NEXTHDR_FRAGMENT 44

enum parse_result {
	PARSE_OK = 0,       /* TCP or UDP, ports read */
	PARSE_ICMP,         /* ICMP / ICMPv6 with at least its 8-byte header */
	PARSE_NOT_IP,
	PARSE_FRAGMENT,
	PARSE_OPTIONS,      /* IPv4 options / IPv6 extension header */
	PARSE_MALFORMED,    /* L3 unusable: addresses unknown */
	PARSE_L4_MALFORMED, /* L3 fine (addresses in key), L4 truncated */
	PARSE_OTHER,        /* L3 fine, another protocol */
};

struct pkt {
	struct edgelb_ct_key key; /* as it arrives */
	__u32 len;                /* frame length, for byte counters */
	__u8 family;
	__u8 proto;
	__u8 tcp_flags;           /* TCP byte 13 */
	__u8 icmp_type;
	__u8 frag;                /* 0 whole, 1 IPv4 first fragment, 2 later fragment / IPv6 fragment */
	__u8 pad[3];
	__u32 ip_id;              /* IPv4 identification (network order), fragments only */
};

#define TCP_FLAG_SYN_ 0x02
#define TCP_FLAG_ACK_ 0x10
#define TCP_FLAG_FIN_ 0x01
#define TCP_FLAG_RST_ 0x04

static __always_inline int parse_l4(struct pkt *p, void *l4, void *data_end)
{
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		if ((void *)(th + 1) > data_end)
			return PARSE_L4_MALFORMED;
		if (th->doff < 5)
			return PARSE_L4_MALFORMED;
		p->key.sport = th->source;
		p->key.dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		return PARSE_OK;
	}
	if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;
		if ((void *)(uh + 1) > data_end)
			return PARSE_L4_MALFORMED;
		p->key.sport = uh->source;
		p->key.dport = uh->dest;
		return PARSE_OK;
	}
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) {
		if (l4 + 8 > data_end)
			return PARSE_L4_MALFORMED;
		p->icmp_type = *(__u8 *)l4;
		return PARSE_ICMP;
	}
	return PARSE_OTHER;
}

static __always_inline int parse(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	p->len = data_end - data;
	if ((void *)(eth + 1) > data_end)
		return PARSE_NOT_IP;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end)
			return PARSE_MALFORMED;
		if (ip->version != 4 || ip->ihl < 5)
			return PARSE_MALFORMED;
		p->family = 4;
		p->proto = ip->protocol;
		p->key.family = 4;
		p->key.proto = ip->protocol;
		p->key.src.a[0] = ip->saddr;
		p->key.dst.a[0] = ip->daddr;
		if (bpf_ntohs(ip->tot_len) < (__u32)ip->ihl * 4 ||
		    (void *)ip + bpf_ntohs(ip->tot_len) > data_end)
			return PARSE_L4_MALFORMED;
		if (ip->ihl != 5)
			return PARSE_OPTIONS;
		if (ip->frag_off & bpf_htons(IP_MF | IP_OFFMASK)) {
			p->ip_id = ip->id;
			if (ip->frag_off & bpf_htons(IP_OFFMASK)) {
				p->frag = 2;
				return PARSE_FRAGMENT;
			}
			p->frag = 1;
		}
		return parse_l4(p, (void *)(ip + 1), data_end);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			return PARSE_MALFORMED;
		if (ip6->version != 6)
			return PARSE_MALFORMED;
		p->family = 6;
		p->proto = ip6->nexthdr;
		p->key.family = 6;
		p->key.proto = ip6->nexthdr;
		__builtin_memcpy(&p->key.src, &ip6->saddr, 16);
		__builtin_memcpy(&p->key.dst, &ip6->daddr, 16);
		if ((void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) > data_end)
			return PARSE_L4_MALFORMED;
		if (ip6->nexthdr == NEXTHDR_FRAGMENT) {
			p->frag = 2;
			return PARSE_FRAGMENT;
		}
		if (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP &&
		    ip6->nexthdr != IPPROTO_ICMPV6)
			return ip6->nexthdr == 0 || ip6->nexthdr == 43 || ip6->nexthdr == 60 ||
					       ip6->nexthdr == 51 || ip6->nexthdr == 50
				       ? PARSE_OPTIONS
				       : PARSE_OTHER;
		return parse_l4(p, (void *)(ip6 + 1), data_end);
	}
	return PARSE_NOT_IP;
}

#endif
