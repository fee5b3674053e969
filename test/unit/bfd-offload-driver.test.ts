// BfdOffloadDriver (src/bfd/offload-driver.ts): the daemon's BFD engine wired to the offload port
// as the worker thread runs it. Against a router engine and an offload that behaves as the XDP
// program (answers only while the lease has expired, the next frame per router packet): the driver
// publishes the Up session and renews the lease with each packet, so a kill -9 leaves the router
// Up (meticulous keyed SHA-1 and none); a second driver reads the table and resumes without a
// flap; republishing happens before half a meticulous window is used; an orderly stop clears it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BfdEngine } from '../../src/bfd/engine.js';
import type { BfdOffloadPort } from '../../src/bfd/offload.js';
import { BfdOffloadDriver, seqOf } from '../../src/bfd/offload-driver.js';
import { BfdAuthType, BfdState, controlPacket } from '../../src/bfd/packet.js';
import { encodeSigned } from '../../src/bfd/auth.js';
import type { BfdSessionConfig, BfdStateChange } from '../../src/bfd/session.js';
import { FakeClock, FakeXdpOffload } from './bfd-fakes.js';

const AUTH = { type: BfdAuthType.MeticulousKeyedSha1 as const, keyId: 1, key: Buffer.from('offload-key') };
type Auth = BfdSessionConfig['auth'];
const cfgOf = (peer: string, auth: Auth, local?: string): BfdSessionConfig => ({ key: 'p', peer, ...(local ? { local } : {}), multihop: false, minTxUs: 100_000, minRxUs: 100_000, multiplier: 3, ...(auth ? { auth } : {}) });

function world(auth: Auth) {
  const clock = new FakeClock();
  const xdp = new FakeXdpOffload(clock);
  const publishes: number[] = [];
  const realPublish = xdp.publish.bind(xdp);
  xdp.publish = (s) => {
    publishes.push(s.length);
    realPublish(s);
  };
  const routerChanges: BfdStateChange[] = [];
  const state: { daemon?: BfdEngine } = {};
  const router: BfdEngine = new BfdEngine(
    {
      openSender: () => ({
        send: (buf) => {
          const copy = Buffer.from(buf);
          clock.at(clock.now() + 1, () => {
            if (state.daemon) return void state.daemon.receive(copy, { address: '10.0.0.1', port: 49152, multihop: false, ttl: 255 });
            const answer = xdp.onPacket(copy, '10.0.0.1');
            if (answer) clock.at(clock.now() + 1, () => router.receive(answer, { address: '10.0.0.2', port: 49300, multihop: false, ttl: 255 }));
          });
        },
        close: () => {},
      }),
    },
    clock,
    (c) => routerChanges.push(c),
  );
  router.setSessions([cfgOf('10.0.0.2', auth, '10.0.0.1')]);
  /** The worker thread's wiring: read the table, wrap the transport, resume, tick on changes and every 250 ms. */
  /** freePort: the port the transport binds when no resumed one is asked for (a new process's own). */
  const startDaemon = (freePort = 49300) => {
    const driver = new BfdOffloadDriver({ port: xdp, now: () => clock.now(), window: 300, localFor: () => '10.0.0.2' });
    driver.readResume();
    const changes: BfdStateChange[] = [];
    const asked: Array<number | undefined> = [];
    const inner = {
      openSender: (_c: BfdSessionConfig, opts?: { srcPort?: number }) => {
        asked.push(opts?.srcPort);
        return {
          srcPort: opts?.srcPort ?? freePort,
          send: (buf: Buffer) => {
            const copy = Buffer.from(buf);
            clock.at(clock.now() + 1, () => router.receive(copy, { address: '10.0.0.2', port: 49300, multihop: false, ttl: 255 }));
          },
          close: () => {},
        };
      },
    };
    const d = new BfdEngine(driver.wrap(inner), clock, (c) => {
      changes.push(c);
      driver.tick();
    });
    driver.attach(d);
    const list = [cfgOf('10.0.0.1', auth)];
    d.setSessions(list, driver.takeResume(list));
    state.daemon = d;
    return { d, driver, changes, asked };
  };
  const run = (ms: number, driver?: BfdOffloadDriver) => {
    for (let t = 0; t < ms; t += 250) {
      driver?.tick();
      clock.advance(250);
    }
  };
  return { clock, xdp, router, routerChanges, state, startDaemon, run, publishes };
}

for (const [name, auth] of [['meticulous keyed SHA-1', AUTH], ['no auth', undefined]] as const) {
  test(`offload driver (${name}): kill -9, 5 s, a new driver resumes from the table: the router never leaves Up`, () => {
    const w = world(auth);
    const a = w.startDaemon();
    w.run(3000, a.driver);
    assert.equal(w.router.views()[0]!.state, BfdState.Up);
    const row = w.xdp.rows.get('p')!;
    assert.ok(row, 'the Up session is published');
    assert.equal(row.local, '10.0.0.2', 'the source address the kernel would use');
    assert.equal(row.srcPort, 49300);
    assert.equal(row.frames.length, auth ? 300 : 1);
    assert.ok(w.xdp.leaseUntil > w.clock.now() && w.xdp.leaseUntil <= w.clock.now() + 150, 'the lease is 1.5 intervals past the last packet');
    if (auth) assert.equal(w.xdp.progress.get('p')!.lastSeq, a.d.session('p')!.xmitAuthSeq, 'each packet reports its number');
    const before = w.routerChanges.length;

    a.d.close(); // kill -9: no AdminDown, no more renewals
    w.state.daemon = undefined;
    w.run(5000);
    assert.equal(w.router.views()[0]!.state, BfdState.Up);
    assert.ok(w.xdp.progress.get('p')?.sent ?? 0, 'the offload answered');

    const b = w.startDaemon(49400);
    assert.equal(b.d.session('p')!.state, BfdState.Up, 'resumed Up');
    assert.equal(b.d.session('p')!.localDiscr, row.localDiscr);
    // RFC 5881 section 4: the resumed session asks for the source port the table holds (XDP answered from it)
    assert.deepEqual(a.asked, [undefined], 'a fresh session takes any free port');
    assert.deepEqual(b.asked, [49300]);
    assert.equal(b.d.sender('p')!.srcPort, 49300);
    w.run(3000, b.driver);
    assert.equal(w.router.views()[0]!.state, BfdState.Up);
    assert.equal(w.routerChanges.length, before, 'no flap through kill -9 and restart');
    assert.deepEqual(w.router.stats.dropped, {}, 'no replayed number, no bad digest');
    assert.deepEqual(b.changes, []);
  });
}

test('offload driver: republishes before half a meticulous window is used, not on every tick; an orderly stop clears', () => {
  const w = world(AUTH);
  const a = w.startDaemon();
  w.run(3000, a.driver);
  const n = w.publishes.length;
  assert.ok(n >= 1);
  w.run(3000, a.driver); // 30 packets of 300: nothing to republish
  assert.equal(w.publishes.length, n, 'an unchanged session is not republished');
  w.run(14_000, a.driver); // 140 more packets: past half the window
  assert.ok(w.publishes.length > n, 'republished before the window ran low');
  const first = w.xdp.rows.get('p')!.firstSeq;
  assert.ok(((a.d.session('p')!.xmitAuthSeq + 1 - first) >>> 0) <= 150);
  a.driver.clear();
  assert.equal(w.xdp.rows.size, 0);
  assert.equal(w.xdp.leaseUntil, 0);
});

test('offload driver: a session re-added after the first set does not resume; the table read fails softly', () => {
  const errors: string[] = [];
  const port: BfdOffloadPort = {
    publish: () => {},
    renewLease: () => {},
    read: () => {
      throw new Error('no map');
    },
  };
  const d = new BfdOffloadDriver({ port, now: () => 0, window: 8, onError: (m) => errors.push(m) });
  assert.equal(d.readResume().size, 0);
  assert.match(errors[0]!, /no map/);
  const w = world(AUTH);
  const a = w.startDaemon();
  w.run(2000, a.driver);
  const again = new BfdOffloadDriver({ port: w.xdp, now: () => 0, window: 8 });
  again.readResume();
  assert.equal(again.takeResume([{ ...cfgOf('10.0.0.9', AUTH), key: 'q' }]).size, 0, 'only the sessions asked for');
  assert.equal(again.takeResume([cfgOf('10.0.0.1', AUTH)]).size, 0, 'only once');
});

test('seqOf: the number of keyed and meticulous auth sections only', () => {
  const p = controlPacket({ state: BfdState.Up, myDiscr: 1, yourDiscr: 2, detectMult: 3, desiredMinTx: 100_000, requiredMinRx: 100_000 });
  assert.equal(seqOf(encodeSigned(p, AUTH, 0xfffffffe)), 0xfffffffe);
  assert.equal(seqOf(encodeSigned(p, { ...AUTH, type: BfdAuthType.KeyedSha1 } as unknown as typeof AUTH, 7)), 7);
  assert.equal(seqOf(encodeSigned(p, undefined, 0)), undefined);
  const simple = Buffer.alloc(40);
  simple[1] = 0x04;
  simple[24] = 1; // simple password: no number
  assert.equal(seqOf(simple), undefined);
  assert.equal(seqOf(Buffer.alloc(10)), undefined);
});
