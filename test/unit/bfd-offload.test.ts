// The BFD offload port with its userspace side: a daemon publishes its Up session (frames signed
// ahead) and renews a lease; when it dies without a word, an offload that behaves as the XDP
// program will (answer each router packet with the next frame, only while the lease has expired)
// keeps the router's session Up with meticulous keyed SHA-1 for 10 s, and a new daemon resumes it
// from the table without a state change or a rejected sequence number. A power cut (no daemon, no
// offload) is still seen within the detection time; a used-up window goes silent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BfdEngine } from '../../src/bfd/engine.js';
import { offloadSession, resumeOf } from '../../src/bfd/offload.js';
import { BfdAuthType, BfdState } from '../../src/bfd/packet.js';
import type { BfdSessionConfig, BfdStateChange } from '../../src/bfd/session.js';
import { FakeClock, FakeXdpOffload } from './bfd-fakes.js';

const AUTH = { type: BfdAuthType.MeticulousKeyedSha1 as const, keyId: 1, key: Buffer.from('offload-key') };
const cfgOf = (peer: string, auth = AUTH): BfdSessionConfig => ({ key: 'p', peer, local: peer === '10.0.0.1' ? '10.0.0.2' : '10.0.0.1', multihop: false, minTxUs: 100_000, minRxUs: 100_000, multiplier: 3, auth });

/** A daemon (edge, 10.0.0.2) and a router (10.0.0.1) with an offload on the daemon's side. */
function world(auth = AUTH) {
  const clock = new FakeClock();
  const xdp = new FakeXdpOffload(clock);
  const routerChanges: BfdStateChange[] = [];
  const state: { daemon?: BfdEngine; cut: boolean } = { cut: false };
  const router: BfdEngine = new BfdEngine(
    {
      openSender: () => ({
        send: (buf) => {
          const copy = Buffer.from(buf);
          clock.at(clock.now() + 1, () => {
            if (state.cut) return;
            if (state.daemon) return void state.daemon.receive(copy, { address: '10.0.0.1', port: 49152, multihop: false, ttl: 255 });
            const answer = xdp.onPacket(copy, '10.0.0.1'); // XDP_TX: straight back
            if (answer) clock.at(clock.now() + 1, () => router.receive(answer, { address: '10.0.0.2', port: 49300, multihop: false, ttl: 255 }));
          });
        },
        close: () => {},
      }),
    },
    clock,
    (c) => routerChanges.push(c),
  );
  router.setSessions([cfgOf('10.0.0.2', auth)]);
  const startDaemon = (resume = new Map()) => {
    const d = new BfdEngine(
      {
        openSender: () => ({
          srcPort: 49300,
          send: (buf) => {
            // the daemon renews the lease with each packet, its sequence number written first
            xdp.renewLease(clock.now() + 150, { p: buf.length >= 32 ? buf.readUInt32BE(28) : 0 });
            const copy = Buffer.from(buf);
            clock.at(clock.now() + 1, () => state.cut || router.receive(copy, { address: '10.0.0.2', port: 49300, multihop: false, ttl: 255 }));
          },
          close: () => {},
        }),
      },
      clock,
      () => {},
    );
    d.setSessions([cfgOf('10.0.0.1', auth)], resume);
    state.daemon = d;
    return d;
  };
  /** What the daemon does every 50 ms besides renewing the lease: (re)publish its Up session when
   *  the window is half used or the session changed. */
  const daemonTick = (d: BfdEngine) => {
    const s = d.session('p')!;
    const row = xdp.rows.get('p');
    if (s.state === BfdState.Up && (!row || ((s.xmitAuthSeq - row.firstSeq) >>> 0) > 150 || row.remoteDiscr !== s.remoteDiscr)) {
      const fresh = offloadSession(s, { srcPort: d.sender('p')!.srcPort!, dstPort: 3784, window: 300 });
      if (fresh) xdp.publish([fresh]);
    }
  };
  const run = (ms: number, d?: BfdEngine) => {
    for (let t = 0; t < ms; t += 50) {
      if (d && state.daemon === d) daemonTick(d);
      clock.advance(50);
    }
  };
  return { clock, xdp, router, routerChanges, state, startDaemon, run };
}

test('offload: kill -9 of the daemon: the offload keeps the router Up (meticulous SHA-1) and a new daemon resumes without a flap', () => {
  const w = world();
  const d1 = w.startDaemon();
  w.run(5000, d1);
  assert.equal(w.router.views()[0]!.state, BfdState.Up);
  assert.equal(d1.session('p')!.state, BfdState.Up);
  const row = w.xdp.rows.get('p')!;
  assert.equal(row.frames.length, 300);
  assert.equal(row.localDiscr, d1.session('p')!.localDiscr);
  assert.equal(row.srcPort, 49300);
  const changesBefore = w.routerChanges.length;

  // kill -9: the engine vanishes without AdminDown; the lease runs out 150 ms later
  d1.close();
  w.state.daemon = undefined;
  w.run(10_000);
  assert.equal(w.router.views()[0]!.state, BfdState.Up, 'the router never saw the daemon go');
  assert.equal(w.routerChanges.length, changesBefore);
  const sent = w.xdp.progress.get('p')!.sent;
  assert.ok(sent >= 80, `the offload answered ${sent} times in 10 s`);
  assert.deepEqual(w.router.stats.dropped, {}, 'no sequence number rejected, no bad digest');

  // a new daemon resumes from the table: same discriminator, after the last number on the wire
  const { sessions, progress } = w.xdp.read();
  const resume = new Map([['p', resumeOf(sessions[0]!, progress.find((p) => p.key === 'p'))]]);
  assert.equal(resume.get('p')!.srcPort, sessions[0]!.srcPort, 'the session keeps its source port (RFC 5881 section 4)');
  const d2 = w.startDaemon(resume);
  assert.equal(d2.session('p')!.state, BfdState.Up);
  assert.equal(d2.session('p')!.localDiscr, row.localDiscr);
  w.run(5000, d2);
  assert.equal(w.router.views()[0]!.state, BfdState.Up);
  assert.equal(d2.session('p')!.state, BfdState.Up);
  assert.equal(w.routerChanges.length, changesBefore, 'no flap through kill -9 and restart');
  assert.deepEqual(w.router.stats.dropped, {});

  // power cut: no daemon, no offload: the router sees it within its detection time
  w.state.cut = true;
  const cutAt = w.clock.now();
  w.run(1000);
  const down = w.routerChanges.find((c) => c.to === BfdState.Down)!;
  assert.equal(down.detectMs, 300);
  assert.ok(w.router.views()[0]!.lastDown!.atMs - cutAt <= 350);
});

test('offload: keyed SHA-1 needs one frame, answered again and again; a used-up meticulous window goes silent', () => {
  const keyed = world({ ...AUTH, type: BfdAuthType.KeyedSha1 } as unknown as typeof AUTH);
  const d = keyed.startDaemon();
  keyed.run(5000, d);
  assert.equal(keyed.xdp.rows.get('p')!.frames.length, 1);
  d.close();
  keyed.state.daemon = undefined;
  keyed.run(10_000);
  assert.equal(keyed.router.views()[0]!.state, BfdState.Up);
  assert.deepEqual(keyed.router.stats.dropped, {});

  const small = world();
  const d2 = small.startDaemon();
  small.run(5000, d2);
  const s = d2.session('p')!;
  small.xdp.publish([offloadSession(s, { srcPort: 49300, dstPort: 3784, window: 10 })!]);
  small.xdp.renewLease(small.clock.now() + 150, { p: s.xmitAuthSeq });
  d2.close();
  small.state.daemon = undefined;
  small.run(3000);
  assert.equal(small.xdp.progress.get('p')!.sent, 10, 'ten frames, then silence');
  assert.equal(small.router.views()[0]!.state, BfdState.Down);
  assert.deepEqual(small.router.stats.dropped, {});
});

test('offload: only Up sessions with a known source address are published; the row never holds the key', () => {
  const w = world();
  const d = w.startDaemon();
  const s = d.session('p')!;
  assert.equal(offloadSession(s, { srcPort: 1, dstPort: 3784, window: 5 }), undefined, 'not Up yet');
  w.run(3000, d);
  const noLocal = { ...s.cfg, local: undefined };
  s.cfg = noLocal;
  assert.equal(offloadSession(s, { srcPort: 1, dstPort: 3784, window: 5 }), undefined, 'no source address');
  const row = offloadSession(s, { local: '10.0.0.2', srcPort: 1, dstPort: 3784, window: 5 })!;
  assert.ok(row.frames.every((f) => !f.includes(Buffer.from('offload-key'))));
  assert.deepEqual(row.frames.map((f) => f.readUInt32BE(28)), [0, 1, 2, 3, 4].map((i) => (row.firstSeq + i) >>> 0));
  assert.equal(row.frames[0]![1]! >> 6, BfdState.Up);
});
