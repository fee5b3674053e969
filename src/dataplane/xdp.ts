// XdpDataplane: the Dataplane over the XDP program. Loads build/bpf/edgelb_xdp.bpf.o with the
// configured map sizes, pins maps under /sys/fs/bpf/edgelb/<node>/, takes over a running
// program and its maps without detaching (hitless restart), and programs services declaratively:
// setServices diffs against shadow state (index free-lists) and rewrites only what changed.
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import { canonicalIp, familyOf, parsePrefix, prefixContains, type Prefix } from '../lib/addr.js';
import type { DataplaneSpec, EpSelect, NodeSpec } from '../model/desired-state.js';
import { maglevTable } from './maglev.js';
import { readU64, u32Array, u32Key, xdpNativeFrom, type XdpLayout, type XdpNative } from './native.js';
import type { NativeBinding } from '../native/index.js';
import * as iproute from './iproute.js';
import type {
  Dataplane,
  DataplaneBackend,
  DataplaneOpenResult,
  DataplaneService,
  DataplaneServiceStats,
  DataplaneStats,
} from './types.js';

export const DEFAULT_PIN_BASE = '/sys/fs/bpf/edgelb';
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_OBJECT_PATH = join(PACKAGE_ROOT, 'build', 'bpf', 'edgelb_xdp.bpf.o');

export interface XdpDataplaneOptions {
  node: NodeSpec;
  spec: DataplaneSpec;
  logger: Logger;
  registry: Registry;
  /** The addon (src/native's loadNative()) or any object with the XdpNative functions. */
  native: NativeBinding | XdpNative;
  objectPath?: string;
  /** Default /sys/fs/bpf/edgelb (pins go to <pinBase>/<node.name> unless spec.pinRoot is set). */
  pinBase?: string;
  maxServices?: number;
  maxBackends?: number;
  /** SNAT source ports for onearm/fullnat (default 61000-65535, above Linux's ephemeral range). */
  natPortMin?: number;
  natPortMax?: number;
  /** Keep on-segment backends resolved with managed neighbour entries (default true). */
  manageNeighbours?: boolean;
}

interface BackendSlot {
  index: number;
  gen: number;
  refs: number;
  address: string;
  port: number;
  neighbour: boolean;
}

interface ServiceSlot {
  index: number;
  key: string;
  vipKey: string;
  sig: string;
  tableSig: string;
  svc: DataplaneService;
  sel: EpSelect;
  backendKeys: string[];
}

const DEFAULT_TIMEOUT_SEC = 300;
/** Counting conntrack entries walks the map: at most once per this many ms. */
const CT_COUNT_CACHE_MS = 5000;
const SUPPORTED_SEL: ReadonlySet<EpSelect> = new Set(['maglev', 'hash', 'rr', 'persist']);

/** Lowest-first free list of indices 0..size-1. */
class FreeList {
  private readonly free: number[];
  private readonly used = new Set<number>();
  constructor(readonly size: number) {
    this.free = Array.from({ length: size }, (_, i) => size - 1 - i);
  }
  take(): number | undefined {
    const i = this.free.pop();
    if (i !== undefined) this.used.add(i);
    return i;
  }
  claim(i: number): void {
    if (this.used.has(i)) return;
    const at = this.free.indexOf(i);
    if (at >= 0) this.free.splice(at, 1);
    this.used.add(i);
  }
  release(i: number): void {
    if (!this.used.delete(i)) return;
    this.free.push(i);
    this.free.sort((a, b) => b - a);
  }
  get inUse(): number {
    return this.used.size;
  }
}

const svcKeyOf = (vip: string, port: number, protocol: string) => `${canonicalIp(vip)}|${port}|${protocol}`;
const beKeyOf = (b: DataplaneBackend) => `${canonicalIp(b.address)}|${b.port}`;

export class XdpDataplane implements Dataplane {
  private readonly opts: XdpDataplaneOptions;
  private readonly log: Logger;
  private readonly n: XdpNative;
  private layout!: XdpLayout;
  private readonly pinDir: string;
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

  constructor(opts: XdpDataplaneOptions) {
    this.opts = opts;
    this.log = opts.logger.child({ subsystem: 'dataplane' });
    this.n = xdpNativeFrom(opts.native);
    this.pinDir = opts.spec.pinRoot ?? join(opts.pinBase ?? DEFAULT_PIN_BASE, opts.node.name);
    this.maglevSize = opts.spec.maglevSize;
    this.maxServices = opts.maxServices ?? opts.spec.maxServices ?? 64;
    this.maxBackends = opts.maxBackends ?? opts.spec.maxBackends ?? 4096;
    this.svcFree = new FreeList(this.maxServices);
    this.beFree = new FreeList(this.maxBackends);
    this.slotGen = new Uint32Array(this.maxBackends);
    this.registerMetrics(opts.registry);
  }

  /** fd of the loaded program (BPF_PROG_TEST_RUN in tests and benchmarks); -1 when closed. */
  get programFd(): number {
    return this.progFd;
  }

  /** Map fd by layout name (tests, benchmarks). */
  mapFd(name: keyof XdpLayout['maps']): number {
    return this.fd(name);
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
    this.checkPinnedLayout();
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
          [M.ct]: this.opts.spec.conntrackSize,
          [M.svcStats]: this.maxServices,
          [M.backendStats]: this.maxBackends,
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
    const allReused = Object.values(loaded.maps).every((m) => m.reused);
    const anyReused = Object.values(loaded.maps).some((m) => m.reused);

    this.writeConfig();
    if (anyReused) this.adoptPinnedState();

    const hadOurProgram = this.attach();
    const takenOver = hadOurProgram && allReused;
    this.opened = true;
    this.log.info(
      { iface, attachMode: this.attachMode, takenOver, pinDir: this.pinDir, progId: this.progId, conntrackSize: this.opts.spec.conntrackSize, maglevSize: this.maglevSize },
      takenOver ? 'XDP data path taken over (program replaced in place, pinned maps reused)' : 'XDP data path attached',
    );
    return { takenOver, attachMode: this.attachMode! };
  }

  /** Pins from another layout version or table size cannot be reused: remove them, say so. */
  private checkPinnedLayout(): void {
    const cfgPin = join(this.pinDir, this.layout.maps.cfg);
    if (!existsSync(cfgPin)) return;
    let why = '';
    try {
      const fd = this.n.objGet(cfgPin);
      try {
        const v = this.n.mapLookup(fd, u32Key(0));
        const cfg = v ? (this.n.xdpDecode('cfg', v) as { layoutVersion: number; maglevSize: number; maxServices: number }) : undefined;
        if (!cfg || cfg.layoutVersion === 0) return; // never configured: nothing to keep
        if (cfg.layoutVersion !== this.layout.version) why = `layout version ${cfg.layoutVersion} pinned, ${this.layout.version} needed`;
        else if (cfg.maglevSize !== this.maglevSize) why = `maglev table size ${cfg.maglevSize} pinned, ${this.maglevSize} configured`;
        else if (cfg.maxServices !== this.maxServices) why = `max services ${cfg.maxServices} pinned, ${this.maxServices} configured`;
      } finally {
        this.n.closeFd(fd);
      }
    } catch (e) {
      why = `unreadable pinned config: ${errorMessage(e)}`;
    }
    if (!why) return;
    this.log.warn({ pinDir: this.pinDir, why }, 'pinned data-path maps are incompatible: re-creating them (tracked connections are lost)');
    for (const f of readdirSync(this.pinDir)) if (f.startsWith('edgelb_')) rmSync(join(this.pinDir, f), { force: true });
  }

  private writeConfig(): void {
    const iface = this.opts.node.interface;
    const addrs = this.n.interfaceAddresses().filter((a) => a.name === iface);
    const v4 = addrs.find((a) => a.family === 4)?.address ?? (familyOf(this.opts.node.routerId) === 4 ? this.opts.node.routerId : undefined);
    const v6 = addrs.find((a) => a.family === 6 && !a.address.toLowerCase().startsWith('fe80'))?.address;
    const cfg = this.n.xdpEncode('cfg', {
      maglevSize: this.maglevSize,
      maxServices: this.maxServices,
      portMin: this.opts.natPortMin ?? 61000,
      portMax: this.opts.natPortMax ?? 65535,
      node4: v4,
      node6: v6?.replace(/%.*$/, ''),
    });
    this.n.mapUpdate(this.fd('cfg'), u32Key(0), cfg);
  }

  /** Maps reused from a previous daemon: remember its indices so identical services keep them. */
  private adoptPinnedState(): void {
    const svcFd = this.fd('svc');
    for (let k = this.n.mapGetNextKey(svcFd, null); k; k = this.n.mapGetNextKey(svcFd, k)) {
      const v = this.n.mapLookup(svcFd, k);
      if (!v) continue;
      const key = this.n.xdpDecode('svcKey', k) as { vip: string; port: number; protocol: string };
      const val = this.n.xdpDecode('svc', v) as { index: number };
      if (val.index >= this.maxServices) continue;
      this.orphanServices.set(svcKeyOf(key.vip, key.port, key.protocol), val.index);
      this.svcFree.claim(val.index);
    }
    const vipFd = this.fd('vips');
    for (let k = this.n.mapGetNextKey(vipFd, null); k; k = this.n.mapGetNextKey(vipFd, k)) this.orphanVips.add(k.toString('hex'));
    const beFd = this.fd('backends');
    for (let i = 0; i < this.maxBackends; i++) {
      const v = this.n.mapLookup(beFd, u32Key(i));
      if (!v) continue;
      const be = this.n.xdpDecode('backend', v) as { address?: string; port?: number; gen: number };
      this.slotGen[i] = be.gen;
      if (be.address === undefined) continue;
      this.orphanBackends.set(beKeyOf({ address: be.address, port: be.port! }), { index: i, gen: be.gen });
      this.beFree.claim(i);
    }
    this.log.info({ services: this.orphanServices.size, backends: this.orphanBackends.size }, 'adopted the programmed state of the pinned maps');
  }

  /** Attach (or replace in place); returns true when our program was already attached. */
  private attach(): boolean {
    const iface = this.opts.node.interface;
    const q = this.n.xdpQuery(this.ifindex);
    if (q.progId) {
      const oldFd = this.n.progFdById(q.progId);
      try {
        const info = this.n.progInfo(oldFd);
        if (info.name !== this.layout.program) {
          throw new EdgelbError('EDGELB_ERR_BPF_LOAD', `${iface} already runs another XDP program (${info.name}, id ${info.id}); edgelb will not replace it`);
        }
        const mode = q.mode === 'native' ? 'native' : 'generic';
        if (this.opts.spec.attachMode !== 'auto' && this.opts.spec.attachMode !== mode) {
          this.log.warn({ iface, attached: mode, configured: this.opts.spec.attachMode }, 'keeping the running attach mode (changing it needs a detach; run `edgelb cleanup` first)');
        }
        this.n.xdpAttach(this.ifindex, this.progFd, { mode, replaceFd: oldFd });
        this.attachMode = mode;
        return true;
      } finally {
        this.n.closeFd(oldFd);
      }
    }
    let mode: 'native' | 'generic';
    let reason: string;
    if (this.opts.spec.attachMode === 'auto') {
      const kind = iproute.linkKind(iface);
      if (kind === 'veth') {
        mode = 'generic';
        reason = 'veth: XDP_TX in native mode needs an XDP program on the peer';
      } else {
        mode = 'native';
        reason = kind ? `${kind} device` : 'physical device';
      }
    } else {
      mode = this.opts.spec.attachMode;
      reason = 'configured';
    }
    try {
      this.n.xdpAttach(this.ifindex, this.progFd, { mode, noReplace: true });
    } catch (e) {
      if (this.opts.spec.attachMode !== 'auto' || mode === 'generic') {
        throw new EdgelbError('EDGELB_ERR_BPF_LOAD', `attaching XDP (${mode}) to ${iface} failed: ${errorMessage(e)}`, { cause: e });
      }
      reason = `driver refused native XDP (${errorMessage(e)})`;
      mode = 'generic';
      this.n.xdpAttach(this.ifindex, this.progFd, { mode, noReplace: true });
    }
    this.attachMode = mode;
    this.log.info({ iface, attachMode: mode, reason }, `XDP attach mode ${mode}`);
    return false;
  }

  async close(opts: { detach: boolean }): Promise<void> {
    await this.chain.catch(() => undefined);
    if (!this.opened) return;
    this.opened = false;
    if (opts.detach) {
      try {
        this.n.xdpDetach(this.ifindex, { mode: this.attachMode, expectedFd: this.progFd });
      } catch (e) {
        this.log.warn({ err: errorMessage(e) }, 'XDP detach failed (another program replaced ours?)');
      }
      iproute.neighbourBatch([], [...new Set([...this.backends.values()].filter((b) => b.neighbour).map((b) => b.address))], this.opts.node.interface);
      for (const f of existsSync(this.pinDir) ? readdirSync(this.pinDir) : []) {
        if (f.startsWith('edgelb_')) rmSync(join(this.pinDir, f), { force: true });
      }
      for (const dir of [this.pinDir, dirname(this.pinDir)]) {
        try {
          rmdirSync(dir);
        } catch {
          // not empty (other nodes' pins) or gone
        }
      }
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

  private apply(list: DataplaneService[]): void {
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
    this.flushNeighbours();
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
  private flushNeighbours(): void {
    try {
      iproute.neighbourBatch([...this.neighAdd], [...this.neighDel], this.opts.node.interface);
    } catch (e) {
      this.log.debug({ err: errorMessage(e) }, 'managed neighbour entries not updated');
    }
    this.neighAdd.clear();
    this.neighDel.clear();
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

  private sumPerCpu(map: 'counters' | 'svcStats' | 'backendStats', index: number): { packets: number; bytes: number } | number {
    const vals = this.n.mapLookupPerCpu(this.fd(map), u32Key(index)) ?? [];
    if (map === 'counters') return vals.reduce((acc, v) => acc + readU64(v), 0);
    let packets = 0;
    let bytes = 0;
    for (const v of vals) {
      const s = this.n.xdpDecode('stats', v) as { packets: bigint; bytes: bigint };
      packets += Number(s.packets);
      bytes += Number(s.bytes);
    }
    return { packets, bytes };
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    if (!this.opened) return out;
    for (const [name, code] of Object.entries(this.layout.counters)) out[name.toLowerCase()] = this.sumPerCpu('counters', code) as number;
    return out;
  }

  private ctCount = { at: 0, value: 0 };

  /** Entries in the conntrack LRU (walks the map; cached for a few seconds unless fresh). */
  conntrackEntries(fresh = false): number {
    if (!this.opened) return 0;
    const now = Date.now();
    if (fresh || now - this.ctCount.at > CT_COUNT_CACHE_MS) this.ctCount = { at: now, value: this.n.xdpCountEntries(this.fd('ct')) };
    return this.ctCount.value;
  }

  stats(): DataplaneStats {
    if (!this.opened) return { attached: false, counters: {}, services: [], conntrackEntries: 0 };
    const services: DataplaneServiceStats[] = [];
    for (const slot of this.services.values()) {
      const st = this.sumPerCpu('svcStats', slot.index) as { packets: number; bytes: number };
      const s = slot.svc;
      services.push({
        name: s.name,
        vip: s.vip,
        port: s.port,
        protocol: s.protocol,
        mode: s.mode,
        epSelect: slot.sel,
        packets: st.packets,
        bytes: st.bytes,
        backends: s.backends.map((b) => {
          const be = this.backends.get(beKeyOf(b));
          const bs = be ? (this.sumPerCpu('backendStats', be.index) as { packets: number; bytes: number }) : { packets: 0, bytes: 0 };
          return { address: b.address, port: b.port, ...bs };
        }),
      });
    }
    return {
      attached: this.health().ok,
      attachMode: this.attachMode,
      iface: this.opts.node.interface,
      counters: this.counters(),
      services,
      conntrackEntries: this.conntrackEntries(true),
    };
  }

  private registerMetrics(registry: Registry): void {
    // a data path re-created in the same process replaces the previous one's metrics
    for (const name of ['packets_total', 'bytes_total', 'verdicts_total', 'events_total', 'conntrack_entries', 'attached']) {
      registry.removeSingleMetric(`edgelb_dataplane_${name}`);
    }
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const perService = (which: 'packets' | 'bytes') =>
      new Counter({
        name: `edgelb_dataplane_${which}_total`,
        help: `${which === 'packets' ? 'Packets' : 'Bytes'} the XDP data path forwarded, per service`,
        labelNames: ['service', 'vip', 'port', 'protocol'],
        registers: [registry],
        collect() {
          this.reset();
          if (!self.opened) return;
          for (const slot of self.services.values()) {
            const st = self.sumPerCpu('svcStats', slot.index) as { packets: number; bytes: number };
            const s = slot.svc;
            this.inc({ service: s.name, vip: s.vip, port: String(s.port), protocol: s.protocol }, st[which]);
          }
        },
      });
    perService('packets');
    perService('bytes');
    new Counter({
      name: 'edgelb_dataplane_verdicts_total',
      help: 'Packets by XDP verdict (pass, tx, drop) and reason',
      labelNames: ['verdict', 'reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [name, v] of Object.entries(self.counters())) {
          const m = /^(pass|drop|tx)(?:_(.*))?$/.exec(name);
          if (m) this.inc({ verdict: m[1]!, reason: m[2] ?? m[1]! }, v);
        }
      },
    });
    new Counter({
      name: 'edgelb_dataplane_events_total',
      help: 'XDP data path events: rx, conntrack (ct_*) and ICMP translation',
      labelNames: ['event'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [name, v] of Object.entries(self.counters())) {
          if (!/^(pass|drop|tx)(_|$)/.test(name) && name !== 'redirect') this.inc({ event: name }, v);
        }
      },
    });
    new Gauge({
      name: 'edgelb_dataplane_conntrack_entries',
      help: 'Entries in the conntrack LRU (both directions of a translated flow count)',
      registers: [registry],
      collect() {
        this.set(self.conntrackEntries());
      },
    });
    new Gauge({
      name: 'edgelb_dataplane_attached',
      help: '1 when the XDP program is attached to the uplink',
      labelNames: ['mode'],
      registers: [registry],
      collect() {
        this.reset();
        if (self.attachMode) this.set({ mode: self.attachMode }, self.health().ok ? 1 : 0);
      },
    });
  }
}

function keyToSvc(key: string): { vip: string; port: number; protocol: string } {
  const [vip, port, protocol] = key.split('|') as [string, string, string];
  return { vip, port: Number(port), protocol };
}
