/* maglev.h: backend selection for a new flow — Maglev table (maglev, persist), modulo hash
 * (hash) or per-CPU round robin (rr) over the service's backend list. */
#ifndef EDGELB_MAGLEV_H
#define EDGELB_MAGLEV_H

#include "maps.h"

static __always_inline __u32 mix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* Same flow, same hash, on every node (ECMP may move a flow between nodes). */
static __always_inline __u32 flow_hash(const struct edgelb_ct_key *k, int src_only)
{
	__u32 h = 0x9e3779b9;
#pragma unroll
	for (int i = 0; i < 4; i++)
		h = mix32(h ^ k->src.a[i]);
	if (src_only)
		return h;
#pragma unroll
	for (int i = 0; i < 4; i++)
		h = mix32(h ^ k->dst.a[i]);
	h = mix32(h ^ (((__u32)k->sport << 16) | k->dport));
	return mix32(h ^ k->proto);
}

static __always_inline __u32 select_backend(const struct edgelb_ct_key *k, const struct edgelb_svc *svc,
					    const struct edgelb_cfg *cfg)
{
	__u32 key, *be;
	if (svc->sel == EDGELB_SEL_HASH || svc->sel == EDGELB_SEL_RR) {
		__u32 n = svc->count;
		if (n == 0 || n > EDGELB_SVC_LIST_MAX)
			return EDGELB_MAGLEV_EMPTY;
		__u32 i;
		if (svc->sel == EDGELB_SEL_RR) {
			__u32 *rr = bpf_map_lookup_elem(&edgelb_rr, &svc->index);
			if (!rr)
				return EDGELB_MAGLEV_EMPTY;
			i = *rr % n;
			*rr = i + 1;
		} else {
			i = flow_hash(k, 0) % n;
		}
		key = svc->index * EDGELB_SVC_LIST_MAX + i;
		be = bpf_map_lookup_elem(&edgelb_svc_list, &key);
		return be ? *be : EDGELB_MAGLEV_EMPTY;
	}
	__u32 size = cfg->maglev_size;
	if (size == 0)
		return EDGELB_MAGLEV_EMPTY;
	__u32 h = flow_hash(k, svc->sel == EDGELB_SEL_PERSIST);
	key = svc->index * size + h % size;
	be = bpf_map_lookup_elem(&edgelb_maglev, &key);
	return be ? *be : EDGELB_MAGLEV_EMPTY;
}

#endif
