// The next-hop map (edgelb_be_nh, one entry per backend slot): the backend address's neighbour MAC
// on the uplink, the uplink's own MAC and its ifindex, for the slot's generation. Kept from the
// kernel's netlink neighbour and link events (RTNLGRP_NEIGH, RTNLGRP_LINK) — never polled — so a
// new flow needs no bpf_fib_lookup and a MAC change reaches the very next packet. Nothing is
// written from configuration: a backend without a valid neighbour entry on the uplink (not yet
// resolved, failed, off the segment) or an uplink that is down gets an empty entry, and the XDP
// program falls back to bpf_fib_lookup and the kernel exactly as without the map.
import type { Logger } from '../lib/logger.js';
import { canonicalIp } from '../lib/addr.js';
import { errorMessage } from '../lib/errors.js';
import type { NetlinkEvent, NetlinkWatchHandle } from '../native/index.js';
import { u32Key, type XdpNative } from './native.js';

/** NUD_REACHABLE | STALE | DELAY | PROBE | NOARP | PERMANENT: the kernel's NUD_VALID (bpf_fib_lookup's test). */
export const NUD_VALID = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80;

type Native = Pick<XdpNative, 'xdpEncode' | 'mapUpdate' | 'openNetlinkWatch'>;

interface Slot {
  address: string;
  gen: number;
}

export class NextHops {
  private watch: NetlinkWatchHandle | undefined;
  /** backend slot index -> its address and generation */
  private readonly slots = new Map<number, Slot>();
  /** address -> MAC of its valid neighbour entry on the uplink */
  private readonly neigh = new Map<string, string>();
  private linkMac: string | undefined;
  private linkUp = false;
  /** dumps still to request, one at a time (a netlink socket runs one dump at once) */
  private dumps: Array<'links' | 'neighbours'> = [];
  private dumping: 'links' | 'neighbours' | undefined;
  /** Both dumps answered: from then on the map follows the kernel. */
  synced = false;
  /** Entries written (tests wait on the map through it). */
  writes = 0;

  constructor(
    private readonly n: Native,
    private readonly ifindex: number,
    private readonly fd: number,
    private readonly log: Logger,
  ) {}

  /** Subscribe, then dump links and neighbours on the same socket (in order with the events). */
  start(): void {
    try {
      this.watch = this.n.openNetlinkWatch();
      this.watch.start((events) => this.onEvents(events));
    } catch (e) {
      this.watch = undefined;
      this.log.warn({ err: errorMessage(e) }, 'netlink neighbour events unavailable: new flows look their next hop up (bpf_fib_lookup)');
      return;
    }
    this.resync();
  }

  close(): void {
    this.watch?.close();
    this.watch = undefined;
  }

  /** A backend slot now holds address with generation gen. */
  setSlot(index: number, address: string, gen: number): void {
    this.slots.set(index, { address: canonicalIp(address), gen });
    if (this.synced) this.write(index);
  }

  /** A backend slot was freed: its entry is emptied (the program would ignore it anyway: gen). */
  dropSlot(index: number): void {
    this.slots.delete(index);
    this.n.mapUpdate(this.fd, u32Key(index), this.n.xdpEncode('nh', { gen: 0 }));
  }

  /** The MAC the map holds for address, as this keeper last wrote it (undefined: a miss). */
  macOf(address: string): string | undefined {
    return this.linkUp && this.linkMac ? this.neigh.get(canonicalIp(address)) : undefined;
  }

  private resync(): void {
    this.dumps = ['links', 'neighbours'];
    this.nextDump();
  }

  private nextDump(): void {
    if (this.dumping || !this.watch) return;
    const d = this.dumps.shift();
    if (!d) return;
    this.dumping = d;
    try {
      if (d === 'links') this.watch.dumpLinks();
      else this.watch.dumpNeighbours();
    } catch (e) {
      this.dumping = undefined;
      this.log.warn({ err: errorMessage(e), dump: d }, 'netlink dump request failed: next hops from bpf_fib_lookup until the next event');
    }
  }

  private onEvents(events: NetlinkEvent[]): void {
    const changed = new Set<string>();
    let all = false;
    for (const e of events) {
      if (e.kind === 'neigh') {
        if (e.ifindex !== this.ifindex) continue;
        const addr = canonicalIp(e.address);
        const mac = e.op === 'new' && e.state & NUD_VALID && e.mac ? e.mac : undefined;
        if (this.neigh.get(addr) === mac) continue;
        if (mac) this.neigh.set(addr, mac);
        else this.neigh.delete(addr);
        changed.add(addr);
      } else if (e.kind === 'link') {
        if (e.ifindex !== this.ifindex) continue;
        const up = e.op === 'new' && e.up;
        const mac = e.op === 'new' ? (e.mac ?? this.linkMac) : undefined;
        if (up !== this.linkUp || mac !== this.linkMac) {
          if (up !== this.linkUp) this.log.info({ ifindex: this.ifindex, up }, up ? 'uplink up: next hops from the neighbour table' : 'uplink down: next-hop map emptied');
          this.linkUp = up;
          this.linkMac = mac;
          all = true;
        }
      } else if (e.kind === 'done') {
        if (this.dumping === 'neighbours' && !this.synced) {
          this.synced = true;
          all = true;
        }
        this.dumping = undefined;
        this.nextDump();
      } else if (e.kind === 'overflow') {
        // a dump in progress still ends (its parts are made as the socket drains, never dropped):
        // the new dumps follow it (a second dump request at once would fail with EBUSY)
        this.log.warn('netlink neighbour events lost (socket buffer full): dumping again');
        this.resync();
      }
    }
    if (!this.synced) return;
    for (const [index, s] of this.slots) if (all || changed.has(s.address)) this.write(index);
  }

  private write(index: number): void {
    const s = this.slots.get(index);
    if (!s) return;
    const dmac = this.macOf(s.address);
    const v = dmac ? { smac: this.linkMac, dmac, ifindex: this.ifindex, gen: s.gen } : { gen: s.gen };
    try {
      this.n.mapUpdate(this.fd, u32Key(index), this.n.xdpEncode('nh', v));
      this.writes++;
    } catch (e) {
      this.log.warn({ err: errorMessage(e), index }, 'next-hop map write failed');
    }
  }
}
