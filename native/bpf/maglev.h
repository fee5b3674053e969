/* maglev.h: backend selection for a new flow — Maglev table (maglev, persist), modulo hash
 * (hash) or per-CPU round robin (rr) over the service's backend list. */
#ifndef EDGELB_MAGLEV_H
#define EDGELB_MAGLEV_H

#include "maps.h"

#define SIP_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIP_ROUND                                                                                  \
	do {                                                                                       \
		v0 += v1; v1 = SIP_ROTL(v1, 13); v1 ^= v0; v0 = SIP_ROTL(v0, 32);                  \
		v2 += v3; v3 = SIP_ROTL(v3, 16); v3 ^= v2;                                         \
		v0 += v3; v3 = SIP_ROTL(v3, 21); v3 ^= v0;                                         \
		v2 += v1; v1 = SIP_ROTL(v1, 17); v1 ^= v2; v2 = SIP_ROTL(v2, 32);                  \
	} while (0)

/* SipHash-1-3 of n 64-bit words under the cluster-wide key (cfg.hash_key): the same flow gives the
 * same hash on every node (ECMP may move a flow between nodes), and without the key a client
 * cannot choose ports that aim at one backend. */
static __always_inline __u32 siphash13(const __u64 *m, int n, const struct edgelb_cfg *cfg)
{
	__u64 k0 = ((__u64)cfg->hash_key[1] << 32) | cfg->hash_key[0];
	__u64 k1 = ((__u64)cfg->hash_key[3] << 32) | cfg->hash_key[2];
	__u64 v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	__u64 v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
#pragma unroll
	for (int i = 0; i < 5; i++) {
		if (i < n) {
			v3 ^= m[i];
			SIP_ROUND;
			v0 ^= m[i];
		}
	}
	__u64 b = (__u64)(n * 8) << 56;
	v3 ^= b;
	SIP_ROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIP_ROUND;
	SIP_ROUND;
	SIP_ROUND;
	return (__u32)((v0 ^ v1 ^ v2 ^ v3) >> 16);
}

static __always_inline __u32 flow_hash(const struct edgelb_ct_key *k, int src_only, const struct edgelb_cfg *cfg)
{
	__u64 m[5];
	m[0] = ((__u64)k->src.a[1] << 32) | k->src.a[0];
	m[1] = ((__u64)k->src.a[3] << 32) | k->src.a[2];
	if (src_only)
		return siphash13(m, 2, cfg);
	m[2] = ((__u64)k->dst.a[1] << 32) | k->dst.a[0];
	m[3] = ((__u64)k->dst.a[3] << 32) | k->dst.a[2];
	m[4] = ((__u64)k->proto << 32) | ((__u32)k->sport << 16) | k->dport;
	return siphash13(m, 5, cfg);
}

/* The backend index for a new flow, or EDGELB_MAGLEV_EMPTY. *fh receives the flow's full 5-tuple
 * hash when the selection computed it (maglev, hash), else stays as it was: the SNAT port choice
 * uses the same hash, so a new flow runs SipHash once. */
static __always_inline __u32 select_backend(const struct edgelb_ct_key *k, const struct edgelb_svc *svc,
					    const struct edgelb_cfg *cfg, __u32 *fh, int *have_fh)
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
			*fh = flow_hash(k, 0, cfg);
			*have_fh = 1;
			i = *fh % n;
		}
		key = svc->index * EDGELB_SVC_LIST_MAX + i;
		be = bpf_map_lookup_elem(&edgelb_svc_list, &key);
		return be ? *be : EDGELB_MAGLEV_EMPTY;
	}
	__u32 size = cfg->maglev_size;
	if (size == 0)
		return EDGELB_MAGLEV_EMPTY;
	__u32 h = flow_hash(k, svc->sel == EDGELB_SEL_PERSIST, cfg);
	if (svc->sel != EDGELB_SEL_PERSIST) {
		*fh = h;
		*have_fh = 1;
	}
	key = svc->index * size + h % size;
	be = bpf_map_lookup_elem(&edgelb_maglev, &key);
	return be ? *be : EDGELB_MAGLEV_EMPTY;
}

#endif
