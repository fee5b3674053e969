/* clock.h: the flow clock of conntrack timestamps (edgelb_ct.last_ns), shared by the data path
 * (ct.h) and the connection-sync clock program (ct_sync.bpf.c), so synced entries age on the
 * receiver's clock exactly as local ones do. */
#ifndef EDGELB_CLOCK_H
#define EDGELB_CLOCK_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NS_PER_SEC 1000000000ULL

/* The kernel's tick rate, when libbpf can read the kernel config (0 otherwise). */
extern unsigned int CONFIG_HZ __kconfig __weak;

/* Now, for flow timestamps: timeouts are seconds, so a tick's resolution is enough. jiffies64 is
 * inlined by the verifier into one load; without CONFIG_HZ, the coarse monotonic clock. Both
 * count from boot, but not alike: a change of clock is a layout change (pins re-created). */
static __always_inline __u64 now_ns(void)
{
	__u32 hz = CONFIG_HZ;
	if (hz >= 24 && hz <= 10000)
		return bpf_jiffies64() * (NS_PER_SEC / hz);
	return bpf_ktime_get_coarse_ns();
}

#endif
