/* ct_maps.h: the data path's conntrack maps, defined once for every object that opens them —
 * the XDP program (maps.h) and the programs loaded against its pins (ct_count.bpf.c,
 * xdp_ct_anchor.bpf.c): pinned by name, so an identical definition reuses the pin. LRU, so a
 * flood evicts instead of blocking; resized by the daemon to conntrackSize. */
#ifndef EDGELB_CT_MAPS_H
#define EDGELB_CT_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "edgelb_shared.h"

/* IPv4 flows (compact key), both directions */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EDGELB_DEFAULT_CT_SIZE);
	__type(key, struct edgelb_ct4_key);
	__type(value, struct edgelb_ct);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_ct4 SEC(".maps");

/* IPv6 flows, the same */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EDGELB_DEFAULT_CT_SIZE);
	__type(key, struct edgelb_ct_key);
	__type(value, struct edgelb_ct);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_ct6 SEC(".maps");

#endif
