// Per-VIP blackhole routes (native/netlink_route.cc, src/dataplane/vip-routes.ts) in a private
// namespace: routes and rules as iproute2 sees them, what the kernel now does with a packet from the
// uplink addressed to a VIP (blackhole) against the node's own packet to it (main table, as before),
// a foreign route left alone, hostile arguments; and the XDP data path keeping one route per served
// VIP through setServices, a takeover, an uninstall and `edgelb cleanup`. Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { loadNative, type NativeBinding } from '../../src/native/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { XdpDataplane } from '../../src/dataplane/xdp.js';
import { cleanupNode } from '../../src/dataplane/cleanup.js';
import { VIP_ROUTES, VIP_RULE_PRIORITY } from '../../src/dataplane/vip-routes.js';
import { createTestNetns, deleteTestNetns } from './dataplane/netns.js';

const NS = `nlr${process.pid}`;
const NODE = `nlr-${process.pid}`;
let n: NativeBinding;

function ip(args: string[]): string {
  return execFileSync('ip', ['-n', NS, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
/** Our routes as iproute2 lists them: "dst type protocol" per route, both families. */
function ipRoutes(): string[] {
  const rows = [4, 6].flatMap((f) => JSON.parse(ip([`-${f}`, '-j', 'route', 'show', 'table', String(VIP_ROUTES.table)]) || '[]') as Array<{ dst: string; type?: string; protocol?: string }>);
  return rows.map((r) => `${r.dst} ${r.type} ${r.protocol}`).sort();
}
function ipRules(): string[] {
  return [4, 6].flatMap((f) =>
    (JSON.parse(ip([`-${f}`, '-j', 'rule', 'show'])) as Array<{ priority: number; iif?: string; table?: string; protocol?: string }>)
      .filter((r) => r.priority === VIP_RULE_PRIORITY)
      .map((r) => `${f} iif ${r.iif} lookup ${r.table} proto ${r.protocol}`),
  );
}
/** How the kernel routes dst: from the uplink (iif xdpt0, as a received packet) or from the node itself. */
function routeGet(dst: string, fromUplink: boolean): string {
  const args = fromUplink ? ['route', 'get', dst, 'from', dst.includes(':') ? '2001:db8::99' : '10.0.0.99', 'iif', 'xdpt0'] : ['route', 'get', dst];
  try {
    return ip(args).trim();
  } catch (e) {
    return `error: ${String((e as { stderr?: string }).stderr ?? e).trim()}`;
  }
}

describe('per-VIP blackhole routes through the addon (private namespace)', () => {
  before(() => {
    execFileSync('make', ['-s', '-C', fileURLToPath(new URL('../..', import.meta.url)), 'build/bpf/edgelb_xdp.bpf.o'], { stdio: 'ignore' });
    n = loadNative();
    n.xdpSetNetns(createTestNetns(NS).path);
  });
  after(async () => {
    try {
      await cleanupNode({ nodeName: NODE, iface: 'xdpt0', logger: silentLogger() });
    } finally {
      n?.xdpSetNetns(null);
      deleteTestNetns(NS);
    }
  });

  // Regression (issue 12): a packet that reached the kernel addressed to a VIP was routed back to
  // the router (the default route) until its TTL ran out. Failed before: no route, "via 10.0.0.1".
  test('a VIP route makes the kernel drop what arrives from the uplink for the VIP; the node itself still routes to it by the main table', async () => {
    assert.match(routeGet('192.168.91.1', true), /via 10\.0\.0\.1/, 'before: forwarded back to the router');
    assert.deepEqual(await n.ruleUpdate(VIP_ROUTES, { iif: 'xdpt0', priority: VIP_RULE_PRIORITY }, true), { applied: 2, errors: [] });
    assert.deepEqual(await n.routeUpdate(VIP_ROUTES, ['192.168.91.1', '2001:db8:91::1'], []), { applied: 2, errors: [] });
    assert.deepEqual(ipRoutes(), ['192.168.91.1 blackhole 225', '2001:db8:91::1 blackhole 225']);
    assert.deepEqual(ipRules(), ['4 iif xdpt0 lookup 25956 proto 225', '6 iif xdpt0 lookup 25956 proto 225']);
    assert.deepEqual((await n.routeList(VIP_ROUTES)).sort(), ['192.168.91.1', '2001:db8:91::1']);
    for (const vip of ['192.168.91.1', '2001:db8:91::1']) {
      assert.match(routeGet(vip, true), /^blackhole|error/, `${vip} from the uplink: ${routeGet(vip, true)}`);
      assert.doesNotMatch(routeGet(vip, true), /via/);
      assert.match(routeGet(vip, false), /via (10\.0\.0\.1|2001:db8::1)/, `${vip} from the node: the main table`);
    }
    // a route that is not a VIP's still goes out as before
    assert.match(routeGet('192.168.91.2', true), /via 10\.0\.0\.1/);
  });

  test('adds never replace (EEXIST), deletes only match our blackholes (ESRCH otherwise), a foreign route is neither listed nor removed', async () => {
    const again = await n.routeUpdate(VIP_ROUTES, ['192.168.91.1'], []);
    assert.deepEqual(again.errors.map((e) => [e.address, e.op, e.code]), [['192.168.91.1', 'add', 'EEXIST']]);
    ip(['route', 'add', 'blackhole', '192.168.91.7', 'table', String(VIP_ROUTES.table), 'proto', 'static']);
    assert.deepEqual((await n.routeList(VIP_ROUTES)).sort(), ['192.168.91.1', '2001:db8:91::1']);
    const del = await n.routeUpdate(VIP_ROUTES, [], ['192.168.91.7', '192.168.91.1', '192.168.91.9']);
    assert.equal(del.applied, 1);
    assert.deepEqual(del.errors.map((e) => [e.address, e.code]), [['192.168.91.7', 'ESRCH'], ['192.168.91.9', 'ESRCH']]);
    assert.deepEqual(ipRoutes(), ['192.168.91.7 blackhole static', '2001:db8:91::1 blackhole 225']);
    ip(['route', 'del', 'blackhole', '192.168.91.7', 'table', String(VIP_ROUTES.table)]);
    assert.deepEqual((await n.ruleUpdate(VIP_ROUTES, { iif: 'xdpt0', priority: VIP_RULE_PRIORITY }, true)).errors.map((e) => e.code), ['EEXIST', 'EEXIST']);
    assert.deepEqual(await n.routeUpdate(VIP_ROUTES, [], ['2001:db8:91::1']), { applied: 1, errors: [] });
    assert.deepEqual(await n.ruleUpdate(VIP_ROUTES, { iif: 'xdpt0', priority: VIP_RULE_PRIORITY }, false), { applied: 2, errors: [] });
    assert.deepEqual([ipRoutes(), ipRules()], [[], []]);
  });

  test('hostile arguments throw before anything is sent', async () => {
    const sel = VIP_ROUTES;
    assert.throws(() => n.routeUpdate({ table: 254, protocol: 225 }, ['10.9.9.9'], []), RangeError, 'the main table');
    assert.throws(() => n.routeUpdate({ table: 255, protocol: 225 }, ['10.9.9.9'], []), RangeError, 'the local table');
    assert.throws(() => n.routeUpdate({ table: 0, protocol: 225 }, ['10.9.9.9'], []), RangeError);
    assert.throws(() => n.routeUpdate({ table: 2 ** 32, protocol: 225 }, ['10.9.9.9'], []), RangeError);
    assert.throws(() => n.routeUpdate({ table: 100, protocol: 4 }, ['10.9.9.9'], []), RangeError, 'static (4) and below belong to the kernel and admins');
    assert.throws(() => n.routeUpdate({ table: 100, protocol: 256 }, ['10.9.9.9'], []), RangeError);
    assert.throws(() => n.routeUpdate({ table: 100 } as typeof sel, ['10.9.9.9'], []), TypeError);
    assert.throws(() => n.routeUpdate('main' as unknown as typeof sel, ['10.9.9.9'], []), TypeError);
    assert.throws(() => n.routeUpdate(sel, ['10.9.9.0/24'], []), TypeError);
    assert.throws(() => n.routeUpdate(sel, ['10.9.9.300'], []), TypeError);
    assert.throws(() => n.routeUpdate(sel, [7 as unknown as string], []), TypeError);
    assert.throws(() => n.routeUpdate(sel, [], 'x' as unknown as string[]), TypeError);
    assert.throws(() => n.ruleUpdate(sel, { iif: '', priority: 500 }, true), TypeError);
    assert.throws(() => n.ruleUpdate(sel, { iif: 'a-very-long-interface', priority: 500 }, true), TypeError);
    assert.throws(() => n.ruleUpdate(sel, { iif: 'eth\0x', priority: 500 }, true), TypeError);
    assert.throws(() => n.ruleUpdate(sel, { iif: 'xdpt0', priority: 0 }, true), RangeError);
    assert.throws(() => n.ruleUpdate(sel, { iif: 'xdpt0', priority: 32766 }, true), RangeError, 'not after the main table');
    assert.throws(() => n.ruleUpdate(sel, { iif: 'xdpt0', priority: 500 }, 1 as unknown as boolean), TypeError);
    assert.throws(() => n.routeList({ table: 254, protocol: 225 }), RangeError);
    assert.deepEqual([ipRoutes(), ipRules()], [[], []]);
  });

  test('the data path keeps one route per served VIP: setServices adds and removes, a takeover keeps them, an uninstall and cleanup remove them', async () => {
    const make = () =>
      new XdpDataplane({
        node: { name: NODE, routerId: '10.0.0.10', interface: 'xdpt0' },
        spec: { attachMode: 'auto', maglevSize: 251, conntrackSize: 4096, enabled: true },
        logger: silentLogger(),
        registry: new Registry(),
        native: n,
        maxServices: 8,
        maxBackends: 16,
      });
    const svc = (vip: string, port: number, be: string) => ({ name: `s-${vip}-${port}`, vip, port, protocol: 'tcp' as const, mode: 'onearm' as const, epSelect: 'maglev' as const, timeoutSec: 300, backends: [{ address: be, port: 8080 }] });
    const three = [svc('192.168.91.1', 80, '10.0.0.60'), svc('192.168.91.1', 443, '10.0.0.60'), svc('192.168.91.2', 80, '10.0.0.61'), svc('2001:db8:91::1', 80, '2001:db8::60')];
    const dp = make();
    await dp.open();
    await dp.setServices(three);
    assert.deepEqual(ipRoutes(), ['192.168.91.1 blackhole 225', '192.168.91.2 blackhole 225', '2001:db8:91::1 blackhole 225']);
    assert.equal(ipRules().length, 2);
    await dp.setServices(three.filter((s) => s.vip !== '192.168.91.2' && s.port !== 443));
    assert.deepEqual(ipRoutes(), ['192.168.91.1 blackhole 225', '2001:db8:91::1 blackhole 225'], 'a VIP left with its last service; a VIP with a service left keeps its route');
    // a restart: the data path stays, the next daemon takes the routes over without churn
    await dp.close({ detach: false });
    assert.equal(ipRoutes().length, 2, 'routes stay while no daemon runs (XDP keeps serving)');
    const next = make();
    await next.open();
    await next.setServices([svc('192.168.91.3', 80, '10.0.0.60'), svc('192.168.91.1', 80, '10.0.0.60')]);
    assert.deepEqual(ipRoutes(), ['192.168.91.1 blackhole 225', '192.168.91.3 blackhole 225'], 'the previous daemon\'s extra route removed, no duplicate');
    await next.close({ detach: true });
    assert.deepEqual([ipRoutes(), ipRules()], [[], []], 'an uninstall removes routes and rules');
    // a daemon that died: `edgelb cleanup` removes what it left
    const dead = make();
    await dead.open();
    await dead.setServices([svc('192.168.91.4', 80, '10.0.0.60')]);
    await dead.close({ detach: false });
    const r = await cleanupNode({ nodeName: NODE, iface: 'xdpt0', logger: silentLogger() });
    assert.equal(r.routesRemoved, 1);
    assert.deepEqual([ipRoutes(), ipRules()], [[], []]);
  });
});
