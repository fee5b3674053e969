// Lab library: the parsers turn captured BIRD, FRR, GoBGP and `ip -j route` output into neighbours and routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  parseBirdProtocols,
  parseBirdRoutes,
  parseFrrNeighbors,
  parseFrrRoutes,
  parseGobgpNeighbors,
  parseGobgpRib,
  parseIpRouteJson,
  normalizePrefix,
  normalizeState,
} from '../lab/lib/index.js';

const data = (name: string) => readFileSync(new URL(`../lab/lib/testdata/${name}`, import.meta.url), 'utf8');
const brief = (ns: { address: string; asn: number; state: string; prefixesReceived: number }[]) =>
  ns.map((n) => `${n.address} ${n.asn} ${n.state} ${n.prefixesReceived}`).sort();

test('neighbours from every router, as data', () => {
  const rows: { desc: string; got: () => ReturnType<typeof parseBirdProtocols>; want: string[] }[] = [
    { desc: 'birdc show protocols all', got: () => parseBirdProtocols(data('bird-show-protocols-all.txt')), want: ['10.0.0.11 64513 Established 1', '10.0.0.12 64514 Established 1', 'fd00::11 64513 Established 1'] },
    { desc: 'birdc, sessions not up', got: () => parseBirdProtocols(data('bird-show-protocols-down.txt')), want: ['10.0.0.13 64515 Active 0', '10.0.0.14 4200000000 Connect 0'] },
    { desc: 'vtysh show bgp neighbors json', got: () => parseFrrNeighbors(data('frr-show-bgp-neighbors.json')), want: ['10.0.0.11 64513 Established 1', '10.0.0.12 64514 Established 1', 'fd00::11 64513 Established 1'] },
    { desc: 'vtysh, sessions not up', got: () => parseFrrNeighbors(data('frr-show-bgp-neighbors-down.json')), want: ['10.0.0.12 64514 Active 0', '10.0.0.15 64516 Idle 0'] },
    { desc: 'gobgp -j neighbor (speaker)', got: () => parseGobgpNeighbors(data('gobgp-neighbor.json')), want: ['10.0.0.1 64512 Established 0', 'fd00::1 64512 Established 0'] },
    { desc: 'gobgp -j neighbor (router)', got: () => parseGobgpNeighbors(data('gobgp-router-neighbor.json')), want: ['10.0.0.11 64513 Established 1', '10.0.0.12 64514 Established 1', 'fd00::11 64513 Established 1'] },
    { desc: 'empty outputs', got: () => [...parseFrrNeighbors(''), ...parseGobgpNeighbors('null'), ...parseBirdProtocols('BIRD 2.0.12 ready.\n')], want: [] },
  ];
  for (const r of rows) assert.deepEqual(brief(r.got()), r.want, r.desc);
  assert.equal(parseBirdProtocols(data('bird-show-protocols-all.txt'))[0]?.name, 'n_10_0_0_11');
  assert.equal(parseFrrNeighbors(data('frr-show-bgp-neighbors-down.json'))[1]?.name, 'spare');
});

test('BIRD routes: two paths for the ECMP prefix with their attributes', () => {
  const names = new Map([['n_10_0_0_11', '10.0.0.11'], ['n_10_0_0_12', '10.0.0.12'], ['n_fd00__11', 'fd00::11']]);
  const rs = parseBirdRoutes(data('bird-show-route-all.txt'), names);
  assert.deepEqual(rs.map((r) => r.prefix), ['10.9.9.9/32', 'fd00:9::9/128']);
  const [v4, v6] = rs;
  assert.deepEqual(v4?.nexthops, ['10.0.0.11', '10.0.0.12']);
  assert.deepEqual(v4?.paths.map((p) => [p.from, p.best, p.asPath, p.med, p.localPref, p.origin]), [
    ['10.0.0.11', true, [64513], 10, 100, 'incomplete'],
    ['10.0.0.12', false, [64514], 10, 100, 'incomplete'],
  ]);
  assert.deepEqual([v4?.communities, v4?.largeCommunities, v4?.med], [['65000:1'], ['1:2:3'], 10]);
  assert.deepEqual(v4?.paths[1]?.communities, []);
  assert.deepEqual([v6?.nexthops, v6?.med, v6?.paths[0]?.from], [['fd00::11'], 5, 'fd00::11']);
  // without the name map, `from` is the protocol name
  assert.equal(parseBirdRoutes(data('bird-show-route-all.txt'))[0]?.paths[0]?.from, 'n_10_0_0_11');
});

test('BIRD routes: long AS paths, several (large) communities, EGP origin, MED 0', () => {
  const rs = parseBirdRoutes(data('bird-show-route-multi.txt'));
  assert.deepEqual(rs.map((r) => [r.prefix, r.nexthops, r.asPath, r.communities, r.largeCommunities, r.med, r.paths[0]?.origin]), [
    ['192.0.2.0/24', ['10.0.0.11'], [64513, 65001, 65002], ['64512:100', '64512:200'], ['64512:1:2', '64512:3:4'], undefined, 'igp'],
    ['198.51.100.0/24', ['10.0.0.12'], [64514], [], [], 0, 'egp'],
  ]);
});

test('FRR routes: table view and prefix view', () => {
  const table = parseFrrRoutes(data('frr-show-bgp-ipv4.json'));
  assert.equal(table.length, 1);
  assert.deepEqual(table[0]?.nexthops, ['10.0.0.12', '10.0.0.11']);
  assert.deepEqual(table[0]?.paths.map((p) => [p.from, p.best, p.asPath, p.med, p.origin]), [
    ['10.0.0.12', false, [64514, 65100, 65101], 10, 'igp'],
    ['10.0.0.11', true, [64513], 10, 'igp'],
  ]);
  assert.deepEqual(table[0]?.asPath, [64513], 'summary attributes come from the best path');
  const one = parseFrrRoutes(data('frr-show-bgp-ipv4-prefix.json'));
  assert.deepEqual(one.map((r) => [r.prefix, r.communities, r.largeCommunities, r.paths.length]), [['10.9.9.9/32', ['65000:1', '65000:2'], ['1:2:3'], 2]]);
  const v6 = parseFrrRoutes(data('frr-show-bgp-ipv6-prefix.json'));
  assert.deepEqual(v6.map((r) => [r.prefix, r.nexthops, r.med, r.paths[0]?.origin]), [['fd00:9::9/128', ['fd00::11'], 5, 'incomplete']]);
  assert.deepEqual(parseFrrRoutes(data('frr-show-bgp-ipv4-missing.json')), []);
});

test('GoBGP RIB: local routes of a speaker and received paths of a router', () => {
  const local = parseGobgpRib(data('gobgp-global-rib-ipv4.json'));
  assert.deepEqual(local.map((r) => [r.prefix, r.nexthops, r.med, r.communities, r.largeCommunities, r.paths[0]?.from, r.paths[0]?.origin]), [
    ['10.9.9.9/32', ['0.0.0.0'], 10, ['65000:1'], ['1:2:3'], undefined, 'incomplete'],
  ]);
  assert.deepEqual(parseGobgpRib(data('gobgp-global-rib-ipv6.json')).map((r) => [r.prefix, r.nexthops, r.med]), [['fd00:9::9/128', ['::'], 5]]);
  const rib = parseGobgpRib(data('gobgp-router-rib-ipv4.json'));
  assert.deepEqual(rib[0]?.nexthops, ['10.0.0.11', '10.0.0.12']);
  assert.deepEqual(rib[0]?.paths.map((p) => [p.from, p.best, p.asPath, p.communities]), [
    ['10.0.0.11', true, [64513], ['65000:1', '65000:2']],
    ['10.0.0.12', false, [64514, 65100, 65101], []],
  ]);
  assert.deepEqual(parseGobgpRib(data('gobgp-router-rib-ipv6.json')).map((r) => [r.prefix, r.nexthops, r.paths[0]?.from]), [['fd00:9::9/128', ['fd00::11'], 'fd00::11']]);
  assert.deepEqual(parseGobgpRib('{}'), []);
});

test('kernel FIB: multipath, single gateway (FRR nhid), connected, IPv6', () => {
  const v4 = parseIpRouteJson(data('ip-route-ecmp.json'), 4);
  assert.deepEqual(v4.map((r) => [r.prefix, r.nexthops, r.protocol, r.dev]), [
    ['10.0.0.0/24', [], 'kernel', 'br0'],
    ['10.9.9.9/32', ['10.0.0.11', '10.0.0.12'], 'bird', undefined],
  ]);
  assert.deepEqual(v4[1]?.paths, [{ gateway: '10.0.0.11', dev: 'br0', weight: 1 }, { gateway: '10.0.0.12', dev: 'br0', weight: 1 }]);
  const frr = parseIpRouteJson(data('ip-route-frr-nhid.json'), 4);
  assert.deepEqual(frr[1], { prefix: '10.9.9.9/32', family: 4, type: 'unicast', nexthops: ['10.0.0.11'], paths: [{ gateway: '10.0.0.11', dev: 'br0' }], dev: 'br0', protocol: 'bgp', metric: 20 });
  const v6 = parseIpRouteJson(data('ip6-route.json'), 6);
  assert.deepEqual(v6.find((r) => r.protocol === 'bird')?.prefix, 'fd00:9::9/128');
  assert.deepEqual(parseIpRouteJson('', 4), []);
  const rows: [string, 4 | 6, string][] = [
    ['default', 4, '0.0.0.0/0'],
    ['default', 6, '::/0'],
    ['10.1.2.3', 4, '10.1.2.3/32'],
    ['fd00::1', 6, 'fd00::1/128'],
    ['10.0.0.0/8', 4, '10.0.0.0/8'],
  ];
  for (const [i, f, want] of rows) assert.equal(normalizePrefix(i, f), want, i);
});

test('BGP state names from every router normalise to the RFC spelling', () => {
  const rows: [string | number | undefined, string][] = [
    ['Established', 'Established'],
    ['BGP_FSM_ESTABLISHED', 'Established'],
    [6, 'Established'],
    [1, 'Idle'],
    [3, 'Active'],
    ['OpenSent', 'OpenSent'],
    ['openconfirm', 'OpenConfirm'],
    ['Connect', 'Connect'],
    ['Idle(Admin)', 'Unknown'],
    [undefined, 'Unknown'],
    [42, 'Unknown'],
  ];
  for (const [i, want] of rows) assert.equal(normalizeState(i), want, String(i));
});
