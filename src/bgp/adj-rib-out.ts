// Per-peer adj-RIB-out: what we want the peer to have (desired) against what it has (sent).
// setDesired() only marks the difference dirty; take() builds UPDATEs lazily, when the socket can
// take more, from the dirty prefixes as they are *now* — so a route withdrawn before it was sent
// never goes out at all, and a flapping route costs nothing while the socket is busy.
import type { CodecContext, PathAttributes } from './wire/index.js';
import { packUpdates } from './wire/index.js';

/** The attributes a prefix goes out with; one object is shared by every prefix with equal attributes. */
export interface OutRoute {
  prefix?: string;
  family: 4 | 6;
  /** Attributes without NLRI (MP_REACH next hops included for IPv6). */
  attrs: PathAttributes;
  /** Stable text of attrs: equal keys pack into the same UPDATE. */
  key: string;
}

/** A peer's desired routes, prefix → OutRoute: a Map, or a read-through view (bgp/export.ts). Never mutated once given. */
export interface DesiredRoutes {
  readonly size: number;
  get(prefix: string): OutRoute | undefined;
  has(prefix: string): boolean;
  keys(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, OutRoute]>;
}

/** A stable key for attributes (JSON with sorted object keys). */
export function attrKey(family: 4 | 6, attrs: PathAttributes): string {
  return `${family}|${JSON.stringify(attrs, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  })}`;
}

export class AdjRibOut {
  private desired: DesiredRoutes = new Map<string, OutRoute>();
  /** prefix → key of the attributes the peer has */
  private sent = new Map<string, string>();
  private dirty = new Set<string>();
  /**
   * A fresh session's full table: the desired prefixes not yet looked at, walked in place instead
   * of copying 100k prefixes into `dirty` first (time before the first UPDATE, and memory).
   */
  private sweep: Iterator<[string, OutRoute]> | null = null;
  private sweepLeft = 0;

  /** Replace the desired routes; returns how many prefixes changed. */
  setDesired(routes: DesiredRoutes): number {
    if (this.sent.size === 0 && this.dirty.size === 0 && this.sweepLeft === 0) {
      // nothing sent, nothing pending: every desired prefix is new (the initial transfer)
      this.desired = routes;
      this.sweep = routes.size > 0 ? routes[Symbol.iterator]() : null;
      this.sweepLeft = routes.size;
      return routes.size;
    }
    this.endSweep();
    let changed = 0;
    for (const [p, r] of routes) {
      const old = this.desired.get(p);
      if (!old || old.key !== r.key) {
        this.dirty.add(p);
        changed++;
      }
    }
    for (const p of this.desired.keys()) {
      if (!routes.has(p)) {
        this.dirty.add(p);
        changed++;
      }
    }
    this.desired = routes;
    return changed;
  }

  /** The sweep's prefixes not yet looked at become ordinary dirty ones (desired is about to change). */
  private endSweep(): void {
    if (this.sweep) for (let r = this.sweep.next(); !r.done; r = this.sweep.next()) this.dirty.add(r.value[0]);
    this.sweep = null;
    this.sweepLeft = 0;
  }

  /** Route refresh: send every desired route again. */
  resendAll(): void {
    this.endSweep();
    for (const p of this.desired.keys()) {
      this.sent.delete(p);
      this.dirty.add(p);
    }
  }

  /** Session went down: the peer has nothing of ours any more; desired routes wait for the next session. */
  clear(): void {
    this.sent.clear();
    this.desired = new Map();
    this.dirty.clear();
    this.sweep = null;
    this.sweepLeft = 0;
  }

  /** Prefixes waiting to be sent or withdrawn. */
  get pending(): number {
    return this.dirty.size + this.sweepLeft;
  }

  /** Prefixes the peer has from us. */
  get sentCount(): number {
    return this.sent.size;
  }

  get desiredCount(): number {
    return this.desired.size;
  }

  /** Whether the peer has this prefix from us. */
  has(prefix: string): boolean {
    return this.sent.has(prefix);
  }

  /**
   * Build UPDATEs for up to `maxPrefixes` dirty prefixes (withdrawals first), and record them as sent.
   * Returns the messages (each a whole BGP message) in the order to send them.
   */
  take(ctx: CodecContext, maxPrefixes = 4000): Buffer[] {
    const withdraw: Record<4 | 6, string[]> = { 4: [], 6: [] };
    const announce = new Map<string, { route: OutRoute; nlri: string[] }>();
    let last: { route: OutRoute; nlri: string[] } | undefined;
    let n = 0;
    const visit = (p: string): void => {
      const want = this.desired.get(p);
      const has = this.sent.get(p);
      if (want) {
        if (has === want.key) return;
        // consecutive prefixes mostly share one attribute set: skip the lookup then
        let g = last && (last.route === want || last.route.key === want.key) ? last : announce.get(want.key);
        if (!g) announce.set(want.key, (g = { route: want, nlri: [] }));
        last = g;
        g.nlri.push(p);
        this.sent.set(p, want.key);
        n++;
      } else if (has !== undefined) {
        withdraw[p.includes(':') ? 6 : 4].push(p);
        this.sent.delete(p);
        n++;
      }
    };
    // one iterator over the dirty set (deleting as it goes), then the initial sweep
    for (const p of this.dirty) {
      if (n >= maxPrefixes) break;
      this.dirty.delete(p);
      visit(p);
    }
    // the sweep of a fresh session: nothing was sent before it and nothing is dirty while it runs
    // (setDesired and resendAll end it first), so each prefix is new: no lookups, just record it
    while (n < maxPrefixes && this.sweep) {
      const r = this.sweep.next();
      if (r.done || --this.sweepLeft <= 0) {
        this.sweep = null;
        this.sweepLeft = 0;
      }
      if (r.done) break;
      const [p, want] = r.value;
      let g = last && (last.route === want || last.route.key === want.key) ? last : announce.get(want.key);
      if (!g) announce.set(want.key, (g = { route: want, nlri: [] }));
      last = g;
      g.nlri.push(p);
      this.sent.set(p, want.key);
      n++;
    }
    const out: Buffer[] = [];
    for (const f of [4, 6] as const) {
      if (withdraw[f].length > 0) out.push(...packUpdates({}, [], withdraw[f], ctx, f));
    }
    for (const { route, nlri } of announce.values()) out.push(...packUpdates(route.attrs, nlri, [], ctx, route.family));
    return out;
  }
}
