// BGP sessions over loopback: two real BgpSpeakers, or one speaker and a scripted raw peer that
// speaks bytes through the codec. Checks the FSM as users meet it: OPEN/KEEPALIVE exchange,
// NOTIFICATIONs with the right codes, hold timer, collision, back-off, graceful and admin stop.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { BgpSpeaker, type BgpSpeakerOptions } from '../../src/bgp/speaker.js';
import { BgpState } from '../../src/bgp/fsm.js';
import { createLogger, silentLogger } from '../../src/lib/logger.js';
import { waitFor, sleep } from '../../src/lib/backoff.js';
import type { PeerSpec } from '../../src/model/desired-state.js';
import { freePort, peerSpec } from './fixtures/bgp/loopback.js';
import { Framer, decodeMessage, encodeMessage, DEFAULT_CONTEXT, type BgpMessage, type CodecContext } from '../../src/bgp/wire/index.js';

const speakers: BgpSpeaker[] = [];
const servers: net.Server[] = [];
after(async () => {
  await Promise.all(speakers.map((s) => s.stop('shutdown')));
  for (const s of servers) s.close();
});

/** This file's peers: both families, a small max-prefix bound, received routes kept for inspection. */
function peer(address: string, asn: number, extra: Partial<PeerSpec> = {}): PeerSpec {
  return peerSpec(address, asn, { families: ['ipv4', 'ipv6'], maxPrefixes: 1000, keepReceived: true, ...extra });
}

function speaker(o: Partial<BgpSpeakerOptions> & { asn: number; routerId: string }): BgpSpeaker {
  const s = new BgpSpeaker({ listenPort: 0, logger: silentLogger(), registry: new Registry(), ...o });
  speakers.push(s);
  return s;
}

const state = (s: BgpSpeaker, i = 0) => s.neighbors()[i]?.state;

/** A (127.0.0.1, AS 65000) connects to B (listening on 127.0.0.2, AS 65001, passive). */
async function pair(opts: { a?: Partial<PeerSpec>; b?: Partial<PeerSpec>; aAsn?: number; bAsn?: number; aOpts?: Partial<BgpSpeakerOptions> } = {}) {
  const port = await freePort('127.0.0.2');
  const aAsn = opts.aAsn ?? 65000;
  const bAsn = opts.bAsn ?? 65001;
  const b = speaker({ asn: bAsn, routerId: '10.0.0.2', listenPort: port, listenAddress: '127.0.0.2' });
  const a = speaker({ asn: aAsn, routerId: '10.0.0.1', localAddresses: { ipv6: 'fd00::1' }, ...opts.aOpts });
  b.setPeers([peer('127.0.0.1', aAsn, { passive: true, ...opts.b })], []);
  a.setPeers([peer('127.0.0.2', bAsn, { port, localAddress: '127.0.0.1', ...opts.a })], []);
  await b.start();
  await a.start();
  return { a, b, port };
}

const established = (...ss: BgpSpeaker[]) =>
  waitFor(() => ss.every((s) => state(s) === BgpState.Established), { timeoutMs: 5000, what: 'Established' });

test('session: two speakers reach Established and negotiate capabilities and hold time', async () => {
  const { a, b } = await pair({ a: { holdTime: 30 }, b: { holdTime: 9 } });
  await established(a, b);
  for (const s of [a, b]) {
    const n = s.neighbors()[0]!;
    assert.equal(n.capabilities?.holdTime, 9);
    assert.equal(n.capabilities?.keepalive, 3);
    assert.deepEqual(n.capabilities?.families, ['ipv4', 'ipv6']);
    assert.equal(n.capabilities?.as4, true);
    assert.equal(n.capabilities?.routeRefresh, true);
    assert.equal(n.capabilities?.extendedMessage, true);
    assert.equal(n.capabilities?.peerGracefulRestart?.restartTime, 30);
    assert.equal(n.capabilities?.peerGracefulRestart?.restarting, false);
    assert.equal(n.lastError, null);
  }
  assert.equal(a.neighbors()[0]!.capabilities?.remoteId, '10.0.0.2');
});

test('session: hold time 0 on one side means no keepalives and no hold timer', async () => {
  const { a, b } = await pair({ a: { holdTime: 0 } });
  await established(a, b);
  for (const s of [a, b]) assert.deepEqual([s.neighbors()[0]!.capabilities?.holdTime, s.neighbors()[0]!.capabilities?.keepalive], [0, 0]);
  await sleep(1500);
  assert.equal(state(a), BgpState.Established);
  assert.equal(state(b), BgpState.Established);
});

test('session: advertisements reach the peer with next-hop self per family; End-of-RIB only after the first reconcile', async () => {
  const { a, b } = await pair();
  await established(a, b);
  a.setAdvertisements([
    { prefix: '192.168.80.241/32', med: 10, communities: ['65000:100'], largeCommunities: ['65000:1:2'] },
    { prefix: 'fd00:80::241/128', med: 20 },
  ]);
  await waitFor(() => b.receivedRoutes('127.0.0.1').length === 2, { timeoutMs: 3000, what: 'routes at B' });
  const got = Object.fromEntries(b.receivedRoutes('127.0.0.1').map((r) => [r.prefix, r]));
  assert.deepEqual(got['192.168.80.241/32'], { prefix: '192.168.80.241/32', asPath: '65000', med: 10, communities: ['65000:100'], nextHop: '127.0.0.1' });
  assert.deepEqual(got['fd00:80::241/128'], { prefix: 'fd00:80::241/128', asPath: '65000', med: 20, nextHop: 'fd00::1' });
  await sleep(200);
  assert.deepEqual(b.neighbors()[0]!.endOfRibReceived, [], 'EoR held before the first reconcile');
  assert.equal(a.neighbors()[0]!.endOfRibSent, false);
  a.setInitialReconcileDone();
  await waitFor(() => b.neighbors()[0]!.endOfRibReceived.length === 2, { timeoutMs: 3000, what: 'EoR at B' });
  assert.equal(a.neighbors()[0]!.prefixesSent, 2);
  assert.equal(b.neighbors()[0]!.prefixesReceived, 2);
  // withdraw one, change the other: no session reset
  const before = a.neighbors()[0]!.establishedAt;
  a.setAdvertisements([{ prefix: '192.168.80.241/32', med: 11 }]);
  await waitFor(() => b.receivedRoutes('127.0.0.1').length === 1 && b.receivedRoutes('127.0.0.1')[0]!.med === 11, { timeoutMs: 3000, what: 'withdraw at B' });
  assert.equal(a.neighbors()[0]!.establishedAt, before);
});

test('session: iBGP sends LOCAL_PREF and an empty AS_PATH; a 4-byte ASN works', async () => {
  const { a, b } = await pair({ aAsn: 4200000001, bAsn: 4200000001 });
  await established(a, b);
  a.setAdvertisements([{ prefix: '10.9.9.9/32', localPref: 300 }]);
  await waitFor(() => b.receivedRoutes('127.0.0.1').length === 1, { timeoutMs: 3000, what: 'route' });
  assert.equal(b.receivedRoutes('127.0.0.1')[0]!.asPath, '');
  assert.equal(b.neighbors()[0]!.asn, 4200000001);
});

test('session: stop("shutdown") sends Cease/Administrative Shutdown; stop("graceful") closes without a NOTIFICATION', async () => {
  {
    const { a, b } = await pair();
    await established(a, b);
    await a.stop('shutdown');
    await waitFor(() => b.neighbors()[0]!.lastError, { timeoutMs: 3000, what: 'error at B' });
    const e = b.neighbors()[0]!.lastError!;
    assert.deepEqual([e.code, e.subcode, e.received, e.class], [6, 2, true, 'rx']);
  }
  {
    const { a, b } = await pair();
    await established(a, b);
    await a.stop('graceful');
    await waitFor(() => b.neighbors()[0]!.lastError, { timeoutMs: 3000, what: 'error at B' });
    const e = b.neighbors()[0]!.lastError!;
    assert.equal(e.code, undefined, 'no NOTIFICATION');
    assert.equal(e.class, 'socket');
    assert.equal(e.reason, 'tcp-failed');
  }
});

test('session: max-prefix guard with maxPrefixesAction teardown resets with Cease/Maximum Number of Prefixes Reached and keeps nothing', async () => {
  const { a, b } = await pair({ b: { maxPrefixes: 2, maxPrefixesAction: 'teardown' } });
  await established(a, b);
  a.setAdvertisements([{ prefix: '10.0.0.1/32' }, { prefix: '10.0.0.2/32' }, { prefix: '10.0.0.3/32' }]);
  await waitFor(() => a.neighbors()[0]!.lastError?.code === 6, { timeoutMs: 3000, what: 'Cease at A' });
  assert.deepEqual([a.neighbors()[0]!.lastError!.subcode, a.neighbors()[0]!.lastError!.received], [1, true]);
  const e = b.neighbors()[0]!.lastError!;
  assert.deepEqual([e.code, e.subcode, e.received ?? false], [6, 1, false]);
  assert.equal(b.neighbors()[0]!.prefixesReceived, 0);
});

test('session: a BFD Down ends the session at once with Cease/BFD Down (RFC 9384); a peer change in bfd settings alone does not reset it', async () => {
  const { a, b } = await pair({ a: { bfd: { minRxMs: 300, minTxMs: 300, multiplier: 3 } } });
  await established(a, b);
  const est = a.neighbors()[0]!.establishedAt;
  // new BFD timers are the BFD engine's business (a poll sequence): the BGP session stays
  a.setPeers([peer('127.0.0.2', 65001, { port: (a.neighbors()[0] as { port: number }).port, localAddress: '127.0.0.1', bfd: { minRxMs: 100, minTxMs: 100, multiplier: 5 } })], []);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(state(a), BgpState.Established);
  assert.equal(a.neighbors()[0]!.establishedAt, est);
  assert.equal(a.bfdDown('127.0.0.9'), false, 'no such peer');
  assert.equal(a.bfdDown('127.0.0.2'), true);
  const e = a.neighbors()[0]!.lastError!;
  assert.deepEqual([e.code, e.subcode, e.name], [6, 10, 'cease/bfd-down']);
  await waitFor(() => b.neighbors()[0]!.lastError?.code === 6, { timeoutMs: 3000, what: 'Cease at B' });
  assert.deepEqual([b.neighbors()[0]!.lastError!.subcode, b.neighbors()[0]!.lastError!.received], [10, true]);
  await a.stop('shutdown');
  await b.stop('shutdown');
});

test('session: a peer with the wrong AS gets OPEN error Bad Peer AS', async () => {
  const { a, b } = await pair({ b: { asn: 65099 } }); // B expects AS 65099, A is 65000
  await waitFor(() => a.neighbors()[0]!.lastError?.received, { timeoutMs: 3000, what: 'NOTIFICATION at A' });
  const e = a.neighbors()[0]!.lastError!;
  assert.deepEqual([e.code, e.subcode], [2, 2]);
  assert.equal(b.neighbors()[0]!.lastError!.name, 'open-message/bad-peer-as');
  assert.notEqual(state(a), BgpState.Established);
});

test('session: the listener refuses addresses that are not configured peers', async () => {
  const port = await freePort('127.0.0.2');
  const b = speaker({ asn: 65001, routerId: '10.0.0.2', listenPort: port, listenAddress: '127.0.0.2' });
  b.setPeers([peer('127.0.0.1', 65000, { passive: true })], []);
  await b.start();
  const sock = net.connect({ host: '127.0.0.2', port, localAddress: '127.0.0.9' });
  const closed = await new Promise<boolean>((resolve) => {
    sock.on('close', () => resolve(true));
    sock.on('error', () => undefined);
    setTimeout(() => resolve(false), 2000);
  });
  assert.ok(closed, 'connection from 127.0.0.9 closed');
  assert.equal(state(b), BgpState.Active);
});

test('session: connection collision leaves one session (both sides active and listening)', async () => {
  const pa = await freePort('127.0.0.1');
  const pb = await freePort('127.0.0.2');
  const a = speaker({ asn: 65000, routerId: '10.0.0.1', listenPort: pa, listenAddress: '127.0.0.1' });
  const b = speaker({ asn: 65001, routerId: '10.0.0.2', listenPort: pb, listenAddress: '127.0.0.2' });
  a.setPeers([peer('127.0.0.2', 65001, { port: pb, localAddress: '127.0.0.1' })], []);
  b.setPeers([peer('127.0.0.1', 65000, { port: pa, localAddress: '127.0.0.2' })], []);
  await Promise.all([a.start(), b.start()]);
  await established(a, b);
  await sleep(500);
  assert.equal(state(a), BgpState.Established);
  assert.equal(state(b), BgpState.Established);
  a.setAdvertisements([{ prefix: '10.7.7.7/32' }]);
  await waitFor(() => b.receivedRoutes('127.0.0.1').length === 1, { timeoutMs: 3000, what: 'route over the surviving connection' });
});

// ---- a scripted raw peer ----

interface RawPeer {
  port: number;
  /** messages received from the speaker, in order */
  got: BgpMessage[];
  send(m: BgpMessage): void;
  socket(): net.Socket | undefined;
  connections: number;
  close(): void;
}

async function rawPeer(onMessage: (p: RawPeer, m: BgpMessage) => void, host = '127.0.0.3'): Promise<RawPeer> {
  const port = await freePort(host);
  let sock: net.Socket | undefined;
  const ctx: CodecContext = { ...DEFAULT_CONTEXT, as4: true };
  const p: RawPeer = {
    port,
    got: [],
    connections: 0,
    send: (m) => sock?.write(encodeMessage(m, ctx)),
    socket: () => sock,
    close: () => server.close(),
  };
  const server = net.createServer((s) => {
    sock = s;
    p.connections++;
    const f = new Framer();
    s.on('error', () => undefined);
    s.on('data', (d) => {
      for (const raw of f.push(d)) {
        const m = decodeMessage(raw, ctx);
        p.got.push(m);
        onMessage(p, m);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, host, r));
  return p;
}

const open = (holdTime = 9, asn = 65010): BgpMessage => ({
  type: 'open',
  version: 4,
  myAsn: asn,
  holdTime,
  bgpId: '10.0.0.3',
  capabilities: [{ type: 'mp', afi: 1, safi: 1 }, { type: 'as4', asn }, { type: 'route-refresh' }],
});

function toRaw(port: number, extra: Partial<PeerSpec> = {}, o: Partial<BgpSpeakerOptions> = {}): BgpSpeaker {
  const s = speaker({ asn: 65000, routerId: '10.0.0.1', ...o });
  s.setPeers([peer('127.0.0.3', 65010, { port, localAddress: '127.0.0.1', families: ['ipv4'], ...extra })], []);
  return s;
}

const notifications = (p: RawPeer) => p.got.filter((m) => m.type === 'notification').map((m) => (m.type === 'notification' ? `${m.code}/${m.subcode}` : ''));

test('session: a KEEPALIVE before the OPEN is FSM error 5/1 (unexpected in OpenSent, RFC 6608)', async () => {
  const p = await rawPeer((p, m) => {
    if (m.type === 'open') p.send({ type: 'keepalive' });
  });
  const s = toRaw(p.port);
  await s.start();
  await waitFor(() => notifications(p).length > 0, { timeoutMs: 3000, what: 'NOTIFICATION' });
  assert.deepEqual(notifications(p), ['5/1']);
  const e = s.neighbors()[0]!.lastError!;
  assert.deepEqual([e.code, e.subcode, e.class, e.reason], [5, 1, 'rx', 'fsm-error']);
  assert.equal(p.got[0]!.type, 'open', 'our OPEN went first');
});

test('session: an UPDATE in OpenConfirm is FSM error 5/2', async () => {
  const p = await rawPeer((p, m) => {
    if (m.type === 'open') {
      p.send(open());
      p.send({ type: 'update', withdrawn: ['10.0.0.0/8'], attributes: {}, nlri: [] });
    }
  });
  const s = toRaw(p.port);
  await s.start();
  await waitFor(() => notifications(p).length > 0, { timeoutMs: 3000, what: 'NOTIFICATION' });
  assert.deepEqual(notifications(p), ['5/2']);
});

test('session: a peer proposing hold time 2 gets OPEN error Unacceptable Hold Time', async () => {
  const p = await rawPeer((p, m) => {
    if (m.type === 'open') p.send(open(2));
  });
  const s = toRaw(p.port);
  await s.start();
  await waitFor(() => notifications(p).length > 0, { timeoutMs: 3000, what: 'NOTIFICATION' });
  assert.deepEqual(notifications(p), ['2/6']);
  assert.equal(s.neighbors()[0]!.lastError!.name, 'open-message/unacceptable-hold-time');
});

test('session: a silent peer is dropped with Hold Timer Expired after the negotiated hold time', async () => {
  let estAt = 0;
  const p = await rawPeer((p, m) => {
    if (m.type === 'open') {
      p.send(open(3));
      p.send({ type: 'keepalive' });
      estAt = Date.now();
    }
    // then: silence (no keepalives)
  });
  const s = toRaw(p.port);
  await s.start();
  await waitFor(() => notifications(p).length > 0, { timeoutMs: 6000, what: 'NOTIFICATION' });
  const took = Date.now() - estAt;
  assert.deepEqual(notifications(p), ['4/0']);
  assert.ok(took >= 2800 && took < 4500, `hold timer fired after ${took} ms (want ~3000)`);
  // keepalives were sent every second (hold 3 → keepalive 1)
  assert.ok(p.got.filter((m) => m.type === 'keepalive').length >= 3, 'keepalives at hold/3');
});

test('session: ROUTE-REFRESH makes the speaker send its adj-RIB-out again', async () => {
  const p = await rawPeer((p, m) => {
    if (m.type === 'open') {
      p.send(open());
      p.send({ type: 'keepalive' });
    }
  });
  const s = toRaw(p.port);
  s.setAdvertisements([{ prefix: '10.5.5.5/32' }, { prefix: '10.5.5.6/32' }]);
  await s.start();
  const nlri = () => p.got.flatMap((m) => (m.type === 'update' ? m.nlri : []));
  await waitFor(() => nlri().length === 2, { timeoutMs: 3000, what: 'first UPDATE' });
  p.send({ type: 'route-refresh', afi: 1, safi: 1, subtype: 0 });
  await waitFor(() => nlri().length === 4, { timeoutMs: 3000, what: 'UPDATE again' });
  assert.deepEqual(nlri().sort(), ['10.5.5.5/32', '10.5.5.5/32', '10.5.5.6/32', '10.5.5.6/32']);
  assert.equal(p.connections, 1, 'no reset');
});

test('session: repeated errors double the idle hold (1 s, then 2 s)', async () => {
  const opens: number[] = [];
  const p = await rawPeer((p, m) => {
    if (m.type === 'open') {
      opens.push(Date.now());
      p.send({ type: 'notification', code: 6, subcode: 5, data: Buffer.alloc(0) }); // Cease / Connection Rejected
      p.socket()?.end();
    }
  });
  const s = toRaw(p.port);
  await s.start();
  await waitFor(() => opens.length >= 3, { timeoutMs: 8000, what: 'three attempts' });
  const d1 = opens[1]! - opens[0]!;
  const d2 = opens[2]! - opens[1]!;
  assert.ok(d1 >= 900 && d1 < 1800, `first wait ${d1} ms`);
  assert.ok(d2 >= 1900 && d2 < 3000, `second wait ${d2} ms`);
  assert.equal(s.neighbors()[0]!.lastError!.name, 'cease/connection-rejected');
});

test('session: a passive peer never connects out', async () => {
  const p = await rawPeer(() => undefined);
  const s = toRaw(p.port, { passive: true });
  await s.start();
  await sleep(1500);
  assert.equal(p.connections, 0);
  assert.equal(state(s), BgpState.Active);
});

test('session: an MD5 peer without the native addon never connects unauthenticated, and the password is never logged', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const p = await rawPeer(() => undefined);
  const s = toRaw(p.port, { password: 'sw0rdf1sh-secret' }, { logger: createLogger({ level: 'trace', destination: sink }) });
  await s.start();
  await sleep(1200);
  assert.equal(p.connections, 0);
  assert.match(s.neighbors()[0]!.lastError!.message, /MD5 needs the native addon/);
  assert.ok(lines.length > 0);
  assert.ok(!lines.join('').includes('sw0rdf1sh'), 'password absent from logs');
  assert.ok(!JSON.stringify(s.neighbors()).includes('sw0rdf1sh'), 'password absent from the neighbors view');
});
