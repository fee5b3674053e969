// GTSM (RFC 5082) on connections a peer opens to us (issue 11.7), over loopback with the native
// addon (loopback keeps the TTL a sender sets): the listener checks the TTL the SYN arrived with
// before the OPEN is read and refuses a GTSM peer below 255 (single hop); an accepted one gets
// IP_MINTTL 255 and our packets carry TTL 255 (the test client drops anything below 255).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BgpState } from '../../src/bgp/fsm.js';
import { loadNative } from '../../src/native/index.js';
import { waitFor } from '../../src/lib/backoff.js';
import { RawConn, freePort, newSpeaker, openMsg, peerSpec } from './fixtures/bgp/loopback.js';

const native = loadNative();
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A client socket from `from` with the given TTL and minimum TTL, connected to 127.0.0.1:port. */
async function client(from: string, port: number, ttl: number, minTtl: number): Promise<RawConn> {
  const fd = native.tcpSocket({ family: 4, ttl, minTtl, bindAddress: from, bindPort: 0 });
  if (!native.tcpConnect(fd, '127.0.0.1', port)) await native.tcpConnectWait(fd, 3000);
  const c = new RawConn(new net.Socket({ fd, readable: true, writable: true }));
  cleanups.push(() => void c.socket.destroy());
  return c;
}

test('GTSM regression (issue 11.7): an incoming GTSM peer below TTL 255 is refused before its OPEN is read; at 255 it is accepted and answered at TTL 255', async () => {
  // before the fix: the listener set no TTL rules, so TTL 253 was accepted and answered with TTL 64
  const port = await freePort('127.0.0.1');
  const s = newSpeaker({ asn: 65000, routerId: '10.0.0.1', listenPort: port, listenAddress: '127.0.0.1', native });
  cleanups.push(() => s.stop('graceful'));
  s.setPeers([peerSpec('127.0.0.3', 65010, { passive: true, gtsm: true })], []);
  await s.start();
  for (const ttl of [1, 253, 254]) {
    const low = await client('127.0.0.3', port, ttl, 1);
    low.send(openMsg({ asn: 65010 }));
    await low.until(() => low.closed, 3000, `TTL ${ttl} refused`);
    assert.deepEqual(low.got, [], `nothing sent to a TTL ${ttl} connection`);
    assert.equal(s.neighbors()[0]!.state, BgpState.Active);
  }
  // TTL 255 in; the client drops whatever arrives below 255, so our OPEN proves we send at 255
  const ok = await client('127.0.0.3', port, 255, 255);
  await ok.until(() => ok.got.some((m) => m.type === 'open'), 3000, 'our OPEN at TTL 255');
  ok.send(openMsg({ asn: 65010 }));
  ok.send({ type: 'keepalive' });
  await waitFor(() => s.neighbors()[0]!.state === BgpState.Established, { timeoutMs: 5000, what: 'Established' });
  await ok.until(() => ok.got.some((m) => m.type === 'keepalive'), 3000, 'KEEPALIVE at TTL 255');
});

test('GTSM: a non-GTSM peer is accepted at any TTL (the rules are per peer)', async () => {
  const port = await freePort('127.0.0.1');
  const s = newSpeaker({ asn: 65000, routerId: '10.0.0.1', listenPort: port, listenAddress: '127.0.0.1', native });
  cleanups.push(() => s.stop('graceful'));
  s.setPeers([peerSpec('127.0.0.4', 65011, { passive: true })], []);
  await s.start();
  const c = await client('127.0.0.4', port, 2, 1);
  await c.until(() => c.got.some((m) => m.type === 'open'), 3000, 'our OPEN');
  assert.equal(c.closed, false);
});
