// Per-peer adj-RIB-in. edgelb installs no received route, so by default it keeps only which
// prefixes the peer announced (to count them per family and to enforce maxPrefixes), never their
// attributes. `keepReceived` keeps attributes for visibility within a byte budget. Over maxPrefixes
// the excess announcements are dropped (and counted); the session decides warn or teardown.
import type { UpdateMessage } from './wire/index.js';

export interface InRoute {
  prefix: string;
  nextHop?: string;
  asPath: string;
  med?: number;
  communities?: string[];
}

export interface AdjRibInOptions {
  /** Most prefixes held (0 = no limit); announcements past it are dropped. */
  maxPrefixes: number;
  /** Keep the routes' attributes (visibility) within `keepBytes`. */
  keep: boolean;
  keepBytes: number;
}

/** What one UPDATE did to the adj-RIB-in. */
export interface RibInResult {
  /** New prefixes refused because the table held maxPrefixes. */
  dropped: number;
}

/** Rough bytes one kept route costs (strings and object overhead), for the keepReceived budget. */
function routeBytes(r: InRoute): number {
  let n = 96 + 2 * (r.prefix.length + r.asPath.length + (r.nextHop?.length ?? 0));
  for (const c of r.communities ?? []) n += 48 + 2 * c.length;
  return n;
}

export class AdjRibIn {
  /** Announced prefixes (value: the kept route, or null when attributes are not kept). */
  private prefixes = new Map<string, InRoute | null>();
  private v4 = 0;
  private v6 = 0;
  private bytes = 0;
  /** Prefixes refused over maxPrefixes on this session. */
  dropped = 0;
  /** Some routes are counted but their attributes not kept (byte budget reached). */
  truncated = false;

  constructor(private readonly o: AdjRibInOptions) {}

  /** Apply one UPDATE (treat-as-withdraw ones arrive with everything in `withdrawn`). */
  apply(u: UpdateMessage): RibInResult {
    for (const p of u.withdrawn) this.remove(p);
    for (const p of u.attributes.mpUnreach?.withdrawn ?? []) this.remove(p);
    const a = u.attributes;
    const mp = a.mpReach;
    let dropped = 0;
    if (u.nlri.length === 0 && (!mp || mp.nlri.length === 0)) return { dropped };
    let base: Omit<InRoute, 'prefix'> | null = null;
    if (this.o.keep) {
      const asPath = (a.asPath ?? []).map((s) => (s.type === 'set' ? `{${s.asns.join(' ')}}` : s.asns.join(' '))).join(' ');
      base = { asPath, ...(a.med !== undefined ? { med: a.med } : {}), ...(a.communities ? { communities: a.communities } : {}) };
    }
    const add = (p: string, nextHop: string | undefined) => {
      const had = this.prefixes.has(p);
      if (!had && this.o.maxPrefixes > 0 && this.prefixes.size >= this.o.maxPrefixes) {
        dropped++;
        return;
      }
      if (had) this.forgetBytes(p);
      else if (p.includes(':')) this.v6++;
      else this.v4++;
      let route: InRoute | null = null;
      if (base) {
        const r: InRoute = { prefix: p, ...base, ...(nextHop ? { nextHop } : {}) };
        const n = routeBytes(r);
        if (this.bytes + n <= this.o.keepBytes) {
          route = r;
          this.bytes += n;
        } else this.truncated = true;
      }
      this.prefixes.set(p, route);
    };
    for (const p of u.nlri) add(p, a.nextHop);
    if (mp) for (const p of mp.nlri) add(p, mp.nextHops[0]);
    this.dropped += dropped;
    return { dropped };
  }

  private forgetBytes(p: string): void {
    const r = this.prefixes.get(p);
    if (r) this.bytes -= routeBytes(r);
  }

  private remove(p: string): void {
    if (!this.prefixes.has(p)) return;
    this.forgetBytes(p);
    this.prefixes.delete(p);
    if (p.includes(':')) this.v6--;
    else this.v4--;
  }

  get size(): number {
    return this.prefixes.size;
  }

  /** Prefixes held per family. */
  counts(): { ipv4: number; ipv6: number } {
    return { ipv4: this.v4, ipv6: this.v6 };
  }

  /** Bytes the kept attributes take (0 unless keepReceived). */
  get keptBytes(): number {
    return this.bytes;
  }

  clear(): void {
    this.prefixes.clear();
    this.v4 = this.v6 = this.bytes = this.dropped = 0;
    this.truncated = false;
  }

  /** The kept routes (empty unless keepReceived). */
  list(): InRoute[] {
    const out: InRoute[] = [];
    for (const r of this.prefixes.values()) if (r) out.push(r);
    return out;
  }
}
