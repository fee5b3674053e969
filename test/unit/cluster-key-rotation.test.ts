// Key rotation through the running pieces: the key file followed live (daemon/cluster-keys.ts: a
// good change hands out the new ring, a bad one is refused whole, said once, counted, and the last
// good keys stay; a Kubernetes Secret volume's symlink swap is seen), and two Memberships over real UDP on loopback that rotate their keys while
// running: no member ever dies, the secondary-key heartbeats are counted, and a node with only
// the new key and one with only the old key never accept each other (counted as unauthenticated).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { ClusterKeyFile } from '../../src/daemon/cluster-keys.js';
import { Membership } from '../../src/cluster/membership.js';
import { parseClusterKeys, type KeyRing } from '../../src/lib/cluster-keys.js';
import { createLogger, silentLogger } from '../../src/lib/logger.js';
import { waitFor } from '../../src/lib/backoff.js';

const OLD = 'old-cluster-key-0123456789abcdef';
const NEW = 'new-cluster-key-fedcba9876543210';
const ring = (text: string): KeyRing => {
  const r = parseClusterKeys(Buffer.from(text));
  assert.ok(r.ok);
  return r.ring;
};
async function value(r: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await r.getSingleMetric(name)!.get();
  return m.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}
const dirs: string[] = [];
const running: Membership[] = [];
after(async () => {
  for (const m of running) await m.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('key file followed live: good changes hand out the new ring, bad ones are refused whole and the last good keys stay', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-keyrot-'));
  dirs.push(dir);
  const file = join(dir, 'cluster.key');
  writeFileSync(file, `${OLD}\n`, { mode: 0o600 });
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  const registry = new Registry();
  const kf = new ClusterKeyFile({ file, logger, registry, debounceMs: 20, pollMs: 0 });
  const first = kf.load();
  assert.deepEqual(first?.ids, ring(OLD).ids);
  const got: KeyRing[] = [];
  kf.on('keys', (r) => got.push(r));
  kf.start();
  try {
    // step 1, written as editors do (a new file renamed over the old): the watch sees it
    writeFileSync(join(dir, '.cluster.key.tmp'), `${OLD}\n${NEW}\n`);
    renameSync(join(dir, '.cluster.key.tmp'), file);
    await waitFor(() => got.length === 1, { timeoutMs: 5000, what: 'the new ring' });
    assert.deepEqual(got[0]!.ids, ring(`${OLD}\n${NEW}`).ids);
    assert.equal(await value(registry, 'edgelb_cluster_keys'), 2);
    // a bad file: refused whole, the keys in use stay, said once however often it is read
    for (const bad of ['', '\n\n', `${NEW}\nshort\n`, `${NEW}\n${NEW}\n`]) {
      writeFileSync(file, bad);
      kf.reload('test');
      kf.reload('test again');
      assert.deepEqual(kf.current()?.ids, got[0]!.ids, `${JSON.stringify(bad)}: the last good keys stay`);
    }
    assert.equal(got.length, 1, 'no bad ring handed out');
    assert.equal(await value(registry, 'edgelb_cluster_keyfile_rejected_total'), 4, 'each fault counted once');
    const refused = lines.filter((l) => l.includes('refused'));
    assert.equal(refused.length, 4, refused.join(''));
    assert.match(refused[2]!, /line 2: the key is 5 bytes; at least 16; keeping the keys in use/);
    assert.ok(!lines.join('').includes(OLD) && !lines.join('').includes(NEW), 'keys never logged');
    rmSync(file);
    kf.reload('gone');
    assert.match(lines.at(-1)!, /cannot read it \(ENOENT\)/);
    // a good file again: taken (step 2: the new key first)
    writeFileSync(file, `${NEW}\n${OLD}\n`);
    kf.reload('SIGHUP');
    assert.equal(got.length, 2);
    assert.equal(got[1]!.ids[0], ring(NEW).ids[0]);
    assert.equal(await value(registry, 'edgelb_cluster_keys'), 2);
  } finally {
    kf.stop();
  }
  // a bad file at start is an error that names the file and the line
  writeFileSync(file, `${OLD}\n${OLD}\n`);
  assert.throws(() => new ClusterKeyFile({ file, logger: silentLogger(), registry: new Registry() }).load(), /cluster key file .*cluster\.key: line 2: the same key as line 1/);
  assert.equal(new ClusterKeyFile({ file: join(dir, 'absent'), logger: silentLogger(), registry: new Registry() }).load(true), undefined, 'missing is no key where allowed (Kubernetes)');
  assert.throws(() => new ClusterKeyFile({ file: join(dir, 'absent'), logger: silentLogger(), registry: new Registry() }).load(), /cannot read it \(ENOENT\)/);
});

test('key file followed live through a Kubernetes Secret volume update (kubelet swaps the ..data symlink)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-keysecret-'));
  dirs.push(dir);
  // the layout of kubelet's AtomicWriter: key -> ..data/key, ..data -> ..<timestamp>
  const version = (name: string, text: string) => {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'key'), text);
  };
  version('..2026_12_07_11_00_00.1', `${OLD}\n`);
  symlinkSync('..2026_12_07_11_00_00.1', join(dir, '..data'));
  symlinkSync('..data/key', join(dir, 'key'));
  const registry = new Registry();
  const kf = new ClusterKeyFile({ file: join(dir, 'key'), logger: silentLogger(), registry, debounceMs: 20, pollMs: 0 });
  assert.deepEqual(kf.load()?.ids, ring(OLD).ids);
  const got: KeyRing[] = [];
  kf.on('keys', (r) => got.push(r));
  kf.start();
  try {
    version('..2026_12_07_11_05_00.2', `${OLD}\n${NEW}\n`);
    symlinkSync('..2026_12_07_11_05_00.2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..2026_12_07_11_00_00.1'), { recursive: true });
    await waitFor(() => got.length === 1, { timeoutMs: 5000, what: 'the Secret update taken' });
    assert.deepEqual(got[0]!.ids, ring(`${OLD}\n${NEW}`).ids);
  } finally {
    kf.stop();
  }
});

test('two running members rotate their key live: never a death, secondary-key heartbeats counted; old-only and new-only never meet', async () => {
  const base = 30000 + (process.pid % 2000) * 10;
  const ports = [base + 5, base + 6];
  const member = (i: number, keys: string, p = ports) => {
    const registry = new Registry();
    const m = new Membership({ self: `node-${i}`, listen: `127.0.0.1:${p[i]}`, members: p.map((x) => `127.0.0.1:${x}`), key: ring(keys), intervalMs: 30, deadAfterMs: 300, logger: silentLogger(), registry });
    running.push(m);
    return { m, registry };
  };
  const a = member(0, OLD);
  const b = member(1, OLD);
  await Promise.all([a.m.start(), b.m.start()]);
  await waitFor(() => a.m.live().length === 2 && b.m.live().length === 2, { timeoutMs: 5000, what: 'both live' });
  const settle = () => new Promise((r) => setTimeout(r, 400)); // > deadAfterMs: a split would show
  // step 1: the new key as secondary, node by node; step 2: the new key first; step 3: the old dropped
  const steps = [`${OLD}\n${NEW}`, `${NEW}\n${OLD}`, NEW];
  for (const s of steps) {
    a.m.setKeys(ring(s));
    await settle();
    assert.deepEqual([a.m.live().length, b.m.live().length], [2, 2], `a at ${JSON.stringify(s)}, b behind`);
    b.m.setKeys(ring(s));
    await settle();
    assert.deepEqual([a.m.live().length, b.m.live().length], [2, 2], `both at ${JSON.stringify(s)}`);
  }
  for (const x of [a, b]) {
    assert.equal(await value(x.registry, 'edgelb_cluster_member_deaths_total'), 0, 'no death during the rotation');
    assert.equal(await value(x.registry, 'edgelb_cluster_heartbeats_dropped_total', { reason: 'unauthenticated' }), 0, 'nothing refused');
  }
  // step 2 with one node ahead: each hears the other sign with its own second key, and counts it
  for (const x of [a, b]) assert.ok((await value(x.registry, 'edgelb_cluster_heartbeats_nonprimary_key_total')) > 0, 'secondary-key heartbeats counted');
  const before = await Promise.all([a, b].map((x) => value(x.registry, 'edgelb_cluster_heartbeats_nonprimary_key_total')));
  await settle();
  const now = await Promise.all([a, b].map((x) => value(x.registry, 'edgelb_cluster_heartbeats_nonprimary_key_total')));
  assert.deepEqual(now, before, 'after the rotation: no more secondary-key heartbeats (the old key is unused)');

  // a node with only the old key and one with only the new key: never live, counted
  const p2 = [base + 7, base + 8];
  const c = member(0, OLD, p2);
  const d = member(1, NEW, p2);
  await Promise.all([c.m.start(), d.m.start()]);
  await waitFor(async () => (await value(c.registry, 'edgelb_cluster_heartbeats_dropped_total', { reason: 'unauthenticated' })) > 5 && (await value(d.registry, 'edgelb_cluster_heartbeats_dropped_total', { reason: 'unauthenticated' })) > 5, { timeoutMs: 5000, what: 'refusals counted' });
  assert.deepEqual([c.m.live(), d.m.live()], [['node-0'], ['node-1']]);
});
