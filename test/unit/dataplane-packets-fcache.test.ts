// XDP data path through BPF_PROG_TEST_RUN, the per-CPU flow cache (native/bpf/fcache.h): a cached
// packet is byte-identical to the full path's (every mode, both directions, IPv4 and IPv6) and
// counts the same; FIN/RST go through the full path and clear the slots; a tuple re-used after RST
// gets the new translation on the next packet, also on another CPU; a backend change and a
// next-hop MAC change reach the next packet; a UDP flow is still reported to sync once; an entry
// deleted from user space stops being served after the cache's bound; an entry that arrived from
// sync is not cached from the packet that carried it in; a flow never evicts another flow's live
// slot. The process runs on one CPU (the cache
// is per CPU); waits are for the bound (50 ms) to pass, never for a tight deadline. Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fcSlot4, frame, parse, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type PktSpec } from './dataplane/pkt.js';
import { addon, B2, B2v6, B3, B3v6, C4, C6, ctDelete, ctEntry, dp, fromBackend, NODE4, NODE6, run, SERVICES, toBackend, useXdpPacketDataplane, openCtSync } from './dataplane/packets.js';
import { BACKEND_MAC } from './dataplane/netns.js';
import { u32Key } from '../../src/dataplane/native.js';
import type { CtSyncHandle } from '../../src/sync/native.js';

const DNAT = '192.168.80.1'; // dnat4-tcp -> B2:8080, dnat4-udp :53 -> B2:5353
const ONEARM = '192.168.80.2'; // onearm4-tcp -> B3:8080
const FULLNAT_UDP = '192.168.80.3'; // fullnat4-udp :53 -> B2:53
const DSR = '192.168.80.4'; // dsr4-tcp -> B3:80
const ST = { established: 0, syn: 1, fin: 3, rst: 4 };
const PAST_BOUND_MS = 80; // the cache's bound is 50 ms (FC_BOUND_NS)
const CT_STATE = 54; // byte offsets in struct edgelb_ct (edgelb_shared.h)
const CT_FLAGS = 53;
const CT_F_SYNCED = 0x10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const onCpu = (cpu: number) => execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
type Key = { src: string; dst: string; sport: number; dport: number; protocol: 'tcp' | 'udp' };

/** Run a packet; what it changed in the counters that matter here. */
function send(pkt: Buffer) {
  const b = dp.counters();
  const r = run(pkt);
  const a = dp.counters();
  const d = (n: string) => a[n]! - b[n]!;
  return { ...r, cached: d('flow_cache_hit'), ctHit: d('ct_hit'), replyHit: d('ct_reply_hit'), tx: d('tx') };
}

/** A packet expected from the cache, sent up to 3 times: a stall past the bound between the fill
 * and the send makes it miss (and refill), so the next one hits. Without the cache none does. */
function expectHit(pkt: () => Buffer, what: string) {
  for (let i = 0; i < 3; i++) {
    const r = send(pkt());
    if (r.cached === 1) return r;
  }
  return assert.fail(`${what}: no cache hit in 3 sends`);
}

/** The packet through the full path (its slot expired), then at once from the cache: both outputs.
 * Retried if the machine stalled past the bound between the two (then the second missed too). */
async function missThenHit(pkt: () => Buffer) {
  for (let i = 0; i < 5; i++) {
    await sleep(PAST_BOUND_MS);
    const full = send(pkt());
    assert.equal(full.cached, 0, 'past the bound: the full path');
    const hit = send(pkt());
    if (hit.cached === 1) return { full, hit };
  }
  throw new Error('no cache hit right after a fill in 5 tries');
}

/** Rewrite bytes of a conntrack entry in place, as user space (connection sync) may. */
function ctPatch(key: Key, patch: (v: Buffer) => void): void {
  const n = addon();
  const fd = dp.conntrackFd(key.src.includes(':') ? 6 : 4);
  const k = n.xdpEncode('ctKey', key);
  const v = n.mapLookup(fd, k)!;
  patch(v);
  n.mapUpdate(fd, k, v);
}

/** An onearm TCP flow through its handshake; its SNAT port. */
function onearmFlow(sport: number, src = C4): number {
  const syn = send(frame({ src, dst: ONEARM, proto: 'tcp', sport, dport: 80, tcpFlags: TCP_SYN }));
  assert.equal(syn.verdict, 'TX');
  const port = parse(syn.out).sport;
  assert.equal(send(fromBackend({ src: B3, dst: NODE4, proto: 'tcp', sport: 8080, dport: port, tcpFlags: TCP_SYN | TCP_ACK }, B3)).verdict, 'TX');
  assert.equal(send(frame({ src, dst: ONEARM, proto: 'tcp', sport, dport: 80, tcpFlags: TCP_ACK })).verdict, 'TX');
  assert.equal(ctEntry({ src, dst: ONEARM, sport, dport: 80, protocol: 'tcp' })?.state, ST.established);
  return port;
}

describe('XDP per-CPU flow cache (BPF_PROG_TEST_RUN)', () => {
  useXdpPacketDataplane({ sync: true });
  let ct: CtSyncHandle;
  before(async () => {
    onCpu(0);
    ct = await openCtSync();
  });
  after(() => ct?.close());

  test('the second established packet comes from the cache and counts what the full path counts', () => {
    const f = { src: C4, dst: DNAT, proto: 'tcp' as const, sport: 43001, dport: 80 };
    assert.equal(send(frame({ ...f, tcpFlags: TCP_SYN })).cached, 0);
    assert.equal(send(fromBackend({ src: B2, dst: C4, proto: 'tcp', sport: 8080, dport: 43001, tcpFlags: TCP_SYN | TCP_ACK }, B2)).cached, 0);
    const est = send(frame({ ...f, tcpFlags: TCP_ACK }));
    assert.equal(est.cached, 0, 'the ACK that establishes the flow takes the full path');
    const statsOf = () => dp.stats().services.find((s) => s.name === 'dnat4-tcp')!;
    const before = statsOf();
    const data = { ...f, tcpFlags: TCP_ACK | TCP_PSH, payload: Buffer.from('GET /') };
    const hit = expectHit(() => frame(data), 'data');
    assert.deepEqual({ verdict: hit.verdict, cached: hit.cached, ctHit: hit.ctHit, tx: hit.tx }, { verdict: 'TX', cached: 1, ctHit: 1, tx: 1 });
    assert.equal(hit.out.toString('hex'), toBackend({ ...data, dst: B2, dport: 8080, ttl: 63 }, B2).toString('hex'));
    const afterS = statsOf();
    assert.equal(afterS.packets - before.packets, 1, 'service statistics');
    assert.equal(afterS.backends[0]!.packets - before.backends[0]!.packets, 1, 'backend statistics');
    // SYN, FIN and RST never come from the cache
    assert.equal(send(frame({ ...f, tcpFlags: TCP_SYN })).cached, 0);
  });

  test('cached packets are byte-identical to the full path: dnat, onearm and fullnat both ways, dsr, UDP, IPv4 and IPv6', async () => {
    const cases: Array<[string, () => Buffer]> = [];
    // IPv4 onearm TCP, both directions
    const port = onearmFlow(43101);
    cases.push(['onearm4 forward', () => frame({ src: C4, dst: ONEARM, proto: 'tcp', sport: 43101, dport: 80, tcpFlags: TCP_ACK | TCP_PSH, payload: Buffer.from('abc') })]);
    cases.push(['onearm4 reply', () => fromBackend({ src: B3, dst: NODE4, proto: 'tcp', sport: 8080, dport: port, tcpFlags: TCP_ACK | TCP_PSH, payload: Buffer.from('hello') }, B3)]);
    // IPv4 dnat TCP reply, dsr
    send(frame({ src: C4, dst: DNAT, proto: 'tcp', sport: 43102, dport: 80, tcpFlags: TCP_SYN }));
    send(fromBackend({ src: B2, dst: C4, proto: 'tcp', sport: 8080, dport: 43102, tcpFlags: TCP_SYN | TCP_ACK }, B2));
    send(frame({ src: C4, dst: DNAT, proto: 'tcp', sport: 43102, dport: 80, tcpFlags: TCP_ACK }));
    cases.push(['dnat4 reply', () => fromBackend({ src: B2, dst: C4, proto: 'tcp', sport: 8080, dport: 43102, tcpFlags: TCP_ACK, payload: Buffer.from('x') }, B2)]);
    send(frame({ src: C4, dst: DSR, proto: 'tcp', sport: 43103, dport: 80, tcpFlags: TCP_SYN }));
    cases.push(['dsr4', () => frame({ src: C4, dst: DSR, proto: 'tcp', sport: 43103, dport: 80, tcpFlags: TCP_ACK, payload: Buffer.from('d') })]);
    // IPv4 UDP: dnat with checksum 0, fullnat both ways (the reply once the flow is shared)
    cases.push(['dnat4 udp, checksum 0', () => frame({ src: C4, dst: DNAT, proto: 'udp', sport: 43104, dport: 53, udpNoChecksum: true, payload: Buffer.from('q') })]);
    const u = send(frame({ src: C4, dst: FULLNAT_UDP, proto: 'udp', sport: 43105, dport: 53, payload: Buffer.from('q') }));
    const uport = parse(u.out).sport;
    cases.push(['fullnat4 udp forward', () => frame({ src: C4, dst: FULLNAT_UDP, proto: 'udp', sport: 43105, dport: 53, payload: Buffer.from('qq') })]);
    cases.push(['fullnat4 udp reply', () => fromBackend({ src: B2, dst: FULLNAT_UDP, proto: 'udp', sport: 53, dport: uport, payload: Buffer.from('ans') }, B2)]);
    // IPv6: dnat TCP, fullnat TCP both ways, onearm UDP both ways, dsr UDP
    const V6 = { dnat: '2001:db8:80::1', onearm: '2001:db8:80::2', fullnat: '2001:db8:80::3', dsr: '2001:db8:80::4' };
    send(frame({ src: C6, dst: V6.dnat, proto: 'tcp', sport: 43106, dport: 80, tcpFlags: TCP_SYN }));
    send(fromBackend({ src: B2v6, dst: C6, proto: 'tcp', sport: 8080, dport: 43106, tcpFlags: TCP_SYN | TCP_ACK }, B2v6));
    send(frame({ src: C6, dst: V6.dnat, proto: 'tcp', sport: 43106, dport: 80, tcpFlags: TCP_ACK }));
    cases.push(['dnat6 forward', () => frame({ src: C6, dst: V6.dnat, proto: 'tcp', sport: 43106, dport: 80, tcpFlags: TCP_ACK, payload: Buffer.from('v6') })]);
    const f6 = send(frame({ src: C6, dst: V6.fullnat, proto: 'tcp', sport: 43107, dport: 443, tcpFlags: TCP_SYN }));
    const f6port = parse(f6.out).sport;
    send(fromBackend({ src: B2v6, dst: V6.fullnat, proto: 'tcp', sport: 8443, dport: f6port, tcpFlags: TCP_SYN | TCP_ACK }, B2v6));
    send(frame({ src: C6, dst: V6.fullnat, proto: 'tcp', sport: 43107, dport: 443, tcpFlags: TCP_ACK }));
    cases.push(['fullnat6 forward', () => frame({ src: C6, dst: V6.fullnat, proto: 'tcp', sport: 43107, dport: 443, tcpFlags: TCP_ACK, payload: Buffer.from('tls') })]);
    cases.push(['fullnat6 reply', () => fromBackend({ src: B2v6, dst: V6.fullnat, proto: 'tcp', sport: 8443, dport: f6port, tcpFlags: TCP_ACK, payload: Buffer.from('ok') }, B2v6)]);
    const o6 = send(frame({ src: C6, dst: V6.onearm, proto: 'udp', sport: 43108, dport: 53, payload: Buffer.from('q') }));
    const o6port = parse(o6.out).sport;
    cases.push(['onearm6 udp forward', () => frame({ src: C6, dst: V6.onearm, proto: 'udp', sport: 43108, dport: 53, payload: Buffer.from('q6') })]);
    cases.push(['onearm6 udp reply', () => fromBackend({ src: B3v6, dst: NODE6, proto: 'udp', sport: 5353, dport: o6port, payload: Buffer.from('a6') }, B3v6)]);
    cases.push(['dsr6 udp', () => frame({ src: C6, dst: V6.dsr, proto: 'udp', sport: 43109, dport: 53, payload: Buffer.from('d6') })]);
    for (const [name, pkt] of cases) {
      const { full, hit } = await missThenHit(pkt);
      assert.equal(full.verdict, 'TX', `${name}: full path`);
      assert.equal(hit.verdict, 'TX', `${name}: cache`);
      assert.equal(hit.out.toString('hex'), full.out.toString('hex'), `${name}: the same bytes`);
      assert.notEqual(hit.out.toString('hex'), pkt().toString('hex'), `${name}: translated`);
      assert.deepEqual([hit.ctHit + hit.replyHit, hit.tx], [full.ctHit + full.replyHit, full.tx], `${name}: the same counters`);
      assert.deepEqual([hit.ctHit, hit.replyHit], [full.ctHit, full.replyHit], `${name}: the same direction`);
    }
  });

  test('FIN and RST take the full path, change the state of both entries, and clear both slots; the closing flow still translates', () => {
    const port = onearmFlow(43201);
    const fwd = (flags: number) => frame({ src: C4, dst: ONEARM, proto: 'tcp', sport: 43201, dport: 80, tcpFlags: flags });
    const back = (flags: number) => fromBackend({ src: B3, dst: NODE4, proto: 'tcp', sport: 8080, dport: port, tcpFlags: flags }, B3);
    // both directions cached
    send(back(TCP_ACK));
    expectHit(() => back(TCP_ACK), 'reply');
    expectHit(() => fwd(TCP_ACK), 'forward');
    const fin = send(fwd(TCP_ACK | TCP_FIN));
    assert.deepEqual([fin.verdict, fin.cached], ['TX', 0]);
    assert.equal(ctEntry({ src: C4, dst: ONEARM, sport: 43201, dport: 80, protocol: 'tcp' })?.state, ST.fin);
    assert.equal(ctEntry({ src: B3, dst: NODE4, sport: 8080, dport: port, protocol: 'tcp' })?.state, ST.fin);
    // the next packets of the closing flow: full path (their slots were cleared), same translation
    const ack = send(fwd(TCP_ACK));
    assert.deepEqual([ack.verdict, ack.cached], ['TX', 0]);
    assert.deepEqual([parse(ack.out).src, parse(ack.out).sport, parse(ack.out).dst, parse(ack.out).dport], [NODE4, port, B3, 8080]);
    const r = send(back(TCP_ACK));
    assert.deepEqual([r.verdict, r.cached], ['TX', 0], 'the reply slot was cleared with the FIN of the other direction');
    assert.deepEqual([parse(r.out).src, parse(r.out).dport], [ONEARM, 43201]);
    assert.equal(send(fwd(TCP_ACK)).cached, 0, 'a closing flow is never cached');
    const rst = send(back(TCP_RST | TCP_ACK));
    assert.deepEqual([rst.verdict, rst.cached], ['TX', 0]);
    assert.equal(ctEntry({ src: C4, dst: ONEARM, sport: 43201, dport: 80, protocol: 'tcp' })?.state, ST.rst);
  });

  test("a fill never takes another flow's live slot: two flows on one slot do not evict each other", async () => {
    const a = { src: C4, dst: DSR, proto: 'tcp' as const, sport: 45000, dport: 80 };
    const b = { ...a, sport: 45001 };
    while (fcSlot4(b.src, b.dst, b.sport, 80) !== fcSlot4(a.src, a.dst, a.sport, 80)) b.sport++;
    for (const f of [a, b]) {
      assert.equal(send(frame({ ...f, tcpFlags: TCP_SYN })).verdict, 'TX');
      assert.equal(send(frame({ ...f, tcpFlags: TCP_ACK })).verdict, 'TX');
    }
    const data = (f: typeof a) => frame({ ...f, tcpFlags: TCP_ACK | TCP_PSH, payload: Buffer.from('x') });
    for (let i = 0; i < 5; i++) {
      await sleep(PAST_BOUND_MS);
      assert.equal(send(data(a)).cached, 0, 'past the bound: the full path, which fills the slot for a');
      const b1 = send(data(b));
      const b2 = send(data(b));
      assert.equal(b1.verdict, 'TX');
      assert.equal(b2.verdict, 'TX', 'a flow whose slot is taken is still forwarded, by the full path');
      if (b2.cached === 1) continue; // a stall past the bound let b take the expired slot: again
      assert.equal(b1.cached + b2.cached, 0);
      const a2 = send(data(a));
      if (a2.cached === 1) return; // a kept its slot through b's packets
    }
    assert.fail("no run in 5 where a kept its slot through b's packets");
  });

  test('a tuple re-used by a SYN after its flow closed gets the new translation on the very next packet', () => {
    // the flow's RST reached this node by sync (its entry rewritten) while this CPU's slot is live
    const key: Key = { src: C4, dst: ONEARM, sport: 43301, dport: 80, protocol: 'tcp' };
    const old = onearmFlow(43301);
    const data = () => frame({ src: C4, dst: ONEARM, proto: 'tcp', sport: 43301, dport: 80, tcpFlags: TCP_ACK, payload: Buffer.from('d') });
    expectHit(data, 'data');
    ctPatch(key, (v) => void (v[CT_STATE] = ST.rst));
    const syn = send(frame({ src: C4, dst: ONEARM, proto: 'tcp', sport: 43301, dport: 80, tcpFlags: TCP_SYN }));
    assert.equal(syn.verdict, 'TX');
    const fresh = parse(syn.out).sport;
    assert.notEqual(fresh, old, 'a new SNAT port (the old reply entry still holds its port)');
    const next = send(data());
    assert.equal(next.cached, 0, 'the stale slot was cleared');
    assert.equal(parse(next.out).sport, fresh, 'the new translation');
  });

  test('the re-use clears the slot on every CPU: a slot filled on CPU 1 does not serve the old flow after a SYN on CPU 0', () => {
    const key: Key = { src: C4, dst: ONEARM, sport: 43302, dport: 80, protocol: 'tcp' };
    const old = onearmFlow(43302);
    const data = () => frame({ src: C4, dst: ONEARM, proto: 'tcp', sport: 43302, dport: 80, tcpFlags: TCP_ACK, payload: Buffer.from('d') });
    try {
      onCpu(1);
      send(data());
      ctPatch(key, (v) => void (v[CT_STATE] = ST.rst));
      onCpu(0);
      const fresh = parse(send(frame({ src: C4, dst: ONEARM, proto: 'tcp', sport: 43302, dport: 80, tcpFlags: TCP_SYN })).out).sport;
      assert.notEqual(fresh, old);
      onCpu(1);
      assert.equal(parse(send(data()).out).sport, fresh, 'the new translation on CPU 1');
    } finally {
      onCpu(0);
    }
  });

  test("a backend's removal and a next-hop MAC change reach the next packet", async () => {
    const f = { src: C4, dst: DNAT, proto: 'tcp' as const, sport: 43401, dport: 80 };
    send(frame({ ...f, tcpFlags: TCP_SYN }));
    send(fromBackend({ src: B2, dst: C4, proto: 'tcp', sport: 8080, dport: 43401, tcpFlags: TCP_SYN | TCP_ACK }, B2));
    send(frame({ ...f, tcpFlags: TCP_ACK }));
    const data = () => frame({ ...f, tcpFlags: TCP_ACK, payload: Buffer.from('m') });
    expectHit(data, 'data');
    // the next-hop map entry of B2's slot gets another MAC (as the netlink keeper writes it)
    const n = addon();
    let slot = -1;
    for (let i = 0; i < 64 && slot < 0; i++) {
      const v = n.mapLookup(dp.mapFd('backends'), u32Key(i));
      const b = v ? (n.xdpDecode('backend', v) as { address?: string; port?: number }) : undefined;
      if (b?.address === B2 && b.port === 8080) slot = i;
    }
    assert.ok(slot >= 0);
    const nhFd = dp.mapFd('backendNextHop');
    const saved = n.mapLookup(nhFd, u32Key(slot))!;
    const nh = n.xdpDecode('nh', saved) as { smac: string; dmac: string; ifindex: number; gen: number };
    n.mapUpdate(nhFd, u32Key(slot), n.xdpEncode('nh', { ...nh, dmac: '02:00:00:00:00:77' }));
    try {
      const moved = expectHit(data, 'after the MAC change');
      assert.equal(parse(moved.out).dstMac, '02:00:00:00:00:77', 'a cache hit with the new MAC');
    } finally {
      n.mapUpdate(nhFd, u32Key(slot), saved);
    }
    assert.equal(parse(send(data()).out).dstMac, BACKEND_MAC[B2]);
    // without a next-hop entry the flow's MACs come from the FIB, cached in its entry and slot
    n.mapUpdate(nhFd, u32Key(slot), n.xdpEncode('nh', { gen: 0 }));
    try {
      assert.equal(send(data()).cached, 0, 'the next-hop entry is gone: the full path (FIB)');
      const fib = expectHit(data, 'FIB-cached MACs');
      assert.equal(parse(fib.out).dstMac, BACKEND_MAC[B2], 'cached with the FIB answer');
      // the service now balances to B3 only: B2's slot is freed (generation), the flow re-balanced
      await dp.setServices(SERVICES.map((s) => (s.name === 'dnat4-tcp' ? { ...s, backends: [{ address: B3, port: 8080 }] } : s)));
      const b = dp.counters();
      const next = send(data());
      assert.equal(next.cached, 0);
      assert.equal(dp.counters().ct_backend_gone! - b.ct_backend_gone!, 1);
      assert.deepEqual([next.verdict, parse(next.out).dst], ['TX', B3]);
    } finally {
      n.mapUpdate(nhFd, u32Key(slot), saved);
      await dp.setServices(SERVICES);
    }
  });

  test('a UDP flow is reported to sync once, when the backend first answers, with its replies cached after', async () => {
    ct.drain(1000);
    const q = (s: string) => frame({ src: C4, dst: FULLNAT_UDP, proto: 'udp', sport: 43501, dport: 53, payload: Buffer.from(s) });
    const port = parse(send(q('a')).out).sport;
    send(q('b'));
    expectHit(() => q('c'), 'forward datagrams cached');
    assert.equal(ct.drain(1000).count, 0, 'one-way: nothing to share');
    const ans = () => fromBackend({ src: B2, dst: FULLNAT_UDP, proto: 'udp', sport: 53, dport: port, payload: Buffer.from('r') }, B2);
    assert.equal(send(ans()).cached, 0, 'the first answer: full path');
    assert.equal(ct.drain(1000).count, 1, 'reported');
    expectHit(ans, 'then cached');
    await sleep(PAST_BOUND_MS);
    assert.equal(send(ans()).cached, 0);
    expectHit(ans, 'cached again');
    assert.equal(ct.drain(1000).count, 0, 'once per flow');
  });

  test('an entry deleted from user space stops being served once the bound has passed', async () => {
    const port = onearmFlow(43601);
    const data = () => frame({ src: C4, dst: ONEARM, proto: 'tcp', sport: 43601, dport: 80, tcpFlags: TCP_ACK, payload: Buffer.from('x') });
    expectHit(data, 'data');
    ctDelete({ src: C4, dst: ONEARM, sport: 43601, dport: 80, protocol: 'tcp' });
    ctDelete({ src: B3, dst: NODE4, sport: 8080, dport: port, protocol: 'tcp' });
    await sleep(PAST_BOUND_MS);
    const b = dp.counters();
    const r = send(data());
    assert.deepEqual([r.verdict, r.cached], ['DROP', 0], 'no entry: a stray segment');
    assert.equal(dp.counters().drop_ct_stray! - b.drop_ct_stray!, 1);
  });

  test('an entry that arrived from sync is not cached from the packet that carried it in', async () => {
    const key: Key = { src: C4, dst: ONEARM, sport: 43701, dport: 80, protocol: 'tcp' };
    onearmFlow(43701);
    await sleep(PAST_BOUND_MS); // the slot the handshake filled is gone
    ctPatch(key, (v) => void (v[CT_FLAGS]! |= CT_F_SYNCED));
    assert.equal(ctEntry(key)?.synced, true);
    const data = (s: string): PktSpec => ({ src: C4, dst: ONEARM, proto: 'tcp', sport: 43701, dport: 80, tcpFlags: TCP_ACK, payload: Buffer.from(s) });
    const first = send(frame(data('1')));
    assert.deepEqual([first.verdict, first.cached], ['TX', 0]);
    assert.equal(ctEntry(key)?.synced, false, 'carried here now');
    assert.equal(send(frame(data('2'))).cached, 0, 'not cached from the SYNCED entry');
    expectHit(() => frame(data('3')), 'cached from the next');
  });
});
