/* csum.h: incremental Internet checksum updates (RFC 1624, eqn. 3) over 16-bit words. The sum is
 * byte-order independent, so words are used exactly as they sit in the packet. */
#ifndef EDGELB_CSUM_H
#define EDGELB_CSUM_H

#include <linux/types.h>

/* Accumulate the change of one 16-bit word: ~m + m'. */
static __always_inline void csum_acc16(__u32 *acc, __u16 from, __u16 to)
{
	*acc += (__u16)~from;
	*acc += to;
}

/* Accumulate the change of one 32-bit word (two 16-bit words). */
static __always_inline void csum_acc32(__u32 *acc, __u32 from, __u32 to)
{
	csum_acc16(acc, (__u16)from, (__u16)to);
	csum_acc16(acc, (__u16)(from >> 16), (__u16)(to >> 16));
}

static __always_inline __u16 csum_fold(__u32 c)
{
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	return (__u16)c;
}

/* HC' = ~(~HC + acc) */
static __always_inline __u16 csum_apply(__u16 sum, __u32 acc)
{
	__u32 c = (__u16)~sum;
	c += csum_fold(acc);
	return (__u16)~csum_fold(c);
}

#endif
