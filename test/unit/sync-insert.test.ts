// Connection sync against the real XDP program (BPF_PROG_TEST_RUN): the flows it reports (only
// established ones, never a SYN), the records the addon makes of them, and the insert path: a
// flow whose entries are gone (another node's flow) is inserted from its record and its next
// packets, both directions, are translated exactly as on the node that opened it. Also the
// record validation table (embryonic, bad family, reserved bytes, ...). Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { frame, parse, TCP_ACK, TCP_PSH, TCP_SYN } from './dataplane/pkt.js';
import { B2, B2v6, B3, C4, C6, ctDelete, ctEntry, fromBackend, NODE4, run, useXdpPacketDataplane, openCtSync } from './dataplane/packets.js';
import { loadNative } from '../../src/native/index.js';
import { addr16, syncNativeOf, type CtSyncHandle, type SyncRecordFields } from '../../src/sync/native.js';
import { SYNC_RECORD_LEN } from '../../src/sync/codec.js';

const ONEARM = '192.168.80.2'; // onearm4-tcp -> 10.0.0.3:8080
const FULLNAT_UDP = '192.168.80.3'; // fullnat4-udp -> 10.0.0.2:53
const ST = { established: 0, syn: 1, synReply: 2, fin: 3, rst: 4 };
const MODE = { dnat: 0, onearm: 1, fullnat: 2, dsr: 3 };

const sn = () => syncNativeOf(loadNative());
const decode = (b: Buffer, i = 0) => sn().syncRecordDecode(b.subarray(i * SYNC_RECORD_LEN, (i + 1) * SYNC_RECORD_LEN));
const ip4 = (b: Buffer) => [...b.subarray(0, 4)].join('.');

describe('connection sync: reports and insert path (BPF_PROG_TEST_RUN)', () => {
  useXdpPacketDataplane({ sync: true });
  let ct: CtSyncHandle;
  before(async () => {
    ct = await openCtSync();
  });
  after(() => ct?.close());

  const tcp = (sport: number, flags: number, payload?: Buffer) => run(frame({ src: C4, dst: ONEARM, proto: 'tcp', sport, dport: 80, tcpFlags: flags, ...(payload ? { payload } : {}) }));

  test('a SYN is never reported; the established flow is, once, with both ends and its SNAT port', () => {
    ct.drain(1000);
    const syn = tcp(47001, TCP_SYN);
    assert.equal(syn.verdict, 'TX');
    const port = parse(syn.out).sport;
    assert.equal(ct.drain(1000).count, 0, 'embryonic: nothing to share');
    assert.equal(run(fromBackend({ src: B3, dst: NODE4, proto: 'tcp', sport: 8080, dport: port, tcpFlags: TCP_SYN | TCP_ACK }, B3)).verdict, 'TX');
    assert.equal(ct.drain(1000).count, 0, 'the backend answered: still embryonic');
    assert.equal(tcp(47001, TCP_ACK).verdict, 'TX');
    const d = ct.drain(1000);
    assert.equal(d.count, 1);
    const r = decode(d.records)!;
    assert.ok(r, 'a valid record');
    assert.deepEqual(
      { family: r.family, proto: r.proto, mode: r.mode, state: r.state, client: ip4(r.client), cport: r.cport, vip: ip4(r.vip), vport: r.vport, backend: ip4(r.backend), bport: r.bport, xsrc: ip4(r.xsrc), xport: r.xport, timeoutSec: r.timeoutSec },
      { family: 4, proto: 6, mode: MODE.onearm, state: ST.established, client: C4, cport: 47001, vip: ONEARM, vport: 80, backend: B3, bport: 8080, xsrc: NODE4, xport: port, timeoutSec: 300 },
    );
    assert.ok(r.ageMs < 5000, `age ${r.ageMs} ms`);
    assert.equal(ct.drain(1000).count, 0, 'reported once');
  });

  test('insert path: a flow this node never saw continues from its record, both directions, same translation', async () => {
    const syn = tcp(47002, TCP_SYN);
    const port = parse(syn.out).sport;
    run(fromBackend({ src: B3, dst: NODE4, proto: 'tcp', sport: 8080, dport: port, tcpFlags: TCP_SYN | TCP_ACK }, B3));
    tcp(47002, TCP_ACK);
    const d = ct.drain(1000);
    assert.equal(d.count, 1);
    const fwdKey = { src: C4, dst: ONEARM, sport: 47002, dport: 80, protocol: 'tcp' as const };
    const replyKey = { src: B3, dst: NODE4, sport: 8080, dport: port, protocol: 'tcp' as const };
    // "another node": the entries are gone, so a data segment is stray (dropped, not re-balanced)
    ctDelete(fwdKey);
    ctDelete(replyKey);
    await new Promise((r) => setTimeout(r, 80)); // past the flow cache's bound (50 ms, fcache.h)
    assert.equal(tcp(47002, TCP_ACK | TCP_PSH, Buffer.from('x')).verdict, 'DROP');
    const res = ct.apply(d.records);
    assert.deepEqual(res, { applied: 1, invalid: 0, noService: 0, noBackend: 0, stale: 0, conflict: 0, failed: 0 });
    const f = ctEntry(fwdKey)!;
    assert.equal(f.state, ST.established);
    assert.equal(f.synced, true);
    const out = tcp(47002, TCP_ACK | TCP_PSH, Buffer.from('y'));
    assert.equal(out.verdict, 'TX');
    const p = parse(out.out);
    assert.deepEqual({ src: p.src, sport: p.sport, dst: p.dst, dport: p.dport }, { src: NODE4, sport: port, dst: B3, dport: 8080 });
    assert.equal(ctEntry(fwdKey)!.synced, false, 'carried here now: this node reports it from now on');
    const back = run(fromBackend({ src: B3, dst: NODE4, proto: 'tcp', sport: 8080, dport: port, tcpFlags: TCP_ACK | TCP_PSH, payload: Buffer.from('z') }, B3));
    assert.equal(back.verdict, 'TX');
    const q = parse(back.out);
    assert.deepEqual({ src: q.src, sport: q.sport, dst: q.dst, dport: q.dport }, { src: ONEARM, sport: 80, dst: C4, dport: 47002 });
    // the same record again: this node has newer news of the flow (its packets just now). The
    // record's age was read at the drain, so here it looks younger by the time since: 20 ms (5
    // ticks of a 250 Hz flow clock) made this apply it over the carried entry before the slack
    const until = Date.now() + 20;
    while (Date.now() < until);
    assert.equal(ct.apply(d.records).stale, 1, 'a record as old as the news carried here is stale');
  });

  test('insert path, IPv6 fullnat: the flow continues from its record (the IPv6 conntrack map)', () => {
    const VIP6 = '2001:db8:80::3';
    ct.drain(1000);
    const syn = run(frame({ src: C6, dst: VIP6, proto: 'tcp', sport: 47200, dport: 443, tcpFlags: TCP_SYN }));
    assert.equal(syn.verdict, 'TX');
    const port = parse(syn.out).sport;
    run(fromBackend({ src: B2v6, dst: VIP6, proto: 'tcp', sport: 8443, dport: port, tcpFlags: TCP_SYN | TCP_ACK }, B2v6));
    run(frame({ src: C6, dst: VIP6, proto: 'tcp', sport: 47200, dport: 443, tcpFlags: TCP_ACK }));
    const d = ct.drain(1000);
    assert.equal(d.count, 1);
    assert.equal(decode(d.records)?.family, 6);
    ctDelete({ src: C6, dst: VIP6, sport: 47200, dport: 443, protocol: 'tcp' });
    ctDelete({ src: B2v6, dst: VIP6, sport: 8443, dport: port, protocol: 'tcp' });
    assert.equal(ct.apply(d.records).applied, 1);
    const out = run(frame({ src: C6, dst: VIP6, proto: 'tcp', sport: 47200, dport: 443, tcpFlags: TCP_ACK | TCP_PSH, payload: Buffer.from('v6') }));
    assert.equal(out.verdict, 'TX');
    const p = parse(out.out);
    assert.deepEqual({ src: p.src, sport: p.sport, dst: p.dst, dport: p.dport }, { src: VIP6, sport: port, dst: B2v6, dport: 8443 });
    const back = run(fromBackend({ src: B2v6, dst: VIP6, proto: 'tcp', sport: 8443, dport: port, tcpFlags: TCP_ACK, payload: Buffer.from('r') }, B2v6));
    assert.equal(back.verdict, 'TX');
    assert.deepEqual([parse(back.out).dst, parse(back.out).dport], [C6, 47200]);
  });

  test('walk: every carried flow (bulk), then only those with newer packets (refresh)', () => {
    const all = ct.walk(0n, 100000);
    assert.ok(all.count >= 2, `bulk of ${all.count}`);
    for (let i = 0; i < all.count; i++) assert.equal(decode(all.records, i)?.state, ST.established);
    const again = ct.walk(all.mark, 100000);
    assert.equal(again.count, 0, 'no packet since the mark');
    // the same walk one entry per step: the same flows, then the pass's mark
    let steps = 0;
    let count = 0;
    for (;;) {
      const r = ct.refreshStep(0n, 1);
      steps++;
      count += r.count;
      if (r.done) {
        assert.ok(r.mark > 0n);
        break;
      }
      assert.ok(steps < 10_000);
    }
    assert.equal(count, all.count);
    assert.ok(steps > all.count, `${steps} steps`);
    assert.equal(ct.refreshStep(all.mark, 1_000_000).count, 0, 'nothing newer than the mark');
  });

  test('UDP: reported when the backend first answers, not on the client\'s datagrams', () => {
    ct.drain(1000);
    const a = run(frame({ src: C4, dst: FULLNAT_UDP, proto: 'udp', sport: 47100, dport: 53, payload: Buffer.from('q') }));
    assert.equal(a.verdict, 'TX');
    const port = parse(a.out).sport;
    run(frame({ src: C4, dst: FULLNAT_UDP, proto: 'udp', sport: 47100, dport: 53, payload: Buffer.from('q2') }));
    assert.equal(ct.drain(1000).count, 0, 'one-way: nothing to share');
    assert.equal(run(fromBackend({ src: B2, dst: FULLNAT_UDP, proto: 'udp', sport: 53, dport: port, payload: Buffer.from('a') }, B2)).verdict, 'TX');
    const d = ct.drain(1000);
    assert.equal(d.count, 1);
    assert.equal(decode(d.records)?.mode, MODE.fullnat);
    run(fromBackend({ src: B2, dst: FULLNAT_UDP, proto: 'udp', sport: 53, dport: port, payload: Buffer.from('b') }, B2));
    assert.equal(ct.drain(1000).count, 0, 'once per flow');
  });

  test('apply skips records for services or backends this node does not have', () => {
    const base: Partial<SyncRecordFields> = { family: 4, proto: 6, mode: MODE.onearm, state: ST.established, ageMs: 10, timeoutSec: 300, client: addr16(C4), cport: 47300, vip: addr16(ONEARM), vport: 80, backend: addr16(B3), bport: 8080, xsrc: addr16(NODE4), xport: 61111, fwdFlags: 0x06 };
    const enc = (o: Partial<SyncRecordFields>) => sn().syncRecordEncode({ ...base, ...o });
    const r = ct.apply(Buffer.concat([enc({ vip: addr16('192.168.99.1') }), enc({ vport: 81 }), enc({ mode: MODE.fullnat }), enc({ backend: addr16('10.0.0.77') }), enc({ state: ST.syn })]));
    assert.deepEqual(r, { applied: 0, invalid: 1, noService: 3, noBackend: 1, stale: 0, conflict: 0, failed: 0 });
    assert.throws(() => ct.apply(Buffer.alloc(SYNC_RECORD_LEN + 1)), RangeError);
  });
});

describe('connection sync: flow record validation (addon)', () => {
  const good: Partial<SyncRecordFields> = { family: 4, proto: 6, mode: MODE.onearm, state: ST.established, ageMs: 10, timeoutSec: 300, client: addr16(C4), cport: 40000, vip: addr16(ONEARM), vport: 80, backend: addr16(B3), bport: 8080, xsrc: addr16(NODE4), xport: 61000, fwdFlags: 0x06 };
  const rows: Array<{ desc: string; rec: () => Buffer; ok: boolean }> = [
    { desc: 'a valid onearm record', rec: () => sn().syncRecordEncode(good), ok: true },
    { desc: 'a valid dnat record (no SNAT flag)', rec: () => sn().syncRecordEncode({ ...good, mode: MODE.dnat, fwdFlags: 0x04 }), ok: true },
    { desc: 'a valid IPv6 fullnat record', rec: () => sn().syncRecordEncode({ ...good, family: 6, mode: MODE.fullnat, client: addr16('2001:db8::5'), vip: addr16('2001:db8:80::3'), backend: addr16('2001:db8::2'), xsrc: addr16('2001:db8:80::3') }), ok: true },
    { desc: 'embryonic (SYN)', rec: () => sn().syncRecordEncode({ ...good, state: ST.syn }), ok: false },
    { desc: 'embryonic (SYN answered)', rec: () => sn().syncRecordEncode({ ...good, state: ST.synReply }), ok: false },
    { desc: 'UDP in a TCP closing state', rec: () => sn().syncRecordEncode({ ...good, proto: 17, state: ST.fin }), ok: false },
    { desc: 'family 5', rec: () => sn().syncRecordEncode({ ...good, family: 5 }), ok: false },
    { desc: 'protocol ICMP', rec: () => sn().syncRecordEncode({ ...good, proto: 1 }), ok: false },
    { desc: 'dsr (nothing to translate)', rec: () => sn().syncRecordEncode({ ...good, mode: MODE.dsr }), ok: false },
    { desc: 'IPv4 address with junk in the upper bytes', rec: () => sn().syncRecordEncode({ ...good, backend: Buffer.from('0a000003ff000000000000000000000' + '0', 'hex') }), ok: false },
    { desc: 'timeout 0', rec: () => sn().syncRecordEncode({ ...good, timeoutSec: 0 }), ok: false },
    { desc: 'older than its timeout', rec: () => sn().syncRecordEncode({ ...good, ageMs: 301_000 }), ok: false },
    { desc: 'forward flags without DNAT', rec: () => sn().syncRecordEncode({ ...good, fwdFlags: 0x02 }), ok: false },
    { desc: 'forward flags with the reply bit', rec: () => sn().syncRecordEncode({ ...good, fwdFlags: 0x07 }), ok: false },
    { desc: 'onearm without SNAT', rec: () => sn().syncRecordEncode({ ...good, fwdFlags: 0x04 }), ok: false },
    { desc: 'port 0', rec: () => sn().syncRecordEncode({ ...good, xport: 0 }), ok: false },
    {
      desc: 'reserved byte set',
      rec: () => {
        const b = sn().syncRecordEncode(good);
        b[86] = 1;
        return b;
      },
      ok: false,
    },
  ];
  for (const r of rows) {
    test(`record: ${r.desc} is ${r.ok ? 'accepted' : 'refused'}`, () => {
      const d = sn().syncRecordDecode(r.rec());
      assert.equal(d !== null, r.ok);
    });
  }
  test('record: wrong length throws', () => {
    assert.throws(() => sn().syncRecordDecode(Buffer.alloc(SYNC_RECORD_LEN - 1)), RangeError);
  });
});
