// Per-peer adj-RIB-out: what we want the peer to have (desired) against what it has (sent).
// setDesired() only marks the difference dirty; take() builds UPDATEs lazily, when the socket can
// take more, from the dirty prefixes as they are *now* — so a route withdrawn before it was sent
// never goes out at all, and a flapping route costs nothing while the socket is busy. A fresh
// session's table goes out by a sweep over the desired routes in place, and what the peer then
// has is that table itself (`base`) plus per-prefix changes: no 100k-entry copy per session.
// A table all of whose routes share one attribute set may come in wire form (its prefixes encoded
// before the session): the sweep then packs byte ranges of it, with no step per prefix.
import type { CodecContext, EncodedPrefixes, PathAttributes } from './wire/index.js';
import { packEncoded, packUpdates } from './wire/index.js';

/** The attributes a prefix goes out with; one object is shared by every prefix with equal attributes. */
export interface OutRoute {
  prefix?: string;
  family: 4 | 6;
  /** Attributes without NLRI (MP_REACH next hops included for IPv6). */
  attrs: PathAttributes;
  /** Stable text of attrs: equal keys pack into the same UPDATE. */
  key: string;
}

/**
 * The whole of a DesiredRoutes in wire form, for the initial sweep: every route is `route`, and
 * prefix i of the iteration order is prefix i of `nlri` (encoded before the session, bgp/export.ts).
 */
export interface WireTable {
  readonly route: OutRoute;
  readonly nlri: EncodedPrefixes;
}

/** A peer's desired routes, prefix → OutRoute: a Map, or a read-through view (bgp/export.ts). Never mutated once given. */
export interface DesiredRoutes {
  readonly size: number;
  get(prefix: string): OutRoute | undefined;
  has(prefix: string): boolean;
  keys(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, OutRoute]>;
  /** The routes in wire form when they all share one route (else undefined). */
  wire?(): WireTable | undefined;
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
  /**
   * What the peer has: `base` (a complete initial sweep: every route of it), overridden per prefix
   * by `sent` (the key of the attributes it has, or null: it has nothing of that prefix).
   */
  private base: DesiredRoutes | null = null;
  private sent = new Map<string, string | null>();
  private sentN = 0;
  private dirty = new Set<string>();
  /**
   * A fresh session's full table: the desired routes walked in place. The first `swept` of them
   * (in the table's order) went out; they are written into `sent` only if the sweep is cut short
   * or someone asks (`recorded`), else the whole table becomes `base` when the sweep ends.
   */
  private sweeping = false;
  /** The sweep's place in the desired routes (made when needed, past the first `swept`). */
  private sweepIt: Iterator<[string, OutRoute]> | null = null;
  /** The desired routes in wire form: the sweep packs their encoded prefixes by index. */
  private sweepWire: WireTable | null = null;
  private sweepLeft = 0;
  private swept = 0;
  private recorded = false;

  /** Replace the desired routes; returns how many prefixes changed. */
  setDesired(routes: DesiredRoutes): number {
    if (this.sentN === 0 && this.dirty.size === 0 && !this.sweeping) {
      // nothing sent, nothing pending: every desired prefix is new (the initial transfer)
      this.desired = routes;
      this.base = null;
      this.sent.clear();
      this.startSweep();
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

  private startSweep(): void {
    this.sweeping = this.desired.size > 0;
    this.sweepIt = null;
    const w = this.sweeping ? this.desired.wire?.() : undefined;
    this.sweepWire = w && w.nlri.ends.length === this.desired.size ? w : null;
    this.sweepLeft = this.desired.size;
    this.swept = 0;
    this.recorded = false;
  }

  /** The sweep's iterator, at the first prefix not swept yet. */
  private sweepIter(): Iterator<[string, OutRoute]> {
    if (!this.sweepIt) {
      this.sweepIt = this.desired[Symbol.iterator]();
      for (let k = this.swept; k > 0; k--) this.sweepIt.next();
    }
    return this.sweepIt;
  }

  /** The sweep's prefixes sent so far go into `sent` (from here on the sweep records each one). */
  private record(): void {
    if (!this.sweeping || this.recorded) return;
    let k = this.swept;
    for (const [p, r] of this.desired) {
      if (k-- <= 0) break;
      this.sent.set(p, r.key);
    }
    this.recorded = true;
  }

  /** Cut the sweep short: what it sent is recorded, what it did not is dirty (desired is about to change). */
  private endSweep(): void {
    if (!this.sweeping) return;
    this.record();
    const it = this.sweepIter();
    for (let r = it.next(); !r.done; r = it.next()) this.dirty.add(r.value[0]);
    this.stopSweep();
  }

  private stopSweep(): void {
    this.sweeping = false;
    this.sweepIt = null;
    this.sweepWire = null;
    this.sweepLeft = 0;
  }

  /** The key of the attributes the peer has for `p`, or undefined. */
  private sentKey(p: string): string | undefined {
    const o = this.sent.get(p);
    if (o !== undefined) return o ?? undefined;
    return this.base?.get(p)?.key;
  }

  private setSent(p: string, key: string): void {
    if (this.sentKey(p) === undefined) this.sentN++;
    this.sent.set(p, key);
  }

  private unsetSent(p: string): void {
    if (this.sentKey(p) === undefined) return;
    this.sentN--;
    if (this.base?.has(p)) this.sent.set(p, null);
    else this.sent.delete(p);
  }

  /** Route refresh: send every desired route again. */
  resendAll(): void {
    this.endSweep();
    for (const p of this.desired.keys()) {
      this.unsetSent(p);
      this.dirty.add(p);
    }
  }

  /** Session went down: the peer has nothing of ours any more; desired routes wait for the next session. */
  clear(): void {
    this.sent.clear();
    this.base = null;
    this.sentN = 0;
    this.desired = new Map();
    this.dirty.clear();
    this.stopSweep();
  }

  /** Prefixes waiting to be sent or withdrawn. */
  get pending(): number {
    return this.dirty.size + this.sweepLeft;
  }

  /** Prefixes the peer has from us. */
  get sentCount(): number {
    return this.sentN;
  }

  get desiredCount(): number {
    return this.desired.size;
  }

  /** Whether the peer has this prefix from us. */
  has(prefix: string): boolean {
    this.record();
    return this.sentKey(prefix) !== undefined;
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
    const group = (p: string, want: OutRoute): void => {
      // consecutive prefixes mostly share one attribute set: skip the lookup then
      let g = last && (last.route === want || last.route.key === want.key) ? last : announce.get(want.key);
      if (!g) announce.set(want.key, (g = { route: want, nlri: [] }));
      last = g;
      g.nlri.push(p);
      n++;
    };
    // one iterator over the dirty set (deleting as it goes), then the initial sweep
    for (const p of this.dirty) {
      if (n >= maxPrefixes) break;
      this.dirty.delete(p);
      const want = this.desired.get(p);
      const has = this.sentKey(p);
      if (want) {
        if (has === want.key) continue;
        group(p, want);
        this.setSent(p, want.key);
      } else if (has !== undefined) {
        withdraw[p.includes(':') ? 6 : 4].push(p);
        this.unsetSent(p);
        n++;
      }
    }
    let wireOut: Buffer[] | undefined;
    // the sweep of a fresh session: nothing was sent before it and nothing is dirty while it runs
    // (setDesired and resendAll end it first), so each prefix is new: no lookups. Routes in wire
    // form go out by index, without a step per prefix (unless each one must be recorded).
    const w = this.sweepWire;
    if (w && this.sweeping && !this.recorded && n < maxPrefixes) {
      const k = Math.min(maxPrefixes - n, this.sweepLeft);
      wireOut = packEncoded(w.route.attrs, w.nlri, this.swept, this.swept + k, ctx, w.route.family);
      this.swept += k;
      this.sentN += k;
      this.sweepIt = null;
      n += k;
      if ((this.sweepLeft -= k) <= 0) this.sweepDone();
    }
    while (n < maxPrefixes && this.sweeping) {
      const r = this.sweepIter().next();
      if (r.done) {
        this.sweepDone();
        break;
      }
      const [p, want] = r.value;
      group(p, want);
      this.swept++;
      this.sentN++;
      if (this.recorded) this.sent.set(p, want.key);
      if (--this.sweepLeft <= 0) this.sweepDone();
    }
    const out: Buffer[] = [];
    for (const f of [4, 6] as const) {
      if (withdraw[f].length > 0) out.push(...packUpdates({}, [], withdraw[f], ctx, f));
    }
    for (const { route, nlri } of announce.values()) out.push(...packUpdates(route.attrs, nlri, [], ctx, route.family));
    if (wireOut) out.push(...wireOut);
    return out;
  }

  /** The sweep went through the whole table: unless it was recorded, the peer has the table itself. */
  private sweepDone(): void {
    if (!this.recorded) this.base = this.desired;
    this.stopSweep();
  }
}
