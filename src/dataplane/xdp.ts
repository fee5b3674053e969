// XdpDataplane: the Dataplane over the XDP program. Loads build/bpf/edgelb_xdp.bpf.o with the
// configured map sizes, pins maps under /sys/fs/bpf/edgelb/<node>/, takes over a running
// program and its maps without detaching (hitless restart), and programs services declaratively:
// setServices diffs against shadow state (index free-lists) and rewrites only what changed.
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import { canonicalIp, familyOf, parsePrefix, prefixContains, type Prefix } from '../lib/addr.js';
import type { DataplaneSpec, EpSelect, NodeSpec } from '../model/desired-state.js';
import { maglevTable } from './maglev.js';
import { u32Array, u32Key, xdpNativeFrom, type XdpLayout, type XdpNative } from './native.js';
import { updateNeighbours, watchUnresolved } from './neighbours.js';
import { VipRoutes } from './vip-routes.js';
import { NextHops } from './xdp-nexthop.js';
import { attachXdp } from './xdp-attach.js';
import { registerXdpMetrics } from './xdp-metrics.js';
import { adoptPinnedState, checkPinnedLayout, DEFAULT_OBJECT_PATH, DEFAULT_PIN_BASE, pinProg, removePins } from './xdp-pins.js';
import { beKeyOf, FreeList, keyToSvc, svcKeyOf, type BackendSlot, type ServiceSlot } from './xdp-slots.js';
import { addrfWords, CT_DEFAULTS, flowHashKeyLogged, natPortRanges, snatShare, type PortRange } from './xdp-cfg.js';
import { ConntrackCounter, readCounters, serviceStats, sumPerCpuCounter, sumPerCpuStats, type PacketBytes } from './xdp-stats.js';
import type {
  Dataplane,
  DataplaneBackend,
  DataplaneOpenResult,
  DataplaneService,
  DataplaneStats,
} from './types.js';

export { DEFAULT_OBJECT_PATH, DEFAULT_PIN_BASE };

export interface XdpDataplaneOptions {
  node: NodeSpec;
  spec: DataplaneSpec;
  logger: Logger;
  registry: Registry;
  /** The addon (src/native's loadNative()) or any object with the XdpNative functions. */
  native: XdpNative;
  objectPath?: string;
  /** Default /sys/fs/bpf/edgelb (pins go to <pinBase>/<node.name> unless spec.pinRoot is set). */
  pinBase?: string;
  maxServices?: number;
  maxBackends?: number;
  /** SNAT source ports for onearm/fullnat: one range instead of the default (every port above
   * 1023 outside ip_local_port_range and reservedPorts). */
  natPortMin?: number;
  natPortMax?: number;
  /** The daemon's own listening ports (API, cluster), never used as SNAT ports. */
  reservedPorts?: number[];
  /** The cluster key file: the flow-hash key is derived from it unless spec.flowHashKey is set. */
  clusterKeyFile?: string;
  /** Keep on-segment backends resolved with managed neighbour entries (default true). */
  manageNeighbours?: boolean;
  /** onearm source address (IPv4) instead of the interface's: the node's SNAT address that a
   *  surviving node adopts when this one dies (connection sync, docs/sync.md). */
  snatAddress4?: string;
  /** The same for IPv6 onearm flows (instead of the interface's first global IPv6 address). */
  snatAddress6?: string;
  /** Report flows that become established to the connection-sync thread (edgelb_ct_ev). */
  sync?: boolean;
  /** A blackhole route per served VIP, scoped to the uplink by a rule (default true; vip-routes.ts). */
  vipRoutes?: boolean;
}

const DEFAULT_TIMEOUT_SEC = 300;
const SUPPORTED_SEL: ReadonlySet<EpSelect> = new Set(['maglev', 'hash', 'rr', 'persist']);

export class XdpDataplane implements Dataplane {
  private readonly opts: XdpDataplaneOptions;
  private readonly log: Logger;
  private readonly n: XdpNative;
  private layout!: XdpLayout;
  readonly pinDir: string;
  private readonly maglevSize: number;
  private readonly maxServices: number;
  private readonly maxBackends: number;
  private fds: Record<string, number> = {};
  private progFd = -1;
  private progId = 0;
  private ifindex = 0;
  private attachMode: 'native' | 'generic' | undefined;
  private opened = false;
  private svcFree: FreeList;
  private beFree: FreeList;
  private readonly services = new Map<string, ServiceSlot>();
  private readonly backends = new Map<string, BackendSlot>();
  private readonly vipRefs = new Map<string, number>();
  private slotGen: Uint32Array;
  /** Left by a previous daemon (takeover): reused when the same service/backend comes back. */
  private orphanServices = new Map<string, number>();
  private orphanBackends = new Map<string, { index: number; gen: number }>();
  private orphanVips = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private warnedSel = new Set<string>();
  private readonly vipRoutes: VipRoutes | undefined;
  private neighTimer: NodeJS.Timeout | undefined;

  constructor(opts: XdpDataplaneOptions) {
    this.opts = opts;
    this.log = opts.logger.child({ subsystem: 'dataplane' });
    this.n = xdpNativeFrom(opts.native);
    this.vipRoutes = opts.vipRoutes === false ? undefined : new VipRoutes(this.n, opts.node.interface, this.log);
    this.ctCount = new ConntrackCounter(this.n, () => this.n.xdpCountEntries(this.fd('ct4')) + this.n.xdpCountEntries(this.fd('ct6')));
    this.pinDir = opts.spec.pinRoot ?? join(opts.pinBase ?? DEFAULT_PIN_BASE, opts.node.name);
    this.maglevSize = opts.spec.maglevSize;
    this.maxServices = opts.maxServices ?? opts.spec.maxServices ?? 64;
    this.maxBackends = opts.maxBackends ?? opts.spec.maxBackends ?? 4096;
    this.svcFree = new FreeList(this.maxServices);
    this.beFree = new FreeList(this.maxBackends);
    this.slotGen = new Uint32Array(this.maxBackends);
    registerXdpMetrics(opts.registry, {
      opened: () => this.opened,
      services: () => this.services.values(),
      svcStats: (index) => this.sumPerCpuStats('svcStats', index),
      counters: () => this.counters(),
      conntrackEntries: () => this.conntrackEntries(),
      attachMode: () => this.attachMode,
      health: () => this.health(),
    });
  }

  /** fd of the loaded program (BPF_PROG_TEST_RUN in tests and benchmarks); -1 when closed. */
  get programFd(): number {
    return this.progFd;
  }

  /** Map fd by layout name (tests, benchmarks). */
  mapFd(name: keyof XdpLayout['maps']): number {
    return this.fd(name);
  }

  /** Keeps edgelb_be_nh from netlink events (xdp-nexthop.ts); set while open. */
  nextHops: NextHops | undefined;
  /** The conntrack map of a family (IPv4 flows: ct4, compact key; IPv6: ct6). */
  conntrackFd(family: 4 | 6): number {
    return this.fd(family === 4 ? 'ct4' : 'ct6');
  }

  // ---------------------------------------------------------------- open / close

  async open(): Promise<DataplaneOpenResult> {
    if (this.opened) throw new EdgelbError('EDGELB_ERR_INTERNAL', 'dataplane already open');
    try {
      return this.openInner();
    } catch (e) {
      this.releaseFds();
      throw e;
    }
  }

  private releaseFds(): void {
    this.nextHops = void this.nextHops?.close();
    this.ctCount.close();
    for (const fd of Object.values(this.fds)) this.n.closeFd(fd);
    this.fds = {};
    if (this.progFd >= 0) this.n.closeFd(this.progFd);
    this.progFd = -1;
  }

  private openInner(): DataplaneOpenResult {
    this.layout = this.n.xdpLayout();
    const iface = this.opts.node.interface;
    try {
      this.ifindex = this.n.ifNameToIndex(iface);
    } catch (e) {
      throw new EdgelbError('EDGELB_ERR_BPF_LOAD', `interface ${iface} not found: ${errorMessage(e)}`, { cause: e });
    }
    checkPinnedLayout(this.n, this.layout, this.pinDir, { maglevSize: this.maglevSize, maxServices: this.maxServices }, this.log);
    const M = this.layout.maps;
    let loaded;
    try {
      loaded = this.n.xdpLoad(this.opts.objectPath ?? DEFAULT_OBJECT_PATH, {
        pinDir: this.pinDir,
        maxEntries: {
          [M.svc]: this.maxServices,
          [M.vips]: this.maxServices,
          [M.backends]: this.maxBackends,
          [M.svcList]: this.maxServices * this.layout.svcListMax,
          [M.maglev]: this.maxServices * this.maglevSize,
          [M.ct4]: this.opts.spec.conntrackSize,
          [M.ct6]: this.opts.spec.conntrackSize,
          [M.svcStats]: this.maxServices,
          [M.backendStats]: this.maxBackends,
          [M.backendNextHop]: this.maxBackends,
          [M.rr]: this.maxServices,
        },
      });
    } catch (e) {
      throw new EdgelbError('EDGELB_ERR_BPF_LOAD', `loading the XDP program failed: ${errorMessage(e)}`, { cause: e });
    }
    this.progFd = loaded.progFd;
    this.progId = this.n.progInfo(this.progFd).id;
    for (const [name, m] of Object.entries(loaded.maps)) {
      this.fds[name] = m.fd;
      if (m.replaced) this.log.warn({ map: name, why: m.replaced }, 'pinned map incompatible with the configuration: re-created (its state is lost)');
    }
    const pinned = Object.values(loaded.maps).filter((m) => m.pinned !== false); // not the flow cache
    const [allReused, anyReused] = [pinned.every((m) => m.reused), pinned.some((m) => m.reused)];

    this.writeConfig();
    this.ctCount.open(this.opts.objectPath ?? DEFAULT_OBJECT_PATH, this.pinDir, [M.ct4, M.ct6], this.opts.spec.conntrackSize, this.log);
    if (anyReused) this.adoptPinnedState();

    (this.nextHops = new NextHops(this.n, this.ifindex, this.fd('backendNextHop'), this.log)).start();
    const hadOurProgram = this.attach();
    const takenOver = hadOurProgram && allReused;
    this.opened = true;
    // packets toward an unresolved backend are lost (neighbours.ts): restore missing managed entries
    const codes = [this.layout.counters.DROP_DSR_NO_NEIGH, this.layout.counters.PASS_NO_NEIGH].filter((c) => c !== undefined);
    if (this.opts.manageNeighbours !== false) this.neighTimer = watchUnresolved(this.n, this.ifindex, 1000, { dropped: () => (this.opened ? codes.reduce((a, c) => a + sumPerCpuCounter(this.n, this.fd('counters'), c), 0) : 0), wanted: () => [...new Set([...this.backends.values()].filter((b) => b.neighbour).map((b) => b.address))] }, this.log);
    this.log.info(
      { iface, attachMode: this.attachMode, takenOver, pinDir: this.pinDir, progId: this.progId, conntrackSize: this.opts.spec.conntrackSize, maglevSize: this.maglevSize },
      takenOver ? 'XDP data path taken over (program replaced in place, pinned maps reused)' : 'XDP data path attached',
    );
    return { takenOver, attachMode: this.attachMode! };
  }

  /** SNAT port ranges in effect (set by open). */
  natPorts: PortRange[] = [];

  private writeConfig(): void {
    const iface = this.opts.node.interface;
    const spec = this.opts.spec;
    this.natPorts = natPortRanges(this.opts, this.layout.portRanges, this.log);
    const hashKey = flowHashKeyLogged(spec, this.opts.clusterKeyFile, this.log);
    const addrs = this.n.interfaceAddresses().filter((a) => a.name === iface);
    const v4 = addrs.find((a) => a.family === 4)?.address ?? (familyOf(this.opts.node.routerId) === 4 ? this.opts.node.routerId : undefined);
    const v6 = addrs.find((a) => a.family === 6 && !a.address.toLowerCase().startsWith('fe80'))?.address;
    const cfg = this.n.xdpEncode('cfg', {
      maglevSize: this.maglevSize,
      maxServices: this.maxServices,
      ports: this.natPorts,
      snatShare: snatShare(this.natPorts, spec.snatClientShare ?? CT_DEFAULTS.snatClientShare),
      tcpSynTimeout: spec.tcpSynTimeout ?? CT_DEFAULTS.tcpSynTimeout,
      tcpFinTimeout: spec.tcpFinTimeout ?? CT_DEFAULTS.tcpFinTimeout,
      tcpRstTimeout: spec.tcpRstTimeout ?? CT_DEFAULTS.tcpRstTimeout,
      echoRate: spec.icmpEchoRate ?? CT_DEFAULTS.icmpEchoRate,
      rstUnserved: spec.rstUnserved ?? false,
      ...(hashKey ? { hashKey } : {}),
      node4: this.opts.snatAddress4 ?? v4,
      node6: this.opts.snatAddress6 ?? v6?.replace(/%.*$/, ''),
      sync: this.opts.sync ?? false,
    });
    this.n.mapUpdate(this.fd('cfg'), u32Key(0), cfg);
  }

  /** Maps reused from a previous daemon: remember its indices so identical services keep them. */
  private adoptPinnedState(): void {
    adoptPinnedState(
      this.n,
      (name) => this.fd(name),
      { maxServices: this.maxServices, maxBackends: this.maxBackends },
      { orphanServices: this.orphanServices, orphanBackends: this.orphanBackends, orphanVips: this.orphanVips, svcFree: this.svcFree, beFree: this.beFree, slotGen: this.slotGen },
      this.log,
    );
  }

  /** Attach (or replace in place); returns true when our program was already attached. */
  private attach(): boolean {
    const { hadOurProgram, mode } = attachXdp(
      this.n,
      { ifindex: this.ifindex, iface: this.opts.node.interface, progFd: this.progFd, program: this.layout.program, attachMode: this.opts.spec.attachMode, pinDir: this.pinDir },
      this.log,
    );
    this.attachMode = mode;
    try {
      pinProg(this.n, this.progFd, this.pinDir); // the next daemon takes it over through this pin
    } catch (e) {
      this.log.warn({ pinDir: this.pinDir, err: errorMessage(e) }, 'pinning the XDP program failed: a restarted daemon will need CAP_SYS_ADMIN to take it over');
    }
    return hadOurProgram;
  }

  async close(opts: { detach: boolean }): Promise<void> {
    await this.chain.catch(() => undefined);
    if (!this.opened) return;
    this.opened = false;
    if (this.neighTimer) clearInterval(this.neighTimer);
    if (opts.detach) {
      await this.vipRoutes?.remove().catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'per-VIP blackhole routes not removed'));
      try {
        this.n.xdpDetach(this.ifindex, { mode: this.attachMode, expectedFd: this.progFd });
      } catch (e) {
        this.log.warn({ err: errorMessage(e) }, 'XDP detach failed (another program replaced ours?)');
      }
      await updateNeighbours(this.n, this.ifindex, [], [...new Set([...this.backends.values()].filter((b) => b.neighbour).map((b) => b.address))], this.log).catch((e: unknown) =>
        this.log.warn({ err: errorMessage(e) }, 'managed neighbour entries not removed'),
      );
      removePins(this.pinDir);
      this.log.info({ iface: this.opts.node.interface }, 'XDP data path detached and unpinned');
    } else {
      this.log.info({ iface: this.opts.node.interface }, 'XDP data path left in place (program attached, maps pinned)');
    }
    this.releaseFds();
  }

  // ---------------------------------------------------------------- programming

  setServices(list: DataplaneService[]): Promise<void> {
    const run = this.chain.then(() => this.apply(list));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async apply(list: DataplaneService[]): Promise<void> {
    if (!this.opened) throw new EdgelbError('EDGELB_ERR_INTERNAL', 'dataplane not open');
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
    if (desired.size > this.maxServices) {
      throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `${desired.size} service ports exceed the data path's ${this.maxServices} slots`);
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
    await this.vipRoutes?.sync(this.vipRefs.keys()).catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'per-VIP blackhole routes not synced: a packet the kernel gets for a VIP may be routed back out'));
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
    const table = maglevTable(slots.map((b) => beKeyOf(b)), this.maglevSize);
    const global = new Uint32Array(table.length);
    for (let i = 0; i < table.length; i++) global[i] = table[i]! < 0 ? empty : slots[table[i]!]!.index;
    this.n.xdpArrayWrite(this.fd('maglev'), index * this.maglevSize, u32Array(global));
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
      if (i === undefined) throw new EdgelbError('EDGELB_ERR_BPF_MAP', `no free backend slot (${this.maxBackends})`);
      index = i;
      gen = this.slotGen[i]!;
      this.n.mapUpdate(this.fd('backendStats'), u32Key(index), Buffer.alloc(this.layout.sizes.stats!));
    }
    this.n.mapUpdate(this.fd('backends'), u32Key(index), this.n.xdpEncode('backend', { address: b.address, port: b.port, gen }));
    const neighbour = this.opts.manageNeighbours !== false && this.onSegment(b.address);
    if (neighbour) {
      this.neighDel.delete(b.address);
      this.neighAdd.add(b.address);
    }
    this.nextHops?.setSlot(index, b.address, gen);
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
    this.nextHops?.dropSlot(index);
    this.beFree.release(index);
  }

  private readonly neighAdd = new Set<string>();
  private readonly neighDel = new Set<string>();
  private segments: Prefix[] | undefined;

  /** On the uplink's segment: inside a prefix of one of its addresses. */
  private onSegment(addr: string): boolean {
    this.segments ??= this.n
      .interfaceAddresses()
      .filter((a) => a.name === this.opts.node.interface)
      .map((a) => parsePrefix(`${a.address.replace(/%.*$/, '')}/${a.prefixLen}`));
    return this.segments.some((p) => prefixContains(p, addr));
  }

  /** Managed neighbour entries keep on-segment backends resolved for bpf_fib_lookup. */
  private async flushNeighbours(): Promise<void> {
    const add = [...this.neighAdd];
    const del = [...this.neighDel];
    this.neighAdd.clear();
    this.neighDel.clear();
    try {
      await updateNeighbours(this.n, this.ifindex, add, del, this.log);
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

  private fd(name: keyof XdpLayout['maps']): number {
    const fd = this.fds[this.layout.maps[name]];
    if (fd === undefined) throw new EdgelbError('EDGELB_ERR_INTERNAL', `map ${name} not open`);
    return fd;
  }

  // ---------------------------------------------------------------- reading
  health(): { ok: boolean; reason?: string } {
    if (!this.opened) return { ok: false, reason: 'data path not open' };
    try {
      const q = this.n.xdpQuery(this.ifindex);
      if (q.progId !== this.progId) {
        return { ok: false, reason: q.progId ? `another XDP program (id ${q.progId}) is attached to ${this.opts.node.interface}` : `no XDP program attached to ${this.opts.node.interface}` };
      }
    } catch (e) {
      return { ok: false, reason: `cannot query ${this.opts.node.interface}: ${errorMessage(e)}` };
    }
    return { ok: true };
  }

  private sumPerCpuStats(map: 'svcStats' | 'backendStats', index: number): PacketBytes {
    return sumPerCpuStats(this.n, this.fd(map), index);
  }

  counters(): Record<string, number> {
    if (!this.opened) return {};
    return readCounters(this.layout, (code) => sumPerCpuCounter(this.n, this.fd('counters'), code));
  }

  private readonly ctCount: ConntrackCounter;

  /** How conntrackEntries counts: kernel counters (constant time) or a cached walk. */
  get conntrackCountMethod(): 'kernel' | 'walk' {
    return this.ctCount.method;
  }

  /** Entries in the conntrack LRU (kernel counters; else a walk cached a few seconds unless fresh). */
  conntrackEntries(fresh = false): number {
    if (!this.opened) return 0;
    return this.ctCount.get(fresh);
  }

  stats(): DataplaneStats {
    if (!this.opened) return { attached: false, counters: {}, services: [], conntrackEntries: 0 };
    const services = serviceStats(this.services.values(), this.backends, (map, index) => this.sumPerCpuStats(map, index));
    return {
      attached: this.health().ok,
      attachMode: this.attachMode,
      iface: this.opts.node.interface,
      counters: this.counters(),
      services,
      conntrackEntries: this.conntrackEntries(true),
    };
  }
}
