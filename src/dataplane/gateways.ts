// UplinkGateways: managed neighbour entries (NTF_EXT_MANAGED, neighbours.ts) for the gateways of
// the routes the uplink takes toward clients, so XDP forwards the first reply of a flow itself.
// A reply (dnat, onearm, fullnat) leaves through bpf_fib_lookup; while the gateway has no valid
// neighbour entry that answers NO_NEIGH and the packet goes to the kernel, which drops an IPv6
// one (no net.ipv6.conf.all.forwarding: the daemon enables forwarding on the uplink only) and
// forwards an IPv4 one only after ARP.
// Followed live from netlink route events (RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE; a dump at start
// and after an overflow), never polled: every unicast route of any table but local with a next hop
// via a gateway on the uplink wants that gateway resolved. The entry is made when the first such
// route appears, removed when the last one goes, and made again at once when something deletes it
// (`ip neigh flush`, the carrier lost: a neighbour event); one that failed is tried again at the
// next route, neighbour or uplink-up event. Entries someone made permanent (or NOARP) are left alone.
import type { Logger } from '../lib/logger.js';
import { canonicalIp, familyOf } from '../lib/addr.js';
import { errorMessage } from '../lib/errors.js';
import type { NativeBinding, NetlinkEvent, NetlinkWatchHandle } from '../native/index.js';

type Native = Pick<NativeBinding, 'openNetlinkWatch' | 'neighUpdate' | 'neighList'>;
type RouteEvent = Extract<NetlinkEvent, { kind: 'route' }>;

const RTN_UNICAST = 1;
const RT_TABLE_LOCAL = 255;
/** NUD_NOARP | NUD_PERMANENT: an entry someone fixed by hand; never replaced by a managed one. */
const NUD_FIXED = 0x40 | 0x80;
/** Routes via the uplink tracked at most (a full table); default routes are always tracked. */
export const MAX_GATEWAY_ROUTES = 100_000;

export interface UplinkGatewaysOptions {
  /** Another owner (an on-segment backend) wants this address's managed entry: never delete it. */
  keep?: (address: string) => boolean;
  /** Default MAX_GATEWAY_ROUTES. */
  maxRoutes?: number;
}

export class UplinkGateways {
  private watch: NetlinkWatchHandle | undefined;
  /** route key (family, table, prefix, tos, metric) -> its gateways on the uplink */
  private routes = new Map<string, Set<string>>();
  /** managed entries of ours in the kernel (as far as the last update said) */
  private readonly have = new Set<string>();
  /** a route dump in progress, and another one asked for meanwhile */
  private dumping = false;
  private redump = false;
  /** the first dump ended: from then on entries follow the routes */
  synced = false;
  private closed = false;
  /** events were lost: check our entries against the kernel's at the next update */
  private verify = false;
  private warnedCap = false;
  private chain: Promise<void> = Promise.resolve();
  /** Neighbour updates made (tests wait on it). */
  updates = 0;

  constructor(
    private readonly n: Native,
    private readonly ifindex: number,
    private readonly log: Logger,
    private readonly opts: UplinkGatewaysOptions = {},
  ) {}

  /** Subscribe to route, neighbour and link events, then dump the routes on the same socket. */
  start(): void {
    try {
      this.watch = this.n.openNetlinkWatch(['route', 'neigh', 'link']);
      this.watch.start((events) => this.onEvents(events));
    } catch (e) {
      this.watch = undefined;
      this.log.warn({ err: errorMessage(e) }, 'netlink route events unavailable: the gateways toward clients get no managed neighbour entries (a reply may wait for the kernel to resolve them)');
      return;
    }
    this.dump();
  }

  /** Stop following; remove: delete the managed entries of ours (uninstall), else leave them (restart). */
  async close(opts: { remove: boolean }): Promise<void> {
    this.closed = true;
    this.watch?.close();
    this.watch = undefined;
    await this.chain;
    if (!opts.remove) return;
    const del = [...this.have].filter((a) => !this.opts.keep?.(a));
    this.have.clear();
    if (del.length === 0) return;
    const r = await this.n.neighUpdate(this.ifindex, [], del, { managed: true });
    const failed = r.errors.filter((e) => e.code !== 'ENOENT');
    if (failed.length > 0) this.log.warn({ failed: failed.slice(0, 10) }, 'managed neighbour entries of gateways not all removed');
  }

  /** The gateways the routes via the uplink use now, sorted. */
  gateways(): string[] {
    const out = new Set<string>();
    for (const g of this.routes.values()) for (const a of g) out.add(a);
    return [...out].sort();
  }

  /** The managed entries of ours, sorted (tests). */
  entries(): string[] {
    return [...this.have].sort();
  }

  /** Resolves when the updates queued so far are done (tests). */
  settled(): Promise<void> {
    return this.chain;
  }

  private dump(): void {
    if (!this.watch) return;
    if (this.dumping) {
      this.redump = true;
      return;
    }
    this.dumping = true;
    this.routes = new Map();
    try {
      this.watch.dumpRoutes();
    } catch (e) {
      this.dumping = false;
      this.synced = true;
      this.log.warn({ err: errorMessage(e) }, 'netlink route dump request failed: gateways follow route events only');
    }
  }

  private onEvents(events: NetlinkEvent[]): void {
    let changed = false;
    for (const e of events) {
      if (e.kind === 'route') {
        if (this.onRoute(e)) changed = true;
      } else if (e.kind === 'neigh') {
        // deleted (flushed) while a route still needs it: make it again now, not after a lost reply
        if (e.op === 'del' && e.ifindex === this.ifindex && this.have.delete(canonicalIp(e.address))) changed = true;
      } else if (e.kind === 'link') {
        // the uplink up again: make what could not be made while it was down (an update that failed)
        if (e.op === 'new' && e.up && e.ifindex === this.ifindex) changed = true;
      } else if (e.kind === 'done') {
        if (!this.dumping) continue;
        this.dumping = false;
        this.synced = true;
        changed = true;
        if (this.redump) {
          this.redump = false;
          this.dump();
        }
      } else if (e.kind === 'overflow') {
        // nothing is deleted before the new dump ends; then entries deleted meanwhile are made again
        this.log.warn('netlink route events lost (socket buffer full): dumping the routes again');
        this.verify = true;
        this.dump();
      }
    }
    if (changed && this.synced) this.sync();
  }

  /** Apply a route event; true when the gateways of the uplink may have changed. */
  private onRoute(e: RouteEvent): boolean {
    if (e.type !== RTN_UNICAST || e.table === RT_TABLE_LOCAL) return false;
    const key = `${e.family}|${e.table}|${e.dst}/${e.dstLen}|${e.tos}|${e.priority}`;
    const gws = new Set<string>();
    for (const h of e.nexthops) {
      if (h.ifindex !== this.ifindex || !h.gateway || familyOf(h.gateway) === 0) continue;
      gws.add(canonicalIp(h.gateway));
    }
    const have = this.routes.get(key);
    if (e.op === 'del') {
      if (!have) return false;
      // a route's deletion lists its next hops (IPv6 may delete one of several): remove those
      for (const g of gws) have.delete(g);
      if (gws.size === 0 || have.size === 0) this.routes.delete(key);
      return true;
    }
    if (e.replace || !have) {
      if (gws.size === 0) return this.routes.delete(key);
      if (!have && e.dstLen !== 0 && this.routes.size >= (this.opts.maxRoutes ?? MAX_GATEWAY_ROUTES)) {
        if (!this.warnedCap) {
          this.warnedCap = true;
          this.log.warn({ max: this.opts.maxRoutes ?? MAX_GATEWAY_ROUTES }, 'more routes via the uplink than tracked: gateways of the others get no managed neighbour entry (default routes always do)');
        }
        return false;
      }
      this.routes.set(key, gws);
      return true;
    }
    for (const g of gws) have.add(g);
    return gws.size > 0;
  }

  /** Make the kernel's managed entries match the gateways (queued: one update at a time). */
  private sync(): void {
    this.chain = this.chain.then(() => this.syncNow()).catch((e: unknown) => this.log.debug({ err: errorMessage(e) }, 'managed neighbour entries of gateways not updated'));
  }

  private async syncNow(): Promise<void> {
    if (this.closed) return;
    const want = new Set(this.gateways());
    if (this.verify && !this.dumping) {
      this.verify = false;
      const managed = new Set((await this.n.neighList(this.ifindex)).filter((x) => x.managed).map((x) => canonicalIp(x.address)));
      for (const a of [...this.have]) if (!managed.has(a)) this.have.delete(a);
    }
    let add = [...want].filter((a) => !this.have.has(a));
    // while a dump runs the routes are incomplete: add, never delete
    const del = this.dumping ? [] : [...this.have].filter((a) => !want.has(a));
    if (add.length === 0 && del.length === 0) return;
    if (add.length > 0) {
      // an entry fixed by hand stays as it is (a managed replace would make it dynamic)
      const fixed = new Set((await this.n.neighList(this.ifindex)).filter((x) => x.state & NUD_FIXED && !x.managed).map((x) => canonicalIp(x.address)));
      add = add.filter((a) => !fixed.has(a));
    }
    const remove = del.filter((a) => !this.opts.keep?.(a));
    for (const a of del) this.have.delete(a);
    if (add.length === 0 && remove.length === 0) return;
    const r = await this.n.neighUpdate(this.ifindex, add, remove, { managed: true });
    this.updates++;
    const failed = new Set(r.errors.filter((x) => x.op !== 'delete').map((x) => canonicalIp(x.address)));
    for (const a of add) if (!failed.has(a)) this.have.add(a);
    const errors = r.errors.filter((x) => !(x.op === 'delete' && x.code === 'ENOENT'));
    if (errors.length > 0) this.log.warn({ failed: errors.slice(0, 10) }, 'managed neighbour entries of gateways not all updated (retried at the next route or neighbour event)');
    this.log.info({ added: add.filter((a) => !failed.has(a)), removed: remove }, 'managed neighbour entries of the gateways toward clients updated');
  }
}
