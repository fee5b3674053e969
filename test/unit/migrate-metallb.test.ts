// `edgelb migrate metallb`: one row per field mapping and per thing that cannot be carried over,
// for IPAddressPool, BGPPeer (v1beta1, v1beta2), BGPAdvertisement, L2Advertisement, Community,
// the legacy ConfigMap and AddressPool. Every output is also checked by migrate-lib.checkOutput.
import { test } from 'node:test';
import { checkRow, type Row } from './migrate-lib.js';

const M = 'metallb.io/v1beta1';
const pool = (name: string, spec: string, labels = '') => `---\napiVersion: ${M}\nkind: IPAddressPool\nmetadata: { name: ${name}, namespace: metallb-system${labels ? `, labels: ${labels}` : ''} }\nspec: ${spec}\n`;
const peer = (name: string, spec: string, v = 'v1beta2') => `---\napiVersion: metallb.io/${v}\nkind: BGPPeer\nmetadata: { name: ${name}, namespace: metallb-system }\nspec: ${spec}\n`;
const bgpAdv = (name: string, spec: string) => `---\napiVersion: ${M}\nkind: BGPAdvertisement\nmetadata: { name: ${name}, namespace: metallb-system }\nspec: ${spec}\n`;
const l2Adv = (name: string, spec: string) => `---\napiVersion: ${M}\nkind: L2Advertisement\nmetadata: { name: ${name}, namespace: metallb-system }\nspec: ${spec}\n`;
const P = (addresses: string) => pool('p', `{ addresses: ${addresses} }`) + bgpAdv('a', '{}');
const base = (extra: Record<string, unknown> = {}) => ({ avoidBuggyIPs: false, announce: 'bgp', bgpMode: 'ecmp', ...extra });
const PEER = '{ myASN: 64512, peerASN: 64600, peerAddress: 10.0.0.1 }';
const withPeer = (fields: string) => peer('tor', `{ myASN: 64512, peerASN: 64600, peerAddress: 10.0.0.1, ${fields} }`);
const peerSpec = (extra: Record<string, unknown> = {}) => ({ address: '10.0.0.1', asn: 64600, holdTime: 90, ...extra });

const POOLS: Row[] = [
  { desc: 'pool: a CIDR', yaml: P('[192.168.10.0/24]'), objects: [['IPPool', 'p', base({ cidrs: ['192.168.10.0/24'] })]], lost: 0 },
  { desc: 'pool: a range a-b', yaml: P('[192.168.9.1-192.168.9.5]'), objects: [['IPPool', 'p', base({ ranges: ['192.168.9.1-192.168.9.5'] })]], lost: 0 },
  { desc: 'pool: a range with spaces', yaml: P('["10.0.0.1 - 10.0.0.3"]'), objects: [['IPPool', 'p', base({ ranges: ['10.0.0.1-10.0.0.3'] })]] },
  { desc: 'pool: IPv6 CIDR written canonical', yaml: P('["FC00:F853:0CCD:E799::/124"]'), objects: [['IPPool', 'p', base({ cidrs: ['fc00:f853:ccd:e799::/124'] })]], lost: 0 },
  { desc: 'pool: IPv6 range', yaml: P('["2001:db8::10-2001:db8::20"]'), objects: [['IPPool', 'p', base({ ranges: ['2001:db8::10-2001:db8::20'] })]] },
  { desc: 'pool: dual stack', yaml: P('[10.1.0.0/28, "2001:db8:1::/120"]'), objects: [['IPPool', 'p', base({ cidrs: ['10.1.0.0/28', '2001:db8:1::/120'] })]] },
  { desc: 'pool: host bits set are cleared, with a note', yaml: P('[123.123.123.1/24]'), objects: [['IPPool', 'p', base({ cidrs: ['123.123.123.0/24'] })]], notes: [['info', 'spec.addresses[0]', /host bits set; written as 123.123.123.0\/24/]], lost: 0 },
  { desc: 'pool: a bare address is a /32', yaml: P('[10.9.9.9]'), objects: [['IPPool', 'p', base({ cidrs: ['10.9.9.9/32'] })]], notes: [['info', 'spec.addresses[0]', /single address/]] },
  { desc: 'pool: duplicates written once', yaml: P('[10.1.0.0/28, 10.1.0.0/28]'), objects: [['IPPool', 'p', base({ cidrs: ['10.1.0.0/28'] })]] },
  { desc: 'pool: a range whose end is before its start is left out', yaml: P('[10.0.0.9-10.0.0.1, 10.2.0.0/30]'), objects: [['IPPool', 'p', base({ cidrs: ['10.2.0.0/30'] })]], notes: [['lost', 'spec.addresses[0]', /ends before it starts; left out/]], lost: 1 },
  { desc: 'pool: a range across families is left out', yaml: P('["10.0.0.1-2001:db8::1", 10.2.0.0/30]'), notes: [['lost', 'spec.addresses[0]', /one family/]], lost: 1 },
  { desc: 'pool: prefix length 33 is left out', yaml: P('[10.0.0.0/33, 10.2.0.0/30]'), notes: [['lost', 'spec.addresses[0]', /prefix length 33 is more than 32/]], lost: 1 },
  { desc: 'pool: a hostname is left out', yaml: P('[lb.example.com, 10.2.0.0/30]'), notes: [['lost', 'spec.addresses[0]', /is not a CIDR/]] },
  { desc: 'pool: no usable address: not converted', yaml: P('[nope]'), absent: [['IPPool', 'p']], notes: [['lost', 'spec.addresses', /no usable address: this pool is not converted/]] },
  { desc: 'pool: addresses not a list', yaml: P('10.0.0.0/24'), absent: [['IPPool', 'p']], notes: [['lost', 'spec.addresses', /must be a list/]] },
  { desc: 'pool: an address of the wrong type', yaml: P('[{ a: 1 }, 10.2.0.0/30]'), notes: [['lost', 'spec.addresses[0]', /must be a string/]] },
  { desc: 'pool: autoAssign false', yaml: pool('p', '{ addresses: [10.0.0.0/28], autoAssign: false }') + bgpAdv('a', '{}'), objects: [['IPPool', 'p', base({ cidrs: ['10.0.0.0/28'], autoAssign: false })]] },
  { desc: 'pool: autoAssign true is the default, not written', yaml: pool('p', '{ addresses: [10.0.0.0/28], autoAssign: true }') + bgpAdv('a', '{}'), objects: [['IPPool', 'p', base({ cidrs: ['10.0.0.0/28'] })]] },
  { desc: 'pool: avoidBuggyIPs true', yaml: pool('p', '{ addresses: [10.0.0.0/28], avoidBuggyIPs: true }') + bgpAdv('a', '{}'), objects: [['IPPool', 'p', base({ cidrs: ['10.0.0.0/28'], avoidBuggyIPs: true })]] },
  { desc: 'pool: avoidBuggyIPs yes (a YAML 1.1 boolean, as kubectl reads it)', yaml: pool('p', '{ addresses: [10.0.0.0/28], avoidBuggyIPs: yes, autoAssign: Off }') + bgpAdv('a', '{}'), objects: [['IPPool', 'p', base({ cidrs: ['10.0.0.0/28'], avoidBuggyIPs: true, autoAssign: false })]], lost: 0 },
  { desc: 'pool: avoidBuggyIPs "maybe" is not a boolean', yaml: pool('p', '{ addresses: [10.0.0.0/28], avoidBuggyIPs: "maybe" }') + bgpAdv('a', '{}'), notes: [['lost', 'spec.avoidBuggyIPs', /not true or false/]] },
  {
    desc: 'pool: serviceAllocation priority, namespaces and one selector each',
    yaml: pool('p', '{ addresses: [10.0.0.0/28], serviceAllocation: { priority: 50, namespaces: [a, b], namespaceSelectors: [{ matchLabels: { team: x } }], serviceSelectors: [{ matchExpressions: [{ key: app, operator: In, values: [web] }] }] } }') + bgpAdv('a', '{}'),
    objects: [['IPPool', 'p', base({ cidrs: ['10.0.0.0/28'], priority: 50, namespaces: ['a', 'b'], namespaceSelector: { matchLabels: { team: 'x' } }, serviceSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] } })]],
    lost: 0,
  },
  { desc: 'pool: two namespaceSelectors cannot be one', yaml: pool('p', '{ addresses: [10.0.0.0/28], serviceAllocation: { namespaceSelectors: [{ matchLabels: { a: x } }, { matchLabels: { b: y } }] } }') + bgpAdv('a', '{}'), notes: [['lost', 'spec.serviceAllocation.namespaceSelectors', /2 selectors .* takes one namespaceSelector/]] },
  { desc: 'pool: a selector with a bad operator is dropped', yaml: pool('p', '{ addresses: [10.0.0.0/28], serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: a, operator: Gt }] }] } }') + bgpAdv('a', '{}'), objects: [['IPPool', 'p', base({ cidrs: ['10.0.0.0/28'] })]], notes: [['lost', /matchExpressions\[0\]$/, /needs a key and an operator/]] },
  { desc: 'pool: priority out of range', yaml: pool('p', '{ addresses: [10.0.0.0/28], serviceAllocation: { priority: -1 } }') + bgpAdv('a', '{}'), notes: [['lost', 'spec.serviceAllocation.priority', /not a whole number/]] },
  { desc: 'pool: an unknown field', yaml: pool('p', '{ addresses: [10.0.0.0/28], magic: 1 }') + bgpAdv('a', '{}'), notes: [['lost', 'spec.magic', /not a field/]] },
  { desc: 'pool: spec not a map', yaml: pool('p', '[1, 2]'), notes: [['lost', 'spec', /must be a map/]], absent: [['IPPool', 'p']] },
  { desc: 'pool: upper-case name made a Kubernetes name', yaml: pool('My_Pool', '{ addresses: [10.0.0.0/28] }') + bgpAdv('a', '{}'), objects: [['IPPool', 'my-pool', base({ cidrs: ['10.0.0.0/28'] })]] },
  { desc: 'pool: no advertisement: announce bgp with a lost note', yaml: pool('p', '{ addresses: [10.0.0.0/28] }'), objects: [['IPPool', 'p', base({ cidrs: ['10.0.0.0/28'] })]], notes: [['lost', '', /no BGPAdvertisement or L2Advertisement selects this pool/]] },
  { desc: 'pool: L2 only', yaml: pool('p', '{ addresses: [10.0.0.0/28] }') + l2Adv('l', '{}'), objects: [['IPPool', 'p', base({ cidrs: ['10.0.0.0/28'], announce: 'l2' })]], notes: [['todo', '', /needs the cluster section/]] },
  { desc: 'pool: BGP and L2 → both', yaml: pool('p', '{ addresses: [10.0.0.0/28] }') + l2Adv('l', '{ ipAddressPools: [p] }') + bgpAdv('b', '{ ipAddressPools: [p] }'), objects: [['IPPool', 'p', base({ cidrs: ['10.0.0.0/28'], announce: 'both' })]] },
];

const PEERS: Row[] = [
  { desc: 'peer: v1beta2 simple; myASN to the ConfigMap; MetalLB hold time written', yaml: peer('tor', PEER), objects: [['BGPPeer', 'tor', peerSpec()]], notes: [['todo', 'spec.myASN', /set bgp.asn: 64512 in the edgelb ConfigMap/], ['info', 'spec.holdTime', /default 90 s/]], lost: 0 },
  { desc: 'peer: v1beta1', yaml: peer('tor', PEER, 'v1beta1'), objects: [['BGPPeer', 'tor', peerSpec()]] },
  { desc: 'peer: unknown apiVersion', yaml: peer('tor', PEER, 'v9'), absent: [['BGPPeer', 'tor']], notes: [['lost', 'apiVersion', /unknown apiVersion for BGPPeer/]] },
  { desc: 'peer: port', yaml: withPeer('peerPort: 1179'), objects: [['BGPPeer', 'tor', peerSpec({ port: 1179 })]] },
  { desc: 'peer: port 179 is the default', yaml: withPeer('peerPort: 179'), objects: [['BGPPeer', 'tor', peerSpec()]] },
  { desc: 'peer: holdTime 1m30s', yaml: withPeer('holdTime: 1m30s'), objects: [['BGPPeer', 'tor', peerSpec({ holdTime: 90 })]] },
  { desc: 'peer: holdTime 9m0s', yaml: withPeer('holdTime: 9m0s'), objects: [['BGPPeer', 'tor', peerSpec({ holdTime: 540 })]] },
  { desc: 'peer: holdTime 0s (no keepalives)', yaml: withPeer('holdTime: 0s'), objects: [['BGPPeer', 'tor', peerSpec({ holdTime: 0 })]] },
  { desc: 'peer: holdTime 2s breaks RFC 4271', yaml: withPeer('holdTime: 2s'), objects: [['BGPPeer', 'tor', { address: '10.0.0.1', asn: 64600 }]], notes: [['lost', 'spec.holdTime', /must be 0 or 3..65535/]] },
  { desc: 'peer: holdTime 20h is too long', yaml: withPeer('holdTime: 20h'), notes: [['lost', 'spec.holdTime', /must be 0 or 3..65535/]] },
  { desc: 'peer: holdTime not a duration', yaml: withPeer('holdTime: soon'), objects: [['BGPPeer', 'tor', { address: '10.0.0.1', asn: 64600 }]], notes: [['lost', 'spec.holdTime', /not a duration/]] },
  { desc: 'peer: holdTime 1500ms rounds', yaml: withPeer('holdTime: 3500ms'), objects: [['BGPPeer', 'tor', peerSpec({ holdTime: 4 })]], notes: [['info', 'spec.holdTime', /not whole seconds/]] },
  { desc: 'peer: keepaliveTime', yaml: withPeer('holdTime: 30s, keepaliveTime: 10s'), objects: [['BGPPeer', 'tor', peerSpec({ holdTime: 30, keepalive: 10 })]] },
  { desc: 'peer: keepaliveTime 0s (as configmaptocrs writes) is left out', yaml: withPeer('keepaliveTime: 0s'), objects: [['BGPPeer', 'tor', peerSpec()]], lost: 0 },
  { desc: 'peer: keepaliveTime not below holdTime', yaml: withPeer('holdTime: 30s, keepaliveTime: 30s'), objects: [['BGPPeer', 'tor', peerSpec({ holdTime: 30 })]], notes: [['lost', 'spec.keepaliveTime', /must be less than the hold time/]] },
  { desc: 'peer: connectTime', yaml: withPeer('connectTime: 2m'), objects: [['BGPPeer', 'tor', peerSpec({ connectRetry: 120 })]] },
  { desc: 'peer: connectTime above an hour is capped', yaml: withPeer('connectTime: 2h'), objects: [['BGPPeer', 'tor', peerSpec({ connectRetry: 3600 })]] },
  { desc: 'peer: inline password becomes a Secret', yaml: withPeer('password: hunter2'), objects: [['BGPPeer', 'tor', peerSpec({ passwordSecretRef: { name: 'tor-bgp-password', key: 'password' } })], ['Secret', 'tor-bgp-password', undefined as never]], secret: ['tor-bgp-password', 'hunter2'], notes: [['info', 'spec.password', /moved into Secret edgelb-system\/tor-bgp-password/]] },
  { desc: 'peer: passwordSecret to copy', yaml: withPeer('passwordSecret: { name: md5, namespace: metallb-system }'), objects: [['BGPPeer', 'tor', peerSpec({ passwordSecretRef: { name: 'md5', key: 'password' } })]], notes: [['todo', 'spec.passwordSecret', /copy Secret metallb-system\/md5 .* into namespace edgelb-system/]] },
  { desc: 'peer: password and passwordSecret', yaml: withPeer('password: x, passwordSecret: { name: md5 }'), notes: [['lost', 'spec.password', /both password and passwordSecret/]] },
  { desc: 'peer: ebgpMultiHop → 255 hops', yaml: withPeer('ebgpMultiHop: true'), objects: [['BGPPeer', 'tor', peerSpec({ ebgpMultihop: 255 })]] },
  { desc: 'peer: ebgpMultiHop false', yaml: withPeer('ebgpMultiHop: false'), objects: [['BGPPeer', 'tor', peerSpec()]] },
  { desc: 'peer: bfdProfile naming no profile in the input: no BFD, said so', yaml: withPeer('bfdProfile: fast'), objects: [['BGPPeer', 'tor', peerSpec({})]], notes: [['lost', 'spec.bfdProfile', /BFDProfile "fast" is not in the input/]], lost: 1 },
  { desc: 'peer: bfdProfile becomes spec.bfd (ms intervals, multiplier); echo mode is lost', yaml: `${withPeer('bfdProfile: fast')}---\napiVersion: ${M}\nkind: BFDProfile\nmetadata: { name: fast, namespace: metallb-system }\nspec: { receiveInterval: 100, transmitInterval: 150, detectMultiplier: 4, echoMode: true }\n`, objects: [['BGPPeer', 'tor', peerSpec({ bfd: { minRx: 100, minTx: 150, multiplier: 4 } })]], notes: [['lost', 'spec.bfdProfile', /echoMode/], ['info', 'spec.bfdProfile', /becomes spec\.bfd/]], lost: 1 },
  { desc: 'peer: one node selector', yaml: withPeer('nodeSelectors: [{ matchLabels: { rack: r1 } }]'), objects: [['BGPPeer', 'tor', peerSpec({ nodeSelector: { matchLabels: { rack: 'r1' } } })]] },
  {
    desc: 'peer: hostname selectors merge into one In',
    yaml: withPeer('nodeSelectors: [{ matchLabels: { kubernetes.io/hostname: a } }, { matchLabels: { kubernetes.io/hostname: b } }]'),
    objects: [['BGPPeer', 'tor', peerSpec({ nodeSelector: { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['a', 'b'] }] } })]],
    lost: 0,
  },
  { desc: 'peer: selectors that cannot merge keep the first', yaml: withPeer('nodeSelectors: [{ matchLabels: { a: x } }, { matchLabels: { b: y } }]'), objects: [['BGPPeer', 'tor', peerSpec({ nodeSelector: { matchLabels: { a: 'x' } } })]], notes: [['lost', 'spec.nodeSelectors', /only spec.nodeSelectors\[0\] is kept/]] },
  { desc: 'peer: an empty selector means every node', yaml: withPeer('nodeSelectors: [{}]'), objects: [['BGPPeer', 'tor', peerSpec()]] },
  { desc: 'peer: v1beta1 matchExpressions', yaml: peer('tor', '{ myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, nodeSelectors: [{ matchExpressions: [{ key: edge, operator: Exists }] }] }', 'v1beta1'), objects: [['BGPPeer', 'tor', { address: '10.0.0.1', asn: 2, holdTime: 90, nodeSelector: { matchExpressions: [{ key: 'edge', operator: 'Exists' }] } }]] },
  { desc: 'peer: sourceAddress', yaml: withPeer('sourceAddress: 10.0.0.9'), objects: [['BGPPeer', 'tor', peerSpec({ localAddress: '10.0.0.9' })]] },
  { desc: 'peer: sourceAddress of the other family', yaml: withPeer('sourceAddress: "2001:db8::9"'), notes: [['lost', 'spec.sourceAddress', /not an address of the peer's family/]] },
  { desc: 'peer: routerID is per node in edgelb', yaml: withPeer('routerID: 1.1.1.1'), objects: [['BGPPeer', 'tor', peerSpec()]], notes: [['lost', 'spec.routerID', /one router id per node/]] },
  { desc: 'peer: vrf: not converted', yaml: withPeer('vrf: red'), absent: [['BGPPeer', 'tor']], notes: [['lost', 'spec.vrf', /default VRF only .*not converted/]] },
  { desc: 'peer: unnumbered interface: not converted', yaml: peer('tor', '{ myASN: 1, peerASN: 2, interface: eth1 }'), absent: [['BGPPeer', 'tor']], notes: [['lost', 'spec.interface', /unnumbered/]] },
  { desc: 'peer: dynamicASN: not converted', yaml: peer('tor', '{ myASN: 1, dynamicASN: external, peerAddress: 10.0.0.1 }'), absent: [['BGPPeer', 'tor']], notes: [['lost', 'spec.dynamicASN', /needs the peer AS number/]] },
  { desc: 'peer: peerASN missing', yaml: peer('tor', '{ myASN: 1, peerAddress: 10.0.0.1 }'), absent: [['BGPPeer', 'tor']], notes: [['lost', 'spec.peerASN', /missing/]] },
  { desc: 'peer: peerASN above 32 bits', yaml: peer('tor', '{ myASN: 1, peerASN: 4294967296, peerAddress: 10.0.0.1 }'), absent: [['BGPPeer', 'tor']], notes: [['lost', 'spec.peerASN', /not a whole number/]] },
  { desc: 'peer: peerAddress a hostname', yaml: peer('tor', '{ myASN: 1, peerASN: 2, peerAddress: tor.example }'), absent: [['BGPPeer', 'tor']], notes: [['lost', 'spec.peerAddress', /"tor.example" is not an IP address/]] },
  { desc: 'peer: IPv6 address canonical', yaml: peer('tor', '{ myASN: 1, peerASN: 2, peerAddress: "2001:DB8:0::1" }'), objects: [['BGPPeer', 'tor', { address: '2001:db8::1', asn: 2, holdTime: 90 }]] },
  { desc: 'peer: dualStackAddressFamily', yaml: withPeer('dualStackAddressFamily: true'), objects: [['BGPPeer', 'tor', peerSpec({ families: ['ipv4', 'ipv6'] })]] },
  { desc: 'peer: disableMP needs nothing', yaml: withPeer('disableMP: true'), objects: [['BGPPeer', 'tor', peerSpec()]], notes: [['info', 'spec.disableMP', /nothing to set/]], lost: 0 },
  { desc: 'peer: enableGracefulRestart false', yaml: withPeer('enableGracefulRestart: false'), objects: [['BGPPeer', 'tor', peerSpec({ gracefulRestart: { enabled: false } })]] },
  { desc: 'peer: enableGracefulRestart true', yaml: withPeer('enableGracefulRestart: true'), objects: [['BGPPeer', 'tor', peerSpec({ gracefulRestart: { enabled: true } })]] },
  { desc: 'peer: localASN', yaml: withPeer('localASN: 65000'), notes: [['lost', 'spec.localASN', /no local-as/]] },
  { desc: 'peer: myASN missing', yaml: peer('tor', '{ peerASN: 2, peerAddress: 10.0.0.1 }'), objects: [['BGPPeer', 'tor', { address: '10.0.0.1', asn: 2, holdTime: 90 }]], notes: [['lost', 'spec.myASN', /set bgp.asn in the edgelb ConfigMap by hand/]] },
  { desc: 'peer: two local ASNs: the minority is lost', yaml: peer('a', PEER) + peer('b', '{ myASN: 64512, peerASN: 2, peerAddress: 10.0.0.2 }') + peer('c', '{ myASN: 65000, peerASN: 3, peerAddress: 10.0.0.3 }'), notes: [['todo', 'spec.myASN', /bgp.asn: 64512/], ['lost', 'spec.myASN', /BGPPeers c use local ASN 65000/]] },
  { desc: 'peer: two peers of one address: the first is written', yaml: peer('a', PEER) + peer('b', PEER), objects: [['BGPPeer', 'a', peerSpec()]], absent: [['BGPPeer', 'b']], notes: [['lost', 'address', /a second BGPPeer for 10.0.0.1/]] },
  { desc: 'peer: an unknown field', yaml: withPeer('magic: 1'), notes: [['lost', 'spec.magic', /not a field/]] },
];

for (const row of [...POOLS, ...PEERS]) test(`migrate metallb: ${row.desc}`, () => checkRow('metallb', row));

const TWO = pool('a', '{ addresses: [10.1.0.0/28] }', '{ tier: web }') + pool('b', '{ addresses: [10.2.0.0/28] }', '{ tier: db }') + peer('tor', PEER);
const policy = (prefixes: Array<[string, number, number]>, actions: Record<string, unknown>, peers = ['tor']) => ({
  prefixSets: [{ name: 'pools', prefixes: prefixes.map(([prefix, minLen, maxLen]) => ({ prefix, minLen, maxLen })) }],
  statements: [{ name: 'advertisement', match: { prefixSet: 'pools' }, actions }],
  ...(peers.length ? { peers } : {}),
});

const ADVERTISEMENTS: Row[] = [
  { desc: 'bgp adv: an empty advertisement announces every pool by BGP', yaml: TWO + bgpAdv('all', '{}'), objects: [['IPPool', 'a', base({ cidrs: ['10.1.0.0/28'] })], ['IPPool', 'b', base({ cidrs: ['10.2.0.0/28'] })]], absent: [['BGPPolicy', 'metallb-all']], lost: 0 },
  { desc: 'bgp adv: pools by name', yaml: TWO + bgpAdv('x', '{ ipAddressPools: [a] }') + l2Adv('y', '{ ipAddressPools: [b] }'), objects: [['IPPool', 'a', base({ cidrs: ['10.1.0.0/28'] })], ['IPPool', 'b', base({ cidrs: ['10.2.0.0/28'], announce: 'l2' })]] },
  { desc: 'bgp adv: pools by label selector', yaml: TWO + bgpAdv('x', '{ ipAddressPoolSelectors: [{ matchLabels: { tier: db } }] }') + l2Adv('y', '{ ipAddressPools: [a] }'), objects: [['IPPool', 'b', base({ cidrs: ['10.2.0.0/28'] })], ['IPPool', 'a', base({ cidrs: ['10.1.0.0/28'], announce: 'l2' })]] },
  { desc: 'bgp adv: an unknown pool name', yaml: TWO + bgpAdv('x', '{ ipAddressPools: [a, nope] }'), notes: [['lost', 'spec.ipAddressPools[1]', /no IPAddressPool "nope"/]] },
  { desc: 'bgp adv: a selector that selects nothing', yaml: TWO + bgpAdv('x', '{ ipAddressPoolSelectors: [{ matchLabels: { tier: none } }] }'), notes: [['lost', 'spec', /selects no IPAddressPool/]] },
  { desc: 'bgp adv: aggregationLength 32 and V6 128 are what edgelb does', yaml: TWO + bgpAdv('x', '{ aggregationLength: 32, aggregationLengthV6: 128 }'), lost: 0 },
  { desc: 'bgp adv: aggregationLength 24 cannot be carried over', yaml: TWO + bgpAdv('x', '{ aggregationLength: 24 }'), notes: [['lost', 'spec.aggregationLength', /aggregate \/24 is not announced/]], lost: 1 },
  { desc: 'bgp adv: aggregationLengthV6 64 cannot be carried over', yaml: TWO + bgpAdv('x', '{ aggregationLengthV6: 64 }'), notes: [['lost', 'spec.aggregationLengthV6', /aggregate \/64/]] },
  { desc: 'bgp adv: aggregationLength 40 is not IPv4', yaml: TWO + bgpAdv('x', '{ aggregationLength: 40 }'), notes: [['lost', 'spec.aggregationLength', /not a whole number 0..32/]] },
  { desc: 'bgp adv: localPref → a BGPPolicy on every peer', yaml: TWO + bgpAdv('x', '{ ipAddressPools: [a], localPref: 150 }'), objects: [['BGPPolicy', 'metallb-x', policy([['10.1.0.0/28', 28, 32]], { localPref: 150 })]], notes: [['info', 'spec.localPref', /iBGP peers only/]] },
  { desc: 'bgp adv: communities', yaml: TWO + bgpAdv('x', '{ ipAddressPools: [b], communities: ["65535:65282", "64512:7"] }'), objects: [['BGPPolicy', 'metallb-x', policy([['10.2.0.0/28', 28, 32]], { addCommunities: ['65535:65282', '64512:7'] })]] },
  { desc: 'bgp adv: a large community', yaml: TWO + bgpAdv('x', '{ ipAddressPools: [b], communities: ["large:64512:1:2"] }'), objects: [['BGPPolicy', 'metallb-x', policy([['10.2.0.0/28', 28, 32]], { addLargeCommunities: ['64512:1:2'] })]] },
  {
    desc: 'bgp adv: a Community alias is resolved',
    yaml: TWO + `---\napiVersion: ${M}\nkind: Community\nmetadata: { name: c, namespace: metallb-system }\nspec: { communities: [{ name: NO_ADVERTISE, value: "65535:65282" }] }\n` + bgpAdv('x', '{ ipAddressPools: [a], communities: [NO_ADVERTISE] }'),
    objects: [['BGPPolicy', 'metallb-x', policy([['10.1.0.0/28', 28, 32]], { addCommunities: ['65535:65282'] })]],
    notes: [['info', '', /aliases resolved/], ['lost', '', /no BGPAdvertisement or L2Advertisement selects this pool/]],
  },
  { desc: 'bgp adv: an unknown alias', yaml: TWO + bgpAdv('x', '{ communities: [NOPE] }'), absent: [['BGPPolicy', 'metallb-x']], notes: [['lost', 'spec.communities[0]', /neither "ASN:value".*nor the name of a Community alias/]] },
  { desc: 'bgp adv: a community part above 65535', yaml: TWO + bgpAdv('x', '{ communities: ["70000:1"] }'), notes: [['lost', 'spec.communities[0]', /above 65535/]] },
  { desc: 'bgp adv: a range becomes covering prefixes', yaml: pool('r', '{ addresses: [10.0.0.1-10.0.0.6] }') + peer('tor', PEER) + bgpAdv('x', '{ localPref: 1 }'), objects: [['BGPPolicy', 'metallb-x', policy([['10.0.0.1', 32, 32], ['10.0.0.2', 31, 32], ['10.0.0.4', 31, 32], ['10.0.0.6', 32, 32]].map(([p, l, m]) => [`${p}/${l}`, l as number, m as number]) as Array<[string, number, number]>, { localPref: 1 })]] },
  { desc: 'bgp adv: IPv6 prefixes go up to /128', yaml: pool('v6', '{ addresses: ["2001:db8::/120"] }') + peer('tor', PEER) + bgpAdv('x', '{ localPref: 1 }'), objects: [['BGPPolicy', 'metallb-x', policy([['2001:db8::/120', 120, 128]], { localPref: 1 })]] },
  { desc: 'bgp adv: named peers', yaml: TWO + peer('tor2', '{ myASN: 64512, peerASN: 2, peerAddress: 10.0.0.2 }') + bgpAdv('x', '{ ipAddressPools: [a], localPref: 9, peers: [tor2] }'), objects: [['BGPPolicy', 'metallb-x', policy([['10.1.0.0/28', 28, 32]], { localPref: 9 }, ['tor2'])]] },
  { desc: 'bgp adv: an unknown peer name', yaml: TWO + bgpAdv('x', '{ localPref: 9, peers: [ghost] }'), notes: [['lost', 'spec.peers[0]', /BGPPeer "ghost" is not in the input/]] },
  { desc: 'bgp adv: no BGPPeer in the input', yaml: pool('a', '{ addresses: [10.1.0.0/28] }') + bgpAdv('x', '{ localPref: 9 }'), objects: [['BGPPolicy', 'metallb-x', policy([['10.1.0.0/28', 28, 32]], { localPref: 9 }, [])]], notes: [['todo', 'spec.peers', /no BGPPeer in the input/]] },
  { desc: 'bgp adv: nodeSelectors cannot be carried over', yaml: TWO + bgpAdv('x', '{ nodeSelectors: [{ matchLabels: { a: b } }] }'), notes: [['lost', 'spec.nodeSelectors', /DaemonSet nodeSelector/]] },
  { desc: 'bgp adv: serviceSelectors cannot be carried over', yaml: TWO + bgpAdv('x', '{ serviceSelectors: [{ matchLabels: { a: b } }] }'), notes: [['lost', 'spec.serviceSelectors', /pool of their own/]] },
  { desc: 'l2 adv: interfaces → node.interface', yaml: TWO + l2Adv('y', '{ interfaces: [eno1] }'), notes: [['todo', 'spec.interfaces', /node.interface .*set it to eno1/]], lost: 0 },
  { desc: 'l2 adv: nodeSelectors', yaml: TWO + l2Adv('y', '{ nodeSelectors: [{ matchLabels: { a: b } }] }'), notes: [['lost', 'spec.nodeSelectors', /shard master/]] },
  { desc: 'l2 adv: preferredNodeSelectors', yaml: TWO + l2Adv('y', '{ preferredNodeSelectors: [{ weight: 1, preference: {} }] }'), notes: [['lost', 'spec.preferredNodeSelectors', /no preference/]] },
  { desc: 'BFDProfile alone: converted into the peers that name it (none here)', yaml: `apiVersion: ${M}\nkind: BFDProfile\nmetadata: { name: f, namespace: metallb-system }\nspec: { receiveInterval: 300 }\n`, notes: [['info', '', /converted into spec\.bfd/]], lost: 0 },
];

const LEGACY: Row[] = [
  {
    desc: 'legacy ConfigMap: peers, pools, communities',
    yaml: `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: config, namespace: metallb-system }\ndata:\n  config: |\n    peers:\n    - { my-asn: 64512, peer-asn: 64513, peer-address: 10.0.0.1, peer-port: 1179, hold-time: 30s, source-address: 10.0.0.5, ebgp-multihop: true, node-selectors: [{ match-labels: { edge: "y" } }] }\n    bgp-communities: { nx: "65535:65281" }\n    address-pools:\n    - { name: b, protocol: bgp, addresses: [10.9.0.0/28], avoid-buggy-ips: true, bgp-advertisements: [{ localpref: 50, communities: [nx] }] }\n    - { name: l, protocol: layer2, auto-assign: false, addresses: [10.9.1.1-10.9.1.9] }\n`,
    objects: [
      ['BGPPeer', 'peer1', { address: '10.0.0.1', asn: 64513, port: 1179, holdTime: 30, ebgpMultihop: 255, nodeSelector: { matchLabels: { edge: 'y' } }, localAddress: '10.0.0.5' }],
      ['IPPool', 'b', base({ cidrs: ['10.9.0.0/28'], avoidBuggyIPs: true })],
      ['IPPool', 'l', base({ ranges: ['10.9.1.1-10.9.1.9'], autoAssign: false, announce: 'l2' })],
      ['BGPPolicy', 'metallb-b-bgp-1', policy([['10.9.0.0/28', 28, 32]], { localPref: 50, addCommunities: ['65535:65281'] }, ['peer1'])],
    ],
    notes: [['todo', 'spec.myASN', /bgp.asn: 64512/]],
    lost: 0,
  },
  { desc: 'legacy ConfigMap: a pool of protocol ospf', yaml: `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: config }\ndata:\n  config: |\n    address-pools: [{ name: o, protocol: ospf, addresses: [10.0.0.0/28] }]\n`, notes: [['lost', /protocol$/, /neither bgp nor layer2/]] },
  { desc: 'legacy ConfigMap: a pool without a name', yaml: `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: config }\ndata:\n  config: |\n    address-pools: [{ protocol: bgp, addresses: [10.0.0.0/28] }]\n`, notes: [['lost', 'data.config.address-pools[0]', /without a name/]] },
  { desc: 'legacy ConfigMap: config that is not YAML', yaml: `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: config }\ndata:\n  config: "peers: [unclosed"\n`, notes: [['lost', 'data.config', /not YAML/]] },
  { desc: 'legacy ConfigMap: an unknown key', yaml: `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: config }\ndata:\n  config: "speakers: []"\n`, notes: [['lost', 'data.config.speakers', /not a MetalLB config key/]] },
  { desc: 'legacy ConfigMap: bfd-profiles', yaml: `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: config }\ndata:\n  config: "bfd-profiles: [{ name: x }]"\n`, notes: [['lost', 'data.config.bfd-profiles', /spec\.bfd/]] },
  { desc: 'AddressPool v1beta1 with protocol layer2', yaml: `apiVersion: metallb.io/v1beta1\nkind: AddressPool\nmetadata: { name: old, namespace: metallb-system }\nspec: { protocol: layer2, addresses: [10.5.0.0/29] }\n`, objects: [['IPPool', 'old', base({ cidrs: ['10.5.0.0/29'], announce: 'l2' })]], notes: [['info', '', /AddressPool .* read as an IPAddressPool/]] },
  { desc: 'AddressPool v1alpha1 with bgpAdvertisements', yaml: `apiVersion: metallb.io/v1alpha1\nkind: AddressPool\nmetadata: { name: old }\nspec: { protocol: bgp, addresses: [10.5.0.0/29], bgpAdvertisements: [{ aggregationLength: 28 }] }\n`, notes: [['lost', 'spec.aggregationLength', /aggregate \/28/]] },
  { desc: 'an unknown MetalLB kind', yaml: `apiVersion: ${M}\nkind: ServiceL2Status\nmetadata: { name: s }\n`, notes: [['lost', 'kind', /ServiceL2Status is not one edgelb converts/]] },
  { desc: 'an unknown apiVersion of a known kind', yaml: pool('p', '{ addresses: [10.0.0.0/28] }').replace(M, 'metallb.io/v2'), absent: [['IPPool', 'p']], notes: [['lost', 'apiVersion', /unknown apiVersion for IPAddressPool/]] },
  { desc: 'a kube-loxilb object given to metallb', yaml: 'apiVersion: bgppeer.loxilb.io/v1\nkind: BGPPeerService\nmetadata: { name: x }\nspec: { ipAddress: 10.0.0.1, remoteAs: 1 }\n', notes: [['lost', '', /edgelb migrate kube-loxilb/]] },
  { desc: 'a Deployment given to metallb', yaml: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: x }\n', notes: [['lost', '', /not a MetalLB object/]] },
  { desc: 'a Secret is only mentioned', yaml: 'apiVersion: v1\nkind: Secret\nmetadata: { name: md5 }\n', notes: [['info', '', /copy it into edgelb-system/]], lost: 0 },
];

for (const row of [...ADVERTISEMENTS, ...LEGACY]) test(`migrate metallb: ${row.desc}`, () => checkRow('metallb', row));
