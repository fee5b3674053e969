// Config table, valid files: each row gives the DesiredState with every default filled (and,
// when listed, exactly the expected warnings). Run by config-valid.test.ts.
import assert from 'node:assert/strict';
import { fnv1a32 } from '../../src/config/hash.js';
import { peer, svc, type Row } from './config-fixtures.js';

export const VALID_ROWS: Row[] = [
  {
    desc: 'the base file, with every default filled',
    check: (s) => {
      assert.deepEqual(s.api, { listen: '127.0.0.1:11111' });
      assert.deepEqual(s.dataplane, { attachMode: 'auto', maglevSize: 65537, conntrackSize: 65536, enabled: true, tcpSynTimeout: 5, tcpFinTimeout: 10, tcpRstTimeout: 2, snatClientShare: 10, icmpEchoRate: 1000, rstUnserved: false });
      assert.deepEqual(s.l2, { garpCount: 3, garpIntervalMs: 200, refreshIntervalMs: 10000 });
      assert.equal(s.cluster, undefined);
      assert.deepEqual(s.bgp, {
        asn: 64513,
        routerId: '10.0.0.11',
        listenPort: 179,
        communities: [],
        largeCommunities: [],
        peers: [
          {
            address: '10.0.0.1', asn: 64512, port: 179, holdTime: 9, passive: false, connectRetry: 5, idleHold: 1,
            gracefulRestart: true, restartTime: 30, families: ['ipv4'], exportPolicies: [], maxPrefixes: 10000,
          },
        ],
      });
      assert.deepEqual(s.pools, [
        { name: 'default', cidrs: ['192.168.80.240/28'], ranges: [], announce: 'bgp', bgpMode: 'ecmp', avoidBuggyIPs: false, autoAssign: true },
      ]);
      assert.deepEqual(s.services, [
        {
          name: 'web', vips: ['192.168.80.241'], pool: 'default', shard: 0, mode: 'onearm',
          ports: [{ port: 80, protocol: 'tcp', targetPort: 80 }], endpoints: [{ address: '10.0.1.2', ready: true }],
          probe: { type: 'none', intervalMs: 1000, timeoutMs: 1000, retries: 2 }, epSelect: 'maglev', timeoutSec: 300,
          withdrawWhenUnhealthy: true, localOnly: false,
        },
      ]);
      assert.deepEqual(s.policies, []);
    },
  },
  {
    desc: 'a node without bgp, pools default to l2',
    edit: (c) => {
      delete c.bgp;
    },
    check: (s) => {
      assert.equal(s.bgp, undefined);
      assert.equal(s.pools[0]!.announce, 'l2');
    },
  },
  {
    desc: 'only a node section (no pools, no services)',
    edit: () => ({ node: { name: 'n1', routerId: '10.0.0.1', interface: 'eth0' } }),
    check: (s) => {
      assert.deepEqual(s.pools, []);
      assert.deepEqual(s.services, []);
    },
  },
  {
    desc: 'routerId falls back to the interface address',
    edit: (c) => {
      delete c.node.routerId;
    },
    opts: { interfaceAddress: (i) => (i === 'eth0' ? '10.9.9.9' : undefined) },
    check: (s) => {
      assert.equal(s.node.routerId, '10.9.9.9');
      assert.equal(s.bgp!.routerId, '10.9.9.9');
    },
  },
  {
    desc: 'bgp.routerId overrides node.routerId',
    edit: (c) => {
      c.bgp.routerId = '10.0.0.99';
    },
    check: (s) => assert.equal(s.bgp!.routerId, '10.0.0.99'),
  },
  {
    desc: 'durations: ms, s, m and bare seconds',
    edit: (c) => {
      svc(c).probe = { type: 'tcp', interval: '2m', timeout: 1.5, retries: 3 };
      c.l2 = { garpInterval: '150ms', refreshInterval: 0, garpCount: 5 };
    },
    check: (s) => {
      assert.deepEqual(s.services[0]!.probe, { type: 'tcp', port: 80, intervalMs: 120000, timeoutMs: 1500, retries: 3 });
      assert.deepEqual(s.l2, { garpCount: 5, garpIntervalMs: 150, refreshIntervalMs: 0 });
    },
  },
  {
    desc: 'http probe defaults its port to the first targetPort and its path to /',
    edit: (c) => {
      svc(c).ports = [{ port: 80, targetPort: 8080 }, 443];
      svc(c).probe = { type: 'http' };
    },
    check: (s) => {
      assert.deepEqual(s.services[0]!.ports, [
        { port: 80, protocol: 'tcp', targetPort: 8080 },
        { port: 443, protocol: 'tcp', targetPort: 443 },
      ]);
      assert.equal(s.services[0]!.probe.port, 8080);
      assert.equal(s.services[0]!.probe.path, '/');
    },
  },
  {
    desc: 'pool-only service gets the first address after the network address',
    edit: (c) => {
      delete svc(c).vip;
      svc(c).pool = 'default';
    },
    check: (s) => assert.deepEqual(s.services[0]!.vips, ['192.168.80.241']),
  },
  {
    desc: 'allocation skips explicit VIPs of every service, then goes in file order',
    edit: (c) => {
      c.services = [
        { name: 'a', pool: 'default', ports: [80], endpoints: ['10.0.1.2'] },
        { name: 'b', vip: '192.168.80.241', ports: [80], endpoints: ['10.0.1.2'] },
        { name: 'c', pool: 'default', ports: [80], endpoints: ['10.0.1.2'] },
      ];
    },
    check: (s) => assert.deepEqual(s.services.map((x) => x.vips[0]), ['192.168.80.242', '192.168.80.241', '192.168.80.243']),
  },
  {
    desc: 'many pool-only services get consecutive free addresses across CIDRs, around explicit ones',
    edit: (c) => {
      c.pools = [{ name: 'p', cidrs: ['10.8.0.0/29', '10.8.1.0/24'] }];
      c.services = [];
      for (let i = 0; i < 40; i++) c.services.push({ name: `s${i}`, pool: 'p', ports: [80], endpoints: ['10.0.1.2'] });
      c.services.push({ name: 'x1', vip: '10.8.0.3', ports: [80], endpoints: ['10.0.1.2'] });
      c.services.push({ name: 'x2', vip: '10.8.1.5', ports: [80], endpoints: ['10.0.1.2'] });
    },
    check: (s) => {
      const got = s.services.slice(0, 40).map((x) => x.vips[0]);
      // /29: .1 .2 (.3 taken) .4 .5 .6 (not .0, not .7); then the /24 from .1, skipping .5
      const want = ['10.8.0.1', '10.8.0.2', '10.8.0.4', '10.8.0.5', '10.8.0.6'];
      for (let h = 1; want.length < 40; h++) if (h !== 5) want.push(`10.8.1.${h}`);
      assert.deepEqual(got, want);
    },
  },
  {
    desc: 'a /32 pool allocates its single address',
    edit: (c) => {
      c.pools = [{ name: 'one', cidrs: ['192.168.80.7/32'] }];
      c.services = [{ name: 'a', pool: 'one', ports: [80], endpoints: ['10.0.1.2'] }];
    },
    check: (s) => assert.deepEqual(s.services[0]!.vips, ['192.168.80.7']),
  },
  {
    desc: 'avoidBuggyIPs skips .255 and .0 in a range',
    edit: (c) => {
      c.pools = [{ name: 'r', ranges: ['10.5.0.255-10.5.1.3'], avoidBuggyIPs: true }];
      c.services = [{ name: 'a', pool: 'r', ports: [80], endpoints: ['10.0.1.2'] }];
    },
    check: (s) => assert.deepEqual(s.services[0]!.vips, ['10.5.1.1']),
  },
  {
    desc: 'IPv6 addresses are canonicalised and allocation works on IPv6 pools',
    edit: (c) => {
      c.pools = [{ name: 'v6', cidrs: ['2001:DB8:0:0::/126'] }];
      c.services = [
        { name: 'a', vip: '2001:db8:0::0', ports: [80], endpoints: ['2001:db8:1::2'] },
        { name: 'b', pool: 'v6', ports: [80], endpoints: ['2001:db8:1::3'] },
      ];
    },
    check: (s) => {
      assert.deepEqual(s.pools[0]!.cidrs, ['2001:db8::/126']);
      assert.deepEqual(s.services.map((x) => x.vips[0]), ['2001:db8::', '2001:db8::1']);
    },
  },
  {
    desc: 'dual-stack vips in one pool, endpoints of both families',
    edit: (c) => {
      c.pools[0].cidrs.push('2001:db8::/64');
      svc(c).vips = ['192.168.80.241', '2001:db8::10'];
      delete svc(c).vip;
      svc(c).endpoints = ['10.0.1.2', '2001:db8:1::2'];
    },
    check: (s) => assert.deepEqual(s.services[0]!.vips, ['192.168.80.241', '2001:db8::10']),
  },
  {
    desc: 'shard defaults to fnv1a(name) mod shards',
    edit: (c) => {
      c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'], shards: 7 };
      c.services = ['alpha', 'beta', 'gamma'].map((n, i) => ({ name: n, vip: `192.168.80.24${i + 1}`, ports: [80], endpoints: ['10.0.1.2'] }));
    },
    check: (s) => {
      assert.deepEqual(s.services.map((x) => x.shard), ['alpha', 'beta', 'gamma'].map((n) => fnv1a32(n) % 7));
      assert.deepEqual(s.cluster, {
        listen: '10.0.0.11:11112', members: ['10.0.0.11:11112'], shards: 7, heartbeatIntervalMs: 30, deadAfterMs: 150, holdDownMs: 5000, realtimePriority: 10,
      });
    },
  },
  {
    desc: 'a three-node cluster with a key file; members normalised to host:port',
    edit: (c) => {
      c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11', '10.0.0.12:9999', '10.0.0.13'], keyFile: 'cluster.key', shards: 3 };
      svc(c).shard = 2;
    },
    check: (s) => {
      assert.deepEqual(s.cluster!.members, ['10.0.0.11:11112', '10.0.0.12:9999', '10.0.0.13:11112']);
      assert.equal(s.cluster!.keyFile, '/etc/edgelb/cluster.key');
      assert.equal(s.services[0]!.shard, 2);
    },
  },
  {
    desc: 'connection sync: default port (heartbeat port + 1), SNAT addresses by node name, defaults',
    edit: (c) => {
      c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11', '10.0.0.12'], keyFile: 'cluster.key', sync: { snatAddresses: { 'edge-1': '10.0.0.31', 'edge-2': '10.0.0.32' } } };
    },
    check: (s) => {
      assert.deepEqual(s.cluster!.sync, { port: 11113, snatAddresses: { 'edge-1': '10.0.0.31', 'edge-2': '10.0.0.32' }, refreshMs: 2000, queueLimit: 65536 });
    },
  },
  {
    desc: 'connection sync: IPv6 SNAT addresses beside the IPv4 ones (canonical)',
    edit: (c) => {
      c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11', '10.0.0.12'], keyFile: 'cluster.key', sync: { snatAddresses: { 'edge-1': '10.0.0.31' }, snatAddresses6: { 'edge-1': 'FD00::0031', 'edge-2': 'fd00::32' } } };
    },
    check: (s) => {
      assert.deepEqual(s.cluster!.sync!.snatAddresses6, { 'edge-1': 'fd00::31', 'edge-2': 'fd00::32' });
      assert.deepEqual(s.cluster!.sync!.snatAddresses, { 'edge-1': '10.0.0.31' });
    },
  },
  {
    desc: 'connection sync: no section, no sync',
    edit: (c) => {
      c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11', '10.0.0.12'], keyFile: 'cluster.key' };
    },
    check: (s) => assert.equal(s.cluster!.sync, undefined),
  },
  {
    desc: 'dataplane.flowHashKeyFile (a copy of the cluster key file, made before a rotation) is resolved like keyFile',
    edit: (c) => {
      c.dataplane = { flowHashKeyFile: 'cluster.key' };
    },
    check: (s) => assert.equal(s.dataplane.flowHashKeyFile, '/etc/edgelb/cluster.key'),
  },
  {
    desc: 'a key file readable by others is a warning',
    edit: (c) => {
      c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11', '10.0.0.12'], keyFile: 'loose.key' };
    },
    warnings: ['cluster.keyFile'],
  },
  {
    desc: 'fullnat in an ecmp pool is a warning, not an error',
    edit: (c) => {
      svc(c).mode = 'fullnat';
    },
    warnings: ['services[0].mode'],
    check: (s) => assert.equal(s.services[0]!.mode, 'fullnat'),
  },
  {
    desc: 'dnat in an activeBackup pool is fine',
    edit: (c) => {
      c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'] }; // one node, said so: no warning
      c.pools[0].bgpMode = 'activeBackup';
      svc(c).mode = 'dnat';
    },
    warnings: [],
  },
  {
    desc: 'fullnat in an l2 pool is fine',
    edit: (c) => {
      c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11'] }; // one node, said so: no warning
      c.pools[0].announce = 'l2';
      svc(c).mode = 'fullnat';
    },
    warnings: [],
  },
  {
    desc: 'a service without endpoints is a warning',
    edit: (c) => {
      svc(c).endpoints = [];
    },
    warnings: ['services[0].endpoints'],
  },
  {
    desc: '--default-lbmode applies to services without a mode',
    opts: { defaultLbMode: 'dnat' },
    edit: (c) => {
      c.pools[0].bgpMode = 'activeBackup';
    },
    check: (s) => assert.equal(s.services[0]!.mode, 'dnat'),
  },
  {
    desc: 'peer password read from passwordFile (relative to the file folder)',
    edit: (c) => {
      peer(c).passwordFile = 'peer.key';
    },
    check: (s) => {
      assert.equal(s.bgp!.peers[0]!.password, 's3cret-md5');
      assert.equal(s.bgp!.peers[0]!.passwordFile, '/etc/edgelb/peer.key');
    },
  },
  {
    desc: 'a non-loopback API with a token file',
    edit: (c) => {
      c.api = { listen: '0.0.0.0:11111', tokenFile: '/etc/edgelb/api.token' };
    },
    check: (s) => assert.deepEqual(s.api, { listen: '0.0.0.0:11111', token: 'token-0123456789abcdef' }),
  },
  {
    desc: 'an IPv6 loopback API on port 0',
    edit: (c) => {
      c.api = { listen: '[::1]:0' };
    },
    check: (s) => assert.equal(s.api.listen, '[::1]:0'),
  },
  {
    desc: 'full peer options and communities',
    edit: (c) => {
      c.bgp.communities = ['65000:1', 'no-export'];
      c.bgp.largeCommunities = ['64512:1:2'];
      c.bgp.listenPort = 0;
      c.bgp.peers = [
        {
          address: '2001:db8::1', asn: 4200000000, port: 1179, holdTime: 0, keepalive: 0, connectRetry: 2, idleHold: 60,
          gracefulRestart: false, restartTime: 120, ebgpMultihop: 2, gtsm: true, localAddress: '2001:db8::2',
          families: ['ipv6', 'ipv4'], maxPrefixes: 0,
        },
      ];
    },
    check: (s) => {
      const p = s.bgp!.peers[0]!;
      assert.equal(p.holdTime, 0);
      assert.equal(p.keepalive, 0);
      assert.deepEqual(p.families, ['ipv6', 'ipv4']);
      assert.equal(p.gtsm, true);
      assert.equal(s.bgp!.listenPort, 0);
      assert.deepEqual(s.bgp!.communities, ['65000:1', 'no-export']);
    },
  },
  {
    desc: 'policies with prefix and community sets referenced by a peer',
    edit: (c) => {
      c.policies = [
        {
          name: 'tag',
          prefixSets: { vips: ['192.168.80.240/28', { prefix: '10.0.0.0/8', minLen: 24, maxLen: 32 }] },
          communitySets: { mine: ['65000:1'] },
          statements: [
            { name: 's1', match: { prefixSet: 'vips', communitySet: 'mine', peers: ['10.0.0.1'] }, actions: { med: 10, addCommunities: ['65000:2'], prepend: { count: 2 }, result: 'accept' } },
            { name: 's2', actions: { nextHop: 'self' } },
          ],
          defaultResult: 'reject',
        },
      ];
      peer(c).exportPolicies = ['tag'];
    },
    check: (s) => {
      assert.equal(s.policies[0]!.defaultResult, 'reject');
      assert.deepEqual(s.policies[0]!.prefixSets.vips, [{ prefix: '192.168.80.240/28' }, { prefix: '10.0.0.0/8', minLen: 24, maxLen: 32 }]);
      assert.deepEqual(s.bgp!.peers[0]!.exportPolicies, ['tag']);
    },
  },
  {
    desc: 'dataplane settings',
    edit: (c) => {
      c.dataplane = { attachMode: 'generic', maglevSize: 251, conntrackSize: 4096, enabled: false, pinRoot: '/sys/fs/bpf/x', tcpSynTimeout: 3, tcpFinTimeout: 30, tcpRstTimeout: 1, snatClientShare: 25, icmpEchoRate: 0, rstUnserved: true, flowHashKey: 'a cluster-wide secret' };
    },
    check: (s) => assert.deepEqual(s.dataplane, { attachMode: 'generic', maglevSize: 251, conntrackSize: 4096, enabled: false, pinRoot: '/sys/fs/bpf/x', tcpSynTimeout: 3, tcpFinTimeout: 30, tcpRstTimeout: 1, snatClientShare: 25, icmpEchoRate: 0, rstUnserved: true, flowHashKey: 'a cluster-wide secret' }),
  },
  {
    desc: 'endpoint objects with nodeName and ready',
    edit: (c) => {
      svc(c).endpoints = [{ address: '10.0.1.2', nodeName: 'edge-2', ready: false }, '10.0.1.3'];
    },
    check: (s) =>
      assert.deepEqual(s.services[0]!.endpoints, [
        { address: '10.0.1.2', nodeName: 'edge-2', ready: false },
        { address: '10.0.1.3', ready: true },
      ]),
  },
  {
    desc: 'dsr with equal ports',
    edit: (c) => {
      svc(c).mode = 'dsr';
      svc(c).ports = [{ port: 53, protocol: 'udp' }, { port: 53, protocol: 'tcp', targetPort: 53 }];
    },
    check: (s) => assert.equal(s.services[0]!.ports.length, 2),
  },
  {
    desc: 'Kubernetes mode: name from NODE_NAME, routerId left to the cluster, services ignored with a warning',
    opts: { kubernetes: true, env: { NODE_NAME: 'worker-3' } },
    edit: (c) => {
      delete c.node.name;
      delete c.node.routerId;
    },
    warnings: ['pools', 'services', 'bgp.peers'],
    check: (s) => {
      assert.equal(s.node.name, 'worker-3');
      assert.equal(s.node.routerId, '');
      assert.deepEqual(s.services, []);
      assert.deepEqual(s.bgp!.peers, []);
    },
  },
  {
    desc: 'YAML anchors and merge keys work',
    yaml: `
node: { name: edge-1, routerId: 10.0.0.11, interface: eth0 }
pools: [{ name: p, cidrs: [10.1.0.0/24] }]
services:
  - &web { name: web, pool: p, ports: [80], endpoints: [10.0.1.2] }
  - { <<: *web, name: web2 }
`,
    check: (s) => assert.deepEqual(s.services.map((x) => [x.name, x.vips[0]]), [['web', '10.1.0.1'], ['web2', '10.1.0.2']]),
  },
  {
    desc: 'peer bfd: defaults (300 ms x 3), durations, and a meticulous keyed SHA-1 key from keyFile',
    edit: (c) => {
      peer(c).bfd = { minRx: '100ms', minTx: 0.2, multiplier: 5, auth: { type: 'meticulous-keyed-sha1', keyId: 7, keyFile: 'peer.key' } };
      c.bgp.peers.push({ address: '10.0.0.2', asn: 64512, bfd: {} });
    },
    check: (s) => {
      assert.deepEqual(s.bgp!.peers[0]!.bfd, { minRxMs: 100, minTxMs: 200, multiplier: 5, auth: { type: 'meticulous-keyed-sha1', keyId: 7, keyFile: '/etc/edgelb/peer.key', key: 's3cret-md5' } });
      assert.deepEqual(s.bgp!.peers[1]!.bfd, { minRxMs: 300, minTxMs: 300, multiplier: 3 });
    },
  },
];
