// XDP data path through BPF_PROG_TEST_RUN, TCP-aware conntrack and SNAT: embryonic ->
// established -> closing states of both entries of a flow, RST, stray segments (dropped for
// onearm/fullnat, tracked as embryonic for dnat/dsr), embryonic SNAT ports reclaimed after
// tcpSynTimeout, and the per-client fair share of a backend's ports. A small SNAT range (20
// ports) and 1-second timeouts make exhaustion and expiry observable. Shared setup in
// dataplane/packets.ts. Needs root.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { frame, parse, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from './dataplane/pkt.js';
import { B3, C4, ctEntry, dp, fromBackend, NODE4, run, useXdpPacketDataplane } from './dataplane/packets.js';

const ONEARM = '192.168.80.2'; // onearm4-tcp -> 10.0.0.3:8080
const FULLNAT_UDP = '192.168.80.3';
const DNAT = '192.168.80.1';
const DSR = '192.168.80.4';
const ST = { established: 0, syn: 1, synReply: 2, fin: 3, rst: 4 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const delta = (before: Record<string, number>, name: string) => dp.counters()[name]! - before[name]!;

/** Open an onearm flow: the SYN's SNAT port. */
function syn(src: string, sport: number, vip = ONEARM): { verdict: string; port: number } {
  const { verdict, out } = run(frame({ src, dst: vip, proto: 'tcp', sport, dport: 80, tcpFlags: TCP_SYN }));
  return { verdict, port: verdict === 'TX' ? parse(out).sport : 0 };
}

describe('XDP TCP-aware conntrack and SNAT (BPF_PROG_TEST_RUN)', () => {
  useXdpPacketDataplane({ spec: { tcpSynTimeout: 1, tcpFinTimeout: 1, tcpRstTimeout: 1, snatClientShare: 25 }, natPortMin: 61000, natPortMax: 61019 });

  test('embryonic -> established -> closing: both entries follow the handshake, the client ACK establishes, FIN closes', () => {
    const before = dp.counters();
    const fwdKey = { src: C4, dst: ONEARM, sport: 45001, dport: 80, protocol: 'tcp' as const };
    const { verdict, port } = syn(C4, 45001);
    assert.equal(verdict, 'TX');
    const replyKey = { src: B3, dst: NODE4, sport: 8080, dport: port, protocol: 'tcp' as const };
    assert.equal(ctEntry(fwdKey)?.state, ST.syn, 'SYN: forward entry embryonic');
    assert.equal(ctEntry(replyKey)?.state, ST.syn, 'SYN: reply entry embryonic');
    // an ACK before the backend answered does not establish
    assert.equal(run(frame({ src: C4, dst: ONEARM, proto: 'tcp', sport: 45001, dport: 80, tcpFlags: TCP_ACK })).verdict, 'TX');
    assert.equal(ctEntry(fwdKey)?.state, ST.syn, 'ACK without an answer: still embryonic');
    // SYN-ACK from the backend
    assert.equal(run(fromBackend({ src: B3, dst: NODE4, proto: 'tcp', sport: 8080, dport: port, tcpFlags: TCP_SYN | TCP_ACK }, B3)).verdict, 'TX');
    assert.equal(ctEntry(replyKey)?.state, ST.synReply, 'SYN-ACK: the reply entry records the answer');
    assert.equal(ctEntry(fwdKey)?.state, ST.syn);
    // the client's ACK: established, both entries
    assert.equal(run(frame({ src: C4, dst: ONEARM, proto: 'tcp', sport: 45001, dport: 80, tcpFlags: TCP_ACK })).verdict, 'TX');
    assert.equal(ctEntry(fwdKey)?.state, ST.established);
    assert.equal(ctEntry(replyKey)?.state, ST.established);
    assert.equal(delta(before, 'ct_established'), 1);
    // data, then the client's FIN: closing, both entries
    assert.equal(run(frame({ src: C4, dst: ONEARM, proto: 'tcp', sport: 45001, dport: 80, tcpFlags: TCP_ACK | TCP_PSH, payload: Buffer.from('hi') })).verdict, 'TX');
    assert.equal(run(frame({ src: C4, dst: ONEARM, proto: 'tcp', sport: 45001, dport: 80, tcpFlags: TCP_ACK | TCP_FIN })).verdict, 'TX');
    assert.equal(ctEntry(fwdKey)?.state, ST.fin);
    assert.equal(ctEntry(replyKey)?.state, ST.fin);
    // the backend's FIN and the last ACK still pass on the closing entries
    assert.equal(run(fromBackend({ src: B3, dst: NODE4, proto: 'tcp', sport: 8080, dport: port, tcpFlags: TCP_ACK | TCP_FIN }, B3)).verdict, 'TX');
    assert.equal(run(frame({ src: C4, dst: ONEARM, proto: 'tcp', sport: 45001, dport: 80, tcpFlags: TCP_ACK })).verdict, 'TX');
    assert.equal(delta(before, 'ct_closing'), 1, 'counted once per flow');
  });

  test('RST from the backend closes both entries; a SYN re-using the closed tuple opens a new flow', () => {
    const fwdKey = { src: C4, dst: ONEARM, sport: 45002, dport: 80, protocol: 'tcp' as const };
    const { port } = syn(C4, 45002);
    const replyKey = { src: B3, dst: NODE4, sport: 8080, dport: port, protocol: 'tcp' as const };
    assert.equal(run(fromBackend({ src: B3, dst: NODE4, proto: 'tcp', sport: 8080, dport: port, tcpFlags: TCP_RST | TCP_ACK }, B3)).verdict, 'TX');
    assert.equal(ctEntry(fwdKey)?.state, ST.rst);
    assert.equal(ctEntry(replyKey)?.state, ST.rst);
    const before = dp.counters();
    assert.equal(syn(C4, 45002).verdict, 'TX');
    assert.equal(delta(before, 'ct_new'), 1, 'the re-used tuple is a new flow');
    assert.equal(ctEntry(fwdKey)?.state, ST.syn);
  });

  test('stray TCP (no tracked flow): onearm/fullnat drop it without state; dnat and dsr track it as embryonic (Maglev)', () => {
    const size = () => dp.stats().conntrackEntries;
    for (const [flags, name] of [[TCP_ACK, 'ACK'], [TCP_ACK | TCP_PSH, 'data'], [TCP_FIN | TCP_ACK, 'FIN'], [TCP_RST, 'RST'], [TCP_SYN | TCP_ACK, 'SYN-ACK']] as const) {
      const before = dp.counters();
      const n = size();
      const r = run(frame({ src: '10.1.7.7', dst: ONEARM, proto: 'tcp', sport: 46000 + flags, dport: 80, tcpFlags: flags }));
      assert.equal(r.verdict, 'DROP', `onearm stray ${name}`);
      assert.equal(delta(before, 'drop_ct_stray'), 1, `onearm stray ${name}: counted`);
      assert.equal(delta(before, 'ct_new'), 0, `onearm stray ${name}: no state`);
      assert.equal(size(), n, `onearm stray ${name}: no entry`);
    }
    // dnat: a flow moved here by ECMP (or whose entry was evicted) carries on
    const before = dp.counters();
    assert.equal(run(frame({ src: '10.1.7.8', dst: DNAT, proto: 'tcp', sport: 46100, dport: 80, tcpFlags: TCP_ACK })).verdict, 'TX');
    assert.equal(delta(before, 'ct_new_non_syn'), 1);
    assert.equal(ctEntry({ src: '10.1.7.8', dst: DNAT, sport: 46100, dport: 80, protocol: 'tcp' })?.state, ST.syn);
    // dsr: embryonic until the client's next ACK
    const k = { src: '10.1.7.9', dst: DSR, sport: 46101, dport: 80, protocol: 'tcp' as const };
    assert.equal(run(frame({ ...k, proto: 'tcp', tcpFlags: TCP_SYN })).verdict, 'TX');
    assert.equal(ctEntry(k)?.state, ST.syn);
    assert.equal(run(frame({ ...k, proto: 'tcp', tcpFlags: TCP_ACK })).verdict, 'TX');
    assert.equal(ctEntry(k)?.state, ST.established);
  });

  test('UDP flows are established from the first packet and keep the service timeout', () => {
    const { verdict } = run(frame({ src: C4, dst: FULLNAT_UDP, proto: 'udp', sport: 45100, dport: 53, payload: Buffer.from('q') }));
    assert.equal(verdict, 'TX');
    const e = ctEntry({ src: C4, dst: FULLNAT_UDP, sport: 45100, dport: 53, protocol: 'udp' });
    assert.equal(e?.state, ST.established);
    assert.equal(e?.timeoutSec, 300);
  });

  test('fair share: one client takes at most 25% of a backend\'s ports per window; others still get theirs; embryonic ports come back after tcpSynTimeout', async () => {
    await sleep(1200); // the earlier tests' embryonic and closed flows expire (1 s)
    const before = dp.counters();
    // 20 ports, 25 %: 5 new ports per client per backend per window
    const attacker = Array.from({ length: 12 }, (_, i) => syn('10.9.9.9', 50000 + i).verdict);
    assert.equal(attacker.filter((v) => v === 'TX').length, 5, attacker.join());
    assert.equal(delta(before, 'drop_snat_share'), 7);
    // other clients: the remaining 15 ports
    const others = Array.from({ length: 15 }, (_, i) => syn(`10.8.0.${i + 1}`, 51000).verdict);
    assert.deepEqual(others.filter((v) => v !== 'TX'), [], 'every other client gets a port');
    // all 20 ports are held by embryonic flows: the next client finds none...
    assert.equal(syn('10.8.1.1', 51000).verdict, 'DROP');
    assert.equal(delta(before, 'drop_nat_ports'), 1);
    // ...until the embryonic flows expire (tcpSynTimeout 1 s): their ports are claimed again
    await sleep(2200);
    const later = Array.from({ length: 5 }, (_, i) => syn(`10.8.2.${i + 1}`, 51000).verdict);
    assert.deepEqual(later, ['TX', 'TX', 'TX', 'TX', 'TX']);
    // and the attacker's window has passed: it gets its share again, no more
    const again = Array.from({ length: 8 }, (_, i) => syn('10.9.9.9', 52000 + i).verdict);
    assert.equal(again.filter((v) => v === 'TX').length, 5, again.join());
  });
});
