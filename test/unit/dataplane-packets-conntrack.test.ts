// XDP data path through BPF_PROG_TEST_RUN, conntrack and balancing: maglev/hash/rr/persist
// spread new flows, IPv4/IPv6 conntrack maps, a SYN flood larger than the conntrack table, and
// idle-flow expiry.
// Shared setup in dataplane/packets.ts. Needs root.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { frame, parse, TCP_ACK } from './dataplane/pkt.js';
import { addon, B2, B3, C4, ctEntry, dp, run, SERVICES, svc, useXdpPacketDataplane } from './dataplane/packets.js';

describe('XDP conntrack and balancing (BPF_PROG_TEST_RUN)', () => {
  useXdpPacketDataplane();

  test('maglev and hash spread new flows over backends; rr uses every backend; the same flow keeps its backend', async () => {
    const three: Array<[string, number]> = [[B2, 80], [B3, 80], ['10.0.0.4', 80]];
    await dp.setServices([
      ...SERVICES,
      svc('mg', '192.168.81.1', 80, 'tcp', 'dnat', three),
      svc('hs', '192.168.81.2', 80, 'tcp', 'dnat', three, { epSelect: 'hash' }),
      svc('rr', '192.168.81.3', 80, 'tcp', 'dnat', three, { epSelect: 'rr' }),
      svc('ps', '192.168.81.4', 80, 'tcp', 'dnat', three, { epSelect: 'persist' }),
    ]);
    for (const vip of ['192.168.81.1', '192.168.81.2', '192.168.81.3']) {
      const seen = new Map<string, number>();
      for (let i = 0; i < 60; i++) {
        const { out } = run(frame({ src: `10.1.${i >> 4}.${(i & 15) + 1}`, dst: vip, proto: 'tcp', sport: 30000 + i, dport: 80 }));
        const d = parse(out).dst;
        seen.set(d, (seen.get(d) ?? 0) + 1);
      }
      assert.equal(seen.size, 3, `${vip}: ${JSON.stringify([...seen])}`);
      for (const n of seen.values()) assert.ok(n >= 8, `${vip}: uneven ${JSON.stringify([...seen])}`);
    }
    // persist: one client address, many ports -> one backend
    const dsts = new Set<string>();
    for (let i = 0; i < 20; i++) dsts.add(parse(run(frame({ src: '10.1.9.9', dst: '192.168.81.4', proto: 'tcp', sport: 31000 + i, dport: 80 })).out).dst);
    assert.equal(dsts.size, 1);
    // tracked: the same flow again goes to the same backend
    const a = parse(run(frame({ src: '10.1.0.1', dst: '192.168.81.3', proto: 'tcp', sport: 30000, dport: 80, tcpFlags: TCP_ACK })).out).dst;
    const b = parse(run(frame({ src: '10.1.0.1', dst: '192.168.81.3', proto: 'tcp', sport: 30000, dport: 80, tcpFlags: TCP_ACK })).out).dst;
    assert.equal(a, b);
    await dp.setServices(SERVICES);
  });

  test('IPv4 flows are tracked in edgelb_ct4 under the 16-byte key, IPv6 flows in edgelb_ct6; the count covers both', () => {
    const n = addon();
    const count = () => [n.xdpCountEntries(dp.conntrackFd(4)), n.xdpCountEntries(dp.conntrackFd(6))];
    const [v4, v6] = count();
    assert.equal(run(frame({ src: '10.7.0.1', dst: '192.168.80.1', proto: 'tcp', sport: 41001, dport: 80 })).verdict, 'TX');
    assert.deepEqual(count(), [v4! + 2, v6], 'IPv4 dnat: forward and reply entries in ct4');
    assert.equal(run(frame({ src: '2001:db8:7::1', dst: '2001:db8:80::1', proto: 'tcp', sport: 41001, dport: 80 })).verdict, 'TX');
    assert.deepEqual(count(), [v4! + 2, v6! + 2], 'IPv6 dnat: forward and reply entries in ct6');
    const fwd = ctEntry({ src: '10.7.0.1', dst: '192.168.80.1', sport: 41001, dport: 80, protocol: 'tcp' });
    assert.equal(fwd?.newDst, B2);
    assert.equal(ctEntry({ src: '2001:db8:7::1', dst: '2001:db8:80::1', sport: 41001, dport: 80, protocol: 'tcp' })?.newDst, '2001:db8::2');
    assert.equal(dp.conntrackEntries(true), v4! + v6! + 4);
  });

  test('a SYN flood larger than the conntrack table evicts old entries and never blocks new flows', () => {
    const before = dp.counters();
    const N = 3000; // conntrack holds 1024
    let tx = 0;
    for (let i = 0; i < N; i++) {
      const { verdict } = run(frame({ src: `10.2.${i >> 8}.${i & 255}`, dst: '192.168.80.1', proto: 'tcp', sport: 20000 + (i % 1000), dport: 80 }));
      if (verdict === 'TX') tx++;
    }
    assert.equal(tx, N);
    const c = dp.counters();
    assert.equal(c.ct_new! - before.ct_new!, N);
    assert.equal(c.ct_insert_fail! - before.ct_insert_fail!, 0);
    const entries = dp.stats().conntrackEntries;
    assert.ok(entries <= 1024 + 64, `conntrack holds ${entries}`);
    // counted without a walk (kernel counters, LRU evictions included), equal to a full walk
    assert.equal(dp.conntrackCountMethod, 'kernel');
    assert.equal(entries, addon().xdpCountEntries(dp.conntrackFd(4)) + addon().xdpCountEntries(dp.conntrackFd(6)));
    assert.ok(entries >= 512, `conntrack holds ${entries} after ${N} flows (the LRU keeps per-CPU free lists)`);
    // a new client still gets through
    assert.equal(run(frame({ src: '10.3.0.1', dst: '192.168.80.1', proto: 'tcp', sport: 40000, dport: 80 })).verdict, 'TX');
  });

  test('an idle flow past its service timeout is re-balanced', async () => {
    await dp.setServices(SERVICES.map((s) => (s.name === 'dnat4-udp' ? { ...s, timeoutSec: 1 } : s)));
    const pkt = frame({ src: C4, dst: '192.168.80.1', proto: 'udp', sport: 40777, dport: 53, payload: Buffer.from('x') });
    assert.equal(run(pkt).verdict, 'TX');
    const before = dp.counters();
    assert.equal(run(pkt).verdict, 'TX');
    assert.equal(dp.counters().ct_hit! - before.ct_hit!, 1);
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal(run(pkt).verdict, 'TX');
    assert.equal(dp.counters().ct_expired! - before.ct_expired!, 1);
    await dp.setServices(SERVICES);
  });
});
