// Membership over real UDP on loopback: heartbeats in a worker thread, death detection, refusal
// without a key, authentication, replay protection (a restarted node is accepted), and a blocked
// main event loop that must not look like a death.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { Registry } from 'prom-client';
import { encodeHeartbeat, decodeHeartbeat, checkReplay } from '../../src/cluster/heartbeat-codec.js';
import { Membership } from '../../src/cluster/membership.js';
import { silentLogger } from '../../src/lib/logger.js';
import { waitFor } from '../../src/lib/backoff.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const base = 20000 + (process.pid % 2000) * 10;
const running: Membership[] = [];
after(async () => {
  for (const m of running) await m.stop();
});

function member(i: number, ports: number[], opts: { key?: Uint8Array; deadAfterMs?: number; intervalMs?: number } = {}) {
  const registry = new Registry();
  const m = new Membership({
    self: `node-${i}`,
    listen: `127.0.0.1:${ports[i]}`,
    members: ports.map((p) => `127.0.0.1:${p}`),
    key: 'key' in opts ? opts.key : KEY,
    intervalMs: opts.intervalMs ?? 30,
    deadAfterMs: opts.deadAfterMs ?? 150,
    logger: silentLogger(),
    registry,
  });
  running.push(m);
  return { m, registry };
}

async function value(r: Registry, name: string, labels: Record<string, string> = {}) {
  const m = await r.getSingleMetric(name)!.get();
  return m.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}

test('heartbeat codec: round trip, tamper and wrong key are unauthenticated, replay rule table', () => {
  const hb = { bootTime: 1700000000000n, nonce: 42n, seq: 7n, name: 'edge-1', payload: new TextEncoder().encode('{"e":true}') };
  const pkt = encodeHeartbeat(hb, KEY);
  const d = decodeHeartbeat(pkt, KEY);
  assert.ok(d.ok);
  assert.equal(d.hb.name, 'edge-1');
  assert.equal(d.hb.seq, 7n);
  const bad = Buffer.from(pkt);
  bad[25] = bad[25]! ^ 1;
  assert.deepEqual(decodeHeartbeat(bad, KEY), { ok: false, reason: 'unauthenticated' });
  assert.deepEqual(decodeHeartbeat(pkt, Buffer.from('another key of 32 bytes........!')), { ok: false, reason: 'unauthenticated' });
  assert.deepEqual(decodeHeartbeat(pkt.subarray(0, 40), KEY), { ok: false, reason: 'malformed' });
  const st = { bootTime: 100n, nonce: 1n, seq: 5n };
  const h = (bootTime: bigint, nonce: bigint, seq: bigint) => ({ bootTime, nonce, seq, name: 'x', payload: new Uint8Array() });
  const rows = [
    { desc: 'first packet from a node', prev: undefined, hb: h(100n, 1n, 1n), accept: true },
    { desc: 'next sequence number', prev: st, hb: h(100n, 1n, 6n), accept: true },
    { desc: 'same sequence number (replay)', prev: st, hb: h(100n, 1n, 5n), accept: false },
    { desc: 'older sequence number (replay)', prev: st, hb: h(100n, 1n, 2n), accept: false },
    { desc: 'restarted node: later boot, sequence from 1', prev: st, hb: h(200n, 9n, 1n), accept: true },
    { desc: 'packet of an earlier boot (replay)', prev: st, hb: h(50n, 3n, 99n), accept: false },
    { desc: 'same boot time, other nonce', prev: st, hb: h(100n, 2n, 99n), accept: false },
  ];
  for (const r of rows) assert.equal(checkReplay(r.prev, r.hb) !== null, r.accept, r.desc);
});

test('a node with no key refuses a multi-node cluster; a single node runs without one', () => {
  assert.throws(() => member(0, [base + 90, base + 91], { key: undefined }), { code: 'EDGELB_ERR_CLUSTER' });
  assert.throws(() => member(0, [base + 90, base + 91], { key: new Uint8Array(0) }), { code: 'EDGELB_ERR_CLUSTER' });
  const { m } = member(0, [base + 92], { key: undefined });
  assert.deepEqual(m.live(), ['node-0']);
  assert.equal(m.hasQuorum(), true);
});

test('three nodes see each other, detect a stopped one within deadAfter, and the restarted one is accepted', async () => {
  const ports = [base, base + 1, base + 2];
  const nodes = ports.map((_, i) => member(i, ports));
  await Promise.all(nodes.map((n) => n.m.start()));
  await waitFor(() => nodes.every((n) => n.m.live().length === 3), { timeoutMs: 3000, intervalMs: 10, what: 'all live' });
  assert.deepEqual(nodes[0]!.m.live(), ['node-0', 'node-1', 'node-2']);
  assert.ok(nodes[0]!.m.hasQuorum());
  // as root the heartbeat thread runs SCHED_FIFO (keepalived's vrrp_rt_priority, for the same reason)
  if (process.getuid?.() === 0) assert.equal(nodes[0]!.m.scheduling, 'SCHED_FIFO 10');
  nodes[1]!.m.setPayload({ hello: 1 });
  await waitFor(() => JSON.stringify(nodes[0]!.m.peers().find((p) => p.name === 'node-1')?.payload) === '{"hello":1}', { timeoutMs: 1000, intervalMs: 5, what: 'payload' });
  const t0 = Date.now();
  await nodes[2]!.m.stop();
  const deadAt = await waitFor(() => (nodes[0]!.m.live().length === 2 ? Date.now() : 0), { timeoutMs: 2000, intervalMs: 2, what: 'death seen' });
  const took = deadAt - t0;
  assert.ok(took >= 100 && took < 1000, `death detected after ${took} ms (deadAfter 150 ms)`);
  assert.equal(await value(nodes[0]!.registry, 'edgelb_cluster_member_deaths_total'), 1);
  // a restart of node-2 (new boot identity, sequence from 1) is accepted at once
  const again = member(2, ports);
  await again.m.start();
  await waitFor(() => nodes[0]!.m.live().length === 3, { timeoutMs: 2000, intervalMs: 5, what: 'restarted node live' });
  await new Promise((r) => setTimeout(r, 300));
  assert.ok((await value(nodes[0]!.registry, 'edgelb_cluster_heartbeats_received_total')) > 10);
  assert.ok((await value(nodes[0]!.registry, 'edgelb_cluster_heartbeats_sent_total')) > 10);
  assert.equal(await value(nodes[0]!.registry, 'edgelb_cluster_heartbeats_dropped_total', { reason: 'replayed' }), 0);
  for (const n of [...nodes, again]) await n.m.stop();
});

test('unauthenticated, replayed and unknown-sender packets are dropped and counted; the forger never becomes live', async () => {
  const ports = [base + 10, base + 11];
  const a = member(0, ports);
  await a.m.start();
  const bind = (p: number) =>
    new Promise<Socket>((res) => {
      const s = createSocket('udp4');
      s.bind(p, '127.0.0.1', () => res(s));
    });
  const peer = await bind(ports[1]!); // plays node-1 from its member address
  const stranger = await bind(base + 19);
  const send = (s: Socket, b: Uint8Array) => new Promise<void>((r) => s.send(b, ports[0]!, '127.0.0.1', () => r()));
  const hb = (seq: bigint, bootTime = 1000n, key: Uint8Array = KEY) => encodeHeartbeat({ bootTime, nonce: 5n, seq, name: 'node-1', payload: new Uint8Array() }, key);
  await send(peer, hb(1n, 1000n, Buffer.from('wrong key wrong key wrong key!!!')));
  await send(stranger, hb(1n));
  await send(peer, Buffer.from('garbage'));
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual(a.m.live(), ['node-0'], 'nothing accepted yet');
  const dropped = (reason: string) => value(a.registry, 'edgelb_cluster_heartbeats_dropped_total', { reason });
  assert.equal(await dropped('unauthenticated'), 1);
  assert.equal(await dropped('unknown-sender'), 1);
  assert.equal(await dropped('malformed'), 1);
  await send(peer, hb(1n));
  await send(peer, hb(2n));
  await waitFor(() => a.m.live().length === 2, { timeoutMs: 1000, intervalMs: 5, what: 'peer live' });
  await send(peer, hb(2n)); // replay
  await send(peer, hb(1n)); // replay
  await send(peer, hb(50n, 999n)); // from an earlier boot
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await dropped('replayed'), 3);
  // replays do not keep a dead node alive: it is silent for longer than deadAfter now
  assert.deepEqual(a.m.live(), ['node-0']);
  peer.close();
  stranger.close();
  await a.m.stop();
});

test('a blocked main event loop (1 s busy loop) is not a death: heartbeats live in the worker', async () => {
  const ports = [base + 20, base + 21, base + 22];
  const nodes = ports.map((_, i) => member(i, ports));
  await Promise.all(nodes.map((n) => n.m.start()));
  await waitFor(() => nodes.every((n) => n.m.live().length === 3), { timeoutMs: 3000, intervalMs: 10, what: 'all live' });
  const end = Date.now() + 1000;
  while (Date.now() < end) {
    // every membership's main thread is this one: blocked for 1 s, 6x deadAfter
  }
  await new Promise((r) => setTimeout(r, 200));
  for (const n of nodes) {
    assert.deepEqual(n.m.live(), ['node-0', 'node-1', 'node-2']);
    assert.equal(await value(n.registry, 'edgelb_cluster_member_deaths_total'), 0);
  }
  for (const n of nodes) await n.m.stop();
});
