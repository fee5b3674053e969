// ShardManager over an in-process fake cluster: each node's membership view is derived from the
// others' heartbeat payloads, with kills, partitions and heals. Checks balance, epoch fencing
// (never two masters for one shard once messages settle, and a taker waits for the release),
// hold-down of a returning node, majority loss and the two-node tie-breaker, metrics and view().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import type { PeerInfo } from '../../src/cluster/membership.js';
import { hasQuorum } from '../../src/cluster/ownership.js';
import { ShardManager, type MembershipView, type ShardChange } from '../../src/cluster/shard-manager.js';
import { silentLogger } from '../../src/lib/logger.js';

class Bus {
  nodes = new Map<string, FakeMembership>();
  /** name → partition group; nodes see each other only inside one group. */
  group = new Map<string, number>();
  down = new Set<string>();
  queue: string[] = [];
  log: Array<{ node: string; change: ShardChange }> = [];
  sees(a: string, b: string) {
    return a !== b && !this.down.has(a) && !this.down.has(b) && (this.group.get(a) ?? 0) === (this.group.get(b) ?? 0);
  }
  /** Deliver queued notifications until nothing changes (heartbeats reaching everyone). */
  settle() {
    for (let i = 0; i < 1000 && this.queue.length; i++) {
      // a cut-off node keeps running and sees nobody
      this.nodes.get(this.queue.shift()!)!.emit('change');
    }
    assert.equal(this.queue.length, 0, 'settles');
  }
  notifyAll() {
    for (const n of this.nodes.keys()) this.queue.push(n);
  }
}

class FakeMembership extends EventEmitter implements MembershipView {
  payload: unknown;
  constructor(
    readonly self: string,
    private readonly bus: Bus,
  ) {
    super();
  }
  peers(): PeerInfo[] {
    return [...this.bus.nodes.values()]
      .filter((o) => this.bus.sees(this.self, o.self))
      .map((o) => ({ name: o.self, address: o.self, payload: o.payload, lastSeenMs: Date.now() }));
  }
  memberCount() {
    return this.bus.nodes.size;
  }
  hasQuorum() {
    const tb = [...this.bus.nodes.keys()].sort()[0]!;
    const live = this.peers().length + 1;
    return hasQuorum(live, this.memberCount(), tb === this.self || this.peers().some((p) => p.name === tb));
  }
  setPayload(p: unknown) {
    this.payload = p;
    for (const o of this.bus.nodes.keys()) if (this.bus.sees(this.self, o)) this.bus.queue.push(o);
  }
}

function cluster(names: string[], shards: number, holdDownMs = 0) {
  const bus = new Bus();
  const mgrs = new Map<string, ShardManager>();
  const regs = new Map<string, Registry>();
  for (const n of names) bus.nodes.set(n, new FakeMembership(n, bus));
  for (const n of names) {
    const registry = new Registry();
    const m = new ShardManager({ self: n, shards, membership: bus.nodes.get(n)!, holdDownMs, logger: silentLogger(), registry });
    m.on('change', (cs: ShardChange[]) => cs.forEach((change) => bus.log.push({ node: n, change })));
    mgrs.set(n, m);
    regs.set(n, registry);
  }
  for (const m of mgrs.values()) m.start();
  bus.settle();
  const masters = (s: number) => names.filter((n) => !bus.down.has(n) && mgrs.get(n)!.isMaster(s));
  return { bus, mgrs, regs, masters };
}

test('three nodes, three shards: one shard each, every view agrees on the masters', () => {
  const { mgrs, masters } = cluster(['edge-1', 'edge-2', 'edge-3'], 3);
  for (let s = 0; s < 3; s++) assert.equal(masters(s).length, 1, `shard ${s}`);
  assert.deepEqual([...mgrs.values()].map((m) => m.mastered().length).sort(), [1, 1, 1]);
  for (const m of mgrs.values()) {
    const v = m.view();
    assert.equal(v.length, 3);
    for (const row of v) {
      assert.equal(row.master, masters(row.shard)[0], `${m.self} sees the master of ${row.shard}`);
      assert.equal(row.state, row.master === m.self ? 'MASTER' : 'BACKUP');
      assert.ok(row.epoch >= 1);
      assert.equal(m.masterOf(row.shard), row.master);
    }
  }
});

test('kill a master: its shard moves to a survivor with a higher epoch; failover counted', async () => {
  const { bus, mgrs, regs, masters } = cluster(['edge-1', 'edge-2', 'edge-3'], 3);
  const victim = masters(0)[0]!;
  bus.down.add(victim);
  bus.notifyAll();
  bus.settle();
  const now = masters(0);
  assert.equal(now.length, 1);
  assert.notEqual(now[0], victim);
  const before = mgrs.get(victim)!.view()[0]!.epoch;
  const row = mgrs.get(now[0]!)!.view()[0]!;
  assert.equal(row.epoch, before + 1);
  for (let s = 0; s < 3; s++) assert.equal(masters(s).length, 1);
  const m = await regs.get(now[0]!)!.getSingleMetric('edgelb_failovers_total')!.get();
  assert.equal(m.values[0]!.value, 1);
  const g = await regs.get(now[0]!)!.getSingleMetric('edgelb_shard_master')!.get();
  assert.equal(g.values.find((v) => v.labels.shard === '0')!.value, 1);
});

test('fencing: the successor takes a shard only after the holder\'s release is heard', () => {
  const { bus, mgrs } = cluster(['a', 'b', 'c'], 6, 0);
  // take c down, let a and b share 6 shards, then bring c back: shards move to c by hand-over
  bus.down.add('c');
  bus.notifyAll();
  bus.settle();
  bus.down.delete('c');
  bus.log = [];
  bus.notifyAll();
  bus.settle();
  assert.deepEqual([...mgrs.values()].map((m) => m.mastered().length), [2, 2, 2]);
  const takes = bus.log.filter((l) => l.node === 'c' && l.change.action === 'take');
  assert.equal(takes.length, 2);
  for (const t of takes) {
    const i = bus.log.indexOf(t);
    const rel = bus.log.findIndex((l) => l.change.action === 'release' && l.change.shard === t.change.shard);
    assert.ok(rel >= 0 && rel < i, `shard ${t.change.shard}: released (at ${rel}) before taken (at ${i})`);
    assert.equal(t.change.from, bus.log[rel]!.node);
  }
});

test('a returning node waits its hold-down before taking shards back', async () => {
  const { bus, mgrs, masters } = cluster(['a', 'b', 'c'], 3, 120);
  // the first node to start is eligible at once (cold start), the others after the hold-down
  await new Promise((r) => setTimeout(r, 150));
  bus.settle();
  assert.ok([...mgrs.values()].every((m) => m.isEligible()));
  assert.deepEqual([...mgrs.values()].map((m) => m.mastered().length), [1, 1, 1]);
  const victim = masters(1)[0]!;
  bus.down.add(victim);
  bus.notifyAll();
  bus.settle();
  assert.equal(mgrs.get(victim)!.mastered().length, 0, 'cut off: gave its shard up');
  bus.down.delete(victim);
  bus.notifyAll();
  bus.settle();
  assert.equal(mgrs.get(victim)!.mastered().length, 0, 'no shard taken back at once');
  assert.equal(mgrs.get(victim)!.isEligible(), false, 'held down');
  await new Promise((r) => setTimeout(r, 160));
  bus.settle();
  assert.equal(mgrs.get(victim)!.mastered().length, 1, 'takes its share after the hold-down');
  for (let s = 0; s < 3; s++) assert.equal(masters(s).length, 1);
  for (const m of mgrs.values()) m.stop();
});

test('a partitioned minority gives up every mastership; the majority takes its shards', () => {
  const { bus, mgrs, masters } = cluster(['a', 'b', 'c'], 3);
  const lonely = masters(2)[0]!;
  bus.group.set(lonely, 1);
  bus.notifyAll();
  bus.settle();
  assert.deepEqual(mgrs.get(lonely)!.mastered(), []);
  assert.equal(mgrs.get(lonely)!.isEligible(), false);
  for (let s = 0; s < 3; s++) assert.equal(masters(s).length, 1, `shard ${s} has one master`);
  assert.ok(mgrs.get(lonely)!.view().every((r) => r.state === 'BACKUP'));
});

test('two nodes: the tie-breaker (lowest name) keeps everything, the other gives up', () => {
  const { bus, mgrs, masters } = cluster(['n1', 'n2'], 4);
  assert.deepEqual([...mgrs.values()].map((m) => m.mastered().length), [2, 2]);
  bus.group.set('n2', 1);
  bus.notifyAll();
  bus.settle();
  assert.deepEqual(mgrs.get('n1')!.mastered(), [0, 1, 2, 3]);
  assert.deepEqual(mgrs.get('n2')!.mastered(), []);
  for (let s = 0; s < 4; s++) assert.deepEqual(masters(s), ['n1']);
});

test('stop() releases everything and tells the others', () => {
  const { bus, mgrs, masters } = cluster(['a', 'b', 'c'], 3);
  const m = mgrs.get('a')!;
  m.stop();
  bus.down.add('a');
  bus.notifyAll();
  bus.settle();
  assert.deepEqual(m.mastered(), []);
  for (let s = 0; s < 3; s++) assert.equal(masters(s).length, 1);
});

test('property: after any sequence of kills, revivals, partitions and heals, once messages settle every shard has exactly one master when a majority exists', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('kill' as const), n: fc.nat(4) }),
    fc.record({ kind: fc.constant('revive' as const), n: fc.nat(4) }),
    fc.record({ kind: fc.constant('part' as const), n: fc.nat(4), g: fc.nat(2) }),
    fc.record({ kind: fc.constant('heal' as const) }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 7 }), fc.array(op, { maxLength: 10 }), (S, ops) => {
      const names = ['n0', 'n1', 'n2', 'n3', 'n4'];
      const { bus, masters } = cluster(names, S);
      for (const o of ops) {
        if (o.kind === 'kill') bus.down.add(names[o.n]!);
        else if (o.kind === 'revive') bus.down.delete(names[o.n]!);
        else if (o.kind === 'part') bus.group.set(names[o.n]!, o.g);
        else bus.group.clear();
        bus.notifyAll();
        bus.settle();
        for (let s = 0; s < S; s++) assert.ok(masters(s).length <= 1, `shard ${s}: ${masters(s).join(',')}`);
        // a group holding a majority masters every shard
        const up = names.filter((n) => !bus.down.has(n));
        const groups = new Map<number, string[]>();
        for (const n of up) groups.set(bus.group.get(n) ?? 0, [...(groups.get(bus.group.get(n) ?? 0) ?? []), n]);
        const major = [...groups.values()].find((g) => g.length * 2 > names.length);
        if (major) for (let s = 0; s < S; s++) assert.ok(major.includes(masters(s)[0] ?? '-'), `shard ${s} mastered inside the majority`);
      }
    }),
    { numRuns: 150 },
  );
});
