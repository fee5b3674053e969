// Config rows for a safe default on many nodes: L2 or activeBackup pools without a cluster section
// warn in words a user understands (one node alone is right, so never an error); the cluster
// section accepts a wildcard listen and, in Kubernetes mode, no members list (the members are
// edgelb's pods); and the snippet the shipped ConfigMap suggests really validates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/index.js';
import { opts, testRows, type Row } from './config-fixtures.js';

const ONE = { listen: '10.0.0.11:11112', members: ['10.0.0.11'] };

const ROWS: Row[] = [
  {
    desc: 'standalone: an l2 pool without a cluster section is a warning naming the pool and what goes wrong',
    edit: (c) => void (c.pools[0].announce = 'l2'),
    warnings: ['pools[0].announce'],
    check: (_s, r) => assert.match(r.warnings[0]!.message, /pool "default" is announced by L2 and there is no cluster section.*right for a single node.*they all answer too/),
  },
  { desc: 'standalone: a both pool without a cluster section warns too', edit: (c) => void (c.pools[0].announce = 'both'), warnings: ['pools[0].announce'] },
  {
    desc: 'standalone: no bgp section (pools default to l2) and no cluster section warns',
    edit: (c) => void delete c.bgp,
    warnings: ['pools[0].announce'],
    check: (s) => assert.equal(s.pools[0]!.announce, 'l2'),
  },
  {
    desc: 'standalone: an activeBackup pool without a cluster section warns that every node is active',
    edit: (c) => void (c.pools[0].bgpMode = 'activeBackup'),
    warnings: ['pools[0].bgpMode'],
    check: (_s, r) => assert.match(r.warnings[0]!.message, /activeBackup.*active node for every shard.*\(ECMP\)/),
  },
  {
    desc: 'standalone: both and activeBackup without a cluster section give both warnings',
    edit: (c) => void Object.assign(c.pools[0], { announce: 'both', bgpMode: 'activeBackup' }),
    warnings: ['pools[0].announce', 'pools[0].bgpMode'],
  },
  {
    desc: 'standalone: only the l2 pools warn, once each',
    edit: (c) => void c.pools.push({ name: 'second', cidrs: ['10.9.0.0/28'], announce: 'l2' }, { name: 'third', cidrs: ['10.9.1.0/28'] }, { name: 'fourth', cidrs: ['10.9.2.0/28'], announce: 'l2' }),
    warnings: ['pools[1].announce', 'pools[3].announce'],
  },
  { desc: 'standalone: a bgp ecmp pool without a cluster section is no warning', warnings: [] },
  { desc: 'standalone: an l2 pool with a one-node cluster section is no warning', edit: (c) => void ((c.pools[0].announce = 'l2'), (c.cluster = ONE)), warnings: [] },
  {
    desc: 'standalone: an l2 pool in a cluster of three is no warning',
    edit: (c) => void ((c.pools[0].announce = 'l2'), (c.cluster = { listen: '10.0.0.11:11112', members: ['10.0.0.11', '10.0.0.12', '10.0.0.13'], keyFile: 'cluster.key' })),
    warnings: [],
  },
  {
    desc: 'Kubernetes mode: no L2 warning from the file (its pools are ignored; IPPools come from the cluster)',
    opts: { kubernetes: true, env: { NODE_NAME: 'w1' } },
    edit: (c) => void ((c.pools[0].announce = 'l2'), delete c.services, delete c.bgp.peers),
    warnings: ['pools'],
  },
  {
    desc: 'cluster: listen 0.0.0.0:PORT is accepted with a member on that port',
    edit: (c) => void (c.cluster = { listen: '0.0.0.0:11112', members: ['10.0.0.11', '10.0.0.12'], keyFile: 'cluster.key' }),
    check: (s) => assert.deepEqual(s.cluster!.members, ['10.0.0.11:11112', '10.0.0.12:11112']),
  },
  {
    desc: 'cluster: listen [::]:PORT is accepted with a member on that port',
    edit: (c) => void (c.cluster = { listen: '[::]:11112', members: ['[2001:db8::1]:11112'] }),
    check: (s) => assert.equal(s.cluster!.listen, '[::]:11112'),
  },
  {
    desc: 'cluster: listen 0.0.0.0 on a port no member uses is refused',
    edit: (c) => void (c.cluster = { listen: '0.0.0.0:9999', members: ['10.0.0.11:11112'] }),
    errors: ['cluster.listen'],
    message: 'or 0.0.0.0:PORT with a member on that port',
  },
  {
    desc: 'cluster: standalone without members is refused, saying what to list',
    edit: (c) => void (c.cluster = { listen: '10.0.0.11:11112' }),
    errors: ['cluster.members'],
    message: 'required: every node of the cluster',
  },
  { desc: 'cluster: members "self" is refused', edit: (c) => void (c.cluster = { listen: '10.0.0.11:11112', members: ['self'] }), errors: ['cluster.members[0]'], message: 'must be an address or address:port' },
  {
    desc: 'cluster: Kubernetes mode without members and with a key file is accepted (members are the pods)',
    opts: { kubernetes: true, env: { NODE_NAME: 'w1' } },
    edit: (c) => void ((c.cluster = { listen: '0.0.0.0:11112', keyFile: 'cluster.key', shards: 3 }), delete c.pools, delete c.services),
    check: (s) => assert.deepEqual([s.cluster!.listen, s.cluster!.members, s.cluster!.shards], ['0.0.0.0:11112', [], 3]),
  },
  {
    desc: 'cluster: Kubernetes mode without members needs a key file',
    opts: { kubernetes: true, env: { NODE_NAME: 'w1' } },
    edit: (c) => void ((c.cluster = { listen: '0.0.0.0:11112' }), delete c.pools, delete c.services),
    errors: ['cluster.keyFile'],
    message: "members are edgelb's pods",
  },
];

testRows(ROWS);

// the regression of issue 14: the snippet in the shipped ConfigMap failed validation twice
// (`members: [self]`, `listen: 0.0.0.0:11112`); uncommented, it must now be a valid file
test('config: the cluster snippet suggested in manifests/configmap.yaml validates in Kubernetes mode', () => {
  const cm = parse(readFileSync(join(import.meta.dirname, '../../manifests/configmap.yaml'), 'utf8')) as { data: Record<string, string> };
  const text = cm.data['config.yaml']!;
  const snippet = text.split('\n').find((l) => /^#\s*cluster:/.test(l.trim()));
  assert.ok(snippet, 'the ConfigMap suggests a cluster section');
  const file = `${text}\n${snippet!.replace(/^(\s*)#\s*/, '$1')}\n`;
  const keyFile = /keyFile: ([^,\s}]+)/.exec(snippet!)![1]!;
  const r = parseConfig(file, opts({ kubernetes: true, env: { NODE_NAME: 'edge-1' }, statFile: (p) => (p === keyFile ? { mode: 0o100600, size: 32 } : (() => { throw Object.assign(new Error('no'), { code: 'ENOENT' }); })()) }));
  assert.ok(r.state.cluster, 'the uncommented snippet gives a cluster section');
  assert.equal(r.state.cluster!.shards, 12, 'the snippet shows the default of Kubernetes mode');
  assert.deepEqual(r.warnings, []);
});
