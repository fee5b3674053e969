// XdpDataplane: the Dataplane over the XDP program. Loads build/bpf/edgelb_xdp.bpf.o with the
// configured map sizes, pins maps under /sys/fs/bpf/edgelb/<node>/, takes over a running
// program and its maps without detaching (hitless restart), and programs services declaratively:
// setServices hands the list to XdpServices (xdp-services.ts), which diffs it against its shadow
// state and rewrites only what changed. This file: the options, open / takeover / close, reading.
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import { familyOf } from '../lib/addr.js';
import type { DataplaneSpec, NodeSpec } from '../model/desired-state.js';
import { u32Key, xdpNativeFrom, type XdpLayout, type XdpNative } from './native.js';
import { updateNeighbours, watchUnresolved } from './neighbours.js';
import { UplinkGateways } from './gateways.js';
import { VipRoutes } from './vip-routes.js';
import { NextHops } from './xdp-nexthop.js';
import { attachXdp } from './xdp-attach.js';
import { registerXdpMetrics } from './xdp-metrics.js';
import { checkPinnedLayout, DEFAULT_OBJECT_PATH, DEFAULT_PIN_BASE, pinProg, removePins } from './xdp-pins.js';
import { XdpServices } from './xdp-services.js';
import { CT_DEFAULTS, flowHashKeyLogged, natPortRanges, snatShare, type PortRange } from './xdp-cfg.js';
import { ConntrackCounter, readCounters, serviceStats, sumPerCpuCounter, sumPerCpuStats, type PacketBytes } from './xdp-stats.js';
import type { Dataplane, DataplaneOpenResult, DataplaneService, DataplaneStats } from './types.js';

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
  /** The programmed services and backends (xdp-services.ts). */
  private readonly svcs: XdpServices;
  private get backends(): XdpServices['backends'] {
    return this.svcs.backends;
  }
  private chain: Promise<void> = Promise.resolve();
  private readonly vipRoutes: VipRoutes | undefined;
  private neighTimer: NodeJS.Timeout | undefined;
  /** Managed neighbour entries of the gateways toward clients (gateways.ts); set while open. */
  gateways: UplinkGateways | undefined;

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
    this.svcs = new XdpServices({
      n: this.n,
      log: this.log,
      iface: opts.node.interface,
      manageNeighbours: opts.manageNeighbours !== false,
      maglevSize: this.maglevSize,
      maxServices: this.maxServices,
      maxBackends: this.maxBackends,
      layout: () => this.layout,
      fd: (name) => this.fd(name),
      ifindex: () => this.ifindex,
      nextHops: () => this.nextHops,
      keepNeighbour: (address) => this.gateways?.gateways().includes(address) ?? false,
    });
    registerXdpMetrics(opts.registry, {
      opened: () => this.opened,
      services: () => this.svcs.services.values(),
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
    if (anyReused) this.svcs.adopt(); // maps reused from a previous daemon: identical services keep their indices

    (this.nextHops = new NextHops(this.n, this.ifindex, this.fd('backendNextHop'), this.log)).start();
    const hadOurProgram = this.attach();
    const takenOver = hadOurProgram && allReused;
    this.opened = true;
    // packets toward an unresolved backend are lost (neighbours.ts): restore missing managed entries
    const codes = [this.layout.counters.DROP_DSR_NO_NEIGH, this.layout.counters.PASS_NO_NEIGH].filter((c) => c !== undefined);
    if (this.opts.manageNeighbours !== false) this.neighTimer = watchUnresolved(this.n, this.ifindex, 1000, { dropped: () => (this.opened ? codes.reduce((a, c) => a + sumPerCpuCounter(this.n, this.fd('counters'), c), 0) : 0), wanted: () => [...new Set([...this.backends.values()].filter((b) => b.neighbour).map((b) => b.address))] }, this.log);
    if (this.opts.manageNeighbours !== false) {
      // replies toward clients: the gateways of the uplink's routes stay resolved (gateways.ts)
      this.gateways = new UplinkGateways(this.n, this.ifindex, this.log, { keep: (a) => this.svcs.neighbourAddresses().includes(a) });
      this.gateways.start();
    }
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
    await this.gateways?.close({ remove: opts.detach }).catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'managed neighbour entries of gateways not removed'));
    this.gateways = undefined;
    if (opts.detach) {
      await this.vipRoutes?.remove().catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'per-VIP blackhole routes not removed'));
      try {
        this.n.xdpDetach(this.ifindex, { mode: this.attachMode, expectedFd: this.progFd });
      } catch (e) {
        this.log.warn({ err: errorMessage(e) }, 'XDP detach failed (another program replaced ours?)');
      }
      await updateNeighbours(this.n, this.ifindex, [], this.svcs.neighbourAddresses(), this.log).catch((e: unknown) =>
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
    await this.svcs.apply(list);
    await this.vipRoutes?.sync(this.svcs.vips()).catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'per-VIP blackhole routes not synced: a packet the kernel gets for a VIP may be routed back out'));
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
    const services = serviceStats(this.svcs.services.values(), this.svcs.backends, (map, index) => this.sumPerCpuStats(map, index));
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
