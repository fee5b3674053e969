/* maps.h: every map of the XDP data path, pinned by name under the node's pin root.
 * Layouts live in edgelb_shared.h; sizes marked "resized" are set by the addon before load. */
#ifndef EDGELB_MAPS_H
#define EDGELB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "edgelb_shared.h"

/* node-wide settings (one entry) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct edgelb_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_cfg SEC(".maps");

/* (VIP, port, protocol) -> service (resized: max services) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EDGELB_DEFAULT_MAX_SERVICES);
	__type(key, struct edgelb_svc_key);
	__type(value, struct edgelb_svc);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_svc SEC(".maps");

/* every VIP address -> 1, to tell malformed VIP traffic from other traffic (resized) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EDGELB_DEFAULT_MAX_SERVICES);
	__type(key, struct edgelb_vip_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_vips SEC(".maps");

/* backend index -> backend (resized: max backends) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EDGELB_DEFAULT_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct edgelb_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_be SEC(".maps");

/* service index * EDGELB_SVC_LIST_MAX + i -> backend index, for hash/rr (resized) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EDGELB_DEFAULT_MAX_SERVICES * EDGELB_SVC_LIST_MAX);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_svc_list SEC(".maps");

/* service index * maglev size + slot -> backend index (resized: services x table size) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EDGELB_DEFAULT_MAX_SERVICES * 4099);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_maglev SEC(".maps");

/* connection tracking, IPv4 and IPv6 (edgelb_ct4, edgelb_ct6) */
#include "ct_maps.h"

/* verdict, drop-reason and event counters (EDGELB_CNT_*), per CPU */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EDGELB_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_cnt SEC(".maps");

/* packets and bytes per service index, per CPU (resized) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EDGELB_DEFAULT_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct edgelb_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_svc_st SEC(".maps");

/* packets and bytes per backend index, per CPU (resized) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EDGELB_DEFAULT_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct edgelb_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_be_st SEC(".maps");

/* round-robin cursor per service index, per CPU (resized) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EDGELB_DEFAULT_MAX_SERVICES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_rr SEC(".maps");

/* address filter: bits of VIP (first half) and backend (second half) address hashes */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * EDGELB_ADDRF_WORDS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_addrf SEC(".maps");

/* SNAT ports each (client, backend, protocol) bucket took in the current window (fair share) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EDGELB_SNAT_CLIENTS_SIZE);
	__type(key, __u32);
	__type(value, struct edgelb_snat_client);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_snat_cl SEC(".maps");

/* ICMP echo replies per CPU in the current second (rate limit) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct edgelb_echo);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_echo SEC(".maps");

/* first fragments' ports by (src, dst, IP ID, protocol), for the later fragments, LRU */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EDGELB_FRAGS_SIZE);
	__type(key, struct edgelb_frag_key);
	__type(value, struct edgelb_frag);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_frags SEC(".maps");

/* backend index -> its next hop, kept by the daemon from netlink events (resized: max backends) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EDGELB_DEFAULT_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct edgelb_nh);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_be_nh SEC(".maps");

/* per-CPU scratch for the conntrack values of a new flow being built: 0 reply, 1 forward (keeps
 * them off the 512-byte stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct edgelb_ct);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_scratch SEC(".maps");

/* flows that became established or started closing, for the connection-sync thread (ct.h) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EDGELB_CT_EVENTS_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_ct_ev SEC(".maps");

static __always_inline void cnt_inc(__u32 code)
{
	__u64 *v = bpf_map_lookup_elem(&edgelb_cnt, &code);
	if (v)
		*v += 1;
}

/* Count a verdict and return its XDP action (EDGELB_CNT_RX is the readers' sum of verdicts). */
static __always_inline int verdict(__u32 code, int action)
{
	cnt_inc(code);
	return action;
}

static __always_inline void stats_add(void *map, __u32 index, __u32 bytes)
{
	struct edgelb_stats *s = bpf_map_lookup_elem(map, &index);
	if (s) {
		s->packets += 1;
		s->bytes += bytes;
	}
}

#endif
