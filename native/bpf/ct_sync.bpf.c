/* ct_sync.bpf.c: the flow clock for the connection-sync thread. Run through BPF_PROG_TEST_RUN:
 * writes now_ns() (clock.h, the clock of edgelb_ct.last_ns) into the first 8 bytes of the packet
 * (host order), so a synced entry's age becomes a timestamp of this node's data path, and a local
 * entry's timestamp an age on the wire. No maps: loads beside any pinned layout. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "clock.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int edgelb_now(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 *out = data;
	if ((void *)(out + 1) > data_end)
		return XDP_ABORTED;
	*out = now_ns();
	return XDP_PASS;
}
