// XdpDataplane against the kernel in a private namespace: struct encoding, declarative diffs
// (nothing rewritten when nothing changed, one service rewritten when one changed), free-list
// reuse, takeover of a running program and its pinned maps without detaching (flows keep
// working), re-creation of incompatible pins, health, close/detach and cleanupNode. Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { loadNative } from '../../src/native/index.js';
import { createLogger, silentLogger } from '../../src/lib/logger.js';
import { XdpDataplane, type XdpDataplaneOptions } from '../../src/dataplane/xdp.js';
import { cleanupNode } from '../../src/dataplane/cleanup.js';
import { u32Key, xdpNativeFrom, XDP_ACTION, type XdpNative } from '../../src/dataplane/native.js';
import type { DataplaneService } from '../../src/dataplane/types.js';
import { frame, parse, TCP_ACK } from './dataplane/pkt.js';
import { createTestNetns, deleteTestNetns, xdpCtx } from './dataplane/netns.js';

const NS = `xdpf${process.pid}`;
const NODE = `xdpf-${process.pid}`;
const PIN = `/sys/fs/bpf/edgelb/${NODE}`;

const svc = (name: string, vip: string, backends: string[], extra: Partial<DataplaneService> = {}): DataplaneService => ({
  name,
  vip,
  port: 80,
  protocol: 'tcp',
  mode: 'onearm',
  backends: backends.map((address) => ({ address, port: 8080 })),
  epSelect: 'maglev',
  timeoutSec: 300,
  ...extra,
});
const BASE = [svc('a', '192.168.90.1', ['10.0.0.2', '10.0.0.3']), svc('b', '192.168.90.2', ['10.0.0.2']), svc('c', '192.168.90.3', ['10.0.0.3'])];

let native: XdpNative;
let ifindex = 0;
const writes = { arrays: 0, updates: 0 };

/** The real addon, counting table writes and map updates. */
function countingNative(n: XdpNative): XdpNative {
  return new Proxy(n, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (prop === 'xdpArrayWrite') return (...a: Parameters<XdpNative['xdpArrayWrite']>) => (writes.arrays++, target.xdpArrayWrite(...a));
      if (prop === 'mapUpdate') return (...a: Parameters<XdpNative['mapUpdate']>) => (writes.updates++, target.mapUpdate(...a));
      return v;
    },
  });
}

function make(extra: Partial<XdpDataplaneOptions> = {}): XdpDataplane {
  return new XdpDataplane({
    node: { name: NODE, routerId: '10.0.0.10', interface: 'xdpt0' },
    spec: { attachMode: 'auto', maglevSize: 251, conntrackSize: 4096, enabled: true },
    logger: silentLogger(),
    registry: new Registry(),
    native: countingNative(native),
    manageNeighbours: false,
    maxServices: 8,
    maxBackends: 16,
    ...extra,
  });
}

/** The addon as a process without CAP_SYS_ADMIN sees it: BPF_PROG_GET_FD_BY_ID refused (EPERM). */
function noSysAdmin(n: XdpNative): XdpNative & { byId: number } {
  const counts = { byId: 0 };
  return new Proxy(n, {
    get(target, prop, recv) {
      if (prop === 'byId') return counts.byId;
      if (prop === 'progFdById') {
        return () => {
          counts.byId++;
          throw new Error('bpf_prog_get_fd_by_id: Operation not permitted');
        };
      }
      return Reflect.get(target, prop, recv) as unknown;
    },
  }) as XdpNative & { byId: number };
}

function pinnedProgId(): number {
  const fd = native.objGet(`${PIN}/edgelb_prog`);
  try {
    return native.progInfo(fd).id;
  } finally {
    native.closeFd(fd);
  }
}

const run = (dp: XdpDataplane, pkt: Buffer) => native.progTestRun(dp.programFd, pkt, 1, { ctx: xdpCtx(pkt.length, ifindex) });

function svcIndex(dp: XdpDataplane, vip: string): number | undefined {
  const v = native.mapLookup(dp.mapFd('svc'), native.xdpEncode('svcKey', { vip, port: 80, protocol: 'tcp' }));
  return v ? (native.xdpDecode('svc', v) as { index: number }).index : undefined;
}

describe('XdpDataplane (kernel, private namespace)', () => {
  before(() => {
    execFileSync('make', ['-s', '-C', fileURLToPath(new URL('../..', import.meta.url)), 'build/bpf/edgelb_xdp.bpf.o'], { stdio: 'ignore' });
    native = xdpNativeFrom(loadNative());
    native.xdpSetNetns(createTestNetns(NS).path);
    ifindex = native.ifNameToIndex('xdpt0');
  });
  after(async () => {
    try {
      await cleanupNode({ nodeName: NODE, iface: 'xdpt0', logger: silentLogger() });
    } finally {
      native?.xdpSetNetns(null);
      deleteTestNetns(NS);
    }
  });

  test('layout and struct encoding round-trip through the addon', () => {
    const L = native.xdpLayout();
    assert.deepEqual(L.sizes, { addr: 16, cfg: 104, svcKey: 20, svc: 16, vipKey: 20, backend: 24, ctKey: 40, ct4Key: 16, ct: 96, stats: 16, nh: 24 });
    assert.equal(L.counters.RX, 0);
    assert.equal(L.counters.TX, 9);
    assert.equal(Object.keys(L.counters).length, new Set(Object.values(L.counters)).size, 'codes are unique');
    const k = { vip: '2001:db8::1', port: 443, protocol: 'udp' };
    const buf = native.xdpEncode('svcKey', k);
    assert.equal(buf.length, 20);
    assert.deepEqual({ ...native.xdpDecode('svcKey', buf) }, k);
    const ct = { src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 65535, protocol: 'tcp' };
    assert.deepEqual({ ...native.xdpDecode('ctKey', native.xdpEncode('ctKey', ct)) }, ct);
    // IPv4 keys are edgelb_ct4's compact key (src, dst, sport, dport, proto, 3 zero bytes), IPv6 keys edgelb_ct6's
    assert.equal(native.xdpEncode('ctKey', ct).toString('hex'), '0a0000010a0000020001ffff06000000');
    const ct6 = { src: '2001:db8::1', dst: '2001:db8::2', sport: 80, dport: 443, protocol: 'udp' };
    assert.equal(native.xdpEncode('ctKey', ct6).length, 40);
    assert.deepEqual({ ...native.xdpDecode('ctKey', native.xdpEncode('ctKey', ct6)) }, ct6);
    assert.deepEqual([L.maps.ct4, L.maps.ct6], ['edgelb_ct4', 'edgelb_ct6']);
    // next-hop entries: valid (MACs, ifindex) or empty (a miss); a bad MAC is refused
    const nh = { gen: 3, smac: '02:00:00:00:00:10', dmac: '0a:1b:2c:3d:4e:5f', ifindex: 7 };
    assert.deepEqual({ ...native.xdpDecode('nh', native.xdpEncode('nh', nh)) }, nh);
    assert.deepEqual({ ...native.xdpDecode('nh', native.xdpEncode('nh', { gen: 3 })) }, { gen: 3 });
    for (const dmac of ['0a:1b:2c:3d:4e', '0a:1b:2c:3d:4e:5f:00', 'zz:1b:2c:3d:4e:5f', '0a:1b:2c:3d:4e:5fx', 7]) {
      assert.throws(() => native.xdpEncode('nh', { ...nh, dmac }), TypeError, String(dmac));
    }
    assert.throws(() => native.xdpEncode('nh', { ...nh, ifindex: 0 }), RangeError);
    assert.deepEqual({ ...native.xdpDecode('backend', native.xdpEncode('backend', { gen: 7 })) }, { gen: 7 });
    assert.throws(() => native.xdpEncode('svcKey', { vip: 'nope', port: 80, protocol: 'tcp' }), TypeError);
    assert.throws(() => native.xdpEncode('svcKey', { vip: '10.0.0.1', port: 70000, protocol: 'tcp' }), RangeError);
    assert.throws(() => native.xdpEncode('ctKey', { src: '10.0.0.1', dst: '::1', sport: 1, dport: 1, protocol: 'tcp' }), TypeError);
    // edgelb_cfg: port ranges, TCP timeouts, share, echo rate, RST flag, hash key
    const cfg = { maglevSize: 251, maxServices: 8, ports: [[1024, 11110], [61000, 65535]], snatShare: 100, tcpSynTimeout: 3, tcpFinTimeout: 20, tcpRstTimeout: 1, echoRate: 50, rstUnserved: true, hashKey: Buffer.alloc(16, 7) };
    const dec = native.xdpDecode('cfg', native.xdpEncode('cfg', cfg)) as Record<string, unknown>;
    assert.equal(dec.layoutVersion, L.version);
    assert.deepEqual(dec.ports, [[1024, 11110], [61000, 65535]]);
    assert.equal(dec.portTotal, 10087 + 4536);
    for (const k of ['snatShare', 'tcpSynTimeout', 'tcpFinTimeout', 'tcpRstTimeout', 'echoRate', 'rstUnserved'] as const) assert.equal(dec[k], cfg[k], k);
    const bad: Array<[string, object]> = [
      ['no ranges', { ports: [] }],
      ['five ranges', { ports: [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]] }],
      ['lo > hi', { ports: [[2000, 1000]] }],
      ['port 0', { ports: [[0, 10]] }],
      ['port 65536', { ports: [[1, 65536]] }],
      ['not a pair', { ports: [[1024]] }],
      ['a string range', { ports: ['1024-2000'] }],
      ['fractional port', { ports: [[1024.5, 2000]] }],
      ['syn timeout 0', { tcpSynTimeout: 0 }],
      ['negative echo rate', { echoRate: -1 }],
      ['short hash key', { hashKey: Buffer.alloc(8) }],
      ['hash key a string', { hashKey: '0123456789abcdef' }],
    ];
    for (const [what, edit] of bad) assert.throws(() => native.xdpEncode('cfg', { ...cfg, ...edit }), /TypeError|RangeError|ports|Timeout|echoRate|hashKey/, what);
  });

  test('setServices rewrites only what changed and reuses freed indices', async () => {
    const dp = make();
    try {
      await dp.open();
      await dp.setServices(BASE);
      assert.equal(writes.arrays, 7, 'list + maglev table per service, and the address filter once');
      const before = { ...writes };
      await dp.setServices(structuredClone(BASE).reverse());
      assert.deepEqual(writes, before, 'same services in another order: nothing written');

      await dp.setServices([BASE[0]!, svc('b', '192.168.90.2', ['10.0.0.2', '10.0.0.3']), BASE[2]!]);
      assert.equal(writes.arrays - before.arrays, 2, 'one service rewritten');

      const timeoutOnly = { ...writes };
      await dp.setServices([BASE[0]!, svc('b', '192.168.90.2', ['10.0.0.2', '10.0.0.3'], { timeoutSec: 5 }), BASE[2]!]);
      assert.equal(writes.arrays, timeoutOnly.arrays, 'a timeout change rewrites no table');
      assert.equal(writes.updates - timeoutOnly.updates, 1, 'only the service entry');

      const ib = svcIndex(dp, '192.168.90.2')!;
      await dp.setServices([BASE[0]!, BASE[2]!]);
      assert.equal(svcIndex(dp, '192.168.90.2'), undefined);
      await dp.setServices([BASE[0]!, BASE[2]!, svc('d', '192.168.90.4', ['10.0.0.2'])]);
      assert.equal(svcIndex(dp, '192.168.90.4'), ib, 'the freed index is reused');

      await assert.rejects(dp.setServices([BASE[0]!, { ...BASE[0]!, name: 'dup' }]), /both use/);
      // an idle timeout of 0 would expire every flow at its next packet: the default is used
      await dp.setServices([{ ...BASE[0]!, timeoutSec: 0 }]);
      const v = native.mapLookup(dp.mapFd('svc'), native.xdpEncode('svcKey', { vip: BASE[0]!.vip, port: 80, protocol: 'tcp' }))!;
      assert.equal((native.xdpDecode('svc', v) as { timeoutSec: number }).timeoutSec, 300);
      assert.equal(dp.health().ok, true);
    } finally {
      await dp.close({ detach: true });
    }
    assert.equal(existsSync(PIN), false, 'detach removes the pins');
    assert.equal(native.xdpQuery(ifindex).progId, 0, 'detach detaches');
  });

  test('a new instance takes over the attached program and pinned maps; flows keep working', async () => {
    const first = make();
    const o1 = await first.open();
    assert.equal(o1.takenOver, false);
    await first.setServices(BASE);
    const idx = BASE.map((s) => svcIndex(first, s.vip));
    const syn = run(first, frame({ src: '10.1.0.5', dst: '192.168.90.1', proto: 'tcp', sport: 40000, dport: 80 }));
    assert.equal(syn.retval, XDP_ACTION.TX);
    const out = parse(syn.data);
    const firstProg = native.xdpQuery(ifindex).progId;
    await first.close({ detach: false });
    assert.equal(native.xdpQuery(ifindex).progId, firstProg, 'close without detach leaves the program attached');

    const registry = new Registry();
    const second = make({ registry });
    try {
      const o2 = await second.open();
      assert.deepEqual(o2, { takenOver: true, attachMode: 'generic' });
      const q = native.xdpQuery(ifindex);
      assert.notEqual(q.progId, firstProg, 'replaced in place by the new program');
      assert.equal(q.mode, 'generic');
      // before any setServices: the reply of the flow is still translated (maps were kept)
      const reply = run(second, frame({ src: out.dst, dst: out.src, proto: 'tcp', sport: out.dport, dport: out.sport, tcpFlags: TCP_ACK }));
      assert.equal(reply.retval, XDP_ACTION.TX);
      assert.equal(parse(reply.data).src, '192.168.90.1');
      // the same services again keep their indices and backend generations
      const c0 = second.counters();
      await second.setServices(BASE);
      assert.deepEqual(BASE.map((s) => svcIndex(second, s.vip)), idx);
      const again = run(second, frame({ src: '10.1.0.5', dst: '192.168.90.1', proto: 'tcp', sport: 40000, dport: 80, tcpFlags: TCP_ACK }));
      assert.equal(again.retval, XDP_ACTION.TX);
      assert.equal(parse(again.data).dst, out.dst);
      const c1 = second.counters();
      assert.equal(c1.ct_hit! - c0.ct_hit!, 1);
      assert.equal(c1.ct_backend_gone! - c0.ct_backend_gone!, 0);
      // services the previous owner had and nobody wants any more are removed
      await second.setServices([BASE[0]!]);
      assert.equal(svcIndex(second, '192.168.90.2'), undefined);
      // the metrics read the maps
      const text = await registry.metrics();
      assert.match(text, /edgelb_dataplane_packets_total\{service="a",vip="192.168.90.1",port="80",protocol="tcp"\} [1-9]/);
      assert.match(text, /edgelb_dataplane_bytes_total\{service="a",[^}]*\} [1-9]\d+/);
      assert.match(text, /edgelb_dataplane_verdicts_total\{verdict="tx",reason="tx"\} [1-9]/);
      assert.match(text, /edgelb_dataplane_events_total\{event="ct_hit"\} [1-9]/);
      assert.match(text, /edgelb_dataplane_conntrack_entries [1-9]/);
      assert.match(text, /edgelb_dataplane_attached\{mode="generic"\} 1/);
    } finally {
      await second.close({ detach: false });
    }
  });

  // regression: the takeover used BPF_PROG_GET_FD_BY_ID, which a pod without CAP_SYS_ADMIN may not call
  test('the takeover goes through the pinned program: no lookup by id (CAP_SYS_ADMIN) needed', async () => {
    const before = native.xdpQuery(ifindex).progId;
    assert.equal(pinnedProgId(), before, 'the attached program is pinned beside the maps');
    const n = noSysAdmin(native);
    const dp = make({ native: n });
    try {
      assert.deepEqual(await dp.open(), { takenOver: true, attachMode: 'generic' });
      const now = native.xdpQuery(ifindex).progId;
      assert.notEqual(now, before, 'replaced in place');
      assert.equal(pinnedProgId(), now, 'the pin follows the new program');
      assert.equal(n.byId, 0, 'never looked up by id');
      assert.equal(existsSync(`${PIN}/edgelb_prog_new`), false);
    } finally {
      await dp.close({ detach: false });
    }
  });

  test('without a pinned program (pins of an older edgelb) the takeover falls back to the id and says it needs CAP_SYS_ADMIN', async () => {
    const attached = native.xdpQuery(ifindex).progId;
    assert.equal(native.unpin(`${PIN}/edgelb_prog`), true);
    const lines: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    // without CAP_SYS_ADMIN: refused with a message that says why; the running program stays
    await assert.rejects(make({ native: noSysAdmin(native) }).open(), /not the pinned edgelb program .*needs CAP_SYS_ADMIN/);
    assert.equal(native.xdpQuery(ifindex).progId, attached, 'the running program is left attached');
    const dp2 = make({ logger: createLogger({ destination: sink }) });
    try {
      assert.equal((await dp2.open()).takenOver, true);
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(lines.some((l) => /no pinned edgelb program/.test(l) && /needs CAP_SYS_ADMIN/.test(l)), lines.join(''));
      assert.equal(pinnedProgId(), native.xdpQuery(ifindex).progId, 'pinned again');
    } finally {
      await dp2.close({ detach: false });
    }
  });

  test('incompatible pins (another table size) are re-created and the log says so', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    const dp = make({ spec: { attachMode: 'auto', maglevSize: 257, conntrackSize: 4096, enabled: true }, logger: createLogger({ destination: sink }) });
    try {
      const o = await dp.open();
      assert.equal(o.takenOver, false);
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(lines.some((l) => /incompatible/.test(l) && /maglev table size 251 pinned, 257 configured/.test(l)), lines.join(''));
      assert.equal(dp.health().ok, true);
      // somebody detaches the program behind our back: health says so
      execFileSync('ip', ['link', 'set', 'dev', 'xdpt0', 'xdpgeneric', 'off']);
      assert.equal(dp.health().ok, false);
      assert.match(dp.health().reason!, /no XDP program attached to xdpt0/);
    } finally {
      await dp.close({ detach: false });
    }
  });

  test('pins of an older layout version are re-created and the log says so (a layout change never reuses old maps)', async () => {
    // the pins left by the previous test, their recorded layout version set back by one
    const fd = native.objGet(`${PIN}/edgelb_cfg`);
    try {
      const v = native.mapLookup(fd, u32Key(0))!;
      const old = native.xdpLayout().version - 1;
      v.writeUInt32LE(old, 0);
      native.mapUpdate(fd, u32Key(0), v);
    } finally {
      native.closeFd(fd);
    }
    const lines: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    const dp = make({ spec: { attachMode: 'auto', maglevSize: 257, conntrackSize: 4096, enabled: true }, logger: createLogger({ destination: sink }) });
    try {
      const o = await dp.open();
      assert.equal(o.takenOver, false);
      await new Promise((r) => setTimeout(r, 50));
      const want = `layout version ${native.xdpLayout().version - 1} pinned, ${native.xdpLayout().version} needed`;
      assert.ok(lines.some((l) => /incompatible/.test(l) && l.includes(want)), lines.join(''));
    } finally {
      await dp.close({ detach: false });
    }
  });

  test('cleanupNode without the program pin and without CAP_SYS_ADMIN leaves the program attached and says why', async () => {
    const dp = make();
    await dp.open();
    await dp.close({ detach: false });
    const attached = native.xdpQuery(ifindex).progId;
    assert.equal(native.unpin(`${PIN}/edgelb_prog`), true);
    const lines: string[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    const r = await cleanupNode({ nodeName: NODE, logger: createLogger({ destination: sink }), iface: 'xdpt0', pinRoot: '/nonexistent-edgelb-pins', native: noSysAdmin(native) as unknown as Parameters<typeof cleanupNode>[0]['native'] });
    assert.equal(r.detached, false);
    assert.equal(native.xdpQuery(ifindex).progId, attached, 'left attached');
    await new Promise((res) => setTimeout(res, 50));
    assert.ok(lines.some((l) => /not the pinned edgelb one/.test(l) && /needs CAP_SYS_ADMIN/.test(l)), lines.join(''));
  });

  test('cleanupNode detaches edgelb XDP programs and removes the pins', async () => {
    const dp = make();
    await dp.open();
    await dp.close({ detach: false });
    assert.ok(existsSync(PIN));
    // identified by its pin: no lookup by id (CAP_SYS_ADMIN) needed
    const n = noSysAdmin(native);
    const r = await cleanupNode({ nodeName: NODE, iface: 'xdpt0', logger: silentLogger(), native: n as unknown as Parameters<typeof cleanupNode>[0]['native'] });
    assert.equal(r.detached, true);
    assert.equal(n.byId, 0);
    assert.ok(r.pinsRemoved >= 10);
    assert.equal(existsSync(PIN), false);
    assert.equal(native.xdpQuery(ifindex).progId, 0);
  });
});
