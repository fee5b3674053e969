// Membership over real UDP on loopback: heartbeats in a worker thread, death detection, refusal
// without a key, authentication, replay protection (a restarted node is accepted), and a blocked
// main event loop that must not look like a death.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { Registry } from 'prom-client';
import { createHmac } from 'node:crypto';
import { encodeHeartbeat, decodeHeartbeat, checkFresh, SendLog, HB_MAX_PACKET, HB_MAX_PAYLOAD } from '../../src/cluster/heartbeat-codec.js';
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

test('heartbeat codec: round trip, tamper and wrong key are unauthenticated; size and layout are checked before the HMAC', () => {
  const hb = { boot: 42n, seq: 7n, echoBoot: 9n, echoSeq: 3n, name: 'edge-1', payload: new TextEncoder().encode('{"e":true}') };
  const pkt = encodeHeartbeat(hb, KEY);
  const d = decodeHeartbeat(pkt, KEY);
  assert.ok(d.ok);
  assert.deepEqual({ ...d.hb, payload: [...d.hb.payload] }, { ...hb, payload: [...hb.payload] });
  const bad = Buffer.from(pkt);
  bad[25] = bad[25]! ^ 1;
  assert.deepEqual(decodeHeartbeat(bad, KEY), { ok: false, reason: 'unauthenticated' });
  assert.deepEqual(decodeHeartbeat(pkt, Buffer.from('another key of 32 bytes........!')), { ok: false, reason: 'unauthenticated' });
  assert.deepEqual(decodeHeartbeat(pkt.subarray(0, 40), KEY), { ok: false, reason: 'malformed' });
  // a correctly signed packet larger than any heartbeat can be is refused by its size alone (the old
  // decoder computed the HMAC over up to 64 KB of whatever arrived first)
  const big = Buffer.alloc(HB_MAX_PACKET + 1);
  big.write('EHB2', 0, 'latin1');
  big[36] = 0;
  big.writeUInt16BE(big.length - 36 - 1 - 2 - 32, 37);
  createHmac('sha256', KEY).update(big.subarray(0, big.length - 32)).digest().copy(big, big.length - 32);
  assert.deepEqual(decodeHeartbeat(big, KEY), { ok: false, reason: 'malformed' });
  // inconsistent lengths are malformed, not an HMAC question
  const lie = Buffer.from(pkt);
  lie.writeUInt16BE(999, 36 + 1 + 6);
  assert.deepEqual(decodeHeartbeat(lie, KEY), { ok: false, reason: 'malformed' });
  assert.throws(() => encodeHeartbeat({ ...hb, payload: new Uint8Array(HB_MAX_PAYLOAD + 1) }, KEY), RangeError);
});

test('heartbeat freshness: a challenge/response table with no wall clock', () => {
  const sent = new Map<bigint, number>([[10n, 20], [11n, 5], [3n, 900]]); // my seq → ms since sent
  const ch = { boot: 77n, ageOf: (s: bigint) => sent.get(s), windowMs: 330 };
  const h = (boot: bigint, seq: bigint, echoBoot: bigint, echoSeq: bigint) => ({ boot, seq, echoBoot, echoSeq, name: 'x', payload: new Uint8Array() });
  const st = { boot: 5n, seq: 40n, echoSeq: 10n };
  const rows = [
    { desc: 'first heartbeat that echoes my boot and a recent challenge', prev: undefined, hb: h(5n, 1n, 77n, 10n), want: 'ok' },
    { desc: 'first contact: it has not heard me yet (echo 0)', prev: undefined, hb: h(5n, 1n, 0n, 0n), want: 'stale' },
    { desc: 'echoes a boot of mine that is gone (recorded before I restarted)', prev: undefined, hb: h(5n, 1n, 76n, 10n), want: 'stale' },
    { desc: 'echoes a challenge older than the window (recorded stream)', prev: st, hb: h(5n, 41n, 77n, 3n), want: 'stale' },
    { desc: 'echoes a challenge I never sent', prev: st, hb: h(5n, 41n, 77n, 99n), want: 'stale' },
    { desc: 'next sequence number', prev: st, hb: h(5n, 41n, 77n, 11n), want: 'ok' },
    { desc: 'same sequence number (replay)', prev: st, hb: h(5n, 40n, 77n, 11n), want: 'replayed' },
    { desc: 'older sequence number (replay)', prev: st, hb: h(5n, 2n, 77n, 11n), want: 'replayed' },
    { desc: 'restarted sender: new boot, sequence from 1, newer echo (its clock plays no part)', prev: st, hb: h(6n, 1n, 77n, 11n), want: 'ok' },
    { desc: 'its earlier boot, recorded while I ran: echo not newer than the last accepted', prev: { boot: 6n, seq: 1n, echoSeq: 11n }, hb: h(5n, 41n, 77n, 10n), want: 'replayed' },
  ];
  for (const r of rows) {
    const got = checkFresh(r.prev, r.hb, ch);
    assert.equal(got.ok ? 'ok' : got.reason, r.want, r.desc);
  }
  const log = new SendLog(4);
  log.record(1n, 100);
  log.record(5n, 150); // overwrites slot of 1
  assert.equal(log.ageOf(5n, 160), 10);
  assert.equal(log.ageOf(1n, 160), undefined);
  assert.equal(log.ageOf(0n, 160), undefined);
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

test('unauthenticated, stale, replayed and unknown-sender packets are dropped and counted; a recorded stream is refused by a running and by a restarted receiver', async (t) => {
  const ports = [base + 10, base + 11];
  let a = member(0, ports);
  await a.m.start();
  const bind = (p: number) =>
    new Promise<Socket>((res) => {
      const s = createSocket('udp4');
      s.bind(p, '127.0.0.1', () => res(s));
    });
  const peer = await bind(ports[1]!); // plays node-1 from its member address, with the key
  const heard = { boot: 0n, seq: 0n }; // node-0's latest challenge
  peer.on('message', (m) => {
    const d = decodeHeartbeat(m, KEY);
    if (d.ok) Object.assign(heard, { boot: d.hb.boot, seq: d.hb.seq });
  });
  const stranger = await bind(base + 19);
  t.after(() => {
    peer.close();
    stranger.close();
  });
  const send = (s: Socket, b: Uint8Array) => new Promise<void>((r) => s.send(b, ports[0]!, '127.0.0.1', () => r()));
  const hb = (seq: bigint, echo = heard, key: Uint8Array = KEY) => encodeHeartbeat({ boot: 5n, seq, echoBoot: echo.boot, echoSeq: echo.seq, name: 'node-1', payload: new Uint8Array() }, key);
  await waitFor(() => heard.seq > 0n, { timeoutMs: 1000, intervalMs: 5, what: 'a challenge from node-0' });
  await send(peer, hb(1n, heard, Buffer.from('wrong key wrong key wrong key!!!')));
  await send(stranger, hb(1n));
  await send(peer, Buffer.from('garbage'));
  await send(peer, hb(1n, { boot: 0n, seq: 0n })); // has not heard node-0 yet: not proof of life
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(a.m.live(), ['node-0'], 'nothing accepted yet');
  const dropped = (reason: string) => value(a.registry, 'edgelb_cluster_heartbeats_dropped_total', { reason });
  /** Counters reach the main thread every 250 ms: wait for the count (a wrong one times out). */
  const count = (reason: string, n: number) => waitFor(async () => (await dropped(reason)) === n, { timeoutMs: 2000, intervalMs: 20, what: `${n} ${reason}` }).then(() => true);
  assert.equal(await dropped('unauthenticated'), 1);
  assert.equal(await dropped('unknown-sender'), 1);
  assert.equal(await dropped('malformed'), 1);
  assert.equal(await dropped('stale'), 1);
  const recorded: Buffer[] = [];
  for (let i = 2n; i <= 4n; i++) {
    recorded.push(hb(i));
    await send(peer, recorded.at(-1)!);
  }
  await waitFor(() => a.m.live().length === 2, { timeoutMs: 1000, intervalMs: 5, what: 'peer live' });
  await send(peer, recorded[2]!); // replay
  await send(peer, recorded[0]!); // replay
  await new Promise((r) => setTimeout(r, 300)); // counters arrive every 250 ms
  assert.ok(await count('replayed', 2));
  // the recorded stream, later: its echoes are old, so the running receiver refuses all of it
  await waitFor(() => a.m.live().length === 1, { timeoutMs: 2000, intervalMs: 5, what: 'peer silent, so dead' });
  await new Promise((r) => setTimeout(r, 400)); // past the echo window (2 x deadAfter + interval)
  for (const r of recorded) await send(peer, r);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(a.m.live(), ['node-0'], 'a recorded stream does not revive a dead peer');
  assert.ok(await count('stale', 4));
  // a restarted receiver (new boot id) refuses it too: its echoes name a boot that is gone
  await a.m.stop();
  a = member(0, ports);
  await a.m.start();
  for (const r of recorded) await send(peer, r);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(a.m.live(), ['node-0']);
  assert.ok(await count('stale', 3));
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
