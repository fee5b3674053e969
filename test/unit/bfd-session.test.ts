// BFD sessions in asynchronous mode on a fake clock: two engines wired back to back come Up with
// the negotiated timers (1 s while not Up, then a poll/final sequence to the configured ones),
// detect a cut link within the detection time, take remote Down/AdminDown, keep transmission
// jittered within 75-100 % (90 % for multiplier 1), renegotiate on a config change, drop packets
// that fail authentication or the TTL rule, and count every drop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BfdEngine, type BfdSource } from '../../src/bfd/engine.js';
import { BfdAuthType, BfdDiag, BfdState, decodeControl } from '../../src/bfd/packet.js';
import type { BfdSessionConfig, BfdStateChange } from '../../src/bfd/session.js';
import { FakeClock } from './bfd-fakes.js';

interface Side {
  engine: BfdEngine;
  changes: BfdStateChange[];
  sent: Buffer[];
}

/** Two engines A (10.0.0.1) and B (10.0.0.2) with a link that delivers after 1 ms unless cut. */
function pair(cfgA: Partial<BfdSessionConfig> = {}, cfgB: Partial<BfdSessionConfig> = {}, ttl = 255) {
  const clock = new FakeClock();
  const link = { up: true };
  const mk = (self: string, other: () => Side, cfg: Partial<BfdSessionConfig>): Side => {
    const side: Side = { changes: [], sent: [] } as unknown as Side;
    side.engine = new BfdEngine(
      {
        openSender: () => ({
          send: (buf) => {
            side.sent.push(buf);
            if (!link.up) return;
            const copy = Buffer.from(buf);
            clock.at(clock.now() + 1, () => other().engine.receive(copy, { address: self, port: 49152, multihop: false, ttl }));
          },
          close: () => {},
        }),
      },
      clock,
      (c) => side.changes.push(c),
    );
    side.engine.setSessions([{ key: 'peer', peer: self === '10.0.0.1' ? '10.0.0.2' : '10.0.0.1', multihop: false, minTxUs: 100_000, minRxUs: 100_000, multiplier: 3, ...cfg }]);
    return side;
  };
  let b!: Side;
  const a = mk('10.0.0.1', () => b, cfgA);
  b = mk('10.0.0.2', () => a, cfgB);
  return { clock, link, a, b };
}

const view = (s: Side) => s.engine.views()[0]!;

test('session: two ends come Up and poll down to the configured timers', () => {
  const { clock, a, b } = pair({}, { minTxUs: 150_000, minRxUs: 200_000, multiplier: 5 });
  clock.advance(50);
  assert.equal(view(a).state, BfdState.Up);
  assert.equal(view(b).state, BfdState.Up);
  // packets sent while not Up advertise at least 1 s (6.8.3)
  const first = decodeControl(a.sent[0]!);
  assert.ok(first.ok && first.packet.desiredMinTx === 1_000_000 && first.packet.state === BfdState.Down && first.packet.yourDiscr === 0);
  clock.advance(3000);
  const va = view(a);
  const vb = view(b);
  assert.equal(va.pollActive, false);
  // A sends at max(its 100 ms, B's required 200 ms); B at max(150 ms, A's 100 ms)
  assert.equal(va.txIntervalUs, 200_000);
  assert.equal(vb.txIntervalUs, 150_000);
  // A detects with B's multiplier 5 x max(A's rx 100 ms, B's tx 150 ms); B with 3 x max(200, 100)
  assert.equal(va.detectTimeUs, 750_000);
  assert.equal(vb.detectTimeUs, 600_000);
  assert.equal(va.remoteDiscr, vb.localDiscr);
  assert.deepEqual(a.changes.map((c) => c.to), [BfdState.Init, BfdState.Up].slice(a.changes.length === 1 ? 1 : 0));
  // a poll was answered with a Final (P and F never in the same packet)
  const flags = b.sent.map((x) => x[1]! & 0x30);
  assert.ok(flags.includes(0x10) && !flags.includes(0x30));
});

test('session: transmission is jittered 75-100 % of the interval (90 % at multiplier 1)', () => {
  for (const mult of [3, 1]) {
    const { clock, a } = pair({ multiplier: mult }, {});
    clock.advance(5000);
    const times: number[] = [];
    const before = a.sent.length;
    const orig = a.sent.push.bind(a.sent);
    a.sent.push = (...x: Buffer[]) => (times.push(clock.now()), orig(...x));
    clock.advance(20_000);
    assert.ok(a.sent.length - before > 150);
    const gaps = times.slice(1).map((t, i) => t - times[i]!).filter((g) => g > 5); // immediate Finals aside
    const min = Math.min(...gaps);
    const max = Math.max(...gaps);
    assert.ok(min >= 75 - 1e-9, `min gap ${min}`);
    assert.ok(max <= (mult === 1 ? 90 : 100) + 1e-9, `max gap ${max} at mult ${mult}`);
    assert.ok(max - min > 10, 'gaps vary');
  }
});

test('session: a cut link is detected after the detection time with diag 1', () => {
  const { clock, link, a, b } = pair();
  clock.advance(5000);
  assert.equal(view(a).state, BfdState.Up);
  link.up = false;
  const cutAt = clock.now();
  clock.advance(1000);
  const down = a.changes.find((c) => c.to === BfdState.Down)!;
  assert.equal(down.diag, BfdDiag.ControlDetectionTimeExpired);
  assert.equal(down.detectMs, 300);
  assert.equal(view(a).state, BfdState.Down);
  assert.equal(view(a).flaps, 1);
  assert.equal(view(a).remoteDiscr, 0);
  assert.ok(view(a).lastDown!.atMs - cutAt <= 301, `${view(a).lastDown!.atMs - cutAt} ms`);
  assert.equal(view(b).state, BfdState.Down);
  // link back: the sessions come Up again on their own
  link.up = true;
  clock.advance(5000);
  assert.equal(view(a).state, BfdState.Up);
  assert.equal(view(b).state, BfdState.Up);
});

test('session: the remote going AdminDown or Down takes ours Down with diag 3', () => {
  const { clock, a, b } = pair();
  clock.advance(5000);
  b.engine.setAdminDown('peer', true);
  clock.advance(10);
  assert.equal(view(b).state, BfdState.AdminDown);
  assert.equal(view(a).state, BfdState.Down);
  assert.equal(view(a).localDiag, BfdDiag.NeighborSignaledSessionDown);
  clock.advance(10_000); // A stays Down (no timeout in Down), B stays AdminDown
  assert.equal(view(a).state, BfdState.Down);
  b.engine.setAdminDown('peer', false);
  clock.advance(5000);
  assert.equal(view(a).state, BfdState.Up);
  // removing B's session sends AdminDown once: A goes Down, not "failed"
  b.engine.setSessions([]);
  clock.advance(10);
  assert.equal(view(a).state, BfdState.Down);
  assert.equal(view(a).localDiag, BfdDiag.NeighborSignaledSessionDown);
});

test('session: a timer change while Up runs a poll sequence and then applies', () => {
  const { clock, a, b } = pair();
  clock.advance(5000);
  const sentBefore = a.sent.length;
  a.engine.setSessions([{ key: 'peer', peer: '10.0.0.2', multihop: false, minTxUs: 300_000, minRxUs: 300_000, multiplier: 3 }]);
  const polled = a.sent.slice(sentBefore).map((x) => decodeControl(x)).filter((d) => d.ok && d.packet.poll);
  assert.ok(polled.length >= 1 && polled[0]!.ok && polled[0]!.packet.desiredMinTx === 300_000);
  clock.advance(2000);
  assert.equal(view(a).pollActive, false);
  assert.equal(view(a).txIntervalUs, 300_000);
  assert.equal(view(b).txIntervalUs, 300_000, 'B slows down to A required min rx');
  assert.equal(view(b).detectTimeUs, 900_000);
  assert.equal(view(a).state, BfdState.Up);
  assert.equal(view(b).state, BfdState.Up);
});

test('session: meticulous keyed SHA-1 on both ends comes Up; a key mismatch never does and is counted', () => {
  const auth = { type: BfdAuthType.MeticulousKeyedSha1 as const, keyId: 3, key: Buffer.from('k1') };
  const ok = pair({ auth }, { auth });
  ok.clock.advance(5000);
  assert.equal(view(ok.a).state, BfdState.Up);
  assert.equal(ok.a.engine.stats.dropped['auth-seq'] ?? 0, 0);
  const seq0 = view(ok.a).xmitAuthSeq;
  ok.clock.advance(1000);
  assert.ok(((view(ok.a).xmitAuthSeq - seq0) >>> 0) >= 8, 'meticulous: one sequence number per packet');
  // a replayed packet is dropped (and does not disturb the session)
  const last = ok.b.sent.at(-1)!;
  ok.a.engine.receive(Buffer.from(last), { address: '10.0.0.2', port: 49152, multihop: false, ttl: 255 });
  assert.equal(ok.a.engine.stats.dropped['auth-seq'], 1);
  assert.equal(view(ok.a).state, BfdState.Up);

  const bad = pair({ auth }, { auth: { ...auth, key: Buffer.from('k2') } });
  bad.clock.advance(5000);
  assert.equal(view(bad.a).state, BfdState.Down);
  assert.ok((bad.a.engine.stats.dropped['auth-digest'] ?? 0) > 0);
  const wrongId = pair({ auth }, { auth: { ...auth, keyId: 4 } });
  wrongId.clock.advance(3000);
  assert.equal(view(wrongId.a).state, BfdState.Down);
  assert.ok((wrongId.a.engine.stats.dropped['auth-key-id'] ?? 0) > 0);
  const none = pair({ auth }, {});
  none.clock.advance(3000);
  assert.ok((none.a.engine.stats.dropped['auth-missing'] ?? 0) > 0 && (none.b.engine.stats.dropped['auth-unexpected'] ?? 0) > 0);
});

test('engine: single-hop TTL below 255, unknown discriminators and strangers are dropped and counted', () => {
  const { clock, a } = pair({}, {}, 254);
  clock.advance(3000);
  assert.equal(view(a).state, BfdState.Down);
  assert.ok((a.engine.stats.dropped.ttl ?? 0) > 0);
  const good = pair();
  good.clock.advance(3000);
  const pkt = Buffer.from(good.b.sent.at(-1)!);
  const from: BfdSource = { address: '10.0.0.2', port: 50000, multihop: false, ttl: 255 };
  assert.equal(good.a.engine.receive(pkt, { ...from, address: '10.9.9.9' }), 'source');
  assert.equal(good.a.engine.receive(pkt, { ...from, multihop: true }), 'source');
  const unknown = Buffer.from(pkt);
  unknown.writeUInt32BE(12345, 8);
  assert.equal(good.a.engine.receive(unknown, from), 'unknown-session');
  const zero = Buffer.from(pkt);
  zero.writeUInt32BE(0, 8);
  zero[1] = (BfdState.Down << 6);
  assert.equal(good.a.engine.receive(zero, { ...from, address: '10.7.7.7' }), 'unknown-session');
  assert.equal(good.a.engine.receive(Buffer.from('junk'), from), 'short');
  assert.equal(good.a.engine.stats.dropped.short, 1);
  assert.equal(view(good.a).state, BfdState.Up);
});

test('session: a peer silent for a detection time is forgotten in any state (Your Discriminator back to 0)', () => {
  const { clock, a, b } = pair();
  clock.advance(5000);
  b.engine.setSessions([]); // B deletes its session: AdminDown once, then nothing
  clock.advance(10);
  assert.equal(view(a).state, BfdState.Down);
  assert.notEqual(view(a).remoteDiscr, 0, 'the AdminDown packet told us its discriminator');
  clock.advance(3100); // B's AdminDown advertised 1 s (not Up): detection time 3 x 1 s
  assert.equal(view(a).remoteDiscr, 0);
  clock.advance(1100); // the next packet (1 s interval while Down) carries Your Discriminator 0
  const last = decodeControl(a.sent.at(-1)!);
  assert.ok(last.ok, 'decodes');
  assert.equal(last.packet.yourDiscr, 0);
  assert.equal(last.packet.state, BfdState.Down);
});
