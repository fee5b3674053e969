// BgpSpeaker over loopback: peer diffing (unchanged peers untouched, changed peers reset alone),
// export policies re-evaluated without a reset, metrics (one session_up series per peer), the
// lazy adj-RIB-out, and graceful-restart capability bits.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Registry } from 'prom-client';
import { BgpSpeaker, canonicalPrefix, type BgpSpeakerOptions } from '../../src/bgp/speaker.js';
import { AdjRibOut, attrKey, type OutRoute } from '../../src/bgp/adj-rib-out.js';
import { BgpState } from '../../src/bgp/fsm.js';
import { silentLogger } from '../../src/lib/logger.js';
import { waitFor, sleep } from '../../src/lib/backoff.js';
import type { PeerSpec, PolicySpec } from '../../src/model/desired-state.js';
import { DEFAULT_CONTEXT, Framer, decodeMessage, encodeMessage, type BgpMessage, type CodecContext, type GracefulRestartCapability, type PathAttributes } from '../../src/bgp/wire/index.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const c of cleanup) await c();
});

async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function peer(address: string, asn: number, extra: Partial<PeerSpec> = {}): PeerSpec {
  return { address, asn, port: 179, holdTime: 9, passive: false, connectRetry: 1, idleHold: 1, gracefulRestart: true, restartTime: 30, families: ['ipv4'], exportPolicies: [], maxPrefixes: 1000, keepReceived: true, ...extra };
}

function speaker(o: Partial<BgpSpeakerOptions> & { asn: number; routerId: string }): BgpSpeaker {
  const s = new BgpSpeaker({ listenPort: 0, logger: silentLogger(), registry: new Registry(), ...o });
  cleanup.push(() => s.stop('shutdown'));
  return s;
}

/** Several "routers" (passive speakers on 127.0.0.2..) and one edge speaker on 127.0.0.1 peering with them. */
async function star(n: number, edgeOpts: Partial<BgpSpeakerOptions> = {}) {
  const routers: Array<{ s: BgpSpeaker; addr: string; port: number }> = [];
  for (let i = 0; i < n; i++) {
    const addr = `127.0.1.${i + 2}`;
    const port = await freePort(addr);
    const s = speaker({ asn: 65001 + i, routerId: `10.0.1.${i + 2}`, listenPort: port, listenAddress: addr });
    s.setPeers([peer('127.0.0.1', 65000, { passive: true })], []);
    await s.start();
    routers.push({ s, addr, port });
  }
  const registry = new Registry();
  const edge = speaker({ asn: 65000, routerId: '10.0.0.1', registry, ...edgeOpts });
  const specs = routers.map((r, i) => peer(r.addr, 65001 + i, { port: r.port, localAddress: '127.0.0.1' }));
  return { routers, edge, specs, registry };
}

const allUp = (s: BgpSpeaker) => waitFor(() => s.neighbors().every((n) => n.state === BgpState.Established), { timeoutMs: 5000, what: 'all Established' });

async function metric(reg: Registry, name: string): Promise<Array<{ labels: Record<string, string | number>; value: number }>> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []) as Array<{ labels: Record<string, string | number>; value: number }>;
}

test('speaker: setPeers leaves unchanged peers alone, resets only a changed one, removes a removed one with its metrics', async () => {
  const { routers, edge, specs, registry } = await star(3);
  edge.setPeers(specs, []);
  await edge.start();
  await allUp(edge);
  edge.setAdvertisements([{ prefix: '192.168.80.1/32' }]);
  await waitFor(() => routers.every((r) => r.s.receivedRoutes('127.0.0.1').length === 1), { timeoutMs: 3000, what: 'routes' });
  const est = Object.fromEntries(edge.neighbors().map((n) => [n.address, n.establishedAt]));
  assert.equal((await metric(registry, 'edgelb_bgp_session_up')).length, 3);

  // same list again (new objects): nothing happens
  edge.setPeers(specs.map((p) => ({ ...p })), []);
  await sleep(300);
  for (const n of edge.neighbors()) assert.equal(n.establishedAt, est[n.address], `${n.address} untouched`);

  // change the hold time of peer 1 only
  edge.setPeers([specs[0]!, { ...specs[1]!, holdTime: 30 }, specs[2]!], []);
  await waitFor(() => edge.neighbors().every((n) => n.state === BgpState.Established) && edge.neighbors()[1]!.establishedAt !== est[specs[1]!.address], { timeoutMs: 6000, what: 'peer 1 re-established' });
  assert.equal(edge.neighbors()[0]!.establishedAt, est[specs[0]!.address]);
  assert.equal(edge.neighbors()[2]!.establishedAt, est[specs[2]!.address]);
  assert.equal(edge.neighbors()[1]!.capabilities?.holdTime, 9, 'min(30, router 9)');
  const e = routers[1]!.s.neighbors()[0]!.lastError!;
  assert.deepEqual([e.code, e.subcode], [6, 6], 'Cease / Other Configuration Change');
  await waitFor(() => routers[1]!.s.receivedRoutes('127.0.0.1').length === 1, { timeoutMs: 3000, what: 'routes re-sent' });

  // remove peer 2: Cease / Peer De-configured, and its metric series go away
  edge.setPeers([specs[0]!, { ...specs[1]!, holdTime: 30 }], []);
  await waitFor(() => routers[2]!.s.neighbors()[0]!.lastError?.code === 6, { timeoutMs: 3000, what: 'Cease at router 2' });
  assert.equal(routers[2]!.s.neighbors()[0]!.lastError!.subcode, 3);
  const up = await metric(registry, 'edgelb_bgp_session_up');
  assert.deepEqual(up.map((v) => v.labels.peer).sort(), [specs[0]!.address, specs[1]!.address]);
  assert.ok(up.every((v) => v.value === 1));
  assert.equal(edge.neighbors().length, 2);
});

test('speaker: a policy change re-evaluates export without a session reset', async () => {
  const { routers, edge, specs, registry } = await star(2);
  const pol = (med: number): PolicySpec => ({
    name: 'p',
    prefixSets: { vips: [{ prefix: '192.168.80.0/24', minLen: 32, maxLen: 32 }] },
    communitySets: {},
    statements: [{ name: 's', match: { prefixSet: 'vips', peers: [specs[0]!.address] }, actions: { med, addCommunities: ['65000:7'] } }],
    defaultResult: 'accept',
  });
  edge.setPeers(specs.map((s) => ({ ...s, exportPolicies: ['p'] })), [pol(50)]);
  await edge.start();
  await allUp(edge);
  edge.setAdvertisements([{ prefix: '192.168.80.5/32', med: 1 }, { prefix: '10.0.0.5/32' }]);
  const r0 = () => Object.fromEntries(routers[0]!.s.receivedRoutes('127.0.0.1').map((r) => [r.prefix, r]));
  await waitFor(() => r0()['192.168.80.5/32']?.med === 50, { timeoutMs: 3000, what: 'MED 50 at router 0' });
  assert.deepEqual(r0()['192.168.80.5/32']!.communities, ['65000:7']);
  assert.equal(r0()['10.0.0.5/32']!.med, undefined, 'outside the prefix set: unchanged');
  await waitFor(() => routers[1]!.s.receivedRoutes('127.0.0.1').length === 2, { timeoutMs: 3000, what: 'router 1 routes' });
  assert.equal(routers[1]!.s.receivedRoutes('127.0.0.1').find((r) => r.prefix === '192.168.80.5/32')!.med, 1, 'statement only for peer 0');
  const est = edge.neighbors().map((n) => n.establishedAt);
  const transitionsBefore = (await metric(registry, 'edgelb_bgp_state_transitions_total')).reduce((a, v) => a + v.value, 0);

  edge.setPeers(specs.map((s) => ({ ...s, exportPolicies: ['p'] })), [pol(70)]);
  await waitFor(() => r0()['192.168.80.5/32']?.med === 70, { timeoutMs: 3000, what: 'MED 70 at router 0' });
  assert.deepEqual(edge.neighbors().map((n) => n.establishedAt), est);
  const transitionsAfter = (await metric(registry, 'edgelb_bgp_state_transitions_total')).reduce((a, v) => a + v.value, 0);
  assert.equal(transitionsAfter, transitionsBefore, 'no state change');

  // a rejecting policy withdraws
  edge.setPeers(specs.map((s) => ({ ...s, exportPolicies: ['p'] })), [{ ...pol(70), defaultResult: 'reject', statements: [] }]);
  await waitFor(() => routers[0]!.s.receivedRoutes('127.0.0.1').length === 0, { timeoutMs: 3000, what: 'withdrawn by policy' });
  assert.deepEqual(edge.neighbors().map((n) => n.establishedAt), est);
});

test('speaker: 100 advertisement changes cause no reset; prefixes-advertised metric counts only while Established', async () => {
  const { routers, edge, specs, registry } = await star(1);
  edge.setPeers(specs, []);
  await edge.start();
  await allUp(edge);
  const est = edge.neighbors()[0]!.establishedAt;
  for (let i = 0; i < 100; i++) {
    edge.setAdvertisements(i % 2 === 0 ? [{ prefix: `192.168.81.${i}/32` }, { prefix: '192.168.80.1/32' }] : [{ prefix: '192.168.80.1/32' }]);
    await sleep(5);
  }
  edge.setAdvertisements([{ prefix: '192.168.80.1/32' }, { prefix: '192.168.80.2/32' }]);
  await waitFor(() => routers[0]!.s.receivedRoutes('127.0.0.1').map((r) => r.prefix).sort().join() === '192.168.80.1/32,192.168.80.2/32', { timeoutMs: 3000, what: 'final set' });
  assert.equal(edge.neighbors()[0]!.establishedAt, est);
  assert.equal((await metric(registry, 'edgelb_bgp_prefixes_advertised'))[0]!.value, 2);
  assert.ok((await metric(registry, 'edgelb_bgp_updates_sent_total'))[0]!.value >= 50);
  await routers[0]!.s.stop('shutdown');
  await waitFor(() => edge.neighbors()[0]!.state !== BgpState.Established, { timeoutMs: 3000, what: 'down' });
  assert.equal((await metric(registry, 'edgelb_bgp_prefixes_advertised'))[0]!.value, 0);
  assert.equal((await metric(registry, 'edgelb_bgp_session_up'))[0]!.value, 0);
  assert.equal((await metric(registry, 'edgelb_bgp_notifications_received_total'))[0]!.value, 1);
});

// ---- graceful-restart capability bits, seen by a raw peer ----

async function grabOpen(o: Partial<BgpSpeakerOptions>, p: Partial<PeerSpec> = {}): Promise<BgpMessage & { type: 'open' }> {
  const port = await freePort('127.0.0.3');
  const ctx: CodecContext = { ...DEFAULT_CONTEXT };
  let got: (BgpMessage & { type: 'open' }) | undefined;
  const server = net.createServer((s) => {
    const f = new Framer();
    s.on('error', () => undefined);
    s.on('data', (d) => {
      for (const raw of f.push(d)) {
        const m = decodeMessage(raw, ctx);
        if (m.type === 'open') {
          got = m;
          s.end(encodeMessage({ type: 'notification', code: 6, subcode: 2, data: Buffer.alloc(0) }, ctx));
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.3', r));
  cleanup.push(() => void server.close());
  const s = speaker({ asn: 65000, routerId: '10.0.0.1', ...o });
  s.setPeers([peer('127.0.0.3', 65010, { port, localAddress: '127.0.0.1', families: ['ipv4', 'ipv6'], ...p })], []);
  await s.start();
  await waitFor(() => got, { timeoutMs: 3000, what: 'OPEN' });
  await s.stop('shutdown');
  return got!;
}

const grCap = (m: BgpMessage & { type: 'open' }) => m.capabilities.find((c) => c.type === 'graceful-restart') as GracefulRestartCapability | undefined;

test('speaker: graceful restart: restart time 30, R bit only when restarting, F bit only when forwarding was preserved, never N', async () => {
  const fresh = grCap(await grabOpen({}));
  assert.ok(fresh);
  assert.equal(fresh.restartTime, 30);
  assert.equal(fresh.restartState, false);
  assert.ok(!fresh.notification);
  assert.deepEqual(fresh.families.map((f) => [f.afi, f.forwarding]), [[1, false], [2, false]]);
  const restarted = grCap(await grabOpen({ restarting: true, forwardingPreserved: true }));
  assert.equal(restarted!.restartState, true);
  assert.deepEqual(restarted!.families.map((f) => f.forwarding), [true, true]);
  assert.ok(!restarted!.notification);
  const lostDataPath = grCap(await grabOpen({ restarting: true, forwardingPreserved: false }));
  assert.equal(lostDataPath!.restartState, true);
  assert.deepEqual(lostDataPath!.families.map((f) => f.forwarding), [false, false]);
  assert.equal(grCap(await grabOpen({}, { gracefulRestart: false })), undefined, 'GR off: no capability');
  const open4 = await grabOpen({ asn: 4200000000 });
  assert.equal(open4.myAsn, 23456, 'AS_TRANS in the 2-byte field');
});

// ---- adj-RIB-out: lazy UPDATE building ----

function out(prefix: string, med?: number): OutRoute {
  const attrs: PathAttributes = { origin: 'igp', asPath: [{ type: 'sequence', asns: [65000] }], nextHop: '10.0.0.1', ...(med !== undefined ? { med } : {}) };
  return { prefix, family: 4, attrs, key: attrKey(4, attrs) };
}
const ctx4: CodecContext = { as4: true, extendedMessage: false, maxLength: 4096 };
function decodeAll(bufs: Buffer[]) {
  return bufs.map((b) => decodeMessage(b, ctx4)).filter((m): m is BgpMessage & { type: 'update' } => m.type === 'update');
}

test('adj-RIB-out: a route withdrawn before the socket drained is never sent', () => {
  const r = new AdjRibOut();
  r.setDesired(new Map([['10.0.0.1/32', out('10.0.0.1/32')], ['10.0.0.2/32', out('10.0.0.2/32')]]));
  r.setDesired(new Map([['10.0.0.2/32', out('10.0.0.2/32')]]));
  const u = decodeAll(r.take(ctx4));
  assert.deepEqual(u.flatMap((m) => m.nlri), ['10.0.0.2/32']);
  assert.deepEqual(u.flatMap((m) => m.withdrawn), [], 'nothing to withdraw: 10.0.0.1 was never sent');
  assert.equal(r.pending, 0);
});

test('adj-RIB-out: only the difference is sent; equal attributes pack together; withdrawals first', () => {
  const r = new AdjRibOut();
  const all = new Map<string, OutRoute>();
  for (let i = 0; i < 1000; i++) all.set(`10.1.${i >> 8}.${i & 255}/32`, out(`10.1.${i >> 8}.${i & 255}/32`));
  r.setDesired(all);
  const first = decodeAll(r.take(ctx4, 10_000));
  assert.equal(first.flatMap((m) => m.nlri).length, 1000);
  assert.ok(first.length <= 2, `1000 /32s with equal attributes in ${first.length} UPDATEs`);
  assert.equal(r.sentCount, 1000);
  const next = new Map(all);
  next.delete('10.1.0.0/32');
  next.set('10.1.0.1/32', out('10.1.0.1/32', 5));
  assert.equal(r.setDesired(next), 2);
  const second = decodeAll(r.take(ctx4));
  assert.deepEqual(second[0]!.withdrawn, ['10.1.0.0/32']);
  assert.deepEqual(second.flatMap((m) => m.nlri), ['10.1.0.1/32']);
  assert.equal(second[1]!.attributes.med, 5);
  assert.equal(r.setDesired(new Map(next)), 0, 'same set: no change');
  assert.equal(r.take(ctx4).length, 0);
  r.resendAll();
  assert.equal(decodeAll(r.take(ctx4, 10_000)).flatMap((m) => m.nlri).length, 999);
});

test('adj-RIB-out: take() is bounded so a big push is built in slices', () => {
  const r = new AdjRibOut();
  const all = new Map<string, OutRoute>();
  for (let i = 0; i < 5000; i++) all.set(`10.2.${i >> 8}.${i & 255}/32`, out(`10.2.${i >> 8}.${i & 255}/32`));
  r.setDesired(all);
  const a = decodeAll(r.take(ctx4, 2000)).flatMap((m) => m.nlri).length;
  assert.equal(a, 2000);
  assert.equal(r.pending, 3000);
});

test('adj-RIB-out: a fresh session walks the table in place: 100k /32 in 125 UPDATEs; changes mid-transfer are honoured', () => {
  const r = new AdjRibOut();
  const shared = out('');
  const all = new Map<string, OutRoute>();
  for (let i = 0; i < 100_000; i++) all.set(`10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, shared);
  assert.equal(r.setDesired(all), 100_000);
  assert.equal(r.pending, 100_000);
  const first = decodeAll(r.take(ctx4));
  assert.equal(first.flatMap((m) => m.nlri).length, 4000, 'the first slice goes out before the rest is built');
  assert.equal(r.sentCount, 4000);
  assert.equal(r.pending, 96_000);
  // mid-transfer: one sent prefix withdrawn, one unsent prefix dropped, one unsent gets a MED
  const next = new Map(all);
  next.delete('10.64.0.0/32');
  next.delete('10.64.200.0/32');
  next.set('10.64.100.0/32', out('', 7));
  r.setDesired(next);
  const rest: ReturnType<typeof decodeAll> = [];
  while (r.pending > 0) rest.push(...decodeAll(r.take(ctx4)));
  assert.deepEqual(rest.flatMap((m) => m.withdrawn), ['10.64.0.0/32'], 'only what the peer has is withdrawn');
  const sent = [...first, ...rest].flatMap((m) => m.nlri);
  assert.equal(sent.length, 99_999);
  assert.equal(new Set(sent).size, 99_999, 'no prefix twice');
  assert.ok(!sent.includes('10.64.200.0/32'), 'a prefix dropped before it was sent never goes out');
  assert.equal(rest.find((m) => m.nlri.includes('10.64.100.0/32'))!.attributes.med, 7);
  assert.equal(r.sentCount, 99_998);
  // packing: 4096 bytes hold 810 /32s next to these attributes; only each 4000-prefix slice's last UPDATE is short
  const fresh = new AdjRibOut();
  fresh.setDesired(all);
  const msgs: Buffer[] = [];
  while (fresh.pending > 0) msgs.push(...fresh.take(ctx4));
  assert.equal(msgs.length, 25 * Math.ceil(4000 / 810));
  assert.equal(msgs.filter((m) => m.length > 4096 - 5).length, 25 * Math.floor(4000 / 810));
});

test('canonicalPrefix: the IPv4 fast path agrees with lib/addr, other forms are normalised', () => {
  const rows: Array<[string, string]> = [
    ['10.0.0.1/32', '10.0.0.1/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['10.1.2.0/24', '10.1.2.0/24'],
    ['10.1.2.3/24', '10.1.2.0/24'],
    ['255.255.255.255/32', '255.255.255.255/32'],
    ['128.0.0.0/1', '128.0.0.0/1'],
    ['129.0.0.0/1', '128.0.0.0/1'],
    ['FD00:80::1/128', 'fd00:80::1/128'],
    ['fd00:80:0:0::/64', 'fd00:80::/64'],
    ['10.0.0.7', '10.0.0.7/32'],
  ];
  for (const [input, want] of rows) assert.equal(canonicalPrefix(input), want, input);
  assert.throws(() => canonicalPrefix('256.0.0.1/32'));
  assert.throws(() => canonicalPrefix('010.1.2.3/32'), 'leading zeros are ambiguous (octal?) and refused');
  assert.throws(() => canonicalPrefix('10.0.0.1/33'));
});

test('speaker: carried() names, per prefix, the Established peers that were sent it (export policy and session state count)', async () => {
  const { routers, edge, specs } = await star(2);
  // peer 1 exports nothing under 192.168.80.0/24
  const pol: PolicySpec = {
    name: 'only-peer0',
    prefixSets: { vips: [{ prefix: '192.168.80.0/24', minLen: 32, maxLen: 32 }] },
    communitySets: {},
    statements: [{ name: 'r', match: { prefixSet: 'vips', peers: [specs[1]!.address] }, actions: { result: 'reject' } }],
    defaultResult: 'accept',
  };
  edge.setPeers(specs.map((s) => ({ ...s, exportPolicies: ['only-peer0'] })), [pol]);
  assert.deepEqual([...edge.carried()], [], 'nothing before any session');
  await edge.start();
  await allUp(edge);
  edge.setAdvertisements([{ prefix: '192.168.80.5/32' }, { prefix: '10.0.0.5/32' }]);
  await waitFor(() => routers[1]!.s.receivedRoutes('127.0.0.1').length === 1 && routers[0]!.s.receivedRoutes('127.0.0.1').length === 2, { timeoutMs: 3000, what: 'routes at both routers' });
  assert.deepEqual(Object.fromEntries(edge.carried()), { '192.168.80.5/32': [specs[0]!.address], '10.0.0.5/32': [specs[0]!.address, specs[1]!.address] });
  await routers[0]!.s.stop('shutdown');
  await waitFor(() => edge.neighbors()[0]!.state !== BgpState.Established, { timeoutMs: 3000, what: 'peer 0 down' });
  assert.deepEqual(Object.fromEntries(edge.carried()), { '10.0.0.5/32': [specs[1]!.address] }, 'a VIP only peer 0 had is carried by nobody now');
});
