// BGP connection collisions (RFC 4271 §6.8) over real loopback sockets: a scripted raw peer opens
// a second connection while our first is in OpenSent / OpenConfirm / Established, with both
// router-id orders, both directions of the surviving connection, and a reset at each stage.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BgpState } from '../../src/bgp/fsm.js';
import { sleep, waitFor } from '../../src/lib/backoff.js';
import type { BgpSpeaker } from '../../src/bgp/speaker.js';
import { RawConn, freePort, newSpeaker, openMsg, peerSpec, rawListener } from './fixtures/bgp/loopback.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const LOCAL_ID = '10.0.0.5';
const st = (s: BgpSpeaker) => s.neighbors()[0]!.state;
const hasOpen = (c: RawConn) => c.got.some((m) => m.type === 'open');

/** Our speaker (127.0.0.1, listening) with one active peer 127.0.0.3 whose listener is scripted. */
async function setup() {
  const lport = await freePort('127.0.0.1');
  const firsts: RawConn[] = [];
  const raw = await rawListener('127.0.0.3', (c) => firsts.push(c));
  const s = newSpeaker({ asn: 65000, routerId: LOCAL_ID, listenPort: lport, listenAddress: '127.0.0.1' });
  s.setPeers([peerSpec('127.0.0.3', 65010, { port: raw.port, localAddress: '127.0.0.1', connectRetry: 30 })], []);
  cleanups.push(() => s.stop('graceful'), () => raw.close());
  await s.start();
  await waitFor(() => firsts.length > 0 && hasOpen(firsts[0]!), { timeoutMs: 5000, what: 'our OPEN on the first connection' });
  const second = () => RawConn.connect(lport, '127.0.0.1', '127.0.0.3');
  return { s, first: firsts[0]!, second, firsts };
}

test('collision regression (issue 11.1): peer resets our OpenSent connection, then OPENs on its second one: no crash, one session', async () => {
  // before the fix: resolveCollisionWith dereferenced this.conn! (null) and the process died
  const { s, first, second } = await setup();
  assert.equal(st(s), BgpState.OpenSent);
  const c2 = await second();
  cleanups.push(() => void c2.socket.destroy());
  await c2.until(() => hasOpen(c2), 5000, 'our OPEN on the candidate');
  first.reset();
  await sleep(100);
  c2.send(openMsg({ bgpId: '10.0.0.9' }));
  await c2.until(() => c2.got.some((m) => m.type === 'keepalive') || c2.closed, 5000, 'KEEPALIVE or close');
  assert.equal(c2.closed, false, 'the surviving candidate is kept');
  c2.send({ type: 'keepalive' });
  await waitFor(() => st(s) === BgpState.Established, { timeoutMs: 5000, what: 'Established on the candidate' });
});

type Stage = 'OpenSent' | 'OpenConfirm' | 'Established';
const HIGHER = '10.0.0.9'; // peer id above ours: the peer-initiated (incoming) connection survives
const LOWER = '10.0.0.2'; // peer id below ours: our outgoing connection survives

/** Bring the first connection (ours, outgoing) to `stage` from the peer's side. */
async function drive(s: BgpSpeaker, first: RawConn, stage: Stage, peerId: string): Promise<void> {
  if (stage === 'OpenSent') return;
  first.send(openMsg({ bgpId: peerId }));
  await first.until(() => first.got.some((m) => m.type === 'keepalive'), 5000, 'KEEPALIVE on the first connection');
  if (stage === 'OpenConfirm') {
    await waitFor(() => st(s) === BgpState.OpenConfirm, { timeoutMs: 3000, what: 'OpenConfirm' });
    return;
  }
  first.send({ type: 'keepalive' });
  await waitFor(() => st(s) === BgpState.Established, { timeoutMs: 3000, what: 'Established' });
}

const keepalives = (c: RawConn) => c.got.filter((m) => m.type === 'keepalive').length;

for (const stage of ['OpenSent', 'OpenConfirm', 'Established'] as Stage[]) {
  for (const [order, peerId] of [
    ['peer id higher', HIGHER],
    ['peer id lower', LOWER],
  ] as const) {
    test(`collision matrix: second connection in ${stage}, ${order}: exactly one session survives (§6.8)`, async () => {
      const { s, first, second, firsts } = await setup();
      await drive(s, first, stage, peerId);
      const c2 = await second();
      cleanups.push(() => void c2.socket.destroy());
      if (stage === 'Established') {
        // a collision with an Established session closes the new connection, whatever the ids
        await c2.until(() => c2.closed, 5000, 'candidate closed');
        assert.deepEqual(c2.notifications(), ['6/7']);
        assert.equal(hasOpen(c2), false, 'no OPEN on a connection refused in Established');
        assert.equal(first.closed, false);
        assert.equal(st(s), BgpState.Established);
        return;
      }
      await c2.until(() => hasOpen(c2), 5000, 'our OPEN on the candidate');
      c2.send(openMsg({ bgpId: peerId }));
      const [winner, loser] = peerId === HIGHER ? [c2, first] : [first, c2];
      await loser.until(() => loser.closed, 5000, 'the losing connection closed');
      assert.deepEqual(loser.notifications(), ['6/7'], 'Cease / Connection Collision Resolution on the loser');
      assert.equal(winner.closed, false);
      if (winner === first && stage === 'OpenSent') {
        winner.send(openMsg({ bgpId: peerId }));
      }
      await winner.until(() => keepalives(winner) > 0, 5000, 'KEEPALIVE on the winner');
      winner.send({ type: 'keepalive' });
      await waitFor(() => st(s) === BgpState.Established, { timeoutMs: 5000, what: 'Established on the winner' });
      await sleep(100);
      assert.equal(winner.closed, false);
      assert.equal(firsts.length, 1, 'no further outgoing connection');
      assert.deepEqual(winner.notifications(), []);
    });
  }
  test(`collision matrix: ${stage}, the first connection reset after the candidate got our OPEN: the candidate carries on`, async () => {
    const { s, first, second } = await setup();
    await drive(s, first, stage, HIGHER);
    const c2 = await second();
    cleanups.push(() => void c2.socket.destroy());
    if (stage === 'Established') {
      await c2.until(() => c2.closed, 5000, 'candidate closed');
      first.reset();
      // the session goes down and comes back on a new outgoing connection after the idle hold
      await waitFor(() => st(s) !== BgpState.Established, { timeoutMs: 3000, what: 'session down' });
      return;
    }
    await c2.until(() => hasOpen(c2), 5000, 'our OPEN on the candidate');
    first.reset();
    await waitFor(() => st(s) === BgpState.OpenSent && s.neighbors()[0]!.lastStateChange.reason === 'collision', { timeoutMs: 3000, what: 'candidate adopted' });
    c2.send(openMsg({ bgpId: HIGHER }));
    await c2.until(() => keepalives(c2) > 0, 5000, 'KEEPALIVE on the candidate');
    c2.send({ type: 'keepalive' });
    await waitFor(() => st(s) === BgpState.Established, { timeoutMs: 5000, what: 'Established on the candidate' });
  });
  test(`collision matrix: ${stage}, the candidate reset before its OPEN: the first connection carries on`, async () => {
    const { s, first, second } = await setup();
    await drive(s, first, stage, LOWER);
    const c2 = await second();
    cleanups.push(() => void c2.socket.destroy());
    if (stage !== 'Established') await c2.until(() => hasOpen(c2), 5000, 'our OPEN on the candidate');
    c2.reset();
    await sleep(100);
    assert.equal(first.closed, false);
    if (stage === 'OpenSent') first.send(openMsg({ bgpId: LOWER }));
    if (stage !== 'Established') {
      await first.until(() => keepalives(first) > 0, 5000, 'KEEPALIVE');
      first.send({ type: 'keepalive' });
    }
    await waitFor(() => st(s) === BgpState.Established, { timeoutMs: 5000, what: 'Established on the first connection' });
    assert.deepEqual(first.notifications(), []);
  });
}

test('collision matrix: the winner reset right after resolution: the session restarts cleanly on a new connection', async () => {
  const { s, first, second, firsts } = await setup();
  const c2 = await second();
  cleanups.push(() => void c2.socket.destroy());
  await c2.until(() => hasOpen(c2), 5000, 'our OPEN on the candidate');
  c2.send(openMsg({ bgpId: HIGHER }));
  await first.until(() => first.closed, 5000, 'loser closed');
  c2.reset();
  await waitFor(() => firsts.length === 2, { timeoutMs: 8000, what: 'a new outgoing connection after the idle hold' });
  const again = firsts[1]!;
  await again.until(() => hasOpen(again), 5000, 'OPEN');
  again.send(openMsg({ bgpId: HIGHER }));
  await again.until(() => keepalives(again) > 0, 5000, 'KEEPALIVE');
  again.send({ type: 'keepalive' });
  await waitFor(() => st(s) === BgpState.Established, { timeoutMs: 5000, what: 'Established again' });
});

test('collision: two connections both from the peer (we are passive): the second is closed, the first carries on', async () => {
  const lport = await freePort('127.0.0.1');
  const s = newSpeaker({ asn: 65000, routerId: LOCAL_ID, listenPort: lport, listenAddress: '127.0.0.1' });
  s.setPeers([peerSpec('127.0.0.3', 65010, { passive: true })], []);
  cleanups.push(() => s.stop('graceful'));
  await s.start();
  const c1 = await RawConn.connect(lport, '127.0.0.1', '127.0.0.3');
  cleanups.push(() => void c1.socket.destroy());
  await c1.until(() => hasOpen(c1), 5000, 'OPEN on the first');
  const c2 = await RawConn.connect(lport, '127.0.0.1', '127.0.0.3');
  cleanups.push(() => void c2.socket.destroy());
  await c2.until(() => hasOpen(c2), 5000, 'OPEN on the second');
  c2.send(openMsg({ bgpId: HIGHER }));
  await c2.until(() => c2.closed, 5000, 'second closed');
  assert.deepEqual(c2.notifications(), ['6/7']);
  c1.send(openMsg({ bgpId: HIGHER }));
  await c1.until(() => keepalives(c1) > 0, 5000, 'KEEPALIVE');
  c1.send({ type: 'keepalive' });
  await waitFor(() => st(s) === BgpState.Established, { timeoutMs: 5000, what: 'Established' });
});
