// Membership and ShardManager together over real UDP on loopback: a 600-shard cluster (heartbeats
// flow, ownership balanced, a stopped node's shards spread over the others), claims of every
// allowed shard count carried by one heartbeat (a payload over 4096 bytes used to kill the
// heartbeat thread while its node kept its shards), and a dead heartbeat thread that fences its
// node (shards given up, unready) until Membership restarts it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { claimsPayloadCodec } from '../../src/cluster/claims-codec.js';
import { Membership } from '../../src/cluster/membership.js';
import { loads } from '../../src/cluster/ownership.js';
import { ShardManager, type ShardClaims } from '../../src/cluster/shard-manager.js';
import { silentLogger } from '../../src/lib/logger.js';
import { waitFor } from '../../src/lib/backoff.js';

const KEY = Buffer.from('live-test-key-0123456789abcdef!!');
const base = 24000 + (process.pid % 1500) * 10;
const stops: Array<() => Promise<void>> = [];
after(async () => {
  for (const s of stops) await s();
});

function node(i: number, ports: number[], shards: number, holdDownMs = 300) {
  const registry = new Registry();
  const m = new Membership({
    self: `node-${i}`,
    listen: `127.0.0.1:${ports[i]}`,
    members: ports.map((p) => `127.0.0.1:${p}`),
    key: KEY,
    payloadCodec: claimsPayloadCodec(shards),
    restartDelayMs: 100,
    logger: silentLogger(),
    registry,
  });
  const s = new ShardManager({ self: `node-${i}`, shards, membership: m, holdDownMs, logger: silentLogger(), registry });
  const stop = async () => {
    s.stop();
    await m.stop();
  };
  stops.push(stop);
  return { m, s, registry, stop, start: async () => (await m.start(), s.start()) };
}

/** Owners as every node sees them; null until all agree and every shard has exactly one master. */
function agreed(nodes: Array<ReturnType<typeof node>>, shards: number): string[] | null {
  const owners: string[] = [];
  for (let sh = 0; sh < shards; sh++) {
    const masters = nodes.filter((n) => n.s.isMaster(sh)).map((n) => n.s.self);
    if (masters.length !== 1) return null;
    if (!nodes.every((n) => n.s.masterOf(sh) === masters[0])) return null;
    owners.push(masters[0]!);
  }
  return owners;
}

/** agreed(), once the loads are `want` (nodes join one after the other, each after a hold-down). */
function balanced(nodes: Array<ReturnType<typeof node>>, shards: number, want: number[]): string[] | null {
  const owners = agreed(nodes, shards);
  return owners && [...loads(owners).values()].sort().join() === want.join() ? owners : null;
}

async function metric(r: Registry, name: string): Promise<number> {
  return (await r.getSingleMetric(name)!.get()).values.reduce((n, v) => n + v.value, 0);
}

test('a 600-shard cluster: heartbeats flow, every shard has one master, 200 each; a stop spreads its shards 300/300', { timeout: 60_000 }, async () => {
  const ports = [base, base + 1, base + 2];
  const nodes = ports.map((_, i) => node(i, ports, 600));
  for (const n of nodes) await n.start();
  const owners = await waitFor(() => balanced(nodes, 600, [200, 200, 200]), { timeoutMs: 20_000, intervalMs: 20, what: '600 shards settled, 200 each' });
  assert.equal(owners.length, 600);
  for (const n of nodes) {
    assert.equal(n.m.live().length, 3);
    assert.equal(await metric(n.registry, 'edgelb_cluster_worker_restarts_total'), 0);
    assert.ok((await metric(n.registry, 'edgelb_cluster_heartbeats_received_total')) > 0);
  }
  await nodes[2]!.stop();
  const rest = nodes.slice(0, 2);
  await waitFor(() => balanced(rest, 600, [300, 300]), { timeoutMs: 20_000, intervalMs: 20, what: 'shards of the stopped node taken, 300 each' });
  for (const n of rest) await n.stop();
});

test('claims of all 4096 shards travel in one heartbeat; the heartbeat thread survives a payload it cannot carry', { timeout: 30_000 }, async () => {
  const ports = [base + 10, base + 11];
  const reg = () => new Registry();
  const ms = ports.map(
    (p, i) =>
      new Membership({ self: `n${i}`, listen: `127.0.0.1:${p}`, members: ports.map((x) => `127.0.0.1:${x}`), key: KEY, payloadCodec: claimsPayloadCodec(4096), logger: silentLogger(), registry: reg() }),
  );
  for (const m of ms) stops.push(() => m.stop());
  await Promise.all(ms.map((m) => m.start()));
  await waitFor(() => ms.every((m) => m.live().length === 2), { timeoutMs: 5000, intervalMs: 10, what: 'both live' });
  const all: ShardClaims = { e: true, c: Array.from({ length: 4096 }, (_, s) => [s, 1_000_000 + s] as [number, number]) };
  ms[0]!.setPayload(all);
  await waitFor(() => (ms[1]!.peers()[0]?.payload as ShardClaims | undefined)?.c.length === 4096, { timeoutMs: 5000, intervalMs: 10, what: '4096 claims received' });
  assert.deepEqual(ms[1]!.peers()[0]!.payload, all);
  // the JSON codec of the same claims is ~70 KB: refused before the thread, which stays alive
  const plain = new Membership({ self: 'j0', listen: `127.0.0.1:${base + 12}`, members: [`127.0.0.1:${base + 12}`, `127.0.0.1:${base + 13}`], key: KEY, logger: silentLogger(), registry: reg() });
  stops.push(() => plain.stop());
  await plain.start();
  plain.setPayload(all);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(plain.health(), { ok: true });
  assert.ok((plain as unknown as { worker?: Worker }).worker, 'heartbeat thread alive');
  await plain.stop();
  for (const m of ms) await m.stop();
});

test('a dead heartbeat thread fences its node: shards given up and unready until the thread is back, then it rejoins', { timeout: 60_000 }, async () => {
  const ports = [base + 20, base + 21, base + 22];
  const nodes = ports.map((_, i) => node(i, ports, 6));
  for (const n of nodes) await n.start();
  await waitFor(() => balanced(nodes, 6, [2, 2, 2]), { timeoutMs: 10_000, intervalMs: 10, what: 'settled' });
  const victim = nodes[0]!;
  assert.equal(victim.s.mastered().length, 2);
  // kill the thread the way a crash would
  const w = (victim.m as unknown as { worker: Worker }).worker;
  const fenced: boolean[] = [];
  victim.m.on('change', () => fenced.push(!victim.m.health().ok));
  await w.terminate();
  assert.equal(victim.m.health().ok, false, 'fenced at once');
  assert.match(victim.m.health().reason ?? '', /heartbeat thread exited/);
  assert.deepEqual(victim.s.mastered(), [], 'every shard given up at once');
  assert.equal(victim.m.hasQuorum(), false);
  // the others take its shards: never two masters at once
  const others = nodes.slice(1);
  await waitFor(() => balanced(others, 6, [3, 3]), { timeoutMs: 10_000, intervalMs: 10, what: 'shards moved' });
  // restarted by Membership; the others accept its new boot; after the hold-down it rejoins
  await waitFor(() => victim.m.health().ok, { timeoutMs: 5000, intervalMs: 10, what: 'thread restarted' });
  assert.ok(fenced.includes(true));
  assert.equal(await metric(victim.registry, 'edgelb_cluster_worker_restarts_total'), 1);
  await waitFor(() => balanced(nodes, 6, [2, 2, 2]), { timeoutMs: 15_000, intervalMs: 10, what: 'rejoined' });
  for (const n of nodes) await n.stop();
});
