// Shared setup for the XDP packet-table tests (dataplane-packets*.test.ts): services programmed
// through XdpDataplane.setServices (the real facade) in a private network namespace whose routes
// and permanent neighbours make bpf_fib_lookup deterministic, packets run through
// BPF_PROG_TEST_RUN, and the expected-frame builders. Needs root.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { loadNative } from '../../../src/native/index.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { XdpDataplane } from '../../../src/dataplane/xdp.js';
import { xdpNativeFrom, XDP_ACTION, type XdpNative } from '../../../src/dataplane/native.js';
import type { DataplaneService } from '../../../src/dataplane/types.js';
import type { DataplaneSpec } from '../../../src/model/desired-state.js';
import { syncNativeOf, type CtSyncHandle } from '../../../src/sync/native.js';
import { frame, parse, type PktSpec } from './pkt.js';
import { BACKEND_MAC, createTestNetns, deleteTestNetns, NODE_MAC, ROUTER_MAC, xdpCtx } from './netns.js';

export const NS = `xdpu${process.pid}`;
export const C4 = '10.1.0.5';
export const C6 = '2001:db8:1::5';
export const NODE4 = '10.0.0.10';
export const NODE6 = '2001:db8::10';
export const B2 = '10.0.0.2';
export const B3 = '10.0.0.3';
export const B2v6 = '2001:db8::2';
export const B3v6 = '2001:db8::3';

export const svc = (name: string, vip: string, port: number, protocol: 'tcp' | 'udp', mode: DataplaneService['mode'], backends: Array<[string, number]>, extra: Partial<DataplaneService> = {}): DataplaneService => ({
  name,
  vip,
  port,
  protocol,
  mode,
  backends: backends.map(([address, p]) => ({ address, port: p })),
  epSelect: 'maglev',
  timeoutSec: 300,
  ...extra,
});

export const SERVICES: DataplaneService[] = [
  svc('dnat4-tcp', '192.168.80.1', 80, 'tcp', 'dnat', [[B2, 8080]]),
  svc('dnat4-udp', '192.168.80.1', 53, 'udp', 'dnat', [[B2, 5353]]),
  svc('onearm4-tcp', '192.168.80.2', 80, 'tcp', 'onearm', [[B3, 8080]]),
  svc('fullnat4-udp', '192.168.80.3', 53, 'udp', 'fullnat', [[B2, 53]]),
  svc('dsr4-tcp', '192.168.80.4', 80, 'tcp', 'dsr', [[B3, 80]]),
  svc('empty4', '192.168.80.5', 80, 'tcp', 'dnat', []),
  svc('noneigh4', '192.168.80.6', 80, 'tcp', 'dnat', [['10.0.0.4', 80]]),
  svc('offseg4', '192.168.80.7', 80, 'tcp', 'dnat', [['10.50.0.20', 80]]),
  svc('blackhole4', '192.168.80.8', 80, 'tcp', 'dnat', [['10.60.0.5', 80]]),
  svc('dsr-offseg4', '192.168.80.9', 80, 'tcp', 'dsr', [['10.50.0.20', 80]]),
  svc('dnat6-tcp', '2001:db8:80::1', 80, 'tcp', 'dnat', [[B2v6, 8080]]),
  svc('onearm6-udp', '2001:db8:80::2', 53, 'udp', 'onearm', [[B3v6, 5353]]),
  svc('fullnat6-tcp', '2001:db8:80::3', 443, 'tcp', 'fullnat', [[B2v6, 8443]]),
  svc('dsr6-udp', '2001:db8:80::4', 53, 'udp', 'dsr', [[B3v6, 53]]),
];

export type Verdict = keyof typeof XDP_ACTION;

export interface Row {
  desc: string;
  input: () => Buffer;
  verdict: Verdict;
  /** The counter code this packet's verdict increments (lower case). */
  counter: string;
  /** Expected output: a frame, 'same' (untouched), or built from the output (allocated ports). */
  want?: Buffer | 'same' | ((out: Buffer) => Buffer);
}

let native: XdpNative;
/** The dataplane under test (set by useXdpPacketDataplane's before hook). */
export let dp: XdpDataplane;
let ifindex = 0;

export function run(pkt: Buffer): { verdict: Verdict; out: Buffer } {
  const r = native.progTestRun(dp.programFd, pkt, 1, { ctx: xdpCtx(pkt.length, ifindex) });
  const verdict = (Object.entries(XDP_ACTION).find(([, v]) => v === r.retval)?.[0] ?? `retval ${r.retval}`) as Verdict;
  return { verdict, out: r.data };
}

/** Frame toward a backend / the client, as the XDP program should emit it. */
export const toBackend = (s: Omit<PktSpec, 'srcMac' | 'dstMac'>, ip: string) => frame({ ...s, srcMac: NODE_MAC, dstMac: BACKEND_MAC[ip]! });
export const toRouter = (s: Omit<PktSpec, 'srcMac' | 'dstMac'>) => frame({ ...s, srcMac: NODE_MAC, dstMac: ROUTER_MAC });
export const fromBackend = (s: Omit<PktSpec, 'srcMac' | 'dstMac'>, ip: string) => frame({ ...s, srcMac: BACKEND_MAC[ip]!, dstMac: NODE_MAC });

const natPort = new Map<string, number>();
export function allocated(name: string, out: Buffer): number {
  const port = parse(out).sport;
  assert.ok(dp.natPorts.some(([lo, hi]) => port >= lo && port <= hi), `${name}: SNAT port ${port} outside ${JSON.stringify(dp.natPorts)}`);
  assert.ok(port >= 1024 && (port < 32768 || port > 60999), `${name}: SNAT port ${port} inside ip_local_port_range or privileged`);
  natPort.set(name, port);
  return port;
}
export const portOf = (name: string) => natPort.get(name) ?? 0;

export function runRows(rows: Row[]): void {
  for (const row of rows) {
    const input = row.input();
    const before = dp.counters();
    const { verdict, out } = run(input);
    const afterC = dp.counters();
    assert.equal(verdict, row.verdict, `${row.desc}: verdict`);
    assert.equal(afterC[row.counter]! - before[row.counter]!, 1, `${row.desc}: counter ${row.counter}`);
    assert.equal(afterC.rx! - before.rx!, 1, `${row.desc}: rx`);
    if (row.want === 'same') assert.deepEqual(out.toString('hex'), input.toString('hex'), `${row.desc}: untouched`);
    else if (row.want) {
      const want = typeof row.want === 'function' ? row.want(out) : row.want;
      assert.equal(out.toString('hex'), want.toString('hex'), `${row.desc}: output`);
    }
  }
}

/** A conntrack entry as the addon decodes it (undefined when absent). */
export function ctEntry(key: { src: string; dst: string; sport: number; dport: number; protocol: 'tcp' | 'udp' }): Record<string, unknown> | undefined {
  const v = native.mapLookup(dp.conntrackFd(key.src.includes(':') ? 6 : 4), native.xdpEncode('ctKey', key));
  return v ? native.xdpDecode('ct', v) : undefined;
}

/** Delete a conntrack entry (tests that re-balance the same tuple). */
export function ctDelete(key: { src: string; dst: string; sport: number; dport: number; protocol: 'tcp' | 'udp' }): void {
  native.mapDelete(dp.conntrackFd(key.src.includes(':') ? 6 : 4), native.xdpEncode('ctKey', key));
}

/** The addon (for tests that rewrite edgelb_cfg). */
export const addon = (): XdpNative => native;

export interface PacketDataplaneOptions {
  spec?: Partial<DataplaneSpec>;
  natPortMin?: number;
  natPortMax?: number;
  /** Report established flows to connection sync (edgelb_ct_ev). */
  sync?: boolean;
  /** onearm source addresses instead of the interface's (connection sync's per-node SNAT addresses). */
  snatAddress4?: string;
  snatAddress6?: string;
}

/** Before the suite: the namespace, the dataplane (generic mode) and SERVICES; after: teardown. */
export function useXdpPacketDataplane(o: PacketDataplaneOptions = {}): void {
  before(async () => {
    const { execFileSync } = await import('node:child_process');
    // the BPF object (another build step may have removed build/)
    execFileSync('make', ['-s', '-C', fileURLToPath(new URL('../../..', import.meta.url)), 'build/bpf/edgelb_xdp.bpf.o'], { stdio: 'ignore' });
    native = xdpNativeFrom(loadNative());
    const ns = createTestNetns(NS);
    native.xdpSetNetns(ns.path);
    execFileSync('ip', ['route', 'add', 'blackhole', '10.60.0.0/24']);
    ifindex = native.ifNameToIndex('xdpt0');
    dp = new XdpDataplane({
      node: { name: `xdpu-${process.pid}`, routerId: NODE4, interface: 'xdpt0' },
      spec: { attachMode: 'auto', maglevSize: 251, conntrackSize: 1024, enabled: true, ...o.spec },
      ...(o.natPortMin !== undefined ? { natPortMin: o.natPortMin, natPortMax: o.natPortMax } : {}),
      logger: silentLogger(),
      registry: new Registry(),
      native,
      manageNeighbours: false,
      maxServices: 40,
      maxBackends: 64,
      ...(o.sync ? { sync: true } : {}),
      ...(o.snatAddress4 ? { snatAddress4: o.snatAddress4 } : {}),
      ...(o.snatAddress6 ? { snatAddress6: o.snatAddress6 } : {}),
    });
    const opened = await dp.open();
    assert.equal(opened.attachMode, 'generic');
    assert.equal(opened.takenOver, false);
    await dp.setServices(SERVICES);
  });

  after(async () => {
    try {
      await dp?.close({ detach: true });
    } finally {
      native?.xdpSetNetns(null);
      deleteTestNetns(NS);
    }
  });
}

/** The connection-sync handle on this suite's data path (its clock program from ct_sync.bpf.o),
 * for the tests that insert synced entries; the caller closes it. */
export async function openCtSync(): Promise<CtSyncHandle> {
  const { execFileSync } = await import('node:child_process');
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  execFileSync('make', ['-s', '-C', root, 'build/bpf/ct_sync.bpf.o'], { stdio: 'ignore' });
  const loaded = native.xdpLoad(`${root}/build/bpf/ct_sync.bpf.o`, { program: 'edgelb_now' });
  try {
    return new (syncNativeOf(loadNative()).CtSync)({ pinDir: dp.pinDir, clockProgFd: loaded.progFd });
  } finally {
    native.closeFd(loaded.progFd);
  }
}
