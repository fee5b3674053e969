/* ct_count.bpf.c: conntrack occupancy without walking the maps. Loaded with the pinned edgelb_ct4
 * and edgelb_ct6 (same definitions, pinned by name) and run through BPF_PROG_TEST_RUN by the
 * daemon: returns bpf_map_sum_elem_count of both, the kernel's per-CPU insert/delete counters of
 * each map (LRU evictions included), saturated to 2^31-1. One syscall, constant time, whatever
 * the table size. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "edgelb_shared.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct bpf_map {
	__u32 id; /* opaque: only its kind (struct) must match the kernel's */
};
extern __s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym;

/* the data path's conntrack maps (ct_maps.h), so the pins are reused */
#include "ct_maps.h"

SEC("xdp")
int edgelb_ct_count(struct xdp_md *ctx)
{
	__s64 n4 = bpf_map_sum_elem_count((const struct bpf_map *)&edgelb_ct4);
	__s64 n6 = bpf_map_sum_elem_count((const struct bpf_map *)&edgelb_ct6);
	__s64 n = (n4 > 0 ? n4 : 0) + (n6 > 0 ? n6 : 0);
	return n > 0x7fffffff ? 0x7fffffff : (int)n;
}
