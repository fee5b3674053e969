// XDP data path statistics: summing the per-CPU counter/stats maps, the conntrack count (kernel
// counters through a tiny BPF program, or a cached walk where the kernel lacks them), per-service stats.
import { dirname, join } from 'node:path';
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { readU64, u32Key, type XdpLayout, type XdpNative } from './native.js';
import { beKeyOf, type BackendSlot, type ServiceSlot } from './xdp-slots.js';
import type { DataplaneServiceStats } from './types.js';

/** Counting conntrack entries walks the map: at most once per this many ms. */
const CT_COUNT_CACHE_MS = 5000;

export interface PacketBytes {
  packets: number;
  bytes: number;
}

/** One counter of the per-CPU counters map, summed over CPUs. */
export function sumPerCpuCounter(n: XdpNative, fd: number, index: number): number {
  const vals = n.mapLookupPerCpu(fd, u32Key(index)) ?? [];
  return vals.reduce((acc, v) => acc + readU64(v), 0);
}

/** One entry of a per-CPU stats map (svcStats, backendStats), summed over CPUs. */
export function sumPerCpuStats(n: XdpNative, fd: number, index: number): PacketBytes {
  const vals = n.mapLookupPerCpu(fd, u32Key(index)) ?? [];
  let packets = 0;
  let bytes = 0;
  for (const v of vals) {
    const s = n.xdpDecode('stats', v) as { packets: bigint; bytes: bigint };
    packets += Number(s.packets);
    bytes += Number(s.bytes);
  }
  return { packets, bytes };
}

/** Every counter of the layout by lower-case name; rx is the sum of the verdicts (pass*, tx*, drop*). */
export function readCounters(layout: XdpLayout, read: (code: number) => number): Record<string, number> {
  const out: Record<string, number> = {};
  let rx = 0;
  for (const [name, code] of Object.entries(layout.counters)) {
    const key = name.toLowerCase();
    if (key === 'rx') continue;
    out[key] = read(code);
    if (/^(pass|drop|tx)(_|$)/.test(key)) rx += out[key]!;
  }
  out.rx = rx;
  return out;
}

/** Entries in the conntrack LRU, counted at most once per CT_COUNT_CACHE_MS unless fresh. */
export class ConntrackCount {
  private cached = { at: 0, value: 0 };
  constructor(private readonly count: () => number) {}
  get(fresh: boolean): number {
    const now = Date.now();
    if (fresh || now - this.cached.at > CT_COUNT_CACHE_MS) this.cached = { at: now, value: this.count() };
    return this.cached.value;
  }
}

/**
 * Conntrack occupancy without a walk: ct_count.bpf.o, loaded against the pinned edgelb_ct4 and
 * edgelb_ct6, returns the sum of their bpf_map_sum_elem_count (Linux 6.6+: the map's per-CPU insert/delete counters, which LRU
 * evictions decrement) from one BPF_PROG_TEST_RUN — constant time at any table size. Where that
 * program does not load, a walk of the map, at most once per CT_COUNT_CACHE_MS.
 */
export class ConntrackCounter {
  private progFd = -1;
  private readonly walk: ConntrackCount;
  private readonly frame = Buffer.alloc(64);
  constructor(
    private readonly n: XdpNative,
    walkCount: () => number,
  ) {
    this.walk = new ConntrackCount(walkCount);
  }

  /** 'kernel' (bpf_map_sum_elem_count) or 'walk'. */
  get method(): 'kernel' | 'walk' {
    return this.progFd >= 0 ? 'kernel' : 'walk';
  }

  /** ctMaps: the conntrack maps' names (IPv4, IPv6), each sized ctSize. */
  open(mainObjectPath: string, pinDir: string, ctMaps: readonly string[], ctSize: number, log: Logger): void {
    try {
      const maxEntries = Object.fromEntries(ctMaps.map((m) => [m, ctSize]));
      const r = this.n.xdpLoad(join(dirname(mainObjectPath), 'ct_count.bpf.o'), { pinDir, maxEntries, program: 'edgelb_ct_count' });
      for (const m of Object.values(r.maps)) this.n.closeFd(m.fd);
      this.progFd = r.progFd;
    } catch (e) {
      log.info({ err: errorMessage(e) }, 'conntrack count by kernel counters unavailable (Linux < 6.6?): walking the map, cached 5 s');
    }
  }

  get(fresh: boolean): number {
    if (this.progFd < 0) return this.walk.get(fresh);
    return this.n.progTestRun(this.progFd, this.frame, 1).retval >>> 0;
  }

  close(): void {
    if (this.progFd >= 0) this.n.closeFd(this.progFd);
    this.progFd = -1;
  }
}

/** Per-service stats of the programmed services, with their backends' stats. */
export function serviceStats(
  services: Iterable<ServiceSlot>,
  backends: ReadonlyMap<string, BackendSlot>,
  read: (map: 'svcStats' | 'backendStats', index: number) => PacketBytes,
): DataplaneServiceStats[] {
  const out: DataplaneServiceStats[] = [];
  for (const slot of services) {
    const st = read('svcStats', slot.index);
    const s = slot.svc;
    out.push({
      name: s.name,
      vip: s.vip,
      port: s.port,
      protocol: s.protocol,
      mode: s.mode,
      epSelect: slot.sel,
      packets: st.packets,
      bytes: st.bytes,
      backends: s.backends.map((b) => {
        const be = backends.get(beKeyOf(b));
        const bs = be ? read('backendStats', be.index) : { packets: 0, bytes: 0 };
        return { address: b.address, port: b.port, ...bs };
      }),
    });
  }
  return out;
}
