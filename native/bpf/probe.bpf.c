// probe.bpf.c: the addon's foundation test program. XDP: counts every packet (and its bytes) in
// an array map and passes it on; `mode` in a second map lets a test ask for XDP_DROP instead.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// index 0: packets seen, index 1: bytes seen
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} probe_counters SEC(".maps");

// index 0: the verdict to return (0 = XDP_PASS as default when unset, else the value itself)
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} probe_verdict SEC(".maps");

// per-CPU packet counter (tests the per-CPU lookup)
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} probe_percpu SEC(".maps");

SEC("xdp")
int probe_xdp(struct xdp_md *ctx) {
  __u32 k0 = 0, k1 = 1;
  __u64 *pkts = bpf_map_lookup_elem(&probe_counters, &k0);
  __u64 *bytes = bpf_map_lookup_elem(&probe_counters, &k1);
  if (pkts) __sync_fetch_and_add(pkts, 1);
  if (bytes) __sync_fetch_and_add(bytes, (__u64)(ctx->data_end - ctx->data));
  __u64 *pc = bpf_map_lookup_elem(&probe_percpu, &k0);
  if (pc) *pc += 1;
  __u32 *v = bpf_map_lookup_elem(&probe_verdict, &k0);
  if (v && *v != 0) return (int)*v;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
