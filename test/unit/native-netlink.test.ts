// The addon's netlink functions (native/netlink.cc) in a private namespace: managed neighbour
// entries replaced and deleted in batches (more than one chunk), the dump, an interface's kind,
// hostile arguments; and the XDP data path's reconcile (setServices with managed neighbours,
// close, cleanupNode) starting no child process at all. Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import childProcess, { execFileSync } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { isErrno, loadNative, type NativeBinding } from '../../src/native/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { XdpDataplane } from '../../src/dataplane/xdp.js';
import { cleanupNode } from '../../src/dataplane/cleanup.js';
import { createTestNetns, deleteTestNetns } from './dataplane/netns.js';

const NS = `nlt${process.pid}`;
const NODE = `nlt-${process.pid}`;
let n: NativeBinding;
let ifindex = 0;

/** What iproute2 itself reports (a cross-check, run outside the reconcile path). */
function ipNeigh(): Array<{ dst: string; managed?: unknown; state?: string[] }> {
  const out = execFileSync('ip', ['-n', NS, '-j', 'neigh', 'show', 'dev', 'xdpt0'], { encoding: 'utf8' });
  return out.trim() === '' ? [] : (JSON.parse(out) as Array<{ dst: string; managed?: unknown }>);
}

/** The managed entries through the addon (usable while child processes are forbidden). */
const managedNow = async () => (await n.neighList(ifindex)).filter((e) => e.managed).map((e) => e.address).sort();
const managedIn = (rows: Array<{ dst: string; managed?: unknown }>) => rows.filter((r) => 'managed' in r).map((r) => r.dst).sort();

/** Run fn with every synchronous and asynchronous child-process starter replaced by a thrower. */
async function withoutChildProcesses<T>(fn: () => Promise<T>): Promise<{ value: T; calls: string[] }> {
  const calls: string[] = [];
  const cp = childProcess as unknown as Record<string, unknown>;
  const names = ['execFileSync', 'execSync', 'spawnSync', 'execFile', 'exec', 'spawn', 'fork'];
  const saved = names.map((k) => cp[k]);
  for (const k of names) {
    cp[k] = (...a: unknown[]) => {
      calls.push(`${k} ${String(a[0])}`);
      throw new Error(`${k} called on the reconcile path`);
    };
  }
  syncBuiltinESMExports();
  try {
    return { value: await fn(), calls };
  } finally {
    names.forEach((k, i) => (cp[k] = saved[i]));
    syncBuiltinESMExports();
  }
}

describe('netlink through the addon (private namespace)', () => {
  before(() => {
    execFileSync('make', ['-s', '-C', fileURLToPath(new URL('../..', import.meta.url)), 'build/bpf/edgelb_xdp.bpf.o'], { stdio: 'ignore' });
    n = loadNative();
    n.xdpSetNetns(createTestNetns(NS).path);
    ifindex = n.ifNameToIndex('xdpt0');
  });
  after(async () => {
    try {
      await cleanupNode({ nodeName: NODE, iface: 'xdpt0', logger: silentLogger() });
    } finally {
      n?.xdpSetNetns(null);
      deleteTestNetns(NS);
    }
  });

  test('neighUpdate adds managed entries (IPv4 and IPv6) that iproute2 sees; neighList reports them', async () => {
    const r = await n.neighUpdate(ifindex, ['10.0.0.50', '2001:db8::50'], []);
    assert.deepEqual(r, { applied: 2, errors: [] });
    assert.deepEqual(managedIn(ipNeigh()), ['10.0.0.50', '2001:db8::50']);
    const list = await n.neighList(ifindex);
    const ours = list.filter((e) => e.managed).map((e) => `${e.family} ${e.address}`).sort();
    assert.deepEqual(ours, ['4 10.0.0.50', '6 2001:db8::50']);
    // the permanent entries of the namespace are listed, not managed
    assert.ok(list.some((e) => e.address === '10.0.0.1' && !e.managed && (e.state & 0x80) !== 0));
  });

  test('deletions go first and an entry already gone is reported as ENOENT, not thrown', async () => {
    const r = await n.neighUpdate(ifindex, ['10.0.0.51'], ['10.0.0.50', '10.0.0.99', '2001:db8::50']);
    assert.equal(r.applied, 3);
    assert.deepEqual(r.errors, [{ address: '10.0.0.99', op: 'delete', errno: 2, code: 'ENOENT' }]);
    assert.deepEqual(managedIn(ipNeigh()), ['10.0.0.51']);
    // in both lists: deleted, then added again
    assert.deepEqual(await n.neighUpdate(ifindex, ['10.0.0.51'], ['10.0.0.51']), { applied: 2, errors: [] });
    assert.deepEqual(managedIn(ipNeigh()), ['10.0.0.51']);
  });

  test('a batch larger than one chunk (1000 addresses) is applied and removed whole', async () => {
    const many = Array.from({ length: 1000 }, (_, i) => `10.0.${100 + (i >> 8)}.${i & 255}`);
    const p = n.neighUpdate(ifindex, many, []);
    assert.ok(p instanceof Promise);
    assert.deepEqual(await p, { applied: 1000, errors: [] });
    assert.equal((await n.neighList(ifindex)).filter((e) => e.managed).length, 1001);
    assert.deepEqual(await n.neighUpdate(ifindex, [], [...many, '10.0.0.51']), { applied: 1001, errors: [] });
    assert.deepEqual(managedIn(ipNeigh()), []);
  });

  test('an interface that does not exist fails per address (ENODEV); hostile arguments throw before anything is sent', async () => {
    const r = await n.neighUpdate(987654, ['10.0.0.52'], []);
    assert.equal(r.applied, 0);
    assert.equal(r.errors[0]?.code, 'ENODEV');
    await assert.rejects(async () => n.neighList(0), RangeError);
    assert.throws(() => n.neighUpdate(ifindex, ['10.0.0.300'], []), TypeError);
    assert.throws(() => n.neighUpdate(ifindex, ['10.0.0.1/24'], []), TypeError);
    assert.throws(() => n.neighUpdate(ifindex, [''], []), TypeError);
    assert.throws(() => n.neighUpdate(ifindex, [42 as unknown as string], []), TypeError);
    assert.throws(() => n.neighUpdate(ifindex, 'x' as unknown as string[], []), TypeError);
    assert.throws(() => n.neighUpdate(-1, [], []), RangeError);
    assert.throws(() => n.neighUpdate(ifindex, [], [], { managed: 'yes' as unknown as boolean }), TypeError);
    assert.deepEqual(managedIn(ipNeigh()), []);
  });

  test('linkKind reads IFLA_INFO_KIND: veth, "" for loopback, ENODEV for a missing index', () => {
    assert.equal(n.linkKind(ifindex), 'veth');
    assert.equal(n.linkKind(n.ifNameToIndex('lo')), '');
    assert.throws(() => n.linkKind(987654), (e: unknown) => isErrno(e, 'ENODEV'));
  });

  // Regression (issue 10): setServices ran `ip -force -batch` through execFileSync on every
  // reconcile with on-segment backends, blocking the event loop. Failed before the fix.
  test('the XDP reconcile path (open, setServices with managed neighbours, close, cleanup) starts no child process', async () => {
    const dp = new XdpDataplane({
      node: { name: NODE, routerId: '10.0.0.10', interface: 'xdpt0' },
      spec: { attachMode: 'auto', maglevSize: 251, conntrackSize: 4096, enabled: true },
      logger: silentLogger(),
      registry: new Registry(),
      native: n,
      maxServices: 8,
      maxBackends: 16,
    });
    const backends = (addrs: string[]) => addrs.map((address) => ({ address, port: 8080 }));
    const svc = { name: 'web', vip: '192.168.91.1', port: 80, protocol: 'tcp' as const, mode: 'onearm' as const, epSelect: 'maglev' as const, timeoutSec: 300 };
    const { calls } = await withoutChildProcesses(async () => {
      await dp.open();
      await dp.setServices([{ ...svc, backends: backends(['10.0.0.60', '10.0.0.61', '10.50.0.9']) }]);
      assert.deepEqual(await managedNow(), ['10.0.0.60', '10.0.0.61'], 'only on-segment backends are managed');
      await dp.setServices([{ ...svc, backends: backends(['10.0.0.61']) }]);
      assert.deepEqual(await managedNow(), ['10.0.0.61']);
      await dp.close({ detach: true });
      assert.deepEqual(await managedNow(), []);
      await n.neighUpdate(ifindex, ['10.0.0.62'], []);
      const r = await cleanupNode({ nodeName: NODE, iface: 'xdpt0', logger: silentLogger() });
      assert.equal(r.neighboursRemoved, 1);
    });
    assert.deepEqual(calls, []);
    assert.deepEqual(managedIn(ipNeigh()), []);
  });
});

