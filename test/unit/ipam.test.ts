// IPAM table tests: pools, static IPs, sharing, dual-stack, rebuild after restart, full pools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipam, poolFromObj, statusIps, wantedFamilies, type IpamPool } from '../../src/k8s/ipam.js';
import type { ServiceObj } from '../../src/k8s/types.js';

let seq = 0;
function svc(name: string, o: {
  ns?: string; ann?: Record<string, string>; labels?: Record<string, string>; ports?: Array<[number, string?]>;
  policy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack'; fams?: Array<'IPv4' | 'IPv6'>; lbIP?: string;
  ingress?: string[]; created?: number;
} = {}): ServiceObj {
  return {
    metadata: {
      name, namespace: o.ns ?? 'default', annotations: o.ann ?? {}, labels: o.labels ?? {},
      creationTimestamp: new Date(Date.UTC(2026, 0, 1) + (o.created ?? seq++) * 1000).toISOString(),
    },
    spec: {
      type: 'LoadBalancer', loadBalancerClass: 'edgelb.io/edgelb',
      ports: (o.ports ?? [[80]]).map(([port, protocol]) => ({ port, protocol: protocol ?? 'TCP' })),
      ...(o.policy ? { ipFamilyPolicy: o.policy } : {}), ...(o.fams ? { ipFamilies: o.fams } : {}),
      ...(o.lbIP ? { loadBalancerIP: o.lbIP } : {}),
    },
    ...(o.ingress ? { status: { loadBalancer: { ingress: o.ingress.map((ip) => ({ ip })) } } } : {}),
  };
}
function pool(name: string, o: Partial<IpamPool> = {}): IpamPool {
  return { name, cidrs: [], ranges: [], avoidBuggyIPs: true, autoAssign: true, priority: 0, ...o };
}

const P4 = pool('v4', { cidrs: ['10.1.0.0/24'] });
const P6 = pool('v6', { cidrs: ['fd00:1::/120'] });
const PDUAL = pool('dual', { cidrs: ['10.2.0.0/24', 'fd00:2::/120'] });

interface Row {
  desc: string;
  pools: IpamPool[];
  before?: ServiceObj[]; // assigned in order first
  svc: ServiceObj;
  want: { ok: true; reason?: 'Assigned' | 'Kept'; pool: string; ips: string[] } | { ok: false; reason: string; msg?: RegExp };
  nsLabels?: Record<string, Record<string, string>>;
}

const rows: Row[] = [
  { desc: 'first address of a /24 skips .0', pools: [P4], svc: svc('a'), want: { ok: true, reason: 'Assigned', pool: 'v4', ips: ['10.1.0.1'] } },
  { desc: 'avoidBuggyIPs false still skips a CIDR\'s network address (the shared allocator\'s rule)', pools: [pool('p', { cidrs: ['10.1.0.0/24'], avoidBuggyIPs: false })], svc: svc('a'), want: { ok: true, pool: 'p', ips: ['10.1.0.1'] } },
  { desc: 'avoidBuggyIPs false gives .0 inside a range', pools: [pool('p', { ranges: ['10.1.0.0-10.1.0.9'], avoidBuggyIPs: false })], svc: svc('a'), want: { ok: true, pool: 'p', ips: ['10.1.0.0'] } },
  { desc: 'second service gets the next address', pools: [P4], before: [svc('a')], svc: svc('b'), want: { ok: true, pool: 'v4', ips: ['10.1.0.2'] } },
  { desc: 'range a-b', pools: [pool('r', { ranges: ['10.9.0.5-10.9.0.6'] })], before: [svc('a')], svc: svc('b'), want: { ok: true, pool: 'r', ips: ['10.9.0.6'] } },
  { desc: 'range crossing .255/.0 skips both', pools: [pool('r', { ranges: ['10.9.0.254-10.9.1.1'] })], before: [svc('a')], svc: svc('b'), want: { ok: true, pool: 'r', ips: ['10.9.1.1'] } },
  { desc: 'full /30 pool (avoid off) reports PoolFull with counts', pools: [pool('s', { cidrs: ['10.3.0.4/31'], avoidBuggyIPs: false })], before: [svc('a'), svc('b')], svc: svc('c'), want: { ok: false, reason: 'PoolFull', msg: /s is full \(2 of 2 addresses assigned\)/ } },
  { desc: 'single-address pool full', pools: [pool('one', { ranges: ['10.3.0.7-10.3.0.7'] })], before: [svc('a')], svc: svc('c'), want: { ok: false, reason: 'PoolFull', msg: /one is full/ } },
  { desc: 'lower priority number wins', pools: [pool('b', { cidrs: ['10.5.0.0/24'], priority: 1 }), pool('a', { cidrs: ['10.6.0.0/24'], priority: 2 })], svc: svc('x'), want: { ok: true, pool: 'b', ips: ['10.5.0.1'] } },
  { desc: 'falls through to the next pool when the first is full', pools: [pool('a', { ranges: ['10.3.0.7-10.3.0.7'] }), pool('b', { cidrs: ['10.4.0.0/24'] })], before: [svc('a')], svc: svc('c'), want: { ok: true, pool: 'b', ips: ['10.4.0.1'] } },
  { desc: 'autoAssign false pool is not used automatically', pools: [pool('m', { cidrs: ['10.7.0.0/24'], autoAssign: false })], svc: svc('a'), want: { ok: false, reason: 'NoMatchingPool' } },
  { desc: 'autoAssign false pool by name', pools: [pool('m', { cidrs: ['10.7.0.0/24'], autoAssign: false })], svc: svc('a', { ann: { 'edgelb.io/pool': 'm' } }), want: { ok: true, pool: 'm', ips: ['10.7.0.1'] } },
  { desc: 'loxilb.io/pool annotation', pools: [P4, pool('m', { cidrs: ['10.7.0.0/24'] })], svc: svc('a', { ann: { 'loxilb.io/pool': 'm' } }), want: { ok: true, pool: 'm', ips: ['10.7.0.1'] } },
  { desc: 'metallb address-pool annotation', pools: [P4, pool('m', { cidrs: ['10.7.0.0/24'] })], svc: svc('a', { ann: { 'metallb.universe.tf/address-pool': 'm' } }), want: { ok: true, pool: 'm', ips: ['10.7.0.1'] } },
  { desc: 'unknown pool name', pools: [P4], svc: svc('a', { ann: { 'edgelb.io/pool': 'nope' } }), want: { ok: false, reason: 'PoolNotFound', msg: /"nope"/ } },
  { desc: 'no pools at all', pools: [], svc: svc('a'), want: { ok: false, reason: 'NoMatchingPool', msg: /there is no IPPool/ } },
  { desc: 'namespaces list excludes', pools: [pool('n', { cidrs: ['10.8.0.0/24'], namespaces: ['prod'] })], svc: svc('a', { ns: 'dev' }), want: { ok: false, reason: 'NoMatchingPool' } },
  { desc: 'namespaces list includes', pools: [pool('n', { cidrs: ['10.8.0.0/24'], namespaces: ['prod'] })], svc: svc('a', { ns: 'prod' }), want: { ok: true, pool: 'n', ips: ['10.8.0.1'] } },
  { desc: 'namespace selector by labels', pools: [pool('n', { cidrs: ['10.8.0.0/24'], namespaceSelector: { matchLabels: { tier: 'edge' } } })], nsLabels: { web: { tier: 'edge' } }, svc: svc('a', { ns: 'web' }), want: { ok: true, pool: 'n', ips: ['10.8.0.1'] } },
  { desc: 'namespace selector rejects', pools: [pool('n', { cidrs: ['10.8.0.0/24'], namespaceSelector: { matchLabels: { tier: 'edge' } } })], nsLabels: { web: { tier: 'core' } }, svc: svc('a', { ns: 'web' }), want: { ok: false, reason: 'NoMatchingPool' } },
  { desc: 'service selector In', pools: [pool('n', { cidrs: ['10.8.0.0/24'], serviceSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] } })], svc: svc('a', { labels: { app: 'api' } }), want: { ok: true, pool: 'n', ips: ['10.8.0.1'] } },
  { desc: 'service selector DoesNotExist rejects', pools: [pool('n', { cidrs: ['10.8.0.0/24'], serviceSelector: { matchExpressions: [{ key: 'internal', operator: 'DoesNotExist' }] } })], svc: svc('a', { labels: { internal: 'y' } }), want: { ok: false, reason: 'NoMatchingPool' } },
  { desc: 'selective pool skipped, next pool used', pools: [pool('a', { cidrs: ['10.8.0.0/24'], namespaces: ['x'] }), pool('b', { cidrs: ['10.9.0.0/24'] })], svc: svc('s'), want: { ok: true, pool: 'b', ips: ['10.9.0.1'] } },
  // static addresses
  { desc: 'edgelb.io/staticIP inside a pool', pools: [P4], svc: svc('a', { ann: { 'edgelb.io/staticIP': '10.1.0.77' } }), want: { ok: true, reason: 'Assigned', pool: 'v4', ips: ['10.1.0.77'] } },
  { desc: 'loxilb.io/staticIP', pools: [P4], svc: svc('a', { ann: { 'loxilb.io/staticIP': '10.1.0.78' } }), want: { ok: true, pool: 'v4', ips: ['10.1.0.78'] } },
  { desc: 'metallb.universe.tf/loadBalancerIPs dual', pools: [PDUAL], svc: svc('a', { ann: { 'metallb.universe.tf/loadBalancerIPs': '10.2.0.9, fd00:2::9' } }), want: { ok: true, pool: 'dual', ips: ['10.2.0.9', 'fd00:2::9'] } },
  { desc: 'metallb.io/loadBalancerIPs', pools: [P4], svc: svc('a', { ann: { 'metallb.io/loadBalancerIPs': '10.1.0.79' } }), want: { ok: true, pool: 'v4', ips: ['10.1.0.79'] } },
  { desc: 'spec.loadBalancerIP', pools: [P4], svc: svc('a', { lbIP: '10.1.0.80' }), want: { ok: true, pool: 'v4', ips: ['10.1.0.80'] } },
  { desc: 'edgelb.io key wins over loxilb.io key', pools: [P4], svc: svc('a', { ann: { 'edgelb.io/staticIP': '10.1.0.81', 'loxilb.io/staticIP': '10.1.0.82' } }), want: { ok: true, pool: 'v4', ips: ['10.1.0.81'] } },
  { desc: 'static IP outside every pool is refused', pools: [P4, P6], svc: svc('a', { ann: { 'loxilb.io/staticIP': '192.168.255.254' } }), want: { ok: false, reason: 'StaticIPOutsidePools', msg: /192\.168\.255\.254 is outside every IPPool \(v4: 10\.1\.0\.0\/24; v6: fd00:1::\/120\); edgelb never announces it/ } },
  { desc: 'static IP outside the named pool', pools: [P4, pool('m', { cidrs: ['10.7.0.0/24'] })], svc: svc('a', { ann: { 'edgelb.io/staticIP': '10.1.0.5', 'edgelb.io/pool': 'm' } }), want: { ok: false, reason: 'StaticIPOutsidePools', msg: /outside IPPool "m"/ } },
  { desc: 'static IP in an autoAssign=false pool is allowed', pools: [pool('m', { cidrs: ['10.7.0.0/24'], autoAssign: false })], svc: svc('a', { ann: { 'edgelb.io/staticIP': '10.7.0.9' } }), want: { ok: true, pool: 'm', ips: ['10.7.0.9'] } },
  { desc: 'static IP not an address', pools: [P4], svc: svc('a', { ann: { 'edgelb.io/staticIP': '10.1.0.999' } }), want: { ok: false, reason: 'InvalidRequest', msg: /not an IP/ } },
  { desc: 'two static IPv4 refused', pools: [P4], svc: svc('a', { ann: { 'edgelb.io/staticIP': '10.1.0.1,10.1.0.2' } }), want: { ok: false, reason: 'InvalidRequest', msg: /one per family/ } },
  { desc: 'static IP held by another service', pools: [P4], before: [svc('a', { ann: { 'edgelb.io/staticIP': '10.1.0.50' } })], svc: svc('b', { ann: { 'edgelb.io/staticIP': '10.1.0.50' } }), want: { ok: false, reason: 'IPInUse', msg: /held by default\/a/ } },
  { desc: 'static IP in use by auto-assigned service', pools: [P4], before: [svc('a')], svc: svc('b', { ann: { 'edgelb.io/staticIP': '10.1.0.1' } }), want: { ok: false, reason: 'IPInUse' } },
  { desc: 'static canonicalised (IPv6 upper case)', pools: [P6], svc: svc('a', { ann: { 'edgelb.io/staticIP': 'FD00:1:0::0A' } }), want: { ok: true, pool: 'v6', ips: ['fd00:1::a'] } },
  // sharing
  { desc: 'shared static IP, same key, different ports', pools: [P4], before: [svc('a', { ann: { 'edgelb.io/staticIP': '10.1.0.60', 'edgelb.io/allow-shared-ip': 'k' }, ports: [[80]] })], svc: svc('b', { ann: { 'edgelb.io/staticIP': '10.1.0.60', 'edgelb.io/allow-shared-ip': 'k' }, ports: [[443]] }), want: { ok: true, pool: 'v4', ips: ['10.1.0.60'] } },
  { desc: 'shared static IP, port clash', pools: [P4], before: [svc('a', { ann: { 'edgelb.io/staticIP': '10.1.0.60', 'edgelb.io/allow-shared-ip': 'k' }, ports: [[80]] })], svc: svc('b', { ann: { 'edgelb.io/staticIP': '10.1.0.60', 'edgelb.io/allow-shared-ip': 'k' }, ports: [[80]] }), want: { ok: false, reason: 'IPInUse' } },
  { desc: 'same port, other protocol may share', pools: [P4], before: [svc('a', { ann: { 'edgelb.io/staticIP': '10.1.0.60', 'edgelb.io/allow-shared-ip': 'k' }, ports: [[53, 'UDP']] })], svc: svc('b', { ann: { 'edgelb.io/staticIP': '10.1.0.60', 'edgelb.io/allow-shared-ip': 'k' }, ports: [[53, 'TCP']] }), want: { ok: true, pool: 'v4', ips: ['10.1.0.60'] } },
  { desc: 'shared static IP, different keys', pools: [P4], before: [svc('a', { ann: { 'edgelb.io/staticIP': '10.1.0.60', 'edgelb.io/allow-shared-ip': 'k1' }, ports: [[80]] })], svc: svc('b', { ann: { 'edgelb.io/staticIP': '10.1.0.60', 'edgelb.io/allow-shared-ip': 'k2' }, ports: [[443]] }), want: { ok: false, reason: 'IPInUse' } },
  { desc: 'one side without a key may not share', pools: [P4], before: [svc('a', { ann: { 'edgelb.io/staticIP': '10.1.0.60' }, ports: [[80]] })], svc: svc('b', { ann: { 'edgelb.io/staticIP': '10.1.0.60', 'edgelb.io/allow-shared-ip': 'k' }, ports: [[443]] }), want: { ok: false, reason: 'IPInUse' } },
  { desc: 'auto-assign joins a shareable address', pools: [P4], before: [svc('a', { ann: { 'edgelb.io/allow-shared-ip': 'k' }, ports: [[80]] })], svc: svc('b', { ann: { 'edgelb.io/allow-shared-ip': 'k' }, ports: [[443]] }), want: { ok: true, pool: 'v4', ips: ['10.1.0.1'] } },
  { desc: 'auto-assign with port clash takes a new address', pools: [P4], before: [svc('a', { ann: { 'edgelb.io/allow-shared-ip': 'k' }, ports: [[80]] })], svc: svc('b', { ann: { 'edgelb.io/allow-shared-ip': 'k' }, ports: [[80]] }), want: { ok: true, pool: 'v4', ips: ['10.1.0.2'] } },
  { desc: 'metallb allow-shared-ip key is read', pools: [P4], before: [svc('a', { ann: { 'metallb.universe.tf/allow-shared-ip': 'k' }, ports: [[80]] })], svc: svc('b', { ann: { 'metallb.universe.tf/allow-shared-ip': 'k' }, ports: [[81]] }), want: { ok: true, pool: 'v4', ips: ['10.1.0.1'] } },
  { desc: 'sharing in a full pool still works', pools: [pool('one', { ranges: ['10.3.0.7-10.3.0.7'] })], before: [svc('a', { ann: { 'edgelb.io/allow-shared-ip': 'k' }, ports: [[80]] })], svc: svc('b', { ann: { 'edgelb.io/allow-shared-ip': 'k' }, ports: [[81]] }), want: { ok: true, pool: 'one', ips: ['10.3.0.7'] } },
  // families
  { desc: 'SingleStack IPv6', pools: [PDUAL], svc: svc('a', { fams: ['IPv6'], policy: 'SingleStack' }), want: { ok: true, pool: 'dual', ips: ['fd00:2::1'] } },
  { desc: 'RequireDualStack from a dual pool', pools: [PDUAL], svc: svc('a', { fams: ['IPv4', 'IPv6'], policy: 'RequireDualStack' }), want: { ok: true, pool: 'dual', ips: ['10.2.0.1', 'fd00:2::1'] } },
  { desc: 'RequireDualStack IPv6 primary orders v6 first', pools: [PDUAL], svc: svc('a', { fams: ['IPv6', 'IPv4'], policy: 'RequireDualStack' }), want: { ok: true, pool: 'dual', ips: ['fd00:2::1', '10.2.0.1'] } },
  { desc: 'RequireDualStack skips single-family pools', pools: [pool('a4', { cidrs: ['10.1.0.0/24'] }), pool('b', { cidrs: ['10.2.0.0/24', 'fd00:2::/120'] })], svc: svc('a', { policy: 'RequireDualStack' }), want: { ok: true, pool: 'b', ips: ['10.2.0.1', 'fd00:2::1'] } },
  { desc: 'RequireDualStack with only a v4 pool', pools: [P4], svc: svc('a', { policy: 'RequireDualStack' }), want: { ok: false, reason: 'PoolFull', msg: /v4 has no IPv6 range/ } },
  { desc: 'PreferDualStack with only a v4 pool gives v4', pools: [P4], svc: svc('a', { policy: 'PreferDualStack' }), want: { ok: true, pool: 'v4', ips: ['10.1.0.1'] } },
  { desc: 'PreferDualStack with a dual pool gives both', pools: [PDUAL], svc: svc('a', { policy: 'PreferDualStack' }), want: { ok: true, pool: 'dual', ips: ['10.2.0.1', 'fd00:2::1'] } },
  { desc: 'loxilb.io/ipam ipv6 overrides families', pools: [PDUAL], svc: svc('a', { ann: { 'loxilb.io/ipam': 'ipv6' } }), want: { ok: true, pool: 'dual', ips: ['fd00:2::1'] } },
  { desc: 'IPv6 pool never skips ::0 style (avoidBuggy is IPv4 only)', pools: [pool('six', { cidrs: ['fd00:9::ff/128'] })], svc: svc('a', { fams: ['IPv6'] }), want: { ok: true, pool: 'six', ips: ['fd00:9::ff'] } },
  { desc: 'IPv4 service in a v6-only pool', pools: [P6], svc: svc('a'), want: { ok: false, reason: 'PoolFull', msg: /v6 has no IPv4 range/ } },
];

for (const r of rows) {
  test(`ipam: ${r.desc}`, () => {
    const ipam = new Ipam(r.pools, (ns) => r.nsLabels?.[ns]);
    for (const b of r.before ?? []) assert.equal(ipam.assign(b).ok, true, `setup ${b.metadata.name}`);
    const got = ipam.assign(r.svc);
    if (r.want.ok) {
      assert.equal(got.ok, true, JSON.stringify(got));
      if (!got.ok) return;
      assert.equal(got.pool, r.want.pool);
      assert.deepEqual(got.ips, r.want.ips);
      if (r.want.reason) assert.equal(got.reason, r.want.reason);
    } else {
      assert.equal(got.ok, false, JSON.stringify(got));
      if (got.ok) return;
      assert.equal(got.reason, r.want.reason);
      if (r.want.msg) assert.match(got.message, r.want.msg);
      assert.equal(ipam.allocation('default/' + r.svc.metadata.name), undefined, 'a refused service holds nothing');
    }
  });
}

test('ipam: assign twice keeps the address (Kept, unchanged)', () => {
  const ipam = new Ipam([P4]);
  const a = svc('a');
  const first = ipam.assign(a);
  const again = ipam.assign(a);
  assert.deepEqual(again, { ok: true, reason: 'Kept', pool: 'v4', ips: first.ok ? first.ips : [], changed: false });
});

test('ipam: release frees the address for the next service', () => {
  const ipam = new Ipam([pool('one', { ranges: ['10.3.0.7-10.3.0.7'] })]);
  assert.equal(ipam.assign(svc('a')).ok, true);
  assert.equal(ipam.assign(svc('b')).ok, false);
  ipam.release('default/a');
  const b = ipam.assign(svc('b'));
  assert.ok(b.ok && b.ips[0] === '10.3.0.7');
});

test('ipam: changing the static IP moves to it; removing it keeps the current address', () => {
  const ipam = new Ipam([P4]);
  assert.ok(ipam.assign(svc('a', { ann: { 'edgelb.io/staticIP': '10.1.0.9' } })).ok);
  const moved = ipam.assign(svc('a', { ann: { 'edgelb.io/staticIP': '10.1.0.10' } }));
  assert.ok(moved.ok && moved.ips[0] === '10.1.0.10' && moved.changed);
  assert.deepEqual(ipam.holders('10.1.0.9'), []);
  const dropped = ipam.assign(svc('a'));
  assert.ok(dropped.ok && dropped.reason === 'Kept' && dropped.ips[0] === '10.1.0.10');
});

test('ipam: PreferDualStack keeps v4 and adds v6 when a v6 range appears', () => {
  const ipam = new Ipam([pool('p', { cidrs: ['10.2.0.0/24'] })]);
  const s = svc('a', { policy: 'PreferDualStack' });
  assert.ok(ipam.assign(s).ok);
  ipam.setPools([pool('p', { cidrs: ['10.2.0.0/24', 'fd00:2::/120'] })]);
  const got = ipam.assign(s);
  assert.ok(got.ok);
  assert.deepEqual(got.ok && got.ips, ['10.2.0.1', 'fd00:2::1']);
});

test('ipam: rebuild restores every recorded address before new assignments (restart never moves an IP)', () => {
  const pools = [pool('p', { cidrs: ['10.1.0.0/24'] })];
  const first = new Ipam(pools);
  const svcs = Array.from({ length: 50 }, (_, i) => svc(`s${i}`, { created: i }));
  const recorded = svcs.map((s) => {
    const r = first.assign(s);
    assert.ok(r.ok);
    return { ...s, metadata: { ...s.metadata, annotations: { 'edgelb.io/assigned-ips': r.ips.join(','), 'edgelb.io/assigned-pool': r.pool } }, status: { loadBalancer: { ingress: r.ips.map((ip) => ({ ip })) } } };
  });
  // delete every third service, then "restart": a new Ipam rebuilt from the survivors
  const survivors = recorded.filter((_, i) => i % 3 !== 0);
  const second = new Ipam(pools);
  assert.deepEqual(second.rebuild([...survivors].reverse()), []);
  for (const s of survivors) {
    const r = second.assign(s);
    assert.ok(r.ok && r.reason === 'Kept' && !r.changed);
    assert.deepEqual(r.ips, statusIps(s));
  }
  // new services fill the freed holes and never take a survivor's address
  const taken = new Set(survivors.flatMap(statusIps));
  for (let i = 0; i < 20; i++) {
    const r = second.assign(svc(`new${i}`));
    assert.ok(r.ok);
    assert.ok(!taken.has(r.ips[0]!), `new${i} got a survivor's address ${r.ips[0]}`);
    taken.add(r.ips[0]!);
  }
});

test('ipam: the assigned-ips annotation is a request, never a record (a tenant cannot take another VIP)', () => {
  const ipam = new Ipam([P4]);
  const owner = svc('owner', { created: 1, ingress: ['10.1.0.42'] });
  const thief = svc('thief', { created: 0, ann: { 'edgelb.io/assigned-ips': '10.1.0.42' } });
  // rebuild reads status only: the older annotation-only Service records nothing
  assert.deepEqual(ipam.rebuild([thief, owner]), []);
  assert.deepEqual(ipam.holders('10.1.0.42'), ['default/owner']);
  const r = ipam.assign(thief);
  assert.ok(!r.ok && r.reason === 'IPInUse' && r.fromRequest === true);
  assert.match(!r.ok ? r.message : '', /annotation edgelb\.io\/assigned-ips asks for 10\.1\.0\.42, which default\/owner holds/);
  assert.deepEqual(ipam.holders('10.1.0.42'), ['default/owner']);
  // a free requested address is granted (a status lost by accident comes back the same)
  const back = ipam.assign(svc('back', { ann: { 'edgelb.io/assigned-ips': '10.1.0.77' } }));
  assert.ok(back.ok && back.ips[0] === '10.1.0.77');
  // a request outside every pool is ignored: a fresh address instead
  const out = ipam.assign(svc('out', { ann: { 'edgelb.io/assigned-ips': '192.168.0.1' } }));
  assert.ok(out.ok && out.ips[0] !== '192.168.0.1');
  assert.deepEqual(statusIps(thief), []);
});

test('ipam: rebuild reads status.loadBalancer.ingress when the annotation is absent', () => {
  const ipam = new Ipam([P4]);
  assert.deepEqual(ipam.rebuild([svc('a', { ingress: ['10.1.0.42'] })]), []);
  const r = ipam.assign(svc('a', { ingress: ['10.1.0.42'] }));
  assert.ok(r.ok && r.reason === 'Kept' && r.ips[0] === '10.1.0.42');
});

test('ipam: rebuild gives a doubly recorded address to the older service only', () => {
  const ipam = new Ipam([P4]);
  const old = svc('old', { created: 1, ingress: ['10.1.0.5'] });
  const young = svc('young', { created: 2, ingress: ['10.1.0.5'] });
  const problems = ipam.rebuild([young, old]);
  assert.deepEqual(problems.map((p) => [p.key, p.reason]), [['default/young', 'IPInUse']]);
  assert.deepEqual(ipam.holders('10.1.0.5'), ['default/old']);
  const r = ipam.assign(young);
  assert.ok(r.ok && r.ips[0] !== '10.1.0.5');
});

test('ipam: rebuild reports a recorded address in no pool', () => {
  const ipam = new Ipam([P4]);
  const problems = ipam.rebuild([svc('a', { ingress: ['172.16.0.1'] })]);
  assert.deepEqual(problems.map((p) => p.reason), ['NotInPool']);
});

test('ipam: pool validation and size', () => {
  assert.deepEqual(poolFromObj({ metadata: { name: 'x' }, spec: {} }).errors, ['spec: needs at least one of cidrs or ranges']);
  assert.match(poolFromObj({ metadata: { name: 'x' }, spec: { cidrs: ['10.0.0.0/33'] } }).errors[0]!, /spec.cidrs\[0\]/);
  assert.match(poolFromObj({ metadata: { name: 'x' }, spec: { ranges: ['10.0.0.9-10.0.0.1'] } }).errors[0]!, /ends before/);
  assert.match(poolFromObj({ metadata: { name: 'x' }, spec: { ranges: ['10.0.0.1-fd00::1'] } }).errors[0]!, /one family/);
  const ok = poolFromObj({ metadata: { name: 'x' }, spec: { cidrs: ['10.0.0.0/23'] } });
  assert.ok(ok.pool);
  const ipam = new Ipam([ok.pool!]);
  assert.equal(ipam.usage('x').size, 512n - 4n); // .0 and .255 of both /24s
});

test('ipam: wantedFamilies', () => {
  assert.deepEqual(wantedFamilies(svc('a')), { required: [4], optional: [] });
  assert.deepEqual(wantedFamilies(svc('a', { policy: 'PreferDualStack', fams: ['IPv6'] })), { required: [6], optional: [4] });
  assert.deepEqual(wantedFamilies(svc('a', { policy: 'RequireDualStack' })), { required: [4, 6], optional: [] });
});
