// Config table, invalid files: each row is rejected whole and reports exactly the expected paths
// (no more, no fewer). Run by config-invalid.test.ts.
import { peer, svc, type Row } from './config-fixtures.js';

export const INVALID_ROWS: Row[] = [
  { desc: 'an empty file', yaml: '', errors: ['node.name', 'node.interface', 'node.routerId'], message: 'required' },
  { desc: 'a list at the top', yaml: '- a\n- b\n', errors: ['', 'node.name', 'node.interface', 'node.routerId'] },
  { desc: 'peer asn 0', edit: (c) => void (peer(c).asn = 0), errors: ['bgp.peers[0].asn'], message: 'must be 1..4294967295' },
  { desc: 'peer asn 2^32', edit: (c) => void (peer(c).asn = 4294967296), errors: ['bgp.peers[0].asn'], message: 'must be 1..4294967295' },
  { desc: 'peer asn as text', edit: (c) => void (peer(c).asn = 'sixty'), errors: ['bgp.peers[0].asn'], message: 'must be 1..4294967295' },
  { desc: 'peer without asn', edit: (c) => void delete peer(c).asn, errors: ['bgp.peers[0].asn'], message: 'required' },
  { desc: 'bgp asn missing', edit: (c) => void delete c.bgp.asn, errors: ['bgp.asn'] },
  { desc: 'holdTime 1', edit: (c) => void (peer(c).holdTime = 1), errors: ['bgp.peers[0].holdTime'], message: 'must be 0 or 3..65535' },
  { desc: 'holdTime 2', edit: (c) => void (peer(c).holdTime = 2), errors: ['bgp.peers[0].holdTime'] },
  { desc: 'holdTime 70000', edit: (c) => void (peer(c).holdTime = 70000), errors: ['bgp.peers[0].holdTime'] },
  { desc: 'keepalive not below holdTime', edit: (c) => void Object.assign(peer(c), { holdTime: 9, keepalive: 9 }), errors: ['bgp.peers[0].keepalive'] },
  {
    desc: 'duplicate peer address',
    edit: (c) => void c.bgp.peers.push({ address: '10.0.0.1', asn: 64999 }),
    errors: ['bgp.peers[1].address'],
    message: 'duplicate of bgp.peers[0]',
  },
  { desc: 'peer address not an IP', edit: (c) => void (peer(c).address = 'router1'), errors: ['bgp.peers[0].address'], message: 'must be an IP address' },
  { desc: 'link-local peer with a zone', edit: (c) => void (peer(c).address = 'fe80::1%eth0'), errors: ['bgp.peers[0].address'], message: 'without a zone' },
  { desc: 'passive peer with listenPort 0', edit: (c) => void ((c.bgp.listenPort = 0), (peer(c).passive = true)), errors: ['bgp.peers[0].passive'] },
  { desc: 'passwordFile missing', edit: (c) => void (peer(c).passwordFile = 'nope.key'), errors: ['bgp.peers[0].passwordFile'], message: 'cannot read /etc/edgelb/nope.key (ENOENT)' },
  { desc: 'passwordFile empty', edit: (c) => void (peer(c).passwordFile = 'empty.key'), errors: ['bgp.peers[0].passwordFile'], message: 'is empty' },
  { desc: 'password over 80 bytes', edit: (c) => void (peer(c).passwordFile = 'long.key'), errors: ['bgp.peers[0].passwordFile'], message: '80 bytes' },
  { desc: 'bfd multiplier 0', edit: (c) => void (peer(c).bfd = { multiplier: 0 }), errors: ['bgp.peers[0].bfd.multiplier'], message: '1..255' },
  { desc: 'bfd minRx below 10 ms', edit: (c) => void (peer(c).bfd = { minRx: '1ms' }), errors: ['bgp.peers[0].bfd.minRx'], message: 'duration' },
  { desc: 'bfd unknown key', edit: (c) => void (peer(c).bfd = { echo: true }), errors: ['bgp.peers[0].bfd.echo'] },
  { desc: 'bfd auth type unknown', edit: (c) => void (peer(c).bfd = { auth: { type: 'sha256', keyId: 1, keyFile: 'peer.key' } }), errors: ['bgp.peers[0].bfd.auth.type'] },
  { desc: 'bfd MD5 key over 16 bytes', edit: (c) => void (peer(c).bfd = { auth: { type: 'keyed-md5', keyId: 1, keyFile: 'long.key' } }), errors: ['bgp.peers[0].bfd.auth.keyFile'], message: '1..16 bytes' },
  { desc: 'bfd key file missing', edit: (c) => void (peer(c).bfd = { auth: { type: 'keyed-sha1', keyId: 1, keyFile: 'nope.key' } }), errors: ['bgp.peers[0].bfd.auth.keyFile'], message: 'ENOENT' },
  { desc: 'inline password is refused', edit: (c) => void (peer(c).password = 'x'), errors: ['bgp.peers[0].password'], message: 'passwordFile' },
  { desc: 'unknown key with a hint', edit: (c) => void (peer(c).holdtime = 9), errors: ['bgp.peers[0].holdtime'], message: 'did you mean holdTime?' },
  { desc: 'unknown top-level key', edit: (c) => void (c.servces = []), errors: ['servces'], message: 'did you mean services?' },
  { desc: 'localAddress of the other family', edit: (c) => void (peer(c).localAddress = '2001:db8::1'), errors: ['bgp.peers[0].localAddress'] },
  { desc: 'unknown export policy', edit: (c) => void (peer(c).exportPolicies = ['nope']), errors: ['bgp.peers[0].exportPolicies[0]'], message: 'unknown policy "nope"' },
  { desc: 'bad community', edit: (c) => void (c.bgp.communities = ['65000:1', '70000:1']), errors: ['bgp.communities[1]'] },
  { desc: 'bad large community', edit: (c) => void (c.bgp.largeCommunities = ['1:2']), errors: ['bgp.largeCommunities[0]'] },
  { desc: 'peers not a list', edit: (c) => void (c.bgp.peers = { address: '10.0.0.1' }), errors: ['bgp.peers'], message: 'must be a list' },
  { desc: 'VIP inside no pool', edit: (c) => void (svc(c).vip = '192.168.99.1'), errors: ['services[0].vip'], message: 'never announces' },
  { desc: 'unknown pool', edit: (c) => void (svc(c).pool = 'other'), errors: ['services[0].pool'], message: 'unknown pool "other"' },
  {
    desc: 'VIP inside another pool than the one named',
    edit: (c) => {
      c.pools.push({ name: 'b', cidrs: ['10.9.0.0/24'] });
      svc(c).pool = 'b';
    },
    errors: ['services[0].vip'],
    message: 'not inside pool "b"',
  },
  {
    desc: 'vips in two pools',
    edit: (c) => {
      c.pools.push({ name: 'b', cidrs: ['10.9.0.0/24'] });
      delete svc(c).vip;
      svc(c).vips = ['192.168.80.241', '10.9.0.1'];
    },
    errors: ['services[0].vips[1]'],
    message: 'but vips[0] is inside pool "default" (one pool per service)',
  },
  { desc: 'neither vip nor pool', edit: (c) => void delete svc(c).vip, errors: ['services[0].pool'], message: 'give vip, vips or pool' },
  { desc: 'both vip and vips', edit: (c) => void (svc(c).vips = ['192.168.80.242']), errors: ['services[0].vips'] },
  { desc: 'duplicate vips', edit: (c) => void (delete svc(c).vip, (svc(c).vips = ['192.168.80.242', '192.168.80.242'])), errors: ['services[0].vips[1]'] },
  {
    desc: 'shard >= shards',
    edit: (c) => void ((c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'], shards: 3 }), (svc(c).shard = 3)),
    errors: ['services[0].shard'],
    message: 'must be 0..2 (cluster.shards is 3)',
  },
  { desc: 'shard 1 without a cluster', edit: (c) => void (svc(c).shard = 1), errors: ['services[0].shard'], message: 'must be 0..0' },
  {
    desc: 'duplicate service names',
    edit: (c) => void c.services.push({ name: 'web', vip: '192.168.80.242', ports: [80], endpoints: ['10.0.1.2'] }),
    errors: ['services[1].name'],
  },
  {
    desc: 'the same VIP and port in two services',
    edit: (c) => void c.services.push({ name: 'web2', vip: '192.168.80.241', ports: [{ port: 80 }], endpoints: ['10.0.1.2'] }),
    errors: ['services[1].ports[0]'],
    message: 'already used by service "web"',
  },
  { desc: 'dsr with a different targetPort', edit: (c) => void ((svc(c).mode = 'dsr'), (svc(c).ports = [{ port: 80, targetPort: 8080 }])), errors: ['services[0].ports[0].targetPort'] },
  { desc: 'IPv6 endpoint behind an IPv4 VIP', edit: (c) => void (svc(c).endpoints = ['10.0.1.2', '2001:db8::2']), errors: ['services[0].endpoints[1]'] },
  { desc: 'duplicate endpoints', edit: (c) => void (svc(c).endpoints = ['10.0.1.2', '10.0.1.2']), errors: ['services[0].endpoints[1]'] },
  { desc: 'port out of range and bad protocol', edit: (c) => void (svc(c).ports = [{ port: 0 }, { port: 80, protocol: 'sctp' }]), errors: ['services[0].ports[0].port', 'services[0].ports[1].protocol'] },
  { desc: 'port given as text', edit: (c) => void (svc(c).ports = ['80']), errors: ['services[0].ports[0]'] },
  { desc: 'no ports', edit: (c) => void (svc(c).ports = []), errors: ['services[0].ports'] },
  { desc: 'bad mode', edit: (c) => void (svc(c).mode = 'nat'), errors: ['services[0].mode'], message: 'must be one of dnat, onearm, fullnat, dsr' },
  { desc: 'probe timeout above its interval', edit: (c) => void (svc(c).probe = { type: 'tcp', interval: '500ms', timeout: '2s' }), errors: ['services[0].probe.timeout'] },
  { desc: 'probe path on a tcp probe', edit: (c) => void (svc(c).probe = { type: 'tcp', path: '/x' }), errors: ['services[0].probe.path'] },
  { desc: 'probe interval not a duration', edit: (c) => void (svc(c).probe = { type: 'tcp', interval: 'often' }), errors: ['services[0].probe.interval'], message: 'must be a duration' },
  { desc: 'services not a list', edit: (c) => void (c.services = { web: {} }), errors: ['services'] },
  { desc: 'pool CIDR with host bits', edit: (c) => void (c.pools[0].cidrs = ['192.168.80.241/28']), errors: ['pools[0].cidrs[0]'], message: 'did you mean 192.168.80.240/28?' },
  { desc: 'pool CIDR not a prefix', edit: (c) => void (c.pools[0].cidrs = ['192.168.80.241']), errors: ['pools[0].cidrs[0]'] },
  {
    desc: 'overlapping pools',
    edit: (c) => void c.pools.push({ name: 'b', cidrs: ['192.168.80.0/24'] }),
    errors: ['pools[1].cidrs[0]'],
    message: 'overlaps pools[0].cidrs[0]',
  },
  { desc: 'duplicate pool names', edit: (c) => void c.pools.push({ name: 'default', cidrs: ['10.9.0.0/24'] }), errors: ['pools[1].name'] },
  { desc: 'pool without CIDRs', edit: (c) => void (c.pools = [{ name: 'default' }]), errors: ['pools[0].cidrs'] },
  { desc: 'pool range reversed', edit: (c) => void (c.pools[0].ranges = ['10.0.0.9-10.0.0.1']), errors: ['pools[0].ranges[0]'] },
  { desc: 'bgp pool without bgp', edit: (c) => void (delete c.bgp, (c.pools[0].announce = 'both')), errors: ['pools[0].announce'] },
  {
    desc: 'pool exhausted',
    edit: (c) => {
      c.pools = [{ name: 'tiny', cidrs: ['10.7.0.0/30'] }];
      c.services = ['a', 'b', 'c'].map((n) => ({ name: n, pool: 'tiny', ports: [80], endpoints: ['10.0.1.2'] }));
    },
    errors: ['services[2].pool'],
    message: 'no free address',
  },
  { desc: 'autoAssign off with a pool-only service', edit: (c) => void ((c.pools[0].autoAssign = false), delete svc(c).vip, (svc(c).pool = 'default')), errors: ['services[0].pool'] },
  { desc: 'cluster of two without keyFile', edit: (c) => void (c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11', '10.0.0.12'] }), errors: ['cluster.keyFile'] },
  { desc: 'cluster keyFile missing', edit: (c) => void (c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'], keyFile: 'none.key' }), errors: ['cluster.keyFile'] },
  { desc: 'cluster listen not a member', edit: (c) => void (c.cluster = { listen: '10.0.0.99:11112', members: ['10.0.0.11'] }), errors: ['cluster.listen'] },
  { desc: 'cluster duplicate members', edit: (c) => void (c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11', '10.0.0.11:11112'] }), errors: ['cluster.members[1]'] },
  {
    desc: 'cluster deadAfter too short',
    edit: (c) => void (c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'], heartbeatInterval: '100ms', deadAfter: '150ms' }),
    errors: ['cluster.deadAfter'],
  },
  {
    desc: 'cluster sync port equal to the heartbeat port',
    edit: (c) => void (c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'], sync: { port: 11112 } }),
    errors: ['cluster.sync.port'],
  },
  {
    desc: 'cluster sync: two nodes with one SNAT address',
    edit: (c) => void (c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'], sync: { snatAddresses: { a: '10.0.0.31', b: '10.0.0.31' } } }),
    errors: ['cluster.sync.snatAddresses.b'],
  },
  {
    desc: 'cluster sync: an IPv4 address among the IPv6 SNAT addresses',
    edit: (c) => void (c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'], sync: { snatAddresses6: { a: '10.0.0.31' } } }),
    errors: ['cluster.sync.snatAddresses6.a'],
  },
  {
    desc: 'cluster sync: an IPv6 SNAT address with a zone',
    edit: (c) => void (c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'], sync: { snatAddresses6: { a: 'fe80::1%eth0' } } }),
    errors: ['cluster.sync.snatAddresses6.a'],
  },
  {
    desc: 'cluster sync: two nodes with one IPv6 SNAT address (written two ways)',
    edit: (c) => void (c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'], sync: { snatAddresses6: { a: 'fd00::31', b: 'FD00:0::31' } } }),
    errors: ['cluster.sync.snatAddresses6.b'],
  },
  {
    desc: 'cluster sync: an IPv6 SNAT address (onearm SNAT addresses are IPv4)',
    edit: (c) => void (c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'], sync: { snatAddresses: { a: 'fd00::31' } } }),
    errors: ['cluster.sync.snatAddresses.a'],
  },
  {
    desc: 'cluster sync: unknown key',
    edit: (c) => void (c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'], sync: { prot: 11113 } }),
    errors: ['cluster.sync.prot'],
  },
  {
    desc: 'cluster sync: queue limit 0',
    edit: (c) => void (c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'], sync: { queueLimit: 0 } }),
    errors: ['cluster.sync.queueLimit'],
  },
  {
    desc: 'a broken cluster section does not also flag every shard',
    edit: (c) => void ((c.cluster = { listen: 'nowhere', members: ['10.0.0.11'], shards: 3 }), (svc(c).shard = 2)),
    errors: ['cluster.listen'],
  },
  { desc: 'non-loopback API without a token', edit: (c) => void (c.api = { listen: '0.0.0.0:11111' }), errors: ['api.token'], message: 'required when api.listen is not a loopback address' },
  { desc: 'API listen with a host name', edit: (c) => void (c.api = { listen: 'localhost:11111' }), errors: ['api.listen'] },
  { desc: 'API token and tokenFile', edit: (c) => void (c.api = { token: 'a', tokenFile: 'b' }), errors: ['api.tokenFile'] },
  { desc: 'routerId IPv6', edit: (c) => void (c.node.routerId = '2001:db8::1'), errors: ['node.routerId'], message: 'must be an IPv4 address' },
  { desc: 'routerId missing and not found on the interface', edit: (c) => void delete c.node.routerId, errors: ['node.routerId'], message: 'has no IPv4 address' },
  { desc: 'interface name too long', edit: (c) => void (c.node.interface = 'a-very-long-interface0'), errors: ['node.interface'] },
  { desc: 'interface ".." (would name /proc/sys/net/ipv4/forwarding)', edit: (c) => void (c.node.interface = '..'), errors: ['node.interface'] },
  { desc: 'interface "."', edit: (c) => void (c.node.interface = '.'), errors: ['node.interface'] },
  { desc: 'node name with a space', edit: (c) => void (c.node.name = 'edge 1'), errors: ['node.name'] },
  { desc: 'Kubernetes mode without NODE_NAME', opts: { kubernetes: true }, edit: (c) => void delete c.node.name, errors: ['node.name'], message: 'NODE_NAME', },
  { desc: 'maglevSize not prime', edit: (c) => void (c.dataplane = { maglevSize: 65536 }), errors: ['dataplane.maglevSize'], message: 'prime' },
  { desc: 'bad attachMode', edit: (c) => void (c.dataplane = { attachMode: 'offload' }), errors: ['dataplane.attachMode'] },
  { desc: 'conntrackSize too small', edit: (c) => void (c.dataplane = { conntrackSize: 10 }), errors: ['dataplane.conntrackSize'] },
  { desc: 'tcpSynTimeout 0', edit: (c) => void (c.dataplane = { tcpSynTimeout: 0 }), errors: ['dataplane.tcpSynTimeout'] },
  { desc: 'tcpSynTimeout not an integer', edit: (c) => void (c.dataplane = { tcpSynTimeout: 2.5 }), errors: ['dataplane.tcpSynTimeout'] },
  { desc: 'tcpFinTimeout too large', edit: (c) => void (c.dataplane = { tcpFinTimeout: 3601 }), errors: ['dataplane.tcpFinTimeout'] },
  { desc: 'tcpRstTimeout a string', edit: (c) => void (c.dataplane = { tcpRstTimeout: '2s' }), errors: ['dataplane.tcpRstTimeout'] },
  { desc: 'snatClientShare 0 %', edit: (c) => void (c.dataplane = { snatClientShare: 0 }), errors: ['dataplane.snatClientShare'] },
  { desc: 'snatClientShare over 100 %', edit: (c) => void (c.dataplane = { snatClientShare: 101 }), errors: ['dataplane.snatClientShare'] },
  { desc: 'icmpEchoRate negative', edit: (c) => void (c.dataplane = { icmpEchoRate: -1 }), errors: ['dataplane.icmpEchoRate'] },
  { desc: 'rstUnserved not a boolean', edit: (c) => void (c.dataplane = { rstUnserved: 'yes please' }), errors: ['dataplane.rstUnserved'] },
  { desc: 'flowHashKey too short', edit: (c) => void (c.dataplane = { flowHashKey: 'short' }), errors: ['dataplane.flowHashKey'] },
  { desc: 'flowHashKey a number', edit: (c) => void (c.dataplane = { flowHashKey: 1234567890123456789 }), errors: ['dataplane.flowHashKey'] },
  { desc: 'flowHashKeyFile and flowHashKey both', edit: (c) => void (c.dataplane = { flowHashKey: 'a cluster-wide secret', flowHashKeyFile: 'cluster.key' }), errors: ['dataplane.flowHashKeyFile'] },
  { desc: 'flowHashKeyFile missing', edit: (c) => void (c.dataplane = { flowHashKeyFile: 'no-such.key' }), errors: ['dataplane.flowHashKeyFile'] },
  { desc: 'flowHashKeyFile not a path', edit: (c) => void (c.dataplane = { flowHashKeyFile: 42 }), errors: ['dataplane.flowHashKeyFile'] },
  { desc: 'garpInterval not a duration', edit: (c) => void (c.l2 = { garpInterval: 'fast' }), errors: ['l2.garpInterval'] },
  { desc: 'l2 refreshInterval negative', edit: (c) => void (c.l2 = { refreshInterval: -1 }), errors: ['l2.refreshInterval'] },
  {
    desc: 'policy statement refers to an unknown prefix set',
    edit: (c) => void (c.policies = [{ name: 'p', statements: [{ name: 's', match: { prefixSet: 'nope' } }] }]),
    errors: ['policies[0].statements[0].match.prefixSet'],
  },
  {
    desc: 'policy prefix set lengths out of order',
    edit: (c) => void (c.policies = [{ name: 'p', prefixSets: { v: [{ prefix: '10.0.0.0/16', minLen: 8, maxLen: 40 }] } }]),
    errors: ['policies[0].prefixSets.v[0].minLen', 'policies[0].prefixSets.v[0].maxLen'],
  },
  { desc: 'duplicate policy names', edit: (c) => void (c.policies = [{ name: 'p' }, { name: 'p' }]), errors: ['policies[1].name'] },
  { desc: 'policy med out of range', edit: (c) => void (c.policies = [{ name: 'p', statements: [{ name: 's', actions: { med: -1 } }] }]), errors: ['policies[0].statements[0].actions.med'] },
  {
    desc: 'three errors in three sections are all reported',
    edit: (c) => {
      c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'], shards: 3 };
      c.bgp.peers.push({ address: '10.0.0.2', asn: 0 });
      svc(c).vip = '192.168.99.1';
      c.services.push({ name: 'api', pool: 'default', shard: 3, ports: [443], endpoints: ['10.0.1.3'] });
    },
    errors: ['bgp.peers[1].asn', 'services[0].vip', 'services[1].shard'],
  },
  {
    desc: 'a bad pool is reported once: services using it add no errors',
    edit: (c) => {
      c.pools[0].cidrs = ['192.168.80.241/28'];
      c.services.push({ name: 'api', pool: 'default', ports: [443], endpoints: ['10.0.1.3'] });
    },
    errors: ['pools[0].cidrs[0]'],
  },
  {
    desc: 'errors in every section at once',
    edit: (c) => {
      c.node.interface = '';
      c.api = { listen: '1.2.3.4' };
      peer(c).holdTime = 1;
      c.pools.push({ name: 'x', cidrs: [], announce: 'nope' });
      svc(c).ports = [{ port: 99999 }];
      c.dataplane = { maglevSize: 4 };
      c.l2 = { garpCount: -1 };
    },
    errors: [
      'node.interface', 'api.listen', 'bgp.peers[0].holdTime', 'pools[1].announce', 'pools[1].cidrs',
      'services[0].ports[0].port', 'dataplane.maglevSize', 'l2.garpCount',
    ],
  },
];
