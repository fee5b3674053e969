/* xdp_ct_anchor.bpf.c: benchmark anchors that bound the data path's cost from below — the bare
 * XDP_TX program (swap MACs) plus exactly one conntrack operation on the data path's own pinned
 * edgelb_ct4 (loaded against the pins, like ct_count.bpf.c), so a reader sees what one hash-map
 * call costs on this machine beside the whole program (bench/dataplane-testrun.ts):
 * - xdp_ct_lookup_anchor: one lookup with the IPv4 packet's tuple (an established packet needs at
 *   least this);
 * - xdp_ct_insert_anchor: one insert of a zero entry under the tuple with its destination
 *   inverted (never a real flow's key), into the same full-size table (a new flow needs at least
 *   one, two unless dsr);
 * - xdp_ct_new_anchor: what a new flow with one entry (dsr) cannot avoid: a lookup that misses,
 *   then an insert under that same key (its bucket now warm);
 * - xdp_ct_new2_anchor: the same plus a second insert under another key (the tuple reversed, in
 *   another bucket), what a new flow with two entries (dnat, onearm, fullnat) cannot avoid.
 * IPv4 without options only; anything else is dropped. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include "edgelb_shared.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* the data path's conntrack maps (ct_maps.h), so the pin is reused */
#include "ct_maps.h"

/* a zero value to insert, off the stack (96 bytes) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct edgelb_ct);
} anchor_zero SEC(".maps");

/* Swap the MACs and read the IPv4 tuple into k; 0, or -1 when the packet is not plain IPv4. */
static __always_inline int swap_and_key(struct xdp_md *ctx, struct edgelb_ct4_key *k)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	__u16 *ports = (void *)(ip + 1);
	unsigned char tmp[ETH_ALEN];
	if ((void *)(ports + 2) > data_end || eth->h_proto != __builtin_bswap16(ETH_P_IP) || ip->ihl != 5)
		return -1;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	k->src = ip->saddr;
	k->dst = ip->daddr;
	k->sport = ports[0];
	k->dport = ports[1];
	k->proto = ip->protocol;
	k->pad[0] = 0;
	k->pad[1] = 0;
	k->pad[2] = 0;
	return 0;
}

SEC("xdp")
int xdp_ct_lookup_anchor(struct xdp_md *ctx)
{
	struct edgelb_ct4_key k;
	if (swap_and_key(ctx, &k))
		return XDP_DROP;
	struct edgelb_ct *ct = bpf_map_lookup_elem(&edgelb_ct4, &k);
	return ct ? XDP_TX : XDP_DROP;
}

/* The packet's MACs swapped, its tuple with the destination inverted (a key no packet of the
 * benchmark has) in k, and the zero entry to insert under it; 0 on a malformed packet. */
static __always_inline struct edgelb_ct *fresh_key(struct xdp_md *ctx, struct edgelb_ct4_key *k)
{
	__u32 zero = 0;
	if (swap_and_key(ctx, k))
		return 0;
	k->dst = ~k->dst;
	return bpf_map_lookup_elem(&anchor_zero, &zero);
}

SEC("xdp")
int xdp_ct_insert_anchor(struct xdp_md *ctx)
{
	struct edgelb_ct4_key k;
	struct edgelb_ct *v = fresh_key(ctx, &k);
	if (!v)
		return XDP_DROP;
	return bpf_map_update_elem(&edgelb_ct4, &k, v, BPF_ANY) == 0 ? XDP_TX : XDP_DROP;
}

/* Lookup (a miss) and insert under the tuple with its destination inverted; two: and an insert
 * under that key reversed. */
static __always_inline int new_flow_bound(struct xdp_md *ctx, int two)
{
	struct edgelb_ct4_key k;
	struct edgelb_ct *v = fresh_key(ctx, &k);
	if (!v)
		return XDP_DROP;
	if (bpf_map_lookup_elem(&edgelb_ct4, &k))
		return XDP_DROP; /* not a new tuple */
	if (bpf_map_update_elem(&edgelb_ct4, &k, v, BPF_ANY) != 0)
		return XDP_DROP;
	if (two) {
		struct edgelb_ct4_key r = k;
		r.src = k.dst;
		r.dst = k.src;
		r.sport = k.dport;
		r.dport = k.sport;
		if (bpf_map_update_elem(&edgelb_ct4, &r, v, BPF_ANY) != 0)
			return XDP_DROP;
	}
	return XDP_TX;
}

SEC("xdp")
int xdp_ct_new_anchor(struct xdp_md *ctx)
{
	return new_flow_bound(ctx, 0);
}

SEC("xdp")
int xdp_ct_new2_anchor(struct xdp_md *ctx)
{
	return new_flow_bound(ctx, 1);
}
