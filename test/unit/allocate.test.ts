// Table tests of the one pool allocator (src/config/allocate.ts) shared by the standalone config and
// the Kubernetes IPAM: which addresses a block hands out, pool sizes, the first free address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockSize, firstFree, firstFreeValue, parseBlocks, poolBlocks } from '../../src/config/allocate.js';
import { Ipam, poolFromObj } from '../../src/k8s/ipam.js';
import { KubeConfig } from '@kubernetes/client-node';
import { reuseConnections } from '../../src/k8s/http.js';
import type { ServiceObj } from '../../src/k8s/types.js';

const rows: Array<{ desc: string; cidrs?: string[]; ranges?: string[]; avoid: boolean; used?: string[]; first: string | undefined; size: bigint }> = [
  { desc: 'IPv4 /24 skips network and broadcast', cidrs: ['10.0.0.0/24'], avoid: false, first: '10.0.0.1', size: 254n },
  { desc: 'IPv4 /24 with avoidBuggyIPs (same two addresses)', cidrs: ['10.0.0.0/24'], avoid: true, first: '10.0.0.1', size: 254n },
  { desc: 'IPv4 /23 with avoidBuggyIPs also skips the .255/.0 in the middle', cidrs: ['10.0.0.0/23'], avoid: true, used: ['10.0.0.1'], first: '10.0.0.2', size: 508n },
  { desc: 'IPv4 /30 skips network and broadcast', cidrs: ['10.0.0.4/30'], avoid: false, first: '10.0.0.5', size: 2n },
  { desc: 'IPv4 /31 hands out both', cidrs: ['10.0.0.4/31'], avoid: false, first: '10.0.0.4', size: 2n },
  { desc: 'IPv4 /32 hands out itself', cidrs: ['10.0.0.9/32'], avoid: false, first: '10.0.0.9', size: 1n },
  { desc: 'IPv6 /120 skips the subnet-router anycast address', cidrs: ['fd00::/120'], avoid: false, first: 'fd00::1', size: 255n },
  { desc: 'IPv6 /127 hands out both', cidrs: ['fd00::/127'], avoid: false, first: 'fd00::', size: 2n },
  { desc: 'a range hands out every address it names', ranges: ['10.0.0.0-10.0.0.3'], avoid: false, first: '10.0.0.0', size: 4n },
  { desc: 'a range with avoidBuggyIPs skips .0 and .255', ranges: ['10.0.0.255-10.0.1.1'], avoid: true, first: '10.0.1.1', size: 1n },
  { desc: 'used addresses are skipped, then the next block', cidrs: ['10.0.0.0/30'], ranges: ['10.0.9.1-10.0.9.1'], avoid: false, used: ['10.0.0.1', '10.0.0.2'], first: '10.0.9.1', size: 3n },
  { desc: 'full', cidrs: ['10.0.0.0/30'], avoid: false, used: ['10.0.0.1', '10.0.0.2'], first: undefined, size: 2n },
];

for (const r of rows) {
  test(`allocate: ${r.desc}`, () => {
    const pool = { cidrs: r.cidrs ?? [], ranges: r.ranges ?? [] };
    const blocks = poolBlocks(pool);
    assert.equal(firstFree(blocks, new Set(r.used ?? []), r.avoid), r.first, 'standalone config');
    assert.equal(blocks.reduce((n, b) => n + blockSize(b, r.avoid), 0n), r.size);
    // the Kubernetes IPAM walks the same blocks by the same rule
    const ipam = new Ipam([{ name: 'p', ...pool, avoidBuggyIPs: r.avoid, autoAssign: true, priority: 0 }]);
    const fam = blocks[0]!.family === 6 ? 'IPv6' : 'IPv4';
    for (const [i, ip] of (r.used ?? []).entries()) assert.ok(ipam.assign(svc(`u${i}`, fam, ip)).ok);
    const got = ipam.assign(svc('x', fam));
    assert.deepEqual(got.ok ? got.ips[0] : undefined, r.first, 'Kubernetes IPAM');
    assert.equal(ipam.usage('p').size, r.size);
  });
}

function svc(name: string, fam: 'IPv4' | 'IPv6' = 'IPv4', staticIp?: string): ServiceObj {
  const annotations: Record<string, string> = staticIp ? { 'edgelb.io/staticIP': staticIp } : {};
  return { metadata: { name, namespace: 'default', annotations }, spec: { type: 'LoadBalancer', loadBalancerClass: 'edgelb.io/edgelb', ipFamilies: [fam] } };
}

test('allocate: IPv6 pools allocate IPv6 in the Kubernetes IPAM', () => {
  const ipam = new Ipam([{ name: 'p', cidrs: ['fd00::/120'], ranges: [], avoidBuggyIPs: true, autoAssign: true, priority: 0 }]);
  const r = ipam.assign(svc('a', 'IPv6'));
  assert.deepEqual(r.ok && r.ips, ['fd00::1']);
});

test('allocate: bad entries are errors naming the field (both users)', () => {
  assert.deepEqual(parseBlocks({ cidrs: ['10.0.0.0/33', '10.0.0.0/8'], ranges: ['10.0.0.9-10.0.0.1', 'a-b'] }).errors, [
    'cidrs[0]: "10.0.0.0/33" is not a CIDR',
    'ranges[0]: "10.0.0.9-10.0.0.1" ends before it starts',
    'ranges[1]: "a-b" must be "first-last" of one family',
  ]);
  assert.deepEqual(poolFromObj({ metadata: { name: 'x' }, spec: { cidrs: ['nope'] } }).errors, ['spec.cidrs[0]: "nope" is not a CIDR']);
  assert.throws(() => poolBlocks({ cidrs: ['x'], ranges: [] }), /cidrs\[0\]/);
});

test('allocate: a cursor resumes where the last search ended (n allocations in O(n))', () => {
  const blocks = poolBlocks({ cidrs: ['10.0.0.0/16'], ranges: [] });
  const used = new Set<string>();
  const cursor = { block: 0, next: undefined };
  for (let i = 0; i < 2000; i++) used.add(firstFree(blocks, used, true, cursor)!);
  assert.equal(used.size, 2000);
  assert.equal(firstFreeValue(blocks, { has: () => true, size: 0 }, false), undefined, 'the walk is bounded');
});

test('k8s client: one keep-alive agent is reused for every request (no TLS handshake per call)', () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  reuseConnections(kc);
  const make = (kc as unknown as { createAgent: (c: unknown, o: object) => { keepAlive?: boolean; options?: { keepAlive?: boolean } } }).createAgent;
  const cluster = kc.getCurrentCluster();
  const a = make(cluster, { ca: 'x' });
  assert.equal(make(cluster, { ca: 'x' }), a);
  assert.equal(a.keepAlive ?? a.options?.keepAlive, true);
  assert.notEqual(make(cluster, { ca: 'y' }), a, 'another CA gets its own agent');
  // regression: the client hands over a fresh Buffer of the CA on every call; keyed by the object,
  // every request got a new agent (a TLS handshake each, and RSS growing)
  const b = make(cluster, { ca: Buffer.from('-----BEGIN CERTIFICATE-----\nabc\n') });
  assert.equal(make(cluster, { ca: Buffer.from('-----BEGIN CERTIFICATE-----\nabc\n') }), b, 'the same CA bytes in a new Buffer reuse the agent');
  assert.notEqual(make(cluster, { ca: Buffer.from('-----BEGIN CERTIFICATE-----\nabd\n') }), b);
});
