// Per-VIP blackhole routes: every VIP the data path serves gets "blackhole VIP proto 225 table
// 25956", and the uplink one rule per family, "iif UPLINK lookup 25956 pref 500". A packet from the
// uplink that XDP hands to the kernel while addressed to a VIP (neighbour discovery aside, nothing
// should be) is dropped there instead of being routed back to the router until its TTL runs out;
// the node's own traffic to a VIP (iif lo) finds no route in that table and uses the main one as
// before. Declarative and idempotent through the addon's netlink socket (native/netlink_route.cc):
// open() takes over what a previous daemon left, sync(vips) adds and removes the difference,
// remove() (uninstall) and removeVipRoutes() (`edgelb cleanup`) take everything away.
import type { Logger } from '../lib/logger.js';
import { canonicalIp } from '../lib/addr.js';
import { errorMessage } from '../lib/errors.js';
import type { NativeBinding, RouteSelector } from '../native/index.js';

/** The routing table of the VIP routes ("ed" in ASCII) and their route protocol (iproute2 prints it as 225). */
export const VIP_ROUTES: RouteSelector = { table: 25956, protocol: 225 };
/** The rule's priority: before the main table's (32766) and most policy routing. */
export const VIP_RULE_PRIORITY = 500;

export type RouteNative = Pick<NativeBinding, 'routeUpdate' | 'routeList' | 'ruleUpdate'>;

export class VipRoutes {
  /** VIPs whose blackhole is ours (in the kernel now). */
  private readonly have = new Set<string>();
  /** VIPs with a route we did not make (EEXIST on add): warned once, left alone. */
  private readonly foreign = new Set<string>();
  private ready = false;

  constructor(
    private readonly n: RouteNative,
    private readonly iface: string,
    private readonly log: Logger,
  ) {}

  /** The rule, and the routes a previous daemon left (a takeover keeps them until sync). */
  async open(): Promise<void> {
    const r = await this.n.ruleUpdate(VIP_ROUTES, { iif: this.iface, priority: VIP_RULE_PRIORITY }, true);
    const failed = r.errors.filter((e) => e.code !== 'EEXIST');
    if (failed.length > 0) throw new Error(`rule iif ${this.iface} lookup ${VIP_ROUTES.table}: ${failed.map((e) => `${e.address} ${e.code}`).join(', ')}`);
    for (const a of await this.n.routeList(VIP_ROUTES)) this.have.add(canonicalIp(a));
    this.ready = true;
    if (this.have.size > 0) this.log.info({ routes: this.have.size }, 'per-VIP blackhole routes of the previous daemon taken over');
  }

  /** Make the kernel hold a blackhole for exactly these VIPs (ours; a foreign route stays). */
  async sync(vips: Iterable<string>): Promise<void> {
    if (!this.ready) await this.open();
    const want = new Set([...vips].map(canonicalIp));
    const add = [...want].filter((v) => !this.have.has(v) && !this.foreign.has(v));
    const del = [...this.have].filter((v) => !want.has(v));
    for (const v of [...this.foreign]) if (!want.has(v)) this.foreign.delete(v);
    if (add.length === 0 && del.length === 0) return;
    const r = await this.n.routeUpdate(VIP_ROUTES, add, del);
    const err = new Map(r.errors.map((e) => [`${e.op} ${canonicalIp(e.address)}`, e.code]));
    for (const v of del) {
      const code = err.get(`delete ${v}`);
      if (code === undefined || code === 'ESRCH' || code === 'ENOENT') this.have.delete(v);
      else this.log.warn({ vip: v, code }, 'per-VIP blackhole route not removed');
    }
    for (const v of add) {
      const code = err.get(`add ${v}`);
      if (code === undefined) this.have.add(v);
      else if (code === 'EEXIST') {
        this.foreign.add(v);
        this.log.warn({ vip: v, table: VIP_ROUTES.table }, `a route for VIP ${v} that edgelb did not make is in table ${VIP_ROUTES.table}: left alone`);
      } else this.log.warn({ vip: v, code }, 'per-VIP blackhole route not added: a packet the kernel gets for this VIP may be routed back out');
    }
    this.log.debug({ added: add.length, removed: del.length, routes: this.have.size }, 'per-VIP blackhole routes synced');
  }

  /** Uninstall: every route of ours and the rules. */
  async remove(): Promise<number> {
    const n = await removeVipRoutes(this.n, this.iface, this.log);
    this.have.clear();
    this.ready = false;
    return n;
  }

  /** The VIPs with a blackhole of ours (tests, metrics). */
  routes(): string[] {
    return [...this.have].sort();
  }
}

/** Remove every edgelb VIP route (whoever made it) and the rules of iface; returns the routes removed. */
export async function removeVipRoutes(n: RouteNative, iface: string, log: Logger): Promise<number> {
  const all = await n.routeList(VIP_ROUTES);
  let removed = 0;
  if (all.length > 0) {
    const r = await n.routeUpdate(VIP_ROUTES, [], all);
    removed = all.length - r.errors.length;
    if (r.errors.length > 0) log.warn({ failed: r.errors.slice(0, 10) }, 'per-VIP blackhole routes not all removed');
  }
  try {
    const r = await n.ruleUpdate(VIP_ROUTES, { iif: iface, priority: VIP_RULE_PRIORITY }, false);
    const failed = r.errors.filter((e) => e.code !== 'ENOENT');
    if (failed.length > 0) log.warn({ failed }, 'per-VIP route rules not removed');
  } catch (e) {
    log.warn({ iface, err: errorMessage(e) }, 'per-VIP route rules not removed');
  }
  if (removed > 0) log.info({ removed }, 'per-VIP blackhole routes removed');
  return removed;
}
