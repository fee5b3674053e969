// Per-node SNAT addresses in the XDP program (BPF_PROG_TEST_RUN), IPv6 beside IPv4: with
// connection sync, a node's onearm flows leave from its SNAT address (not the interface's), the
// replies to it are translated back, and a flow another node translated with its own IPv6 SNAT
// address (a dead node's, adopted here) continues from its synced record. Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { frame, parse, TCP_ACK, TCP_SYN } from './dataplane/pkt.js';
import { B3, B3v6, C4, C6, ctDelete, fromBackend, run, toRouter, useXdpPacketDataplane, openCtSync } from './dataplane/packets.js';
import { loadNative } from '../../src/native/index.js';
import { addr16, syncNativeOf, type CtSyncHandle } from '../../src/sync/native.js';

const SNAT4 = '10.0.0.31';
const SNAT6 = '2001:db8::31';
const PEER_SNAT6 = '2001:db8::32';
const ONEARM4 = '192.168.80.2'; // onearm4-tcp -> 10.0.0.3:8080
const ONEARM6 = '2001:db8:80::2'; // onearm6-udp -> [2001:db8::3]:5353

describe('connection sync: per-node SNAT addresses, IPv4 and IPv6 (BPF_PROG_TEST_RUN)', () => {
  useXdpPacketDataplane({ sync: true, snatAddress4: SNAT4, snatAddress6: SNAT6 });
  let ct: CtSyncHandle;
  before(async () => {
    ct = await openCtSync();
  });
  after(() => ct?.close());

  test('IPv6 onearm: the flow leaves from the IPv6 SNAT address, and its reply to it goes back to the client', () => {
    const q = run(frame({ src: C6, dst: ONEARM6, proto: 'udp', sport: 45001, dport: 53, payload: Buffer.from('q6') }));
    assert.equal(q.verdict, 'TX');
    const f = parse(q.out);
    assert.deepEqual({ src: f.src, dst: f.dst, dport: f.dport }, { src: SNAT6, dst: B3v6, dport: 5353 });
    const r = run(fromBackend({ src: B3v6, dst: SNAT6, proto: 'udp', sport: 5353, dport: f.sport, payload: Buffer.from('a6') }, B3v6));
    assert.equal(r.verdict, 'TX');
    assert.equal(r.out.toString('hex'), toRouter({ src: ONEARM6, dst: C6, proto: 'udp', sport: 53, dport: 45001, ttl: 63, payload: Buffer.from('a6') }).toString('hex'));
  });

  test('IPv4 onearm keeps its own SNAT address beside it', () => {
    const s = run(frame({ src: C4, dst: ONEARM4, proto: 'tcp', sport: 45002, dport: 80, tcpFlags: TCP_SYN }));
    assert.equal(s.verdict, 'TX');
    assert.equal(parse(s.out).src, SNAT4);
    const r = run(fromBackend({ src: B3, dst: SNAT4, proto: 'tcp', sport: 8080, dport: parse(s.out).sport, tcpFlags: TCP_SYN | TCP_ACK }, B3));
    assert.equal(r.verdict, 'TX');
    assert.deepEqual([parse(r.out).src, parse(r.out).dst, parse(r.out).dport], [ONEARM4, C4, 45002]);
  });

  test('a dead peer\'s IPv6 onearm flow, from its record: replies to the peer\'s SNAT address are translated here, the client\'s packets leave from it', () => {
    const rec = syncNativeOf(loadNative()).syncRecordEncode({
      family: 6, proto: 17, mode: 1, state: 0, ageMs: 30, timeoutSec: 120,
      client: addr16(C6), cport: 45003, vip: addr16(ONEARM6), vport: 53, backend: addr16(B3v6), bport: 5353, xsrc: addr16(PEER_SNAT6), xport: 61003, fwdFlags: 0x06,
    });
    ctDelete({ src: C6, dst: ONEARM6, sport: 45003, dport: 53, protocol: 'udp' });
    assert.equal(ct.apply(rec).applied, 1);
    const back = run(fromBackend({ src: B3v6, dst: PEER_SNAT6, proto: 'udp', sport: 5353, dport: 61003, payload: Buffer.from('late') }, B3v6));
    assert.equal(back.verdict, 'TX');
    assert.equal(back.out.toString('hex'), toRouter({ src: ONEARM6, dst: C6, proto: 'udp', sport: 53, dport: 45003, ttl: 63, payload: Buffer.from('late') }).toString('hex'));
    const fwd = run(frame({ src: C6, dst: ONEARM6, proto: 'udp', sport: 45003, dport: 53, payload: Buffer.from('more') }));
    assert.equal(fwd.verdict, 'TX');
    const p = parse(fwd.out);
    assert.deepEqual({ src: p.src, sport: p.sport, dst: p.dst, dport: p.dport }, { src: PEER_SNAT6, sport: 61003, dst: B3v6, dport: 5353 });
  });
});
