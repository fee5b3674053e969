// The addon's NetlinkWatch route events (native/netlink_watch.cc, groups ['route']) in a private
// namespace: the dump, a multipath route, a replace, an IPv4 route via an IPv6 gateway (RTA_VIA),
// a deletion, a route through a nexthop object, a socket subscribed to neighbours only that gets no route events, and hostile group
// arguments. Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { loadNative, type NativeBinding, type NetlinkEvent, type NetlinkWatchHandle } from '../../src/native/index.js';
import { createTestNetns, deleteTestNetns } from './dataplane/netns.js';

const NS = `nlw${process.pid}`;
let n: NativeBinding;
let ifindex = 0;
type Route = Extract<NetlinkEvent, { kind: 'route' }>;

const ip = (...a: string[]) => execFileSync('ip', ['-n', NS, ...a], { stdio: ['ignore', 'ignore', 'pipe'] });

/** Events of a watch, and a wait for one that matches. */
function collect(w: NetlinkWatchHandle) {
  const events: NetlinkEvent[] = [];
  let wake: (() => void) | undefined;
  w.start((e) => {
    events.push(...e);
    wake?.();
  });
  const waitFor = async <T extends NetlinkEvent>(pred: (e: NetlinkEvent) => e is T, ms = 5000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const hit = events.find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no such event in ${JSON.stringify(events.slice(-10))}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
  };
  return { events, waitFor };
}

const isRoute = (dst: string, op: 'new' | 'del' = 'new', more: (r: Route) => boolean = () => true) => (e: NetlinkEvent): e is Route =>
  e.kind === 'route' && e.op === op && `${e.dst}/${e.dstLen}` === dst && more(e);

describe('NetlinkWatch route events (private namespace)', () => {
  before(() => {
    n = loadNative();
    n.xdpSetNetns(createTestNetns(NS).path);
    ifindex = n.ifNameToIndex('xdpt0');
  });
  after(() => {
    n?.xdpSetNetns(null);
    deleteTestNetns(NS);
  });

  test('the dump lists the default routes with their gateway and interface, then done; changes arrive as events', async () => {
    const w = n.openNetlinkWatch(['route']);
    try {
      const c = collect(w);
      w.dumpRoutes();
      await c.waitFor((e): e is NetlinkEvent => e.kind === 'done');
      const def4 = c.events.find(isRoute('0.0.0.0/0'))!;
      assert.deepEqual(def4, { kind: 'route', op: 'new', replace: false, family: 4, table: 254, type: 1, dst: '0.0.0.0', dstLen: 0, priority: 0, tos: 0, nexthops: [{ ifindex, gateway: '10.0.0.1' }] });
      const def6 = c.events.find(isRoute('::/0'))!;
      assert.equal(def6.family, 6);
      assert.deepEqual(def6.nexthops, [{ ifindex, gateway: '2001:db8::1' }]);
      // a connected route: no gateway; a local-table one is reported with its table and type
      assert.deepEqual(c.events.find(isRoute('10.0.0.0/24'))!.nexthops, [{ ifindex }]);
      assert.ok(c.events.some(isRoute('10.0.0.10/32', 'new', (r) => r.table === 255 && r.type === 2)));

      ip('route', 'add', '10.77.0.0/16', 'nexthop', 'via', '10.0.0.2', 'nexthop', 'via', '10.0.0.3');
      const mp = await c.waitFor(isRoute('10.77.0.0/16'));
      assert.deepEqual(mp.nexthops, [{ ifindex, gateway: '10.0.0.2' }, { ifindex, gateway: '10.0.0.3' }]);

      ip('route', 'replace', 'default', 'via', '10.0.0.3');
      const rep = await c.waitFor(isRoute('0.0.0.0/0', 'new', (r) => r.replace));
      assert.deepEqual(rep.nexthops, [{ ifindex, gateway: '10.0.0.3' }]);

      ip('route', 'add', '10.78.0.0/16', 'via', 'inet6', '2001:db8::3', 'dev', 'xdpt0');
      const v = await c.waitFor(isRoute('10.78.0.0/16'));
      assert.deepEqual(v.nexthops, [{ ifindex, gateway: '2001:db8::3' }]);

      ip('-6', 'route', 'add', '2001:db8:77::/48', 'via', '2001:db8::2', 'metric', '7', 'table', '100');
      const t = await c.waitFor(isRoute('2001:db8:77::/48'));
      assert.equal(t.table, 100);
      assert.equal(t.priority, 7);

      ip('-6', 'route', 'del', 'default');
      const d = await c.waitFor(isRoute('::/0', 'del'));
      assert.deepEqual(d.nexthops, [{ ifindex, gateway: '2001:db8::1' }]);
    } finally {
      w.close();
      ip('-6', 'route', 'replace', 'default', 'via', '2001:db8::1');
      ip('route', 'replace', 'default', 'via', '10.0.0.1');
    }
  });

  test('a route through a nexthop object (nhid) carries its gateway; replacing the object re-announces the route', async () => {
    const w = n.openNetlinkWatch(['route']);
    try {
      const c = collect(w);
      ip('nexthop', 'add', 'id', '77', 'via', '10.0.0.5', 'dev', 'xdpt0');
      ip('route', 'add', '10.90.0.0/16', 'nhid', '77');
      const r = await c.waitFor(isRoute('10.90.0.0/16'));
      assert.deepEqual(r.nexthops, [{ ifindex, gateway: '10.0.0.5' }]);
      ip('nexthop', 'replace', 'id', '77', 'via', '10.0.0.6', 'dev', 'xdpt0');
      const rep = await c.waitFor(isRoute('10.90.0.0/16', 'new', (x) => x.replace));
      assert.deepEqual(rep.nexthops, [{ ifindex, gateway: '10.0.0.6' }]);
    } finally {
      w.close();
      ip('route', 'del', '10.90.0.0/16');
      ip('nexthop', 'del', 'id', '77');
    }
  });

  test('a socket subscribed to neighbours only gets no route events; the default subscription neither', async () => {
    for (const w of [n.openNetlinkWatch(['neigh']), n.openNetlinkWatch()]) {
      try {
        const c = collect(w);
        ip('route', 'add', '10.79.0.0/16', 'via', '10.0.0.2');
        ip('neigh', 'replace', '10.0.0.44', 'lladdr', '02:00:00:00:00:44', 'dev', 'xdpt0', 'nud', 'reachable');
        await c.waitFor((e): e is NetlinkEvent => e.kind === 'neigh' && e.address === '10.0.0.44');
        assert.deepEqual(c.events.filter((e) => e.kind === 'route'), []);
      } finally {
        w.close();
        ip('route', 'del', '10.79.0.0/16');
        ip('neigh', 'del', '10.0.0.44', 'dev', 'xdpt0');
      }
    }
  });

  test('hostile group arguments throw TypeError before a socket is opened', () => {
    for (const bad of ['route', ['bogus'], [], [42], [null], { 0: 'route' }]) {
      assert.throws(() => n.openNetlinkWatch(bad as never), TypeError, JSON.stringify(bad));
    }
  });
});
