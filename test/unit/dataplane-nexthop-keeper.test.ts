// NextHops (src/dataplane/xdp-nexthop.ts) without a kernel: netlink events in, next-hop map
// writes out. Events of other interfaces, invalid neighbour states, a link going down, events
// before the first dump ended, a lost-events overflow and slots freed and re-used.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/lib/logger.js';
import { NextHops, NUD_VALID } from '../../src/dataplane/xdp-nexthop.js';
import type { NetlinkEvent, NetlinkWatchHandle } from '../../src/native/index.js';

const UPLINK = 4;
const NUD_REACHABLE = 0x02;
const NUD_FAILED = 0x20;
const NUD_INCOMPLETE = 0x01;

function fixture() {
  let onEvents: (e: NetlinkEvent[]) => void = () => undefined;
  const dumps: string[] = [];
  const map = new Map<number, Record<string, unknown>>();
  const watch: NetlinkWatchHandle = {
    fd: 3,
    delivered: 0,
    start: (cb) => (onEvents = cb),
    dumpLinks: () => void dumps.push('links'),
    dumpNeighbours: () => void dumps.push('neighbours'),
    dumpRoutes: () => void dumps.push('routes'),
    stop: () => undefined,
    close: () => undefined,
  };
  const native = {
    openNetlinkWatch: () => watch,
    xdpEncode: (kind: string, o: object) => Buffer.from(JSON.stringify({ kind, ...o })),
    mapUpdate: (fd: number, key: Buffer, value: Buffer) => void map.set(key.readUInt32LE(0), JSON.parse(value.toString()) as Record<string, unknown>),
  };
  const nh = new NextHops(native as never, UPLINK, 9, silentLogger());
  const emit = (...e: NetlinkEvent[]) => onEvents(e);
  const link = (up: boolean, mac = '02:00:00:00:00:10'): NetlinkEvent => ({ kind: 'link', op: 'new', ifindex: UPLINK, up, mac });
  const neigh = (address: string, mac: string | undefined, state = NUD_REACHABLE, ifindex = UPLINK, op: 'new' | 'del' = 'new'): NetlinkEvent => ({
    kind: 'neigh',
    op,
    ifindex,
    family: address.includes(':') ? 6 : 4,
    address,
    state,
    ...(mac ? { mac } : {}),
  });
  return { nh, emit, link, neigh, dumps, map };
}

/** Start and answer both dumps: the uplink up, the given neighbours. */
function synced(f: ReturnType<typeof fixture>, ...neighbours: NetlinkEvent[]) {
  f.nh.start();
  f.emit(f.link(true), { kind: 'done' });
  f.emit(...neighbours, { kind: 'done' });
  assert.equal(f.nh.synced, true);
}

describe('next-hop map keeper (netlink events -> edgelb_be_nh)', () => {
  test('NUD_VALID is the kernel set (REACHABLE, STALE, DELAY, PROBE, NOARP, PERMANENT)', () => {
    assert.equal(NUD_VALID, 0xde);
  });

  test('dumps links, then neighbours, one at a time; nothing is written before the neighbour dump ends', () => {
    const f = fixture();
    f.nh.start();
    assert.deepEqual(f.dumps, ['links']);
    f.nh.setSlot(0, '10.0.0.2', 7);
    f.emit(f.link(true), { kind: 'done' });
    assert.deepEqual(f.dumps, ['links', 'neighbours']);
    f.emit(f.neigh('10.0.0.2', '02:00:00:00:00:02'));
    assert.equal(f.map.size, 0, 'not before the dump ended (a previous daemon\'s entries stay)');
    f.emit({ kind: 'done' });
    assert.deepEqual(f.map.get(0), { kind: 'nh', smac: '02:00:00:00:00:10', dmac: '02:00:00:00:00:02', ifindex: UPLINK, gen: 7 });
  });

  test('neighbour events: other interfaces ignored, invalid states and deletions empty the entry, a new MAC rewrites it', () => {
    const f = fixture();
    synced(f, f.neigh('10.0.0.2', '02:00:00:00:00:02'), f.neigh('2001:db8::2', '02:00:00:00:00:02'));
    f.nh.setSlot(0, '10.0.0.2', 1);
    f.nh.setSlot(1, '10.0.0.2', 1); // the same address, another port
    f.nh.setSlot(2, '2001:0db8:0:0::2', 1); // written as the kernel spells it
    assert.equal(f.map.get(2)?.dmac, '02:00:00:00:00:02');
    f.emit(f.neigh('10.0.0.2', '02:00:00:00:00:99', NUD_REACHABLE, UPLINK + 1));
    assert.equal(f.map.get(0)?.dmac, '02:00:00:00:00:02', 'another interface');
    f.emit(f.neigh('10.0.0.2', '02:00:00:00:00:22'));
    assert.equal(f.map.get(0)?.dmac, '02:00:00:00:00:22');
    assert.equal(f.map.get(1)?.dmac, '02:00:00:00:00:22', 'every slot of the address');
    for (const state of [NUD_FAILED, NUD_INCOMPLETE]) {
      f.emit(f.neigh('10.0.0.2', '02:00:00:00:00:22'));
      f.emit(f.neigh('10.0.0.2', '02:00:00:00:00:22', state));
      assert.equal(f.map.get(0)?.dmac, undefined, `state ${state}: a miss`);
    }
    f.emit(f.neigh('10.0.0.2', undefined, NUD_REACHABLE));
    assert.equal(f.map.get(0)?.dmac, undefined, 'no lladdr: a miss');
    f.emit(f.neigh('10.0.0.2', '02:00:00:00:00:23'));
    f.emit(f.neigh('10.0.0.2', '02:00:00:00:00:23', NUD_REACHABLE, UPLINK, 'del'));
    assert.equal(f.map.get(0)?.dmac, undefined, 'deleted');
    assert.equal(f.map.get(2)?.dmac, '02:00:00:00:00:02', 'the IPv6 entry untouched');
  });

  test('the uplink down empties every entry; up with a new MAC rewrites them; links of other interfaces are ignored', () => {
    const f = fixture();
    synced(f, f.neigh('10.0.0.2', '02:00:00:00:00:02'));
    f.nh.setSlot(3, '10.0.0.2', 2);
    f.emit({ kind: 'link', op: 'new', ifindex: UPLINK + 1, up: false });
    assert.equal(f.map.get(3)?.dmac, '02:00:00:00:00:02');
    f.emit(f.link(false));
    assert.deepEqual(f.map.get(3), { kind: 'nh', gen: 2 });
    f.emit(f.link(true, '02:00:00:00:00:11'));
    assert.deepEqual(f.map.get(3), { kind: 'nh', smac: '02:00:00:00:00:11', dmac: '02:00:00:00:00:02', ifindex: UPLINK, gen: 2 });
    f.emit({ kind: 'link', op: 'del', ifindex: UPLINK, up: false });
    assert.equal(f.map.get(3)?.dmac, undefined);
  });

  test('a freed slot is emptied; re-used, it is written for its new address and generation', () => {
    const f = fixture();
    synced(f, f.neigh('10.0.0.2', '02:00:00:00:00:02'), f.neigh('10.0.0.3', '02:00:00:00:00:03'));
    f.nh.setSlot(5, '10.0.0.2', 4);
    f.nh.dropSlot(5);
    assert.deepEqual(f.map.get(5), { kind: 'nh', gen: 0 });
    f.emit(f.neigh('10.0.0.2', '02:00:00:00:00:44'));
    assert.deepEqual(f.map.get(5), { kind: 'nh', gen: 0 }, 'a freed slot follows no address');
    f.nh.setSlot(5, '10.0.0.3', 5);
    assert.deepEqual(f.map.get(5), { kind: 'nh', smac: '02:00:00:00:00:10', dmac: '02:00:00:00:00:03', ifindex: UPLINK, gen: 5 });
  });

  test('lost events (overflow) dump links and neighbours again, and the dump fixes what was missed', () => {
    const f = fixture();
    synced(f, f.neigh('10.0.0.2', '02:00:00:00:00:02'));
    f.nh.setSlot(0, '10.0.0.2', 1);
    f.emit({ kind: 'overflow' });
    assert.deepEqual(f.dumps, ['links', 'neighbours', 'links']);
    f.emit(f.link(true), { kind: 'done' });
    assert.deepEqual(f.dumps, ['links', 'neighbours', 'links', 'neighbours']);
    f.emit(f.neigh('10.0.0.2', '02:00:00:00:00:77'), { kind: 'done' });
    assert.equal(f.map.get(0)?.dmac, '02:00:00:00:00:77');
    // an overflow during a dump: the next dumps wait for it to end (no second request at once)
    f.emit({ kind: 'overflow' }, { kind: 'overflow' });
    assert.deepEqual(f.dumps.slice(4), ['links']);
    f.emit({ kind: 'overflow' });
    assert.deepEqual(f.dumps.slice(4), ['links'], 'one dump at a time');
    f.emit(f.link(true), { kind: 'done' });
    assert.deepEqual(f.dumps.slice(4), ['links', 'links'], 'lost during the links dump: links again, then neighbours');
    f.emit(f.link(true), { kind: 'done' });
    assert.deepEqual(f.dumps.slice(4), ['links', 'links', 'neighbours']);
  });

  test('no netlink socket: a warning, no writes, and the program keeps using bpf_fib_lookup', () => {
    const map = new Map<number, unknown>();
    const native = {
      openNetlinkWatch: () => {
        throw new Error('EPERM');
      },
      xdpEncode: () => Buffer.alloc(0),
      mapUpdate: (_fd: number, k: Buffer) => void map.set(k.readUInt32LE(0), 1),
    };
    const nh = new NextHops(native as never, UPLINK, 9, silentLogger());
    nh.start();
    nh.setSlot(0, '10.0.0.2', 1);
    assert.equal(nh.synced, false);
    assert.equal(map.size, 0);
  });
});
