// Managed neighbour entries (NTF_EXT_MANAGED, Linux 5.16+) that keep on-segment backends resolved
// for bpf_fib_lookup — the MAC still comes from ARP/NDP, never from configuration. Through the
// addon's netlink socket on the libuv thread pool: nothing here blocks the event loop or starts a
// process.
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
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

/**
 * Re-add the managed entries of want that are missing (deleted by hand, flushed): a packet toward
 * an unresolved backend is lost (dsr drops it: it is still addressed to the VIP, for which the
 * kernel holds a blackhole; onearm's carries the node's own source address, a martian to the
 * kernel), so the entry must exist for the kernel to resolve it. Returns the re-added ones.
 */
export async function restoreManaged(n: Netlink, ifindex: number, want: readonly string[], log: Logger): Promise<string[]> {
  if (want.length === 0) return [];
  const have = new Set((await managedNeighbours(n, ifindex)).map((a) => a.toLowerCase()));
  const missing = want.filter((a) => !have.has(a.toLowerCase()));
  if (missing.length > 0) {
    await updateNeighbours(n, ifindex, missing, [], log);
    log.info({ backends: missing.slice(0, 10), count: missing.length }, 'managed neighbour entries of backends were missing (packets toward them lost): re-added');
  }
  return missing;
}

/**
 * Every everyMs, when the dropped counter (packets toward an unresolved backend) has risen, restore the
 * missing managed entries of the wanted backends. Returns the timer (unref'd; clearInterval stops it).
 */
export function watchUnresolved(n: Netlink, ifindex: number, everyMs: number, src: { dropped(): number; wanted(): string[] }, log: Logger): NodeJS.Timeout | undefined {
  if (everyMs <= 0) return undefined;
  let seen = src.dropped();
  let busy = false;
  const t = setInterval(() => {
    if (busy) return;
    const now = src.dropped();
    if (now === seen) return;
    seen = now;
    busy = true;
    restoreManaged(n, ifindex, src.wanted(), log)
      .catch((e: unknown) => log.debug({ err: errorMessage(e) }, 'managed neighbour entries not restored'))
      .finally(() => (busy = false));
  }, everyMs);
  t.unref();
  return t;
}
