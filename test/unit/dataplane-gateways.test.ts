// UplinkGateways (src/dataplane/gateways.ts) without a kernel: netlink route and neighbour events
// in, managed neighbour updates out. Routes added, deleted, replaced (a default route moving to
// another gateway), multipath, shared gateways, routes of other interfaces, tables and types,
// hostile event values, an entry deleted by hand, entries fixed by hand, a lost-events overflow,
// the route cap, a failed update retried, and close with and without removal.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/lib/logger.js';
import { UplinkGateways } from '../../src/dataplane/gateways.js';
import type { NeighbourEntry, NeighbourUpdateResult, NetlinkEvent, NetlinkGroup, NetlinkWatchHandle, RouteNextHop } from '../../src/native/index.js';

const UPLINK = 4;
const OTHER = 7;
const RTN_UNICAST = 1;
const RTN_BLACKHOLE = 6;
const NUD_PERMANENT = 0x80;
const NUD_REACHABLE = 0x02;

type Route = Extract<NetlinkEvent, { kind: 'route' }>;

function fixture(opts: { keep?: (a: string) => boolean; maxRoutes?: number; fail?: string[]; dumpFails?: boolean } = {}) {
  let onEvents: (e: NetlinkEvent[]) => void = () => undefined;
  const dumps: string[] = [];
  let groups: readonly NetlinkGroup[] | undefined;
  let closed = false;
  const watch: NetlinkWatchHandle = {
    fd: 3,
    delivered: 0,
    start: (cb) => (onEvents = cb),
    dumpLinks: () => void dumps.push('links'),
    dumpNeighbours: () => void dumps.push('neighbours'),
    dumpRoutes: () => {
      if (opts.dumpFails) throw new TypeError('dumpRoutes is not a function');
      dumps.push('routes');
    },
    stop: () => undefined,
    close: () => void (closed = true),
  };
  /** the kernel's managed entries on the uplink, and the entries someone else made */
  const managed = new Set<string>();
  const others: NeighbourEntry[] = [];
  const calls: Array<{ add: string[]; del: string[] }> = [];
  const fail = new Set(opts.fail ?? []);
  const native = {
    openNetlinkWatch: (g?: readonly NetlinkGroup[]) => ((groups = g), watch),
    neighList: async (ifindex: number): Promise<NeighbourEntry[]> => {
      assert.equal(ifindex, UPLINK);
      return [...others, ...[...managed].map((a) => ({ address: a, family: (a.includes(':') ? 6 : 4) as 4 | 6, state: NUD_REACHABLE, managed: true }))];
    },
    neighUpdate: async (ifindex: number, add: readonly string[], del: readonly string[], o?: { managed?: boolean }): Promise<NeighbourUpdateResult> => {
      assert.equal(ifindex, UPLINK);
      assert.equal(o?.managed, true);
      calls.push({ add: [...add].sort(), del: [...del].sort() });
      const errors: NeighbourUpdateResult['errors'] = [];
      for (const a of del) if (!managed.delete(a)) errors.push({ address: a, op: 'delete', errno: 2, code: 'ENOENT' });
      for (const a of add) {
        if (fail.has(a)) errors.push({ address: a, op: 'replace', errno: 100, code: 'ENETDOWN' });
        else managed.add(a);
      }
      return { applied: add.length + del.length - errors.length, errors };
    },
  };
  const gw = new UplinkGateways(native, UPLINK, silentLogger(), { keep: opts.keep, maxRoutes: opts.maxRoutes });
  const emit = async (...e: NetlinkEvent[]) => {
    onEvents(e);
    await gw.settled();
  };
  return { gw, emit, dumps, managed, others, calls, fail, groups: () => groups, closed: () => closed };
}

function route(dst: string, hops: RouteNextHop[], o: Partial<Route> = {}): Route {
  const [addr, len] = dst.split('/') as [string, string];
  return { kind: 'route', op: 'new', replace: false, family: addr.includes(':') ? 6 : 4, table: 254, type: RTN_UNICAST, dst: addr, dstLen: Number(len), priority: 0, tos: 0, nexthops: hops, ...o };
}
const via = (gateway: string, ifindex = UPLINK): RouteNextHop => ({ ifindex, gateway });
const del = (r: Route): Route => ({ ...r, op: 'del' });
const neighDel = (address: string, ifindex = UPLINK): NetlinkEvent => ({ kind: 'neigh', op: 'del', ifindex, family: address.includes(':') ? 6 : 4, address, state: 0 });
const DEF4 = route('0.0.0.0/0', [via('10.0.0.1')]);
const DEF6 = route('::/0', [via('fe80::1')], { priority: 1024 });

describe('gateways of the uplink (route events -> managed neighbour entries)', () => {
  test('the start dump: default and other gateway routes of the uplink, in any table but local; nothing before the dump ends', async () => {
    const f = fixture();
    f.gw.start();
    assert.deepEqual(f.groups(), ['route', 'neigh', 'link']);
    assert.deepEqual(f.dumps, ['routes']);
    await f.emit(
      DEF4,
      DEF6,
      route('10.50.0.0/16', [via('10.0.0.2')], { table: 100 }), // policy routing table
      route('10.60.0.0/16', [via('fe80::5')]), // RFC 5549: an IPv4 route via an IPv6 gateway
      route('10.0.0.0/24', [{ ifindex: UPLINK }]), // connected: no gateway
      route('10.70.0.0/16', [via('10.9.0.1', OTHER)]), // another interface
      route('10.0.0.11/32', [via('10.0.0.99')], { table: 255, type: 2 }), // local table
      route('10.80.0.0/16', [via('10.0.0.98')], { type: RTN_BLACKHOLE }),
    );
    assert.equal(f.calls.length, 0, 'no update before the dump ended');
    await f.emit({ kind: 'done' });
    assert.deepEqual(f.calls, [{ add: ['10.0.0.1', '10.0.0.2', 'fe80::1', 'fe80::5'], del: [] }]);
    assert.deepEqual(f.gw.entries(), ['10.0.0.1', '10.0.0.2', 'fe80::1', 'fe80::5']);
  });

  test('a route added, a second route via the same gateway, deletions: the entry goes with the last route', async () => {
    const f = fixture();
    f.gw.start();
    await f.emit({ kind: 'done' });
    assert.equal(f.calls.length, 0, 'no routes, no update');
    const a = route('10.50.0.0/16', [via('10.0.0.7')]);
    const b = route('10.51.0.0/16', [via('10.0.0.7')]);
    await f.emit(a);
    await f.emit(b);
    assert.deepEqual(f.calls, [{ add: ['10.0.0.7'], del: [] }]);
    await f.emit(del(a));
    assert.deepEqual(f.gw.entries(), ['10.0.0.7'], 'still used by the other route');
    await f.emit(del(b));
    assert.deepEqual(f.calls.at(-1), { add: [], del: ['10.0.0.7'] });
    assert.deepEqual([...f.managed], []);
    await f.emit(del(b)); // a deletion of a route not known: nothing
    assert.equal(f.calls.length, 2);
  });

  test('a default route replaced by one via another gateway (and via another interface)', async () => {
    const f = fixture();
    f.gw.start();
    await f.emit(DEF6, { kind: 'done' });
    await f.emit(route('::/0', [via('fe80::2')], { priority: 1024, replace: true }));
    assert.deepEqual(f.calls.at(-1), { add: ['fe80::2'], del: ['fe80::1'] });
    await f.emit(route('::/0', [via('fe80::9', OTHER)], { priority: 1024, replace: true }));
    assert.deepEqual(f.calls.at(-1), { add: [], del: ['fe80::2'] });
    assert.deepEqual(f.gw.gateways(), []);
  });

  test('routes with another metric or tos are other routes; a new one without replace adds its next hops', async () => {
    const f = fixture();
    f.gw.start();
    await f.emit(DEF4, route('0.0.0.0/0', [via('10.0.0.2')], { priority: 100 }), { kind: 'done' });
    assert.deepEqual(f.gw.entries(), ['10.0.0.1', '10.0.0.2']);
    await f.emit(del(DEF4));
    assert.deepEqual(f.gw.entries(), ['10.0.0.2']);
    // IPv6 appends a sibling: its notification is another "new" of the same key
    await f.emit(route('::/0', [via('fe80::1')], { priority: 1024 }), route('::/0', [via('fe80::2')], { priority: 1024 }));
    assert.deepEqual(f.gw.entries(), ['10.0.0.2', 'fe80::1', 'fe80::2']);
    // and deleting one sibling leaves the other
    await f.emit(del(route('::/0', [via('fe80::1')], { priority: 1024 })));
    assert.deepEqual(f.gw.entries(), ['10.0.0.2', 'fe80::2']);
  });

  test('multipath: only the next hops on the uplink; the whole route deleted', async () => {
    const f = fixture();
    f.gw.start();
    const mp = route('0.0.0.0/0', [via('10.0.0.1'), via('10.0.0.2'), via('10.9.0.1', OTHER), { ifindex: UPLINK }]);
    await f.emit(mp, { kind: 'done' });
    assert.deepEqual(f.gw.entries(), ['10.0.0.1', '10.0.0.2']);
    await f.emit(del(mp));
    assert.deepEqual(f.gw.entries(), []);
    assert.deepEqual(f.calls.at(-1), { add: [], del: ['10.0.0.1', '10.0.0.2'] });
  });

  test('an entry deleted by hand (ip neigh flush) is made again at once; other deletions change nothing', async () => {
    const f = fixture();
    f.gw.start();
    await f.emit(DEF4, DEF6, { kind: 'done' });
    assert.equal(f.calls.length, 1);
    f.managed.delete('fe80::1');
    await f.emit(neighDel('fe80::1'));
    assert.deepEqual(f.calls.at(-1), { add: ['fe80::1'], del: [] });
    assert.ok(f.managed.has('fe80::1'));
    await f.emit(neighDel('10.0.0.55'), neighDel('10.0.0.1', OTHER), { kind: 'neigh', op: 'new', ifindex: UPLINK, family: 4, address: '10.0.0.1', state: NUD_REACHABLE });
    assert.equal(f.calls.length, 2, 'not ours, another interface, or not a deletion');
  });

  test('an entry someone made permanent is never replaced by a managed one', async () => {
    const f = fixture();
    f.others.push({ address: '10.0.0.1', family: 4, state: NUD_PERMANENT, managed: false });
    f.gw.start();
    await f.emit(DEF4, DEF6, { kind: 'done' });
    assert.deepEqual(f.calls, [{ add: ['fe80::1'], del: [] }]);
    assert.deepEqual(f.gw.entries(), ['fe80::1']);
    assert.deepEqual(f.gw.gateways(), ['10.0.0.1', 'fe80::1']);
  });

  test('a gateway that is also an on-segment backend: its entry stays when the route goes', async () => {
    const f = fixture({ keep: (a) => a === '10.0.0.1' });
    f.gw.start();
    await f.emit(DEF4, { kind: 'done' });
    await f.emit(del(DEF4));
    assert.deepEqual(f.calls, [{ add: ['10.0.0.1'], del: [] }], 'no deletion');
    assert.deepEqual(f.gw.entries(), []);
    assert.ok(f.managed.has('10.0.0.1'));
  });

  test('events lost (overflow): the routes are dumped again, nothing is deleted before it ends, and lost deletions are repaired', async () => {
    const f = fixture();
    f.gw.start();
    const a = route('10.50.0.0/16', [via('10.0.0.7')]);
    await f.emit(DEF4, a, { kind: 'done' });
    // while events were lost: route a went away and someone flushed 10.0.0.1
    f.managed.delete('10.0.0.1');
    await f.emit({ kind: 'overflow' });
    assert.deepEqual(f.dumps, ['routes', 'routes']);
    await f.emit(DEF4);
    assert.ok(f.managed.has('10.0.0.7'), 'kept while the dump runs');
    await f.emit({ kind: 'overflow' }); // a second one during the dump asks for another dump after it
    await f.emit({ kind: 'done' });
    assert.deepEqual(f.dumps, ['routes', 'routes', 'routes']);
    await f.emit(DEF4, { kind: 'done' });
    assert.deepEqual([...f.managed].sort(), ['10.0.0.1'], 'the lost flush repaired, the lost route deletion applied');
    assert.deepEqual(f.gw.entries(), ['10.0.0.1']);
  });

  test('hostile event values: unknown families, bad gateways, other kinds, a cap on routes (default routes always kept)', async () => {
    const f = fixture({ maxRoutes: 2 });
    f.gw.start();
    await f.emit(
      route('10.1.0.0/16', [via('not-an-address')]),
      route('10.2.0.0/16', [via('')]),
      route('10.3.0.0/16', [{ ifindex: UPLINK, gateway: '999.1.1.1' }]),
      { kind: 'link', op: 'new', ifindex: UPLINK, up: true },
      route('10.4.0.0/16', [via('10.0.0.4')]),
      route('10.5.0.0/16', [via('10.0.0.5')]),
      route('10.6.0.0/16', [via('10.0.0.6')]), // over the cap
      DEF4, // the default route is tracked anyway
      { kind: 'done' },
    );
    assert.deepEqual(f.gw.entries(), ['10.0.0.1', '10.0.0.4', '10.0.0.5']);
    await f.emit({ kind: 'done' }); // a done without a dump: ignored
    assert.equal(f.calls.length, 1);
  });

  test('a failed add is retried at the next route event, or when the uplink comes up', async () => {
    const f = fixture({ fail: ['10.0.0.1', 'fe80::1'] });
    f.gw.start();
    await f.emit(DEF4, DEF6, { kind: 'done' });
    assert.deepEqual(f.gw.entries(), []);
    f.fail.delete('10.0.0.1');
    await f.emit(route('10.50.0.0/16', [via('10.0.0.1')]));
    assert.deepEqual(f.gw.entries(), ['10.0.0.1']);
    f.fail.clear();
    const calls = f.calls.length;
    await f.emit({ kind: 'link', op: 'new', ifindex: OTHER, up: true }, { kind: 'link', op: 'new', ifindex: UPLINK, up: false });
    assert.equal(f.calls.length, calls, 'another interface, or the uplink down: nothing');
    await f.emit({ kind: 'link', op: 'new', ifindex: UPLINK, up: true });
    assert.deepEqual(f.gw.entries(), ['10.0.0.1', 'fe80::1']);
  });

  test('the route dump cannot be asked for (an older addon): route events alone are followed', async () => {
    const f = fixture({ dumpFails: true });
    f.gw.start();
    assert.equal(f.gw.synced, true);
    await f.emit(DEF4);
    assert.deepEqual(f.gw.entries(), ['10.0.0.1']);
  });

  test('close: removal (uninstall) deletes our entries; a restart leaves them; events after close do nothing', async () => {
    const f = fixture();
    f.gw.start();
    await f.emit(DEF4, DEF6, { kind: 'done' });
    await f.gw.close({ remove: false });
    assert.ok(f.closed());
    assert.deepEqual([...f.managed].sort(), ['10.0.0.1', 'fe80::1']);
    const g = fixture();
    g.gw.start();
    await g.emit(DEF4, DEF6, { kind: 'done' });
    await g.gw.close({ remove: true });
    assert.deepEqual([...g.managed], []);
    await g.emit(route('10.50.0.0/16', [via('10.0.0.7')]));
    assert.deepEqual([...g.managed], []);
  });

  test('no netlink socket: a warning, nothing else', async () => {
    const gw = new UplinkGateways(
      {
        openNetlinkWatch: () => {
          throw new Error('EPERM');
        },
        neighUpdate: () => assert.fail('no update'),
        neighList: () => assert.fail('no list'),
      },
      UPLINK,
      silentLogger(),
    );
    gw.start();
    await gw.close({ remove: true });
    assert.deepEqual(gw.gateways(), []);
  });
});
