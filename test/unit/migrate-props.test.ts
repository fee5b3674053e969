// Property tests of `edgelb migrate` (fast-check): objects of every kind both tools know, with
// fields of random types and values, never crash the converter, and whatever it prints is valid
// for edgelb (migrate-lib.checkOutput); ranges become prefixes that cover exactly the range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { migrateTexts } from '../../src/migrate/index.js';
import { rangeToPrefixes } from '../../src/migrate/addresses.js';
import { bigIntToIp, ipToBigInt } from '../../src/lib/addr.js';
import { checkOutput } from './migrate-lib.js';

const KINDS: Array<[string, string]> = [
  ['metallb.io/v1beta1', 'IPAddressPool'], ['metallb.io/v1beta1', 'BGPAdvertisement'], ['metallb.io/v1beta1', 'L2Advertisement'],
  ['metallb.io/v1beta1', 'Community'], ['metallb.io/v1beta2', 'BGPPeer'], ['metallb.io/v1beta1', 'BGPPeer'], ['metallb.io/v1beta1', 'AddressPool'],
  ['bgppeer.loxilb.io/v1', 'BGPPeerService'], ['apps/v1', 'Deployment'], ['v1', 'Service'], ['v1', 'ConfigMap'], ['metallb.io/v3', 'IPAddressPool'],
];
const FIELDS = [
  'addresses', 'autoAssign', 'avoidBuggyIPs', 'serviceAllocation', 'priority', 'namespaces', 'namespaceSelectors', 'serviceSelectors', 'myASN', 'peerASN',
  'peerAddress', 'peerPort', 'holdTime', 'keepaliveTime', 'connectTime', 'password', 'passwordSecret', 'ebgpMultiHop', 'bfdProfile', 'nodeSelectors',
  'sourceAddress', 'routerID', 'vrf', 'ipAddressPools', 'ipAddressPoolSelectors', 'aggregationLength', 'localPref', 'communities', 'peers', 'interfaces',
  'ipAddress', 'remoteAs', 'remotePort', 'type', 'loadBalancerClass', 'ports', 'protocol', 'matchLabels', 'matchExpressions', 'name', 'value', 'template',
];
const atoms = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -5, max: 70000 }),
  fc.constantFrom(0, 1, 32, 128, 179, 4294967295, 4294967296, true, false, null, '', 'a-b', 'LoadBalancer', 'metallb', 'tor'),
  fc.ipV4(),
  fc.ipV6(),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 40 })).map(([ip, n]) => `${ip}/${n}`),
  fc.tuple(fc.ipV4(), fc.ipV4()).map(([a, b]) => `${a}-${b}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 130 })).map(([ip, n]) => `${ip}/${n}`),
  fc.constantFrom('90s', '1m30s', '0s', '2s', 'soon', '3500ms', '65535:65282', 'large:1:2:3', '70000:1', 'NO_ADVERTISE'),
  fc.constantFrom('--setBGP=65000', '--cidrPools=p=10.0.0.0/24', '--extBGPPeers=1.1.1.1:2', '--setLBMode=2', '--x', '--numZoneInstances=0'),
);
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, atoms, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.constantFrom(...FIELDS), tie('v'), { maxKeys: 5 })),
})).v;
/** A valid core per kind, under the random fields half of the time, so conversions really happen. */
const TEMPLATES: Record<string, Record<string, unknown>> = {
  IPAddressPool: { addresses: ['10.20.0.0/28', '10.21.0.1-10.21.0.9'] },
  AddressPool: { protocol: 'layer2', addresses: ['10.22.0.0/29'] },
  BGPPeer: { myASN: 64512, peerASN: 64600, peerAddress: '10.30.0.1' },
  BGPPeerService: { ipAddress: '10.31.0.1', remoteAs: 65001 },
  BGPAdvertisement: { localPref: 100 },
};
const object = fc.record({
  valid: fc.boolean(),
  kv: fc.constantFrom(...KINDS),
  name: fc.oneof(fc.constantFrom('p', 'tor', 'a', 'Pool_1'), fc.string({ maxLength: 20 })),
  labels: fc.option(fc.dictionary(fc.constantFrom('tier', 'zone'), fc.constantFrom('a', 'b'), { maxKeys: 2 })),
  spec: fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 8 }),
});

test('migrate props: random objects of every kind never crash, and the output is valid', () => {
  const written = new Map<string, number>();
  fc.assert(
    fc.property(fc.array(object, { minLength: 1, maxLength: 6 }), fc.constantFrom('metallb' as const, 'kube-loxilb' as const), (objs, tool) => {
      const text = objs
        .map((o) => {
          const [apiVersion, kind] = o.kv;
          const body: Record<string, unknown> = { apiVersion, kind, metadata: { name: o.name, namespace: 'ns', ...(o.labels ? { labels: o.labels } : {}) } };
          if (kind === 'ConfigMap') body.data = { config: stringify({ peers: [o.spec], 'address-pools': [{ name: 'x', protocol: 'bgp', ...o.spec }] }) };
          else if (kind === 'Deployment') {
            const args = Object.values(o.spec).filter((v) => typeof v === 'string');
            body.spec = { template: { spec: { containers: [{ name: 'kube-loxilb', args: o.valid ? ['--setBGP=65000', '--cidrPools=fuzz=10.40.0.0/28', ...args] : args }] } } };
          }
          else body.spec = o.valid ? { ...o.spec, ...TEMPLATES[kind] } : o.spec;
          return stringify(body);
        })
        .join('---\n');
      const r = migrateTexts(tool, [{ name: 'fuzz.yaml', text }]);
      checkOutput(r);
      for (const c of r.migration.objects) written.set(c.obj.kind, (written.get(c.obj.kind) ?? 0) + 1);
      assert.equal(r.lost > 0, /not carried over/.test(r.stderr));
      for (const line of r.stderr.split('\n')) assert.ok(line === '' || line.startsWith('edgelb migrate: '));
    }),
    { numRuns: 300 },
  );
  // the generator reaches real conversions, not only refusals
  for (const k of ['IPPool', 'BGPPeer']) assert.ok((written.get(k) ?? 0) > 0, `no ${k} written in 300 runs: ${JSON.stringify([...written])}`);
});

test('migrate props: a range becomes disjoint aligned prefixes that cover exactly it (IPv4 and IPv6)', () => {
  const check = (a: bigint, b: bigint, fam: 4 | 6) => {
    const prefixes = rangeToPrefixes(bigIntToIp(a, fam), bigIntToIp(b, fam));
    let next = a;
    for (const p of prefixes) {
      const [ip, len] = p.split('/');
      const start = ipToBigInt(ip!);
      const size = 1n << BigInt((fam === 4 ? 32 : 128) - Number(len));
      assert.equal(start, next, `${p} starts where the last ended`);
      assert.equal(start % size, 0n, `${p} is aligned`);
      next = start + size;
    }
    assert.equal(next, b + 1n);
    assert.ok(prefixes.length <= 2 * (fam === 4 ? 32 : 128));
  };
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), (x, y) => check(x < y ? x : y, x < y ? y : x, 4)),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.bigInt({ min: 0n, max: 1n << 70n }), (x, d) => check(x, x + d > (1n << 128n) - 1n ? (1n << 128n) - 1n : x + d, 6)),
    { numRuns: 300 },
  );
});
