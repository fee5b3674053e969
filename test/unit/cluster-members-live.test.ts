// Members that join and leave while the cluster runs (Kubernetes mode follows edgelb's ready pods),
// over real UDP on loopback. Regression for issue 14: membership was built once at start, so a new
// edge node needed a rolling restart of the others (setMembers did not exist). And: a lone node is
// master of every shard, two spread them, and a node that lists peers but has no key masters
// nothing (never "everyone is master").
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Registry } from 'prom-client';
import { claimsPayloadCodec } from '../../src/cluster/claims-codec.js';
import { Membership } from '../../src/cluster/membership.js';
import { ShardManager } from '../../src/cluster/shard-manager.js';
import { silentLogger } from '../../src/lib/logger.js';
import { waitFor } from '../../src/lib/backoff.js';

const KEY = Buffer.from('members-live-key-0123456789abcd!');
const SHARDS = 6;
const stops: Array<() => Promise<void>> = [];
after(async () => {
  for (const s of stops) await s();
});

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function node(name: string, port: number, members: string[], keyed = true) {
  const key = keyed ? KEY : undefined;
  const registry = new Registry();
  const m = new Membership({ self: name, listen: `127.0.0.1:${port}`, members, key, payloadCodec: claimsPayloadCodec(SHARDS), logger: silentLogger(), registry });
  const s = new ShardManager({ self: name, shards: SHARDS, membership: m, holdDownMs: 200, logger: silentLogger(), registry });
  const stop = async () => {
    s.stop();
    await m.stop();
  };
  stops.push(stop);
  return { m, s, stop, start: async () => (await m.start(), s.start()) };
}

const mastered = (n: ReturnType<typeof node>) => n.s.mastered().length;

test('a node joins a running one and leaves it again, without a restart of either: 6 shards go 6 → 3+3 → 6', async () => {
  const [pa, pb] = [await freeUdpPort(), await freeUdpPort()];
  const A = `127.0.0.1:${pa}`;
  const B = `127.0.0.1:${pb}`;
  const a = node('a', pa, [A]);
  await a.start();
  // alone: master of every shard
  await waitFor(() => mastered(a) === SHARDS || undefined, { timeoutMs: 5000, intervalMs: 20, what: 'a masters all' });

  // b starts knowing both; a learns of b only through setMembers (the pod became ready)
  const b = node('b', pb, [A, B]);
  await b.start();
  a.m.setMembers([A, B]);
  assert.deepEqual(a.m.memberKeys(), [A, B].sort());
  await waitFor(() => (mastered(a) === 3 && mastered(b) === 3 ? true : undefined), { timeoutMs: 10_000, intervalMs: 20, what: 'shards spread 3+3' });
  for (let s = 0; s < SHARDS; s++) assert.equal(a.s.isMaster(s) !== b.s.isMaster(s), true, `shard ${s} has exactly one master`);

  // b leaves (its pod is gone): a drops it from the set and masters everything again; the quorum
  // counts one member, so a needs no majority of the old set
  await b.stop();
  a.m.setMembers([A]);
  await waitFor(() => mastered(a) === SHARDS || undefined, { timeoutMs: 5000, intervalMs: 20, what: 'a masters all again' });
  assert.equal(a.m.memberCount(), 1);
  assert.deepEqual(a.m.live(), ['a']);
});

test('a member list without this node counts it in; a member that is not an address throws and changes nothing', async () => {
  const [pa, pb] = [await freeUdpPort(), await freeUdpPort()];
  const a = node('a', pa, [`127.0.0.1:${pa}`]);
  await a.start();
  a.m.setMembers([`127.0.0.1:${pb}`]);
  assert.deepEqual(a.m.memberKeys(), [`127.0.0.1:${pa}`, `127.0.0.1:${pb}`].sort());
  assert.throws(() => a.m.setMembers(['not-an-address']), /IP address/);
  assert.deepEqual(a.m.memberKeys(), [`127.0.0.1:${pa}`, `127.0.0.1:${pb}`].sort(), 'unchanged by the bad list');
  await a.stop();
});

test('without a key, a node that learns of peers masters nothing (no heartbeats), and masters all again once alone', async () => {
  const [pa, pb] = [await freeUdpPort(), await freeUdpPort()];
  const A = `127.0.0.1:${pa}`;
  const a = node('a', pa, [A], false);
  await a.start();
  await waitFor(() => mastered(a) === SHARDS || undefined, { timeoutMs: 5000, intervalMs: 20, what: 'alone without a key: master of all' });
  a.m.setMembers([A, `127.0.0.1:${pb}`]); // does not throw: Kubernetes mode must keep running
  assert.equal(a.m.isKeyless(), true);
  assert.equal(a.m.hasQuorum(), false);
  await waitFor(() => mastered(a) === 0 || undefined, { timeoutMs: 5000, intervalMs: 20, what: 'keyless with peers: no mastership' });
  assert.deepEqual(a.m.health(), { ok: true }, 'keyless is not unready (unready pods drop out of the member lists)');
  a.m.setMembers([A]);
  await waitFor(() => mastered(a) === SHARDS || undefined, { timeoutMs: 5000, intervalMs: 20, what: 'alone again: master of all' });
  await a.stop();
});

test('a lone master keeps its shards while a just-added member is not heard yet; a member silent past its grace (1 s) counts against the quorum', async () => {
  // b's key sorts before a's: b is the tie-breaker, so with b counted and silent a has no quorum
  const ports = [await freeUdpPort(), await freeUdpPort()].sort((x, y) => String(x).localeCompare(String(y)));
  const [B, A] = ports.map((p) => `127.0.0.1:${p}`) as [string, string];
  const a = node('a', ports[1]!, [A]);
  await a.start();
  await waitFor(() => mastered(a) === SHARDS || undefined, { timeoutMs: 5000, intervalMs: 20, what: 'a masters all' });
  a.m.setMembers([A, B]); // nothing runs at B
  assert.equal(a.m.memberCount(), 1, 'b is in its grace');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(mastered(a), SHARDS, 'no shard given up during the grace');
  await waitFor(() => (a.m.memberCount() === 2 && mastered(a) === 0 ? true : undefined), { timeoutMs: 5000, intervalMs: 20, what: 'b counts after its grace: a, alone of two and not the tie-breaker, masters nothing' });
  await a.stop();
});
