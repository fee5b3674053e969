/* ct_count.bpf.c: conntrack occupancy without walking the map. Loaded with the pinned edgelb_ct
 * (same definition, pinned by name) and run through BPF_PROG_TEST_RUN by the daemon: returns
 * bpf_map_sum_elem_count(edgelb_ct), the kernel's per-CPU insert/delete counters of the map (LRU
 * evictions included), saturated to 2^31-1. One syscall, constant time, whatever the table size. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "edgelb_shared.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct bpf_map {
	__u32 id; /* opaque: only its kind (struct) must match the kernel's */
};
extern __s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym;

/* the data path's conntrack map: the same definition as maps.h, so the pin is reused */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EDGELB_DEFAULT_CT_SIZE);
	__type(key, struct edgelb_ct_key);
	__type(value, struct edgelb_ct);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} edgelb_ct SEC(".maps");

SEC("xdp")
int edgelb_ct_count(struct xdp_md *ctx)
{
	__s64 n = bpf_map_sum_elem_count((const struct bpf_map *)&edgelb_ct);
	if (n < 0)
		return 0;
	return n > 0x7fffffff ? 0x7fffffff : (int)n;
}
