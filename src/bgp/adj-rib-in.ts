// Per-peer adj-RIB-in: the routes a peer sent us, kept for visibility only (edgelb installs none),
// with the max-prefix guard's count.
import type { UpdateMessage } from './wire/index.js';

export interface InRoute {
  prefix: string;
  nextHop?: string;
  asPath: string;
  med?: number;
  communities?: string[];
}

export class AdjRibIn {
  private routes = new Map<string, InRoute>();

  /** Apply one UPDATE (treat-as-withdraw ones arrive with everything in `withdrawn`). */
  apply(u: UpdateMessage): void {
    for (const p of u.withdrawn) this.routes.delete(p);
    for (const p of u.attributes.mpUnreach?.withdrawn ?? []) this.routes.delete(p);
    const a = u.attributes;
    const asPath = (a.asPath ?? []).map((s) => (s.type === 'set' ? `{${s.asns.join(' ')}}` : s.asns.join(' '))).join(' ');
    const base = { asPath, ...(a.med !== undefined ? { med: a.med } : {}), ...(a.communities ? { communities: a.communities } : {}) };
    for (const p of u.nlri) this.routes.set(p, { prefix: p, ...base, ...(a.nextHop ? { nextHop: a.nextHop } : {}) });
    const mp = a.mpReach;
    if (mp) for (const p of mp.nlri) this.routes.set(p, { prefix: p, ...base, ...(mp.nextHops[0] ? { nextHop: mp.nextHops[0] } : {}) });
  }

  get size(): number {
    return this.routes.size;
  }

  clear(): void {
    this.routes.clear();
  }

  list(): InRoute[] {
    return [...this.routes.values()];
  }
}
