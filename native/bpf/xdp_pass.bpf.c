/* xdp_pass.bpf.c: passes every packet. Attached to the peer of a veth in the lab so that native
 * XDP_TX on the other end is delivered (veth needs an XDP program on the receiving side). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
