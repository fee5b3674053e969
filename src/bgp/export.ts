// Per-peer export: the speaker's advertisement set → the routes one peer should have (its
// adj-RIB-out's desired side). The set is stored compactly (prefix → its own attributes, one shared
// PLAIN object for the common VIP without any); a peer without export policies gets a lazy view of
// it (no per-peer copy of 100k prefixes, nothing to build before the first UPDATE), a peer with
// policies a Map evaluated once per change. Equal attribute sets share one OutRoute.
import type { PolicySpec } from '../model/desired-state.js';
import { attrKey, type DesiredRoutes, type OutRoute, type WireTable } from './adj-rib-out.js';
import { evaluateExport, type ExportRoute } from './policy.js';
import { Afi, Safi, type AsPathSegment, type EncodedPrefixes, type PathAttributes } from './wire/index.js';
import { encodePrefixList } from './wire/prefix.js';

/** An advertisement's own attributes (frozen: views read them later). */
export interface AdAttrs {
  readonly med?: number;
  readonly localPref?: number;
  readonly communities?: readonly string[];
  readonly largeCommunities?: readonly string[];
}

/** The attributes of a plain advertisement (a VIP with none of its own), shared by all of them. */
export const PLAIN: AdAttrs = Object.freeze({});

/** The advertisement set: prefix (canonical) → attributes, and how many of each family. */
export interface AdTable {
  readonly ads: ReadonlyMap<string, AdAttrs>;
  readonly count4: number;
  readonly count6: number;
}

export interface ExportPeer {
  policies: readonly PolicySpec[];
  ibgp: boolean;
  localAsn: number;
  address: string;
  asn: number;
  /** Next hop per family; a family without one is not exported. */
  nextHop: Record<4 | 6, string | undefined>;
}

const NONE: readonly string[] = Object.freeze([]);
const NONE_N: readonly number[] = Object.freeze([]);

const familyOfPrefix = (p: string): 4 | 6 => (p.includes(':') ? 6 : 4);

/** One family of a table in wire form: its prefixes in table order, and the first of them. */
interface FamilyWire {
  readonly nlri: EncodedPrefixes;
  readonly first: string;
}
/** Per table, per family: its wire form, or null when some advertisement of it has attributes of its own. */
const wires = new WeakMap<AdTable, Partial<Record<4 | 6, FamilyWire | null>>>();

/**
 * A family of the table in wire form when every advertisement of it is PLAIN (the initial transfer
 * of a fresh session then packs byte ranges of it), else null. Made once per table: by
 * encodeTable() ahead of any session, or here at the first session that needs it.
 */
export function tableWire(t: AdTable, family: 4 | 6): FamilyWire | null {
  let w = wires.get(t);
  if (!w) wires.set(t, (w = {}));
  const had = w[family];
  if (had !== undefined) return had;
  const list: string[] = [];
  let made: FamilyWire | null = null;
  for (const [p, a] of t.ads) {
    if (familyOfPrefix(p) !== family) continue;
    if (a !== PLAIN) {
      list.length = 0;
      break;
    }
    list.push(p);
  }
  if (list.length > 0 && list.length === (family === 4 ? t.count4 : t.count6)) {
    try {
      made = { nlri: encodePrefixList(list, family), first: list[0]! };
    } catch {
      made = null; // never with canonical prefixes; the per-prefix path reports the bad one
    }
  }
  w[family] = made;
  return made;
}

/** Encode both families of the table now (before any session asks). */
export function encodeTable(t: AdTable): void {
  if (t.count4 > 0) tableWire(t, 4);
  if (t.count6 > 0) tableWire(t, 6);
}

/** The routes a peer should have: a lazy view without policies, else a Map. */
export function exportRoutes(t: AdTable, peer: ExportPeer): DesiredRoutes {
  const one = exporter(peer);
  if (peer.policies.length === 0) return new PlainView(t, peer, one);
  const out = new Map<string, OutRoute>();
  for (const [p, a] of t.ads) {
    const r = one(p, a);
    if (r) out.set(p, r);
  }
  return out;
}

/** The OutRoute of one advertisement for a peer (undefined: not exported), equal attributes sharing one object. */
function exporter(peer: ExportPeer): (prefix: string, a: AdAttrs) => OutRoute | undefined {
  const shared = new Map<string, OutRoute>();
  const plain: Partial<Record<4 | 6, OutRoute>> = {};
  const peerInfo = { address: peer.address, asn: peer.asn, localAsn: peer.localAsn };
  const build = (family: 4 | 6, nextHop: string, med: number | undefined, localPref: number | undefined, communities: readonly string[], largeCommunities: readonly string[], prepend: readonly number[]): OutRoute => {
    const asns = peer.ibgp ? [...prepend] : [peer.localAsn, ...prepend];
    const asPath: AsPathSegment[] = asns.length > 0 ? [{ type: 'sequence', asns }] : [];
    const attrs: PathAttributes = { origin: 'igp', asPath };
    if (family === 4) attrs.nextHop = nextHop;
    else attrs.mpReach = { afi: Afi.IPV6, safi: Safi.UNICAST, nextHops: [nextHop], nlri: [] };
    if (med !== undefined) attrs.med = med;
    if (peer.ibgp) attrs.localPref = localPref ?? 100;
    if (communities.length > 0) attrs.communities = [...communities];
    if (largeCommunities.length > 0) attrs.largeCommunities = [...largeCommunities];
    return { family, attrs, key: attrKey(family, attrs) };
  };
  return (prefix, a) => {
    const family = familyOfPrefix(prefix);
    let nextHop = peer.nextHop[family];
    if (!nextHop) return undefined;
    if (a === PLAIN && peer.policies.length === 0) return (plain[family] ??= build(family, nextHop, undefined, undefined, NONE, NONE, NONE_N));
    let med = a.med;
    let localPref = peer.ibgp ? a.localPref : undefined;
    let communities = a.communities ?? NONE;
    let largeCommunities = a.largeCommunities ?? NONE;
    let prepend: readonly number[] = NONE_N;
    if (peer.policies.length > 0) {
      const r: ExportRoute = {
        prefix,
        communities: [...communities],
        largeCommunities: [...largeCommunities],
        prepend: [],
        ...(med !== undefined ? { med } : {}),
        ...(localPref !== undefined ? { localPref } : {}),
      };
      const v = evaluateExport(r, peerInfo, peer.policies as PolicySpec[]);
      if (!v.accepted) return undefined;
      ({ med, localPref, communities, largeCommunities, prepend } = v.route);
      if (v.route.nextHop) nextHop = v.route.nextHop;
    }
    const ck = `${family}|${nextHop}|${med ?? ''}|${localPref ?? ''}|${communities.join(',')}|${largeCommunities.join(',')}|${prepend.join(',')}`;
    let route = shared.get(ck);
    if (!route) shared.set(ck, (route = build(family, nextHop, med, localPref, communities, largeCommunities, prepend)));
    return route;
  };
}

/** A peer's desired routes read through from the advertisement table (no policies: nothing to evaluate up front). */
class PlainView implements DesiredRoutes {
  readonly size: number;
  /** The one family exported when only one has a next hop, else 0 (both). */
  private readonly only: 0 | 4 | 6;
  /** The route of a PLAIN advertisement per family, once known (undefined: family not exported). */
  private plain4: OutRoute | undefined;
  private plain6: OutRoute | undefined;

  constructor(
    private readonly t: AdTable,
    peer: ExportPeer,
    private readonly one: (prefix: string, a: AdAttrs) => OutRoute | undefined,
  ) {
    const has4 = !!peer.nextHop[4];
    const has6 = !!peer.nextHop[6];
    this.size = (has4 ? t.count4 : 0) + (has6 ? t.count6 : 0);
    this.only = has4 && has6 ? 0 : has6 ? 6 : 4;
  }

  get(prefix: string): OutRoute | undefined {
    const a = this.t.ads.get(prefix);
    if (a === undefined) return undefined;
    if (a !== PLAIN) return this.one(prefix, a);
    // the common case, per prefix of a 100k transfer: one of two shared routes
    const six = prefix.includes(':');
    return six ? (this.plain6 ??= this.one(prefix, a)) : (this.plain4 ??= this.one(prefix, a));
  }

  has(prefix: string): boolean {
    return this.get(prefix) !== undefined;
  }

  keys(): IterableIterator<string> {
    if (this.size === 0) return [][Symbol.iterator]();
    if (this.only === 0) return this.t.ads.keys();
    return this.filtered();
  }

  private *filtered(): IterableIterator<string> {
    for (const p of this.t.ads.keys()) if (familyOfPrefix(p) === this.only) yield p;
  }

  /** The whole view in wire form when it holds one family of PLAIN advertisements only. */
  wire(): WireTable | undefined {
    const f = this.only !== 0 ? this.only : this.t.count6 === 0 ? 4 : this.t.count4 === 0 ? 6 : 0;
    if (f === 0 || this.size === 0) return undefined;
    const w = tableWire(this.t, f);
    if (!w) return undefined;
    const route = f === 6 ? (this.plain6 ??= this.one(w.first, PLAIN)) : (this.plain4 ??= this.one(w.first, PLAIN));
    return route ? { route, nlri: w.nlri } : undefined;
  }

  /** Prefix and route in table order, without a lookup per prefix (the initial transfer walks this). */
  *[Symbol.iterator](): IterableIterator<[string, OutRoute]> {
    if (this.size === 0) return;
    for (const [p, a] of this.t.ads) {
      const six = p.includes(':');
      if (this.only !== 0 && this.only !== (six ? 6 : 4)) continue;
      const r = a !== PLAIN ? this.one(p, a) : six ? (this.plain6 ??= this.one(p, a)) : (this.plain4 ??= this.one(p, a));
      if (r) yield [p, r];
    }
  }
}
