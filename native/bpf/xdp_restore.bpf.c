/* xdp_restore.bpf.c: benchmark wrapper that lets BPF_PROG_TEST_RUN repeat a packet a program
 * rewrites (a NAT translation is not to the VIP any more on its second run): each run first
 * writes the original frame back (up to 128 bytes, from xdp_restore_pkt), then tail-calls the
 * program in slot 0 of xdp_restore_progs. bench/dataplane-testrun.ts runs edgelb_xdp and the bare
 * XDP_TX anchor each behind its own copy of this wrapper, so both pay the same restore and tail
 * call. xdp_restore_alt writes frames 0 and 1 of xdp_restore_pkt in turn (two flows that evict
 * each other from the flow cache: the cost of a miss). Not loaded by the daemon. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define RESTORE_MAX 128

struct restore_pkt {
	__u64 w[RESTORE_MAX / 8]; /* the frame, zero-padded to whole words */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct restore_pkt);
} xdp_restore_pkt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xdp_restore_progs SEC(".maps");

static __u32 xdp_restore_turn; /* xdp_restore_alt's next frame */

static __always_inline int restore(struct xdp_md *ctx, __u32 k)
{
	struct restore_pkt *o = bpf_map_lookup_elem(&xdp_restore_pkt, &k);
	if (!o)
		return XDP_ABORTED;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 *w = data;
	/* whole words that fit the frame; a frame's tail shorter than a word is never rewritten by
	 * the programs measured (their headers end at or before byte 58) */
#pragma unroll
	for (int i = 0; i < RESTORE_MAX / 8; i++) {
		if ((void *)(w + i + 1) > data_end)
			break;
		w[i] = o->w[i];
	}
	bpf_tail_call(ctx, &xdp_restore_progs, 0);
	return XDP_ABORTED;
}

SEC("xdp")
int xdp_restore(struct xdp_md *ctx)
{
	return restore(ctx, 0);
}

SEC("xdp")
int xdp_restore_alt(struct xdp_md *ctx)
{
	return restore(ctx, xdp_restore_turn++ & 1);
}
