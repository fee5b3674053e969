// Managed neighbour entries (NTF_EXT_MANAGED, Linux 5.16+) that keep on-segment backends resolved
// for bpf_fib_lookup — the MAC still comes from ARP/NDP, never from configuration. Through the
// addon's netlink socket on the libuv thread pool: nothing here blocks the event loop or starts a
// process.
import type { Logger } from '../lib/logger.js';
import type { NativeBinding } from '../native/index.js';

type Netlink = Pick<NativeBinding, 'neighUpdate' | 'neighList'>;

/** Add (managed) and remove neighbour entries in one batch; an entry already gone is not an error. */
export async function updateNeighbours(n: Netlink, ifindex: number, add: readonly string[], del: readonly string[], log: Logger): Promise<void> {
  if (add.length === 0 && del.length === 0) return;
  const r = await n.neighUpdate(ifindex, add, del, { managed: true });
  const failed = r.errors.filter((e) => !(e.op === 'delete' && e.code === 'ENOENT'));
  if (failed.length > 0) log.debug({ failed: failed.slice(0, 10), count: failed.length }, 'managed neighbour entries not all updated');
}

/** Managed neighbour entries on ifindex (edgelb is the only writer of managed entries it knows). */
export async function managedNeighbours(n: Netlink, ifindex: number): Promise<string[]> {
  return (await n.neighList(ifindex)).filter((e) => e.managed).map((e) => e.address);
}
