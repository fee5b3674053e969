// XdpServices: the services and backends programmed into the XDP maps. Owns their shadow state
// (service and backend slots, index free-lists, slot generations, VIP reference counts), what a
// previous daemon left in pinned maps (adopted at a takeover, reused or freed at the first apply)
// and the managed neighbour entries of on-segment backends. apply(list) diffs the desired list
// against that state and rewrites only what changed (svc, vips, backends, svcList, maglev, addrf).
import type { Logger } from '../lib/logger.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import { canonicalIp, familyOf, parsePrefix, prefixContains, type Prefix } from '../lib/addr.js';
import type { EpSelect } from '../model/desired-state.js';
import { maglevTable } from './maglev.js';
import { u32Array, u32Key, type XdpLayout, type XdpNative } from './native.js';
import { updateNeighbours } from './neighbours.js';
import type { NextHops } from './xdp-nexthop.js';
import { adoptPinnedState } from './xdp-pins.js';
import { beKeyOf, FreeList, keyToSvc, svcKeyOf, type BackendSlot, type ServiceSlot } from './xdp-slots.js';
import { addrfWords } from './xdp-cfg.js';
import type { DataplaneBackend, DataplaneService } from './types.js';

const DEFAULT_TIMEOUT_SEC = 300;
const SUPPORTED_SEL: ReadonlySet<EpSelect> = new Set(['maglev', 'hash', 'rr', 'persist']);

/** What XdpServices needs from the open data path (the layout and maps exist only while open). */
export interface XdpServicesContext {
  n: XdpNative;
  log: Logger;
  /** The uplink's name (its addresses define the segment of managed neighbour entries). */
  iface: string;
  /** Keep on-segment backends resolved with managed neighbour entries. */
  manageNeighbours: boolean;
  maglevSize: number;
  maxServices: number;
  maxBackends: number;
  layout(): XdpLayout;
  fd(name: keyof XdpLayout['maps']): number;
  ifindex(): number;
  nextHops(): NextHops | undefined;
  /** Another owner (a gateway toward clients, gateways.ts) wants this address's managed entry: never delete it. */
  keepNeighbour?(address: string): boolean;
}

export class XdpServices {
  readonly services = new Map<string, ServiceSlot>();
  readonly backends = new Map<string, BackendSlot>();
  private readonly vipRefs = new Map<string, number>();
  private readonly svcFree: FreeList;
  private readonly beFree: FreeList;
  private readonly slotGen: Uint32Array;
  /** Left by a previous daemon (takeover): reused when the same service/backend comes back. */
  private readonly orphanServices = new Map<string, number>();
  private readonly orphanBackends = new Map<string, { index: number; gen: number }>();
  private readonly orphanVips = new Set<string>();
  private readonly warnedSel = new Set<string>();
  private readonly n: XdpNative;
  private readonly log: Logger;

  constructor(private readonly c: XdpServicesContext) {
    this.n = c.n;
    this.log = c.log;
    this.svcFree = new FreeList(c.maxServices);
    this.beFree = new FreeList(c.maxBackends);
    this.slotGen = new Uint32Array(c.maxBackends);
  }

  private get layout(): XdpLayout {
    return this.c.layout();
  }

  private fd(name: keyof XdpLayout['maps']): number {
    return this.c.fd(name);
  }

  /** The VIPs served now. */
  vips(): IterableIterator<string> {
    return this.vipRefs.keys();
  }

  /** Backend addresses with a managed neighbour entry of ours. */
  neighbourAddresses(): string[] {
    return [...new Set([...this.backends.values()].filter((b) => b.neighbour).map((b) => b.address))];
  }

  /** Maps reused from a previous daemon: remember its indices so identical services keep them. */
  adopt(): void {
    adoptPinnedState(
      this.n,
      (name) => this.fd(name),
      { maxServices: this.c.maxServices, maxBackends: this.c.maxBackends },
      { orphanServices: this.orphanServices, orphanBackends: this.orphanBackends, orphanVips: this.orphanVips, svcFree: this.svcFree, beFree: this.beFree, slotGen: this.slotGen },
      this.log,
    );
  }

  async apply(list: DataplaneService[]): Promise<void> {
    const desired = new Map<string, DataplaneService>();
    for (const s of list) {
      const fam = familyOf(s.vip);
      if (fam === 0) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `service ${s.name}: VIP ${s.vip} is not an IP address`);
      if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `service ${s.name}: port ${s.port}`);
      const key = svcKeyOf(s.vip, s.port, s.protocol);
      if (desired.has(key)) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `services ${desired.get(key)!.name} and ${s.name} both use ${s.vip}:${s.port}/${s.protocol}`);
      const seen = new Set<string>();
      const backends: DataplaneBackend[] = [];
      for (const b of s.backends) {
        if (familyOf(b.address) !== fam) {
          this.log.warn({ service: s.name, backend: b.address }, 'backend family differs from the VIP: skipped');
          continue;
        }
        const bk = beKeyOf(b);
        if (seen.has(bk)) continue;
        seen.add(bk);
        backends.push({ address: canonicalIp(b.address), port: b.port });
      }
      let timeoutSec = s.timeoutSec;
      if (!(Number.isInteger(timeoutSec) && timeoutSec > 0)) {
        // 0 would expire a flow at its next packet (onearm/fullnat would then change SNAT port)
        this.log.warn({ service: s.name, timeoutSec }, `invalid idle timeout: using ${DEFAULT_TIMEOUT_SEC} s`);
        timeoutSec = DEFAULT_TIMEOUT_SEC;
      }
      desired.set(key, { ...s, vip: canonicalIp(s.vip), backends, timeoutSec });
    }
    if (desired.size > this.c.maxServices) {
      throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `${desired.size} service ports exceed the data path's ${this.c.maxServices} slots`);
    }
    // removals first: frees indices for the additions
    for (const [key, slot] of [...this.services]) if (!desired.has(key)) this.removeService(slot);
    let changed = 0;
    for (const [key, s] of desired) if (this.programService(key, s)) changed++;
    // whatever a previous daemon programmed and nobody asked for again
    for (const [key, index] of this.orphanServices) {
      this.n.mapDelete(this.fd('svc'), this.n.xdpEncode('svcKey', keyToSvc(key)));
      this.svcFree.release(index);
    }
    this.orphanServices.clear();
    for (const [bk, o] of this.orphanBackends) {
      this.freeBackendSlot(o.index);
      this.log.debug({ backend: bk }, 'stale backend slot freed');
    }
    this.orphanBackends.clear();
    for (const hex of this.orphanVips) {
      if (![...this.vipRefs.keys()].some((v) => this.n.xdpEncode('vipKey', { vip: v }).toString('hex') === hex)) {
        this.n.mapDelete(this.fd('vips'), Buffer.from(hex, 'hex'));
      }
    }
    this.orphanVips.clear();
    this.writeAddressFilter();
    await this.flushNeighbours();
    this.log.debug({ services: desired.size, changed }, 'services programmed');
  }

  /** Returns true when something was written. */
  private programService(key: string, s: DataplaneService): boolean {
    const sel = this.effectiveSel(s);
    const backendKeys = s.backends.map(beKeyOf).sort();
    const sig = JSON.stringify([s.mode, sel, s.timeoutSec, backendKeys]);
    const tableSig = JSON.stringify([sel === 'hash' || sel === 'rr' ? 'list' : 'maglev', backendKeys]);
    const old = this.services.get(key);
    if (old && old.sig === sig) {
      old.svc = s;
      return false;
    }
    // backends: acquire the new set before releasing the old one (shared slots keep their gen)
    const slots = s.backends.map((b) => this.acquireBackend(b));
    let index = old?.index ?? this.orphanServices.get(key);
    if (index !== undefined) this.orphanServices.delete(key);
    const fresh = index === undefined;
    if (index === undefined) {
      index = this.svcFree.take();
      if (index === undefined) throw new EdgelbError('EDGELB_ERR_BPF_MAP', 'no free service slot');
    }
    if (fresh) {
      const zero = Buffer.alloc(this.layout.sizes.stats!);
      this.n.mapUpdate(this.fd('svcStats'), u32Key(index), zero);
      this.n.mapUpdate(this.fd('rr'), u32Key(index), u32Key(0));
    }
    if (!old || old.tableSig !== tableSig) this.writeTables(index, slots);
    const max = this.layout.svcListMax;
    if (slots.length > max && (sel === 'hash' || sel === 'rr')) {
      this.log.warn({ service: s.name, backends: slots.length, max }, `epselect ${sel} uses the first ${max} backends`);
    }
    const value = this.n.xdpEncode('svc', {
      index,
      mode: this.layout.modes[s.mode],
      sel: this.layout.selections[sel as 'maglev'],
      timeoutSec: s.timeoutSec,
      count: Math.min(slots.length, max),
    });
    this.n.mapUpdate(this.fd('svc'), this.n.xdpEncode('svcKey', { vip: s.vip, port: s.port, protocol: s.protocol }), value);
    const vipKey = s.vip;
    if (!old) this.vipRef(vipKey, +1);
    if (old) for (const bk of old.backendKeys) this.releaseBackend(bk);
    this.services.set(key, { index, key, vipKey, sig, tableSig, svc: s, sel, backendKeys });
    this.log.info({ service: s.name, vip: s.vip, port: s.port, protocol: s.protocol, mode: s.mode, epSelect: sel, backends: slots.length, index }, old ? 'service updated' : 'service programmed');
    return true;
  }

  private writeTables(index: number, slots: BackendSlot[]): void {
    const empty = this.layout.maglevEmpty;
    // the backend list (hash, rr) in canonical order, so every node lists them alike
    const sorted = [...slots].sort((a, b) => (beKeyOf(a) < beKeyOf(b) ? -1 : 1));
    const list = new Array<number>(this.layout.svcListMax).fill(empty);
    sorted.slice(0, list.length).forEach((b, i) => (list[i] = b.index));
    this.n.xdpArrayWrite(this.fd('svcList'), index * this.layout.svcListMax, u32Array(list));
    const table = maglevTable(slots.map((b) => beKeyOf(b)), this.c.maglevSize);
    const global = new Uint32Array(table.length);
    for (let i = 0; i < table.length; i++) global[i] = table[i]! < 0 ? empty : slots[table[i]!]!.index;
    this.n.xdpArrayWrite(this.fd('maglev'), index * this.c.maglevSize, u32Array(global));
  }

  /** The fast path's filter: VIP and backend address bits (rewritten when either set changes). */
  private addrfSig = '';
  private writeAddressFilter(): void {
    const vips = [...this.vipRefs.keys()].sort();
    const backends = [...new Set([...this.backends.values()].map((b) => b.address))].sort();
    const sig = JSON.stringify([vips, backends]);
    if (sig === this.addrfSig) return;
    this.n.xdpArrayWrite(this.fd('addrf'), 0, u32Array(addrfWords(vips, backends, this.layout.addrfWords)));
    this.addrfSig = sig;
  }

  private removeService(slot: ServiceSlot): void {
    const s = slot.svc;
    this.n.mapDelete(this.fd('svc'), this.n.xdpEncode('svcKey', { vip: s.vip, port: s.port, protocol: s.protocol }));
    this.vipRef(slot.vipKey, -1);
    for (const bk of slot.backendKeys) this.releaseBackend(bk);
    this.svcFree.release(slot.index);
    this.services.delete(slot.key);
    this.log.info({ service: s.name, vip: s.vip, port: s.port, protocol: s.protocol }, 'service removed (tracked flows finish until idle)');
  }

  private vipRef(vip: string, delta: number): void {
    const n = (this.vipRefs.get(vip) ?? 0) + delta;
    const key = this.n.xdpEncode('vipKey', { vip });
    if (n <= 0) {
      this.vipRefs.delete(vip);
      this.n.mapDelete(this.fd('vips'), key);
    } else {
      if (delta > 0 && n === 1) this.n.mapUpdate(this.fd('vips'), key, u32Key(1));
      this.vipRefs.set(vip, n);
    }
  }

  private acquireBackend(b: DataplaneBackend): BackendSlot {
    const bk = beKeyOf(b);
    const have = this.backends.get(bk);
    if (have) {
      have.refs++;
      return have;
    }
    const orphan = this.orphanBackends.get(bk);
    let index: number;
    let gen: number;
    if (orphan) {
      // the previous daemon's slot: same index and generation, so its flows carry on
      this.orphanBackends.delete(bk);
      index = orphan.index;
      gen = orphan.gen;
    } else {
      const i = this.beFree.take();
      if (i === undefined) throw new EdgelbError('EDGELB_ERR_BPF_MAP', `no free backend slot (${this.c.maxBackends})`);
      index = i;
      gen = this.slotGen[i]!;
      this.n.mapUpdate(this.fd('backendStats'), u32Key(index), Buffer.alloc(this.layout.sizes.stats!));
    }
    this.n.mapUpdate(this.fd('backends'), u32Key(index), this.n.xdpEncode('backend', { address: b.address, port: b.port, gen }));
    const neighbour = this.c.manageNeighbours && this.onSegment(b.address);
    if (neighbour) {
      this.neighDel.delete(b.address);
      this.neighAdd.add(b.address);
    }
    this.c.nextHops()?.setSlot(index, b.address, gen);
    const slot: BackendSlot = { index, gen, refs: 1, address: b.address, port: b.port, neighbour };
    this.backends.set(bk, slot);
    return slot;
  }

  private releaseBackend(bk: string): void {
    const slot = this.backends.get(bk);
    if (!slot) return;
    if (--slot.refs > 0) return;
    this.backends.delete(bk);
    this.freeBackendSlot(slot.index);
    if (slot.neighbour && ![...this.backends.values()].some((b) => b.address === slot.address)) {
      this.neighAdd.delete(slot.address);
      this.neighDel.add(slot.address);
    }
  }

  /** Empty the slot with a new generation: flows still pointing at it are re-balanced. */
  private freeBackendSlot(index: number): void {
    const gen = (this.slotGen[index]! + 1) >>> 0;
    this.slotGen[index] = gen;
    this.n.mapUpdate(this.fd('backends'), u32Key(index), this.n.xdpEncode('backend', { gen }));
    this.c.nextHops()?.dropSlot(index);
    this.beFree.release(index);
  }

  private readonly neighAdd = new Set<string>();
  private readonly neighDel = new Set<string>();
  private segments: Prefix[] | undefined;

  /** On the uplink's segment: inside a prefix of one of its addresses. */
  private onSegment(addr: string): boolean {
    this.segments ??= this.n
      .interfaceAddresses()
      .filter((a) => a.name === this.c.iface)
      .map((a) => parsePrefix(`${a.address.replace(/%.*$/, '')}/${a.prefixLen}`));
    return this.segments.some((p) => prefixContains(p, addr));
  }

  /** Managed neighbour entries keep on-segment backends resolved for bpf_fib_lookup. */
  private async flushNeighbours(): Promise<void> {
    const add = [...this.neighAdd];
    const del = [...this.neighDel].filter((a) => !this.c.keepNeighbour?.(a));
    this.neighAdd.clear();
    this.neighDel.clear();
    try {
      await updateNeighbours(this.n, this.c.ifindex(), add, del, this.log);
    } catch (e) {
      this.log.debug({ err: errorMessage(e) }, 'managed neighbour entries not updated');
    }
  }

  private effectiveSel(s: DataplaneService): EpSelect {
    if (SUPPORTED_SEL.has(s.epSelect)) return s.epSelect;
    if (!this.warnedSel.has(s.name)) {
      this.warnedSel.add(s.name);
      this.log.warn({ service: s.name, epSelect: s.epSelect }, 'epselect not supported by the XDP data path (no connection-close signal for least-connections): using maglev');
    }
    return 'maglev';
  }
}
