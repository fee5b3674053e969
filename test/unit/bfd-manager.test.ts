// The BFD manager end to end on loopback: peers' `bfd` settings become sessions (single hop unless
// the BGP peer is multihop), two managers (each with its worker thread and real UDP sockets) come
// Up with meticulous keyed SHA-1, report rows and metrics, and one sees 'down' when the other
// stops; the addon's udpSocket drops datagrams whose TTL is below 255 (RFC 5881 section 5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import pino from 'pino';
import { BfdManager, sessionConfigs } from '../../src/bfd/manager.js';
import { BfdAuthType } from '../../src/bfd/packet.js';
import { bfdTable } from '../../src/cli/tables.js';
import type { PeerSpec } from '../../src/model/desired-state.js';
import { loadNative } from '../../src/native/index.js';

const base: PeerSpec = {
  address: '10.0.0.1', asn: 64512, port: 179, holdTime: 9, passive: false, connectRetry: 5, idleHold: 1,
  gracefulRestart: true, restartTime: 30, families: ['ipv4'], exportPolicies: [], maxPrefixes: 0,
};

test('sessionConfigs: one session per peer with bfd; multihop follows ebgpMultihop; auth key carried', () => {
  const got = sessionConfigs([
    base,
    { ...base, address: '10.0.0.2', localAddress: '10.0.0.9', bfd: { minRxMs: 100, minTxMs: 150, multiplier: 3 } },
    { ...base, address: '10.0.9.1', ebgpMultihop: 4, bfd: { minRxMs: 300, minTxMs: 300, multiplier: 5, auth: { type: 'meticulous-keyed-sha1', keyId: 2, key: 'k' } } },
    { ...base, address: '10.0.9.2', ebgpMultihop: 1, bfd: { minRxMs: 300, minTxMs: 300, multiplier: 5 } },
  ]);
  assert.deepEqual(got, [
    { key: '10.0.0.2', peer: '10.0.0.2', local: '10.0.0.9', multihop: false, minTxUs: 150_000, minRxUs: 100_000, multiplier: 3 },
    { key: '10.0.9.1', peer: '10.0.9.1', multihop: true, minTxUs: 300_000, minRxUs: 300_000, multiplier: 5, auth: { type: BfdAuthType.MeticulousKeyedSha1, keyId: 2, key: Buffer.from('k') } },
    { key: '10.0.9.2', peer: '10.0.9.2', multihop: false, minTxUs: 300_000, minRxUs: 300_000, multiplier: 5 },
  ]);
});

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const p = s.address().port;
  s.close();
  return p;
}

async function until(what: string, f: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('manager: two managers on loopback come Up with meticulous keyed SHA-1; an orderly stop is AdminDown (no BGP down), a silent one is a failure', async () => {
  const [pa, pb] = [await freeUdpPort(), await freeUdpPort()];
  const logger = pino({ level: 'silent' });
  const bfd = { minRxMs: 50, minTxMs: 50, multiplier: 3, auth: { type: 'meticulous-keyed-sha1' as const, keyId: 9, key: 'shared' } };
  const peer: PeerSpec = { ...base, address: '127.0.0.1', bfd };
  const regA = new Registry();
  const a = new BfdManager({ logger, registry: regA, receivers: [{ family: 4, multihop: false, address: '127.0.0.1', port: pa }], ports: { single: pb, multi: pb }, viewEveryMs: 50 });
  const mkB = () => new BfdManager({ logger, registry: new Registry(), receivers: [{ family: 4, multihop: false, address: '127.0.0.1', port: pb }], ports: { single: pa, multi: pa }, viewEveryMs: 50 });
  let b = mkB();
  const downs: string[] = [];
  a.on('down', (p: string) => downs.push(p));
  try {
    await a.start();
    await b.start();
    a.setPeers([peer]);
    b.setPeers([peer]);
    await until('both Up', () => a.rows()[0]?.state === 'Up' && b.rows()[0]?.state === 'Up');
    await until('timers negotiated', () => a.rows()[0]?.txIntervalMs === 50 && a.rows()[0]?.detectTimeMs === 150);
    const row = a.rows()[0]!;
    assert.equal(row.auth, 'meticulous-keyed-sha1/9');
    assert.equal(row.remoteDiscr, b.rows()[0]!.localDiscr);
    const text = await regA.metrics();
    assert.match(text, /edgelb_bfd_sessions\{state="Up"\} 1/);
    assert.match(text, /edgelb_bfd_session_up\{peer="127.0.0.1"\} 1/);
    assert.match(text, /edgelb_bfd_detection_time_seconds\{peer="127.0.0.1"\} 0.15/);
    assert.doesNotMatch(JSON.stringify(a.rows()) + text, /shared/);
    // orderly stop: B says AdminDown, A goes Down (diag 3) but does not report a path failure
    await b.stop();
    await until('A Down after AdminDown', () => a.rows()[0]?.state === 'Down');
    assert.equal(a.rows()[0]!.diag, 3);
    assert.deepEqual(downs, []);
    // B back: Up again; then B goes silent (a crash): A reports the failure after the detection time
    b = mkB();
    await b.start();
    b.setPeers([peer]);
    await until('Up again', () => a.rows()[0]?.state === 'Up');
    await b.stop(false);
    await until('A sees Down', () => downs.length > 0);
    assert.deepEqual(downs, ['127.0.0.1']);
    await until('A row Down', () => a.rows()[0]?.state === 'Down');
    assert.equal(a.rows()[0]!.diag, 1);
    assert.match(await regA.metrics(), /edgelb_bfd_flaps_total\{peer="127.0.0.1",diag="1"\} 1/);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('udpSocket: the socket filter drops datagrams with TTL / hop limit below 255 (IPv4 and IPv6)', async () => {
  const n = loadNative();
  const udpSocket = n.extra.udpSocket as (o: object) => number;
  const fd = udpSocket({ family: 4, bindAddress: '127.0.0.1', bindPort: 0, minTtl: 255, ttl: 255 });
  const rx = createSocket('udp4');
  // with an fd, 'listening' comes synchronously from bind(): wait through its callback
  await new Promise<void>((resolve) => rx.bind({ fd }, resolve));
  const got: string[] = [];
  rx.on('message', (m) => got.push(m.toString()));
  const tx = createSocket('udp4');
  tx.bind(0, '127.0.0.1');
  await once(tx, 'listening');
  try {
    for (const ttl of [254, 1, 255]) {
      tx.setTTL(ttl); // send() resolves the address asynchronously: wait for each before the next TTL
      await new Promise<void>((resolve, reject) => tx.send(`ttl${ttl}`, rx.address().port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    }
    await until('the TTL 255 datagram', () => got.length > 0, 5000);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(got, ['ttl255']);
    // IPv6: the hop limit, at its own offset in the header
    const fd6 = udpSocket({ family: 6, bindAddress: '::1', bindPort: 0, minTtl: 255 });
    const rx6 = createSocket('udp6');
    await new Promise<void>((resolve) => rx6.bind({ fd: fd6 }, resolve));
    const got6: string[] = [];
    rx6.on('message', (m) => got6.push(m.toString()));
    const tx6 = createSocket('udp6');
    await new Promise<void>((resolve) => tx6.bind(0, '::1', resolve));
    for (const hops of [64, 255]) {
      tx6.setTTL(hops);
      await new Promise<void>((resolve, reject) => tx6.send(`hops${hops}`, rx6.address().port, '::1', (e) => (e ? reject(e) : resolve())));
    }
    await until('the hop limit 255 datagram', () => got6.length > 0, 5000);
    await new Promise((r) => setTimeout(r, 100));
    rx6.close();
    tx6.close();
    assert.deepEqual(got6, ['hops255']);
    assert.throws(() => udpSocket({ family: 4, bindAddress: '::1', bindPort: 0 }), TypeError);
    assert.throws(() => udpSocket({ family: 5 }), RangeError);
  } finally {
    rx.close();
    tx.close();
  }
});

test('edgelb get bfd: the table shows negotiated timers, multipliers, auth and never a key', () => {
  const out = bfdTable([
    { peer: '10.0.0.1', multihop: false, state: 'Up', remoteState: 'Up', diag: 0, localDiscr: 1, remoteDiscr: 2, txIntervalMs: 100, detectTimeMs: 300, multiplier: 3, remoteMultiplier: 3, auth: 'meticulous-keyed-sha1/1', upSeconds: 75, flaps: 2 },
    { peer: '10.9.0.1', multihop: true, state: 'Down', remoteState: 'Down', diag: 1, localDiscr: 3, remoteDiscr: 0, txIntervalMs: 1000, detectTimeMs: 0, multiplier: 5, remoteMultiplier: 0, auth: 'none', upSeconds: 0, flaps: 0 },
  ]);
  const lines = out.trimEnd().split('\n');
  assert.match(lines[0]!, /^PEER +HOP +STATE +REMOTE +TX +DETECT +MULT +AUTH +UPTIME +FLAPS +DIAG$/);
  assert.match(lines[1]!, /^10\.0\.0\.1 +single +Up +Up +100ms +300ms +3\/3 +meticulous-keyed-sha1\/1 +1m15s +2 +0$/);
  assert.match(lines[2]!, /^10\.9\.0\.1 +multi +Down +Down +1000ms +- +5\/- +none +\S+ +0 +1$/);
});
