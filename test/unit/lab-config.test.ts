// Lab library: generated BIRD, FRR and GoBGP configs match their golden files (UPDATE=1 rewrites them), and gobgp CLI args.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { birdConfig, frrBgpdConfig, frrZebraConfig, gobgpConfig, ribArgs, edgeTopology, type NeighborConfig } from '../lab/lib/index.js';

const GOLDEN = fileURLToPath(new URL('../lab/lib/testdata/golden/', import.meta.url));

function golden(name: string, text: string): void {
  const path = GOLDEN + name;
  if (process.env.UPDATE === '1' || !existsSync(path)) writeFileSync(path, text);
  assert.equal(text, readFileSync(path, 'utf8'), `golden ${name} differs (UPDATE=1 to rewrite)`);
}

const neighbors: NeighborConfig[] = [
  { address: '10.0.0.11', asn: 64513, password: 's3cr3t-pw', holdTime: 9 },
  { address: '10.0.0.12', asn: 64514, passive: true, holdTime: 30, gracefulRestart: false, localAddress: '10.0.0.1' },
  { address: 'fd00::11', asn: 64513, localAsn: 65000, name: 'node1v6', connectRetry: 2 },
];

const cases: { desc: string; name: string; text: () => string }[] = [
  { desc: 'BIRD: router with three neighbours (md5, passive, GR off, v6, local AS)', name: 'bird-router.conf', text: () => birdConfig({ asn: 64512, routerId: '10.0.0.1', neighbors }) },
  { desc: 'BIRD: merge paths off, no kernel export', name: 'bird-nomerge.conf', text: () => birdConfig({ asn: 64512, routerId: '10.0.0.1', neighbors: [neighbors[0]!], mergePaths: 0, kernelExport: false }) },
  { desc: 'FRR bgpd: same neighbours, maximum-paths 16, multipath-relax', name: 'frr-bgpd.conf', text: () => frrBgpdConfig({ asn: 64512, routerId: '10.0.0.1', neighbors }) },
  { desc: 'FRR zebra', name: 'frr-zebra.conf', text: () => frrZebraConfig({ hostname: 'r1' }) },
  { desc: 'GoBGP speaker with two sessions', name: 'gobgp-speaker.toml', text: () => gobgpConfig({ asn: 64513, routerId: '10.0.0.11', neighbors: [{ address: '10.0.0.1', asn: 64512, localAddress: '10.0.0.11', password: 'pw' }, { address: 'fd00::1', asn: 64512, localAddress: 'fd00::11' }] }) },
  { desc: 'GoBGP router: export none, no listen', name: 'gobgp-router.toml', text: () => gobgpConfig({ role: 'router', listenPort: -1, asn: 64512, routerId: '10.0.0.1', neighbors }) },
];

for (const c of cases) test(`config golden: ${c.desc}`, () => golden(c.name, c.text()));

test('BIRD config: each requested option appears in the neighbour block', () => {
  const conf = birdConfig({ asn: 64512, routerId: '10.0.0.1', neighbors });
  const block = (name: string) => conf.slice(conf.indexOf(`protocol bgp ${name} {`), conf.indexOf('}\n', conf.indexOf(`protocol bgp ${name} {`)) + 1);
  const rows: { block: string; has: string[]; hasNot: string[] }[] = [
    { block: block('n_10_0_0_11'), has: ['local as 64512;', 'neighbor 10.0.0.11 as 64513;', 'password "s3cr3t-pw";', 'hold time 9;', 'graceful restart on;', 'ipv4 { import all; export none; add paths off; };'], hasNot: ['passive'] },
    { block: block('n_10_0_0_12'), has: ['local 10.0.0.1 as 64512;', 'passive on;', 'hold time 30;', 'keepalive time 10;', 'graceful restart off;'], hasNot: ['password'] },
    { block: block('node1v6'), has: ['local as 65000;', 'neighbor fd00::11 as 64513;', 'ipv6 { import all; export none; add paths off; };', 'connect retry time 2;'], hasNot: ['ipv4 {'] },
  ];
  for (const r of rows) {
    for (const h of r.has) assert.ok(r.block.includes(h), `${h} in\n${r.block}`);
    for (const h of r.hasNot) assert.ok(!r.block.includes(h), `${h} not in\n${r.block}`);
  }
  assert.match(conf, /protocol kernel kernel4 \{\n {2}ipv4 \{ import none; export all; \};\n {2}merge paths on limit 16;\n\}/);
});

test('FRR config: ECMP, export none, passive and password per neighbour', () => {
  const conf = frrBgpdConfig({ asn: 64512, routerId: '10.0.0.1', neighbors, maximumPaths: 8 });
  for (const line of [
    ' bgp bestpath as-path multipath-relax',
    ' no bgp ebgp-requires-policy',
    ' bgp graceful-restart',
    ' neighbor 10.0.0.11 password s3cr3t-pw',
    ' neighbor 10.0.0.12 passive',
    ' neighbor 10.0.0.12 timers 10 30',
    ' neighbor 10.0.0.12 graceful-restart-disable',
    ' neighbor 10.0.0.12 update-source 10.0.0.1',
    ' neighbor fd00::11 local-as 65000 no-prepend replace-as',
    '  maximum-paths 8',
    '  neighbor fd00::11 activate',
    '  neighbor 10.0.0.11 route-map LAB-EXPORT-NONE out',
  ]) {
    assert.ok(conf.split('\n').includes(line), `missing line '${line}'`);
  }
  const v4 = conf.slice(conf.indexOf('address-family ipv4 unicast'), conf.indexOf('address-family ipv6 unicast'));
  assert.ok(!v4.includes('fd00::11'), 'an IPv6 neighbour is not activated for IPv4');
});

test('eBGP multihop with BFD: BIRD multihop N and a multihop bfd block, FRR ebgp-multihop N and the bfd profile, GoBGP ebgp-multihop', () => {
  const n: NeighborConfig = { address: '10.1.0.2', asn: 64513, localAddress: '10.2.0.2', multihop: 2, bfd: { minRx: 100, minTx: 100, multiplier: 3 } };
  const lines = (text: string) => text.split('\n').map((l) => l.trim());
  const bird = lines(birdConfig({ asn: 64512, routerId: '10.2.0.2', neighbors: [n] }));
  for (const l of ['multihop 2;', 'bfd on;', 'local 10.2.0.2 as 64512;', 'multihop {']) assert.ok(bird.includes(l), `BIRD: missing '${l}'`);
  const frr = lines(frrBgpdConfig({ asn: 64512, routerId: '10.2.0.2', neighbors: [n] }));
  for (const l of ['neighbor 10.1.0.2 ebgp-multihop 2', 'neighbor 10.1.0.2 update-source 10.2.0.2', 'neighbor 10.1.0.2 bfd']) assert.ok(frr.includes(l), `FRR: missing '${l}'`);
  const gobgp = lines(gobgpConfig({ asn: 64512, routerId: '10.2.0.2', neighbors: [n] }));
  assert.deepEqual(gobgp.slice(gobgp.indexOf('[neighbors.ebgp-multihop.config]'), gobgp.indexOf('[neighbors.ebgp-multihop.config]') + 3), ['[neighbors.ebgp-multihop.config]', 'enabled = true', 'multihop-ttl = 2']);
  const single = birdConfig({ asn: 64512, routerId: '10.2.0.2', neighbors: [{ address: n.address, asn: n.asn, bfd: n.bfd! }] });
  assert.doesNotMatch(single, /^\s*multihop \d/m, 'no multihop line without the option');
});

test('passwords a router cannot represent are refused', () => {
  const n = (password: string): NeighborConfig[] => [{ address: '10.0.0.11', asn: 1, password }];
  assert.throws(() => birdConfig({ asn: 2, routerId: '10.0.0.1', neighbors: n('a"b') }), /BIRD password/);
  assert.throws(() => birdConfig({ asn: 2, routerId: '10.0.0.1', neighbors: n('a\nb') }), /BIRD password/);
  assert.throws(() => frrBgpdConfig({ asn: 2, routerId: '10.0.0.1', neighbors: n('a b') }), /FRR password/);
  assert.match(gobgpConfig({ asn: 2, routerId: '10.0.0.1', neighbors: n('a "b" c') }), /auth-password = "a \\"b\\" c"/);
});

test('gobgp global rib add arguments', () => {
  const rows: { desc: string; prefix: string; a: Parameters<typeof ribArgs>[1]; want: string[] }[] = [
    { desc: 'plain v4 host', prefix: '10.9.9.9', a: {}, want: ['-a', 'ipv4', '10.9.9.9/32'] },
    { desc: 'v6 host', prefix: 'fd00:9::9', a: {}, want: ['-a', 'ipv6', 'fd00:9::9/128'] },
    { desc: 'every attribute', prefix: '10.9.9.0/24', a: { origin: 'igp', asPath: [65001, 65002], nexthop: '10.0.0.11', med: 5, localPref: 200, communities: ['65000:1', 'no-export'], largeCommunities: ['1:2:3'] }, want: ['-a', 'ipv4', '10.9.9.0/24', 'origin', 'igp', 'aspath', '65001,65002', 'nexthop', '10.0.0.11', 'med', '5', 'local-pref', '200', 'community', '65000:1,no-export', 'large-community', '1:2:3'] },
    { desc: 'med 0 is kept', prefix: '10.1.1.1/32', a: { med: 0 }, want: ['-a', 'ipv4', '10.1.1.1/32', 'med', '0'] },
  ];
  for (const r of rows) assert.deepEqual(ribArgs(r.prefix, r.a), r.want, r.desc);
});

test('edge topology: names, addresses and links follow the plan', () => {
  const spec = edgeTopology({ prefix: 'x', nodes: 3, backends: 2 });
  assert.deepEqual(spec.nodes.map((n) => `${n.name}:${n.role}`), ['router:router', 'node1:node', 'node2:node', 'node3:node', 'be1:backend', 'be2:backend', 'client:client']);
  assert.equal(spec.links?.length, 6);
  const l3 = spec.links?.find((l) => l.a.node === 'node3');
  assert.deepEqual(l3?.a.addrs, ['10.0.0.13/24', 'fd00::13/64']);
  assert.deepEqual(l3?.b, { node: 'router', ifname: 'node3', bridge: 'br0' });
  assert.equal(l3?.a.txOffloadOff, true);
  const be2 = spec.links?.find((l) => l.a.node === 'be2');
  assert.deepEqual(be2?.a.addrs, ['10.0.0.102/24', 'fd00::102/64']);
  const v4only = edgeTopology({ prefix: 'x', nodes: 1, client: false, ipv6: false, txOffloadOff: false });
  assert.deepEqual(v4only.nodes.find((n) => n.name === 'node1')?.routes, [{ to: 'default', via: '10.0.0.1' }]);
  assert.deepEqual(v4only.links?.[0]?.a.addrs, ['10.0.0.11/24']);
  assert.equal(v4only.links?.[0]?.a.txOffloadOff, false);
  assert.throws(() => edgeTopology({ prefix: 'x', nodes: 81 }), /0\.\.80 nodes/);
});
