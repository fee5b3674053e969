// Config validation as a table: valid files give the DesiredState with every default filled;
// invalid files are rejected whole and report exactly the expected paths (no more, no fewer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError, EdgelbError } from '../../src/lib/errors.js';
import { parseConfig, validateConfig, type ValidateOptions, type LoadedConfig } from '../../src/config/index.js';
import { defaultShard, fnv1a32 } from '../../src/config/hash.js';
import type { DesiredState } from '../../src/model/desired-state.js';
import { KNOWN_KEYS } from '../../src/config/schema.js';

type Cfg = Record<string, any>;

const SECRETS: Record<string, string> = {
  '/etc/edgelb/peer.key': 's3cret-md5\n',
  '/etc/edgelb/api.token': 'token-0123456789abcdef\n',
  '/etc/edgelb/empty.key': '\n',
  '/etc/edgelb/long.key': 'x'.repeat(81),
};
const MODES: Record<string, number> = { '/etc/edgelb/cluster.key': 0o100600, '/etc/edgelb/loose.key': 0o100644 };

const opts = (extra: Partial<ValidateOptions> = {}): ValidateOptions => ({
  source: 'test.yaml',
  baseDir: '/etc/edgelb',
  env: {},
  readSecret: (p) => {
    const v = SECRETS[p];
    if (v === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return v;
  },
  statFile: (p) => {
    const m = MODES[p];
    if (m === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return { mode: m, size: 32 };
  },
  interfaceAddress: () => undefined,
  ...extra,
});

const base = (): Cfg => ({
  node: { name: 'edge-1', routerId: '10.0.0.11', interface: 'eth0' },
  bgp: { asn: 64513, peers: [{ address: '10.0.0.1', asn: 64512 }] },
  pools: [{ name: 'default', cidrs: ['192.168.80.240/28'] }],
  services: [{ name: 'web', vip: '192.168.80.241', ports: [{ port: 80 }], endpoints: ['10.0.1.2'] }],
});

interface Row {
  desc: string;
  /** Change the base config (or return a whole new one). */
  edit?: (c: Cfg) => Cfg | void;
  /** Use this YAML text instead of the base. */
  yaml?: string;
  opts?: Partial<ValidateOptions>;
  /** Exact set of error paths; absent means the file is valid. */
  errors?: string[];
  /** Substring expected in the message of the first error. */
  message?: string | RegExp;
  /** Exact set of warning paths (valid rows). */
  warnings?: string[];
  check?: (s: DesiredState, r: LoadedConfig) => void;
}

const svc = (c: Cfg, i = 0) => c.services[i];
const peer = (c: Cfg, i = 0) => c.bgp.peers[i];

const rows: Row[] = [
  // ---------------------------------------------------------------- valid
  {
    desc: 'the base file, with every default filled',
    check: (s) => {
      assert.deepEqual(s.api, { listen: '127.0.0.1:11111' });
      assert.deepEqual(s.dataplane, { attachMode: 'auto', maglevSize: 65537, conntrackSize: 65536, enabled: true });
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
        listen: '10.0.0.11:11112', members: ['10.0.0.11:11112'], shards: 7, heartbeatIntervalMs: 30, deadAfterMs: 150, holdDownMs: 5000,
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
      c.pools[0].bgpMode = 'activeBackup';
      svc(c).mode = 'dnat';
    },
    warnings: [],
  },
  {
    desc: 'fullnat in an l2 pool is fine',
    edit: (c) => {
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
      c.dataplane = { attachMode: 'generic', maglevSize: 251, conntrackSize: 4096, enabled: false, pinRoot: '/sys/fs/bpf/x' };
    },
    check: (s) => assert.deepEqual(s.dataplane, { attachMode: 'generic', maglevSize: 251, conntrackSize: 4096, enabled: false, pinRoot: '/sys/fs/bpf/x' }),
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

  // ---------------------------------------------------------------- invalid
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
  { desc: 'node name with a space', edit: (c) => void (c.node.name = 'edge 1'), errors: ['node.name'] },
  { desc: 'Kubernetes mode without NODE_NAME', opts: { kubernetes: true }, edit: (c) => void delete c.node.name, errors: ['node.name'], message: 'NODE_NAME', },
  { desc: 'maglevSize not prime', edit: (c) => void (c.dataplane = { maglevSize: 65536 }), errors: ['dataplane.maglevSize'], message: 'prime' },
  { desc: 'bad attachMode', edit: (c) => void (c.dataplane = { attachMode: 'offload' }), errors: ['dataplane.attachMode'] },
  { desc: 'conntrackSize too small', edit: (c) => void (c.dataplane = { conntrackSize: 10 }), errors: ['dataplane.conntrackSize'] },
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

for (const row of rows) {
  test(`config: ${row.desc}`, () => {
    const o = opts(row.opts);
    const run = (): LoadedConfig => {
      if (row.yaml !== undefined) return parseConfig(row.yaml, o);
      const c = base();
      const edited = row.edit?.(c) ?? c;
      return validateConfig(structuredClone(edited), o);
    };
    if (row.errors) {
      let err: unknown;
      try {
        run();
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      assert.equal(err.code, 'EDGELB_ERR_CONFIG_INVALID');
      assert.deepEqual(err.issues.map((i) => i.path).sort(), [...row.errors].sort(), err.message);
      if (row.message) {
        const m = err.issues[0]!.message;
        if (typeof row.message === 'string') assert.ok(m.includes(row.message), `message "${m}" lacks "${row.message}"`);
        else assert.match(m, row.message);
      }
      // the message names every path in the DESIGN format
      for (const i of err.issues) assert.ok(err.message.includes(`${i.path || '(root)'}: ${i.message}`));
    } else {
      const r = run();
      if (row.warnings) assert.deepEqual(r.warnings.map((w) => w.path).sort(), [...row.warnings].sort(), JSON.stringify(r.warnings));
      row.check?.(r.state, r);
    }
  });
}

test('config: rows cover at least 40 valid and invalid files', () => {
  assert.ok(rows.length >= 40);
  assert.ok(rows.filter((r) => r.errors).length >= 40);
  assert.ok(rows.filter((r) => !r.errors).length >= 20);
});

test('config: the message of an error uses the DESIGN format', () => {
  const c = base();
  c.bgp.peers.push({ address: '10.0.0.2', asn: 0 });
  assert.throws(
    () => validateConfig(c, opts()),
    (e: unknown) => e instanceof ConfigError && e.message.includes('bgp.peers[1].asn: must be 1..4294967295'),
  );
});

test('config: YAML syntax errors and duplicate keys are read errors with a line', () => {
  for (const text of ['node: { name: a\n', 'node: {}\nnode: {}\n']) {
    assert.throws(
      () => parseConfig(text, opts()),
      (e: unknown) => e instanceof EdgelbError && !(e instanceof ConfigError) && e.code === 'EDGELB_ERR_CONFIG_READ' && /line \d+/.test(e.message),
    );
  }
});

test('config: a password never appears in the ConfigError message', () => {
  const c = base();
  c.bgp.peers[0].passwordFile = 'peer.key';
  c.bgp.peers[0].asn = 0;
  try {
    validateConfig(c, opts());
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(!(e as Error).message.includes('s3cret'));
  }
});

test('config: fnv1a32 matches the reference vectors and spreads names over shards', () => {
  assert.equal(fnv1a32(''), 0x811c9dc5);
  assert.equal(fnv1a32('a'), 0xe40c292c);
  assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[defaultShard(`svc-${i}`, 4)]!++;
  for (const n of counts) assert.ok(n > 800 && n < 1200, `unbalanced: ${counts}`);
  assert.equal(defaultShard('anything', 1), 0);
});

test('config: examples/edge.yaml (the DESIGN example) is valid', async () => {
  const { loadConfig } = await import('../../src/config/index.js');
  const r = await loadConfig(new URL('../../examples/edge.yaml', import.meta.url).pathname);
  assert.equal(r.state.node.name, 'edge-1');
  assert.equal(r.state.cluster!.shards, 3);
  assert.deepEqual(r.state.services[0]!.vips, ['192.168.80.241']);
  assert.equal(r.state.services[0]!.shard, 1);
  assert.equal(r.state.bgp!.peers[0]!.password, readFileSync(new URL('../../examples/peer.key', import.meta.url), 'utf8').trim());
  // only a possible key-mode warning (git checks files out 0644)
  assert.ok(r.warnings.every((w) => w.path === 'cluster.keyFile'), JSON.stringify(r.warnings));
});

test('config: every key of the schema is documented in docs/config.md', () => {
  const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
  const missing = KNOWN_KEYS.filter((k) => !new RegExp(`\\b${k}\\b`).test(doc));
  assert.deepEqual(missing, []);
});
