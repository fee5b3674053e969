// Forwarding on the uplink (src/daemon/forwarding.ts): the chart's init container used to set it
// for the ConfigMap's node.interface only, so on a Node whose edgelb.io/interface annotation named
// another uplink the XDP program's bpf_fib_lookup answered "forwarding disabled". The command now
// resolves the uplink as the daemon does; a name that is not an interface name never becomes part
// of a /proc/sys path. Runs against a /proc/sys look-alike in a temporary folder.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { enableForwarding, forwardingPaths, recordForwarding, resolveUplink, runForwardingInit } from '../../src/daemon/forwarding.js';
import { isEdgelbError } from '../../src/lib/errors.js';
import type { NodeObj } from '../../src/k8s/types.js';
import type { DesiredState } from '../../src/model/desired-state.js';

let dir = '';
let sys = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgelb-fwd-unit-'));
  sys = join(dir, 'sys');
  for (const fam of ['ipv4', 'ipv6'])
    for (const i of ['eth0', 'bond0', 'all']) {
      mkdirSync(join(sys, 'net', fam, 'conf', i), { recursive: true });
      writeFileSync(join(sys, 'net', fam, 'conf', i, 'forwarding'), '0\n');
    }
  writeFileSync(join(sys, 'net', 'ipv4', 'forwarding'), '0\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const fwd = (fam: string, i: string) => readFileSync(join(sys, 'net', fam, 'conf', i, 'forwarding'), 'utf8').trim();
/** Every file under the tree with its content: proves a refused name wrote nothing anywhere. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p.slice(root.length)] = readFileSync(p, 'utf8');
    }
  };
  walk(root);
  return out;
}

const BAD_NAMES: Array<[string, string]> = [
  ['', 'empty'],
  ['.', 'the conf folder itself'],
  ['..', 'would be /proc/sys/net/ipv4/forwarding, the host-wide switch'],
  ['../..', 'climbs out'],
  ['eth0/../all', 'a slash'],
  ['a-very-long-ifname', 'longer than IFNAMSIZ-1 (15)'],
  ['eth 0', 'a space'],
  ['eth0\n', 'a new line'],
  ['eth0:1', 'an alias label, not an interface'],
];

for (const [name, why] of BAD_NAMES) {
  test(`forwarding: ${JSON.stringify(name)} (${why}) is refused before any path is built`, () => {
    const before = snapshot(sys);
    assert.throws(() => forwardingPaths(name, sys), (e) => isEdgelbError(e) && e.code === 'EDGELB_ERR_INVALID_ARGUMENT' && /must be an interface name/.test(e.message));
    assert.throws(() => enableForwarding(name, sys), (e) => isEdgelbError(e) && e.code === 'EDGELB_ERR_INVALID_ARGUMENT');
    assert.deepEqual(snapshot(sys), before, 'nothing written');
  });
}

test('forwarding: the two files of one interface, VLAN names included', () => {
  assert.deepEqual(forwardingPaths('bond0.100', '/proc/sys'), [
    { family: 'ipv4', path: '/proc/sys/net/ipv4/conf/bond0.100/forwarding' },
    { family: 'ipv6', path: '/proc/sys/net/ipv6/conf/bond0.100/forwarding' },
  ]);
});

test('forwarding: enables both families on that interface only, and says when it already was', () => {
  writeFileSync(join(sys, 'net', 'ipv6', 'conf', 'bond0', 'forwarding'), '1\n');
  assert.deepEqual(enableForwarding('bond0', sys).map((r) => [r.family, r.outcome]), [['ipv4', 'enabled'], ['ipv6', 'on']]);
  assert.equal(fwd('ipv4', 'bond0'), '1');
  assert.equal(fwd('ipv6', 'bond0'), '1');
  for (const fam of ['ipv4', 'ipv6']) for (const i of ['eth0', 'all']) assert.equal(fwd(fam, i), '0', `${fam} ${i} untouched`);
  assert.equal(readFileSync(join(sys, 'net', 'ipv4', 'forwarding'), 'utf8').trim(), '0', 'not host-wide');
});

test('forwarding: an interface the node lacks fails by name and creates nothing; a host without IPv6 is not an error', () => {
  const r = enableForwarding('eno9', sys);
  assert.deepEqual(r.map((x) => [x.family, x.outcome, x.error]), [['ipv4', 'failed', 'no interface eno9 on this node'], ['ipv6', 'failed', 'no interface eno9 on this node']]);
  assert.equal(existsSync(join(sys, 'net', 'ipv4', 'conf', 'eno9')), false);
  rmSync(join(sys, 'net', 'ipv6'), { recursive: true });
  assert.deepEqual(enableForwarding('eth0', sys).map((x) => x.outcome), ['enabled', 'no-ipv6']);
});

const base: DesiredState = {
  node: { name: 'n1', routerId: '10.0.0.1', interface: 'eth0' },
  api: { listen: '127.0.0.1:11111' },
  pools: [], services: [], policies: [],
  dataplane: { attachMode: 'auto', maglevSize: 65537, conntrackSize: 65536, enabled: true },
  l2: { garpCount: 3, garpIntervalMs: 100, refreshIntervalMs: 0 },
};
const nodeWith = (iface?: string): NodeObj => ({ metadata: { name: 'n1', ...(iface !== undefined ? { annotations: { 'edgelb.io/interface': iface } } : {}) } });

test('forwarding: the uplink is the one the daemon resolves (annotation if valid, else the ConfigMap)', () => {
  assert.deepEqual(resolveUplink(base, undefined), { iface: 'eth0', problems: [] });
  assert.deepEqual(resolveUplink(base, nodeWith()), { iface: 'eth0', problems: [] });
  assert.equal(resolveUplink(base, nodeWith(' bond0 ')).iface, 'bond0');
  // annotations are trimmed first (a YAML block scalar ends in a new line): "eth0\n" is eth0
  assert.deepEqual(resolveUplink(base, nodeWith('bond0\n')), { iface: 'bond0', problems: [] });
  for (const [bad] of BAD_NAMES.filter(([n]) => n !== 'eth0\n')) {
    const r = resolveUplink(base, nodeWith(bad));
    assert.equal(r.iface, 'eth0', JSON.stringify(bad));
    assert.equal(r.problems.length, 1, JSON.stringify(bad));
    assert.match(r.problems[0]!.message, /edgelb\.io\/interface: .* must be an interface name.*using the ConfigMap's node\.interface/);
  }
});

const CONFIG = 'node:\n  interface: eth0\napi:\n  listen: 127.0.0.1:11111\n';
async function init(node: () => Promise<NodeObj | undefined>, extra: { attempts?: number } = {}) {
  const cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, CONFIG);
  const out: string[] = [];
  const err: string[] = [];
  const names: string[] = [];
  const code = await runForwardingInit({
    configPath: cfg, kubernetes: true, procSys: sys, retryMs: 1, ...extra,
    readNode: async (name) => (names.push(name), node()),
    out: (s) => out.push(s), err: (s) => err.push(s),
  });
  return { code, out: out.join(''), err: err.join(''), names };
}

test('forwarding init: reads the Node named by NODE_NAME and enables its annotated uplink', async () => {
  process.env.NODE_NAME = 'edge-7';
  try {
    const r = await init(async () => nodeWith('bond0'));
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.names, ['edge-7']);
    assert.equal(fwd('ipv4', 'bond0'), '1');
    assert.equal(fwd('ipv6', 'bond0'), '1');
    assert.equal(fwd('ipv4', 'eth0'), '0', "the ConfigMap's interface is not the uplink on this node");
    assert.match(r.out, /ipv4 forwarding on bond0: enabled\nipv6 forwarding on bond0: enabled\n/);
  } finally {
    delete process.env.NODE_NAME;
  }
});

test('forwarding init: a bad annotation is refused with its reason and the ConfigMap\'s uplink used; no Node is not an error', async () => {
  process.env.NODE_NAME = 'n1';
  try {
    const bad = await init(async () => nodeWith('../../../ipv4'));
    assert.equal(bad.code, 0);
    assert.match(bad.err, /refused edgelb\.io\/interface: "..\/..\/..\/ipv4" must be an interface name .*; using the ConfigMap's node\.interface/);
    assert.equal(fwd('ipv4', 'eth0'), '1');
    assert.equal(readFileSync(join(sys, 'net', 'ipv4', 'forwarding'), 'utf8').trim(), '0');
    const none = await init(async () => undefined);
    assert.equal(none.code, 0);
    assert.match(none.err, /no Node n1: using the ConfigMap's node\.interface/);
  } finally {
    delete process.env.NODE_NAME;
  }
});

test('forwarding init: an unreachable API server is retried, then fails with EDGELB_ERR_K8S; a missing uplink exits 1', async () => {
  process.env.NODE_NAME = 'n1';
  try {
    let calls = 0;
    const flaky = await init(async () => {
      if (++calls < 3) throw new Error('connect ECONNREFUSED');
      return nodeWith('bond0');
    });
    assert.equal(flaky.code, 0);
    assert.equal(calls, 3);
    assert.equal((flaky.err.match(/retrying/g) ?? []).length, 2);
    await assert.rejects(
      init(async () => { throw new Error('connect ECONNREFUSED'); }, { attempts: 2 }),
      (e) => isEdgelbError(e) && e.code === 'EDGELB_ERR_K8S' && /cannot read Node n1 .* after 2 attempts: connect ECONNREFUSED/.test(e.message),
    );
    const missing = await init(async () => nodeWith('eno9'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /could not enable ipv4 forwarding on eno9: no interface eno9 on this node/);
  } finally {
    delete process.env.NODE_NAME;
  }
});

test('forwarding: the daemon reports what it found in edgelb_uplink_forwarding (0 where it could not turn it on)', async () => {
  const reg = new Registry();
  // a sysctl file that cannot be used (root writes through file modes, so a folder stands in
  // for the read-only /proc/sys of the daemon's container: the read fails, EISDIR)
  const ro = join(sys, 'net', 'ipv4', 'conf', 'bond0', 'forwarding');
  rmSync(ro);
  mkdirSync(ro);
  recordForwarding(reg, 'bond0', enableForwarding('bond0', sys));
  recordForwarding(reg, 'eth0', enableForwarding('eth0', sys));
  const text = await reg.metrics();
  assert.match(text, /edgelb_uplink_forwarding\{interface="bond0",family="ipv4"\} 0/);
  assert.match(text, /edgelb_uplink_forwarding\{interface="bond0",family="ipv6"\} 1/);
  assert.match(text, /edgelb_uplink_forwarding\{interface="eth0",family="ipv4"\} 1/);
  rmSync(join(sys, 'net', 'ipv6'), { recursive: true });
  const reg6 = new Registry();
  recordForwarding(reg6, 'eth0', enableForwarding('eth0', sys));
  assert.doesNotMatch(await reg6.metrics(), /family="ipv6"/, 'no series for a host without IPv6');
});
