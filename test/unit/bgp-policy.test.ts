// Table tests of export policy evaluation (src/bgp/policy.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateExport, validatePolicy, normalizeCommunity, normalizeLargeCommunity, type ExportRoute, type PolicyPeer } from '../../src/bgp/policy.js';
import type { PolicySpec } from '../../src/model/desired-state.js';

const ebgp: PolicyPeer = { address: '10.0.0.1', asn: 64512, localAsn: 64513 };
const ibgp: PolicyPeer = { address: '10.0.0.2', asn: 64513, localAsn: 64513 };
const v6peer: PolicyPeer = { address: 'fd00::1', asn: 64512, localAsn: 64513 };

function route(prefix: string, extra: Partial<ExportRoute> = {}): ExportRoute {
  return { prefix, communities: [], largeCommunities: [], prepend: [], ...extra };
}

const vips: PolicySpec = {
  name: 'vips',
  prefixSets: {
    pool: [{ prefix: '192.168.80.0/24', minLen: 32, maxLen: 32 }],
    wide: [{ prefix: '10.0.0.0/8', minLen: 16, maxLen: 24 }],
    exact: [{ prefix: '172.16.0.0/16' }],
    v6: [{ prefix: 'fd00:80::/64', minLen: 128 }],
  },
  communitySets: { gold: ['65000:100', 'no-export'], bigGold: ['65000:1:2'] },
  statements: [
    { name: 'deny-exact', match: { prefixSet: 'exact' }, actions: { result: 'reject' } },
    { name: 'gold', match: { communitySet: 'gold' }, actions: { med: 5, addLargeCommunities: ['65000:5:5'] } },
    { name: 'biggold', match: { communitySet: 'bigGold' }, actions: { med: 7, result: 'accept' } },
    { name: 'pool-to-r1', match: { prefixSet: 'pool', peers: ['10.0.0.1'] }, actions: { med: 10, addCommunities: ['65000:1'], prepend: { count: 2 }, result: 'accept' } },
    { name: 'pool-lp', match: { prefixSet: 'pool' }, actions: { localPref: 200, setCommunities: ['65000:9'], result: 'accept' } },
    { name: 'wide', match: { prefixSet: 'wide' }, actions: { removeCommunities: ['65000:2'], removeLargeCommunities: ['1:2:3'], prepend: { asn: 65001, count: 1 } } },
    { name: 'v6', match: { prefixSet: 'v6' }, actions: { nextHop: 'fd00::99', result: 'accept' } },
    { name: 'v6-bad-nh', match: { prefixSet: 'v6', peers: ['fd00::2'] }, actions: { nextHop: '10.1.1.1' } },
  ],
  defaultResult: 'reject',
};

const tagAll: PolicySpec = {
  name: 'tag',
  prefixSets: {},
  communitySets: {},
  statements: [{ name: 'all', match: {}, actions: { addCommunities: ['65000:42'], nextHop: '10.9.9.9' } }],
  defaultResult: 'accept',
};

interface Row {
  desc: string;
  route: ExportRoute;
  peer: PolicyPeer;
  policies: PolicySpec[];
  want: Partial<ExportRoute> | 'reject';
  by?: string;
}

const rows: Row[] = [
  { desc: 'no policy accepts unchanged', route: route('192.168.80.1/32'), peer: ebgp, policies: [], want: { med: undefined, communities: [] }, by: 'no-policy' },
  { desc: 'pool /32 to r1: MED, community, prepend twice', route: route('192.168.80.1/32'), peer: ebgp, policies: [vips], want: { med: 10, communities: ['65000:1'], prepend: [64513, 64513] }, by: 'vips/pool-to-r1' },
  { desc: 'pool /32 to iBGP peer: local-pref set', route: route('192.168.80.2/32'), peer: ibgp, policies: [vips], want: { localPref: 200, communities: ['65000:9'] }, by: 'vips/pool-lp' },
  { desc: 'local-pref ignored toward eBGP', route: route('192.168.80.2/32'), peer: { ...ebgp, address: '10.0.0.3' }, policies: [vips], want: { localPref: undefined, communities: ['65000:9'] } },
  { desc: 'set replaces existing communities', route: route('192.168.80.2/32', { communities: ['1:1', '2:2'] }), peer: ibgp, policies: [vips], want: { communities: ['65000:9'] } },
  { desc: 'pool /31 is outside ge/le: default reject', route: route('192.168.80.0/31'), peer: ebgp, policies: [vips], want: 'reject', by: 'vips/default' },
  { desc: 'exact prefix set rejects exact length', route: route('172.16.0.0/16'), peer: ebgp, policies: [vips], want: 'reject', by: 'vips/deny-exact' },
  { desc: 'exact prefix set does not match longer', route: route('172.16.1.0/24'), peer: ebgp, policies: [vips], want: 'reject', by: 'vips/default' },
  { desc: 'prefix outside every set: default reject', route: route('8.8.8.8/32'), peer: ebgp, policies: [vips], want: 'reject' },
  { desc: 'community match sets MED, goes on to pool statement', route: route('192.168.80.5/32', { communities: ['65000:100'] }), peer: ebgp, policies: [vips], want: { med: 10, communities: ['65000:100', '65000:1'], largeCommunities: ['65000:5:5'] } },
  { desc: 'well-known name in community set matches', route: route('192.168.80.5/32', { communities: ['65535:65281'] }), peer: ibgp, policies: [vips], want: { largeCommunities: ['65000:5:5'], localPref: 200 } },
  { desc: 'large community set match accepts at once', route: route('8.8.8.8/32', { largeCommunities: ['65000:1:2'] }), peer: ebgp, policies: [vips], want: { med: 7 }, by: 'vips/biggold' },
  { desc: 'wide range ge 16 le 24: /20 matches, then default reject', route: route('10.1.0.0/20', { communities: ['65000:2'] }), peer: ebgp, policies: [vips], want: 'reject' },
  { desc: 'wide: removes community and prepends a given ASN (accepted by a later policy)', route: route('10.1.0.0/20', { communities: ['65000:2', '65000:3'], largeCommunities: ['1:2:3'] }), peer: ebgp, policies: [{ ...vips, defaultResult: 'accept' }], want: { communities: ['65000:3'], largeCommunities: [], prepend: [65001] } },
  { desc: 'wide: /25 is too long', route: route('10.1.0.0/25'), peer: ebgp, policies: [{ ...vips, defaultResult: 'accept' }], want: { prepend: [] } },
  { desc: 'IPv6 /128 with next hop set', route: route('fd00:80::1/128'), peer: v6peer, policies: [vips], want: { nextHop: 'fd00::99' }, by: 'vips/v6' },
  { desc: 'IPv6 /64 is outside ge 128', route: route('fd00:80::/64'), peer: v6peer, policies: [vips], want: 'reject' },
  { desc: 'next hop of the other family is ignored', route: route('fd00:80::1/128'), peer: { ...v6peer, address: 'fd00::2' }, policies: [{ ...vips, statements: [vips.statements[7]!] , defaultResult: 'accept' }], want: { nextHop: undefined } },
  { desc: 'peer match compares canonical addresses', route: route('fd00:80::1/128'), peer: { ...v6peer, address: 'FD00:0::2' }, policies: [{ ...vips, statements: [{ name: 'p', match: { peers: ['fd00::2'] }, actions: { med: 1 } }], defaultResult: 'accept' }], want: { med: 1 } },
  { desc: 'chained policies: first tags, second decides', route: route('192.168.80.9/32'), peer: ebgp, policies: [tagAll, vips], want: { communities: ['65000:42', '65000:1'], nextHop: '10.9.9.9', med: 10 } },
  { desc: 'accept in the first policy skips the second', route: route('192.168.80.9/32'), peer: ebgp, policies: [vips, tagAll], want: { communities: ['65000:1'], nextHop: undefined } },
  { desc: 'reject in a later policy wins over an earlier default accept', route: route('172.16.0.0/16'), peer: ebgp, policies: [tagAll, vips], want: 'reject' },
  { desc: 'unknown prefix set never matches', route: route('192.168.80.1/32'), peer: ebgp, policies: [{ ...vips, statements: [{ name: 'x', match: { prefixSet: 'nope' }, actions: { result: 'accept' } }] }], want: 'reject' },
  { desc: 'add does not duplicate', route: route('1.1.1.1/32', { communities: ['65000:42'] }), peer: ebgp, policies: [tagAll], want: { communities: ['65000:42'] } },
  { desc: 'next hop self clears an explicit one', route: route('1.1.1.1/32', { nextHop: '10.2.2.2' }), peer: ebgp, policies: [{ ...tagAll, statements: [{ name: 's', match: {}, actions: { nextHop: 'self' } }] }], want: { nextHop: undefined } },
];

for (const r of rows) {
  test(`policy: ${r.desc}`, () => {
    const before = JSON.stringify(r.route);
    const v = evaluateExport(r.route, r.peer, r.policies);
    assert.equal(JSON.stringify(r.route), before, 'input route not mutated');
    if (r.want === 'reject') {
      assert.equal(v.accepted, false);
    } else {
      assert.equal(v.accepted, true);
      if (v.accepted) {
        for (const [k, val] of Object.entries(r.want)) assert.deepEqual((v.route as unknown as Record<string, unknown>)[k], val, k);
      }
    }
    if (r.by) assert.equal(v.by, r.by);
  });
}

test('policy: communities normalise', () => {
  assert.equal(normalizeCommunity('no-export'), '65535:65281');
  assert.equal(normalizeCommunity('065000:01'), '65000:1');
  assert.throws(() => normalizeCommunity('70000:1'));
  assert.throws(() => normalizeCommunity('1:2:3'));
  assert.equal(normalizeLargeCommunity('4200000000:1:2'), '4200000000:1:2');
  assert.throws(() => normalizeLargeCommunity('4294967296:1:2'));
});

test('policy: validation names each bad path', () => {
  assert.deepEqual(validatePolicy(vips), []);
  const bad: PolicySpec = {
    name: 'bad',
    prefixSets: { a: [{ prefix: '10.0.0.0/33' }, { prefix: '10.0.0.0/8', minLen: 4 }, { prefix: '10.0.0.0/8', minLen: 24, maxLen: 16 }] },
    communitySets: { c: ['x:y'] },
    statements: [
      { name: 's', match: { prefixSet: 'zz', communitySet: 'yy' }, actions: { med: -1, prepend: { count: 99 }, nextHop: 'router', addCommunities: ['1'], addLargeCommunities: ['1:2'] } },
    ],
    defaultResult: 'accept',
  };
  const issues = validatePolicy(bad);
  for (const want of [
    'prefixSets.a[0].prefix',
    'prefixSets.a[1].minLen',
    'prefixSets.a[2].maxLen',
    'communitySets.c[0]',
    'statements[0].match.prefixSet',
    'statements[0].match.communitySet',
    'statements[0].actions.med',
    'statements[0].actions.prepend.count',
    'statements[0].actions.nextHop',
    'statements[0].actions.addCommunities',
    'statements[0].actions.addLargeCommunities',
  ]) {
    assert.ok(issues.some((i) => i.startsWith(want + ':')), `missing ${want} in ${issues.join('; ')}`);
  }
});
