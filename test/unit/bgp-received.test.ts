// Received routes (issue 11.6): by default only per-family prefix counts, never attributes;
// keepReceived keeps attributes within a byte budget; over maxPrefixes the default action warns
// once, drops the excess and keeps the session (it carries our VIPs); 'teardown' sends Cease.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { BgpState } from '../../src/bgp/fsm.js';
import { createLogger } from '../../src/lib/logger.js';
import { waitFor, sleep } from '../../src/lib/backoff.js';
import type { BgpSpeaker } from '../../src/bgp/speaker.js';
import type { PeerSpec } from '../../src/model/desired-state.js';
import type { BgpMessage } from '../../src/bgp/wire/index.js';
import { establish, newSpeaker, peerSpec, rawListener, type RawConn } from './fixtures/bgp/loopback.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function session(extra: Partial<PeerSpec>, logLines?: string[]): Promise<{ s: BgpSpeaker; c: RawConn }> {
  const raw = await rawListener('127.0.0.3', (c) => void establish(c, { ipv6: true }));
  cleanups.push(() => raw.close());
  const sink = new Writable({
    write(chunk, _e, cb) {
      logLines?.push(String(chunk));
      cb();
    },
  });
  const s = newSpeaker({ asn: 65000, routerId: '10.0.0.1', localAddresses: { ipv6: 'fd00::1' }, logger: createLogger({ level: 'info', destination: sink }) });
  cleanups.push(() => s.stop('graceful'));
  s.setPeers([peerSpec('127.0.0.3', 65010, { port: raw.port, localAddress: '127.0.0.1', families: ['ipv4', 'ipv6'], ...extra })], []);
  s.setAdvertisements([{ prefix: '192.0.2.10/32' }]);
  await s.start();
  await waitFor(() => s.neighbors()[0]!.state === BgpState.Established, { timeoutMs: 5000, what: 'Established' });
  return { s, c: raw.conns[0]! };
}

const communities = (n: number) => Array.from({ length: n }, (_, i) => `65010:${i}`);
const update4 = (nlri: string[], comms = 0): BgpMessage => ({
  type: 'update',
  withdrawn: [],
  attributes: { origin: 'igp', asPath: [{ type: 'sequence', asns: [65010] }], nextHop: '127.0.0.3', ...(comms ? { communities: communities(comms) } : {}) },
  nlri,
});
const update6 = (nlri: string[]): BgpMessage => ({
  type: 'update',
  withdrawn: [],
  attributes: { origin: 'igp', asPath: [{ type: 'sequence', asns: [65010] }], mpReach: { afi: 2, safi: 1, nextHops: ['fd00::3'], nlri } },
  nlri: [],
});
const v4 = (n: number, base = 0) => Array.from({ length: n }, (_, i) => `10.${base}.${i >> 8}.${i & 255}/32`);

test('received regression (issue 11.6): over maxPrefixes the default action warns once, drops the excess and keeps the session carrying our VIP', async () => {
  // before the fix: Cease / Maximum Number of Prefixes Reached tore the session (and our VIP) down
  const lines: string[] = [];
  const { s, c } = await session({ maxPrefixes: 3 }, lines);
  await c.until(() => c.got.some((m) => m.type === 'update' && m.nlri.includes('192.0.2.10/32')), 5000, 'our VIP');
  c.send(update4(v4(5)));
  c.send(update4(v4(2, 1)));
  await waitFor(() => s.neighbors()[0]!.prefixesDropped === 4, { timeoutMs: 3000, what: 'excess dropped' });
  await sleep(200);
  const n = s.neighbors()[0]!;
  assert.equal(n.state, BgpState.Established);
  assert.equal(n.prefixesReceived, 3);
  assert.deepEqual(c.notifications(), []);
  assert.equal(lines.filter((l) => l.includes('more than maxPrefixes')).length, 1, 'warned once');
  // a withdrawal makes room again
  c.send({ type: 'update', withdrawn: [v4(1)[0]!], attributes: {}, nlri: [] });
  c.send(update4(['10.9.0.1/32']));
  await waitFor(() => s.neighbors()[0]!.prefixesReceived === 3 && s.neighbors()[0]!.prefixesDropped === 4, { timeoutMs: 3000, what: 'room again' });
});

test('received: maxPrefixesAction teardown sends Cease / Maximum Number of Prefixes Reached', async () => {
  const { s, c } = await session({ maxPrefixes: 3, maxPrefixesAction: 'teardown' });
  c.send(update4(v4(4)));
  await c.until(() => c.closed, 5000, 'close');
  assert.deepEqual(c.notifications(), ['6/1']);
  assert.equal(s.neighbors()[0]!.lastError?.subcode, 1);
});

test('received regression (issue 11.6): by default no attributes are kept, only per-family counts (16k communities a route cost nothing)', async () => {
  // before the fix: the adj-RIB-in kept every route's attributes, with no budget
  const { s, c } = await session({ maxPrefixes: 0 });
  for (let i = 0; i < 20; i++) c.send(update4(v4(10, i), 900));
  c.send(update6(['2001:db8::1/128', '2001:db8::2/128']));
  await waitFor(() => s.neighbors()[0]!.prefixesReceived === 202, { timeoutMs: 5000, what: 'all counted' });
  const n = s.neighbors()[0]!;
  assert.deepEqual(n.prefixesReceivedByFamily, { ipv4: 200, ipv6: 2 });
  assert.deepEqual(n.received, { kept: false, bytes: 0, truncated: false });
  assert.deepEqual(s.receivedRoutes('127.0.0.3'), []);
});

test('received: keepReceived keeps attributes within its byte budget, then counts only', async () => {
  const { s, c } = await session({ maxPrefixes: 0, keepReceived: true, keepReceivedBytes: 200_000 });
  for (let i = 0; i < 20; i++) c.send(update4(v4(10, i), 200));
  await waitFor(() => s.neighbors()[0]!.prefixesReceived === 200, { timeoutMs: 5000, what: 'all counted' });
  const n = s.neighbors()[0]!;
  assert.equal(n.received.truncated, true);
  assert.ok(n.received.bytes <= 200_000 && n.received.bytes > 100_000, `bytes ${n.received.bytes}`);
  const kept = s.receivedRoutes('127.0.0.3');
  assert.ok(kept.length > 0 && kept.length < 200, `kept ${kept.length}`);
  assert.equal(kept[0]!.communities!.length, 200);
  // withdrawing kept routes gives their bytes back
  c.send({ type: 'update', withdrawn: kept.map((r) => r.prefix), attributes: {}, nlri: [] });
  await waitFor(() => s.neighbors()[0]!.received.bytes === 0, { timeoutMs: 3000, what: 'bytes returned' });
});
