// Byte vectors for the ARP/NDP codec: frames captured from Linux 6.x (tcpdump -xx between two
// network namespaces, MACs 02:00:00:00:00:0a/0b) and hand-built malformed ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ARP_REPLY, ARP_REQUEST, arpReplyFrame, decodeArp, encodeArp, gratuitousArpFrame } from '../../src/l2/arp.js';
import { decodeEthernet, encodeEthernet, formatMac, parseMac } from '../../src/l2/ethernet.js';
import {
  decodeNeighbourAdvertisement,
  decodeNeighbourSolicitation,
  encodeNeighbourSolicitation,
  icmpv6Checksum,
  multicastMac,
  neighbourAdvertisementReply,
  solicitedNodeAddress,
  unsolicitedAdvertisementFrame,
} from '../../src/l2/ndp.js';
import { IgnoreReason } from '../../src/l2/reasons.js';
import { bytesToIp } from '../../src/lib/addr.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+|\/\/[^\n]*/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const MAC_A = parseMac('02:00:00:00:00:0a');
const MAC_B = parseMac('02:00:00:00:00:0b');

// Linux: ARP, Request who-has 192.0.2.11 tell 192.0.2.10
const LINUX_ARP_REQUEST = hex(`
  ffffffffffff 02000000000a 0806   // broadcast, from A, ARP
  0001 0800 06 04 0001             // Ethernet, IPv4, hlen 6, plen 4, request
  02000000000a c000020a            // sender A, 192.0.2.10
  000000000000 c000020b            // target unknown, 192.0.2.11
`);
// Linux: ARP, Reply 192.0.2.11 is-at 02:00:00:00:00:0b
const LINUX_ARP_REPLY = hex(`
  02000000000a 02000000000b 0806
  0001 0800 06 04 0002             // reply
  02000000000b c000020b            // sender B, 192.0.2.11
  02000000000a c000020a            // target A, 192.0.2.10
`);
// Linux: 2001:db8::a > ff02::1:ff00:b neighbor solicitation, who has 2001:db8::b
const LINUX_NS_FRAME = hex(`
  3333ff00000b 02000000000a 86dd
  60000000 0020 3a ff
  20010db800000000000000000000000a // src 2001:db8::a
  ff0200000000000000000001ff00000b // dst ff02::1:ff00:b
  87 00 1c03 00000000              // NS, code 0, checksum 0x1c03, reserved
  20010db800000000000000000000000b // target 2001:db8::b
  01 01 02000000000a               // source link-layer address option: A
`);
// Linux: 2001:db8::b > 2001:db8::a neighbor advertisement, tgt is 2001:db8::b (S|O)
const LINUX_NA_FRAME = hex(`
  02000000000a 02000000000b 86dd
  60000000 0020 3a ff
  20010db800000000000000000000000b
  20010db800000000000000000000000a
  88 00 8a4d 60000000              // NA, checksum 0x8a4d, flags S|O
  20010db800000000000000000000000b // target
  02 01 02000000000b               // target link-layer address option: B
`);

test('ARP request captured from Linux decodes field by field', () => {
  const eth = decodeEthernet(LINUX_ARP_REQUEST)!;
  assert.equal(eth.etherType, 0x0806);
  const r = decodeArp(eth.payload);
  assert.ok(r.ok);
  assert.equal(r.value.op, ARP_REQUEST);
  assert.equal(formatMac(r.value.senderMac), '02:00:00:00:00:0a');
  assert.equal(r.value.senderIp, '192.0.2.10');
  assert.equal(r.value.targetIp, '192.0.2.11');
  assert.equal(toHex(encodeArp(r.value)), toHex(eth.payload.subarray(0, 28)));
});

test('our ARP reply is byte-identical to Linux\'s reply, padded to 60 bytes', () => {
  const req = decodeArp(decodeEthernet(LINUX_ARP_REQUEST)!.payload);
  assert.ok(req.ok);
  const ours = arpReplyFrame(req.value, '192.0.2.11', MAC_B);
  assert.equal(ours.length, 60);
  assert.equal(toHex(ours.subarray(0, 42)), toHex(LINUX_ARP_REPLY));
  assert.ok(ours.subarray(42).every((x) => x === 0));
  const back = decodeArp(decodeEthernet(ours)!.payload);
  assert.ok(back.ok);
  assert.equal(back.value.op, ARP_REPLY);
});

test('gratuitous ARP: broadcast request, sender = target = VIP, zero target MAC', () => {
  const f = gratuitousArpFrame('192.0.2.240', MAC_B);
  assert.equal(
    toHex(f.subarray(0, 42)),
    toHex(hex(`ffffffffffff 02000000000b 0806 0001 0800 0604 0001 02000000000b c00002f0 000000000000 c00002f0`)),
  );
});

test('ARP decode rejects with a reason for every malformed field', () => {
  const good = LINUX_ARP_REQUEST.subarray(14);
  const mut = (i: number, v: number) => {
    const c = Uint8Array.from(good);
    c[i] = v;
    return c;
  };
  const rows: Array<{ desc: string; input: Uint8Array; want: string }> = [
    { desc: 'empty', input: new Uint8Array(0), want: IgnoreReason.ArpTruncated },
    { desc: '7 bytes', input: good.subarray(0, 7), want: IgnoreReason.ArpTruncated },
    { desc: '27 bytes', input: good.subarray(0, 27), want: IgnoreReason.ArpTruncated },
    { desc: 'hardware type 6 (IEEE 802)', input: mut(1, 6), want: IgnoreReason.ArpBadHardware },
    { desc: 'hardware length 8', input: mut(4, 8), want: IgnoreReason.ArpBadHardware },
    { desc: 'protocol type 0x86dd', input: mut(2, 0x86), want: IgnoreReason.ArpBadProtocol },
    { desc: 'protocol length 16', input: mut(5, 16), want: IgnoreReason.ArpBadProtocol },
    { desc: 'op 3 (RARP request)', input: mut(7, 3), want: IgnoreReason.ArpUnknownOp },
    { desc: 'op 0', input: mut(7, 0), want: IgnoreReason.ArpUnknownOp },
  ];
  for (const row of rows) {
    const r = decodeArp(row.input);
    assert.equal(r.ok, false, row.desc);
    if (!r.ok) assert.equal(r.reason, row.want, row.desc);
  }
});

test('NS captured from Linux decodes; our encoder reproduces it byte for byte', () => {
  const eth = decodeEthernet(LINUX_NS_FRAME)!;
  const r = decodeNeighbourSolicitation(eth.payload);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.src, '2001:db8::a');
  assert.equal(r.value.dst, 'ff02::1:ff00:b');
  assert.equal(r.value.target, '2001:db8::b');
  assert.equal(formatMac(r.value.sourceMac!), '02:00:00:00:00:0a');
  assert.equal(toHex(encodeNeighbourSolicitation(r.value, MAC_A)), toHex(LINUX_NS_FRAME));
});

test('our NA answering that NS is byte-identical to the NA Linux sent', () => {
  const eth = decodeEthernet(LINUX_NS_FRAME)!;
  const ns = decodeNeighbourSolicitation(eth.payload);
  assert.ok(ns.ok);
  const ours = neighbourAdvertisementReply(ns.value, eth.src, '2001:db8::b', MAC_B);
  assert.equal(toHex(ours), toHex(LINUX_NA_FRAME));
  const na = decodeNeighbourAdvertisement(decodeEthernet(ours)!.payload);
  assert.ok(na.ok);
  assert.deepEqual([na.value.router, na.value.solicited, na.value.override], [false, true, true]);
});

test('ICMPv6 checksum of the Linux captures', () => {
  for (const [f, want] of [
    [LINUX_NS_FRAME, 0x1c03],
    [LINUX_NA_FRAME, 0x8a4d],
  ] as const) {
    const msg = Uint8Array.from(f.subarray(54));
    assert.equal(icmpv6Checksum(f.subarray(22, 38), f.subarray(38, 54), msg), want);
  }
});

test('solicited-node address and multicast MAC (table)', () => {
  const rows = [
    { ip: '2001:db8::b', group: 'ff02::1:ff00:b', mac: '33:33:ff:00:00:0b' },
    { ip: 'fe80::2aa:ff:fe28:9c5a', group: 'ff02::1:ff28:9c5a', mac: '33:33:ff:28:9c:5a' }, // RFC 4291 example
    { ip: 'fd00:80::f1', group: 'ff02::1:ff00:f1', mac: '33:33:ff:00:00:f1' },
    { ip: '2001:db8:1:2:3:4:5:6789', group: 'ff02::1:ff05:6789', mac: '33:33:ff:05:67:89' },
    { ip: 'ff02::1', group: 'ff02::1:ff00:1', mac: '33:33:ff:00:00:01' },
  ];
  for (const r of rows) {
    assert.equal(solicitedNodeAddress(r.ip), r.group, r.ip);
    assert.equal(formatMac(multicastMac(r.group)), r.mac, r.ip);
  }
  assert.equal(formatMac(multicastMac('ff02::1')), '33:33:00:00:00:01');
});

test('unsolicited NA: all-nodes, Override set, Solicited clear, target LL option, valid checksum', () => {
  const f = unsolicitedAdvertisementFrame('2001:db8::f1', MAC_B);
  assert.equal(formatMac(f.subarray(0, 6)), '33:33:00:00:00:01');
  const na = decodeNeighbourAdvertisement(decodeEthernet(f)!.payload);
  assert.ok(na.ok);
  assert.equal(na.value.dst, 'ff02::1');
  assert.equal(na.value.src, '2001:db8::f1');
  assert.deepEqual([na.value.router, na.value.solicited, na.value.override], [false, false, true]);
  assert.equal(formatMac(na.value.targetMac!), '02:00:00:00:00:0b');
});

test('DAD probe (from ::) is answered to all-nodes without S', () => {
  const ns = { src: '::', dst: solicitedNodeAddress('2001:db8::b'), target: '2001:db8::b' };
  const frame = encodeNeighbourSolicitation(ns, MAC_A);
  const d = decodeNeighbourSolicitation(decodeEthernet(frame)!.payload);
  assert.ok(d.ok);
  const reply = neighbourAdvertisementReply(d.value, MAC_A, '2001:db8::b', MAC_B);
  const na = decodeNeighbourAdvertisement(decodeEthernet(reply)!.payload);
  assert.ok(na.ok);
  assert.equal(na.value.dst, 'ff02::1');
  assert.equal(na.value.solicited, false);
});

test('NS decode rejects with RFC 4861 §7.1.1 reasons (one row per check)', () => {
  const base = decodeEthernet(LINUX_NS_FRAME)!.payload; // IPv6 packet, 72 bytes
  const mut = (f: (c: Uint8Array) => void, fixSum = true) => {
    const c = Uint8Array.from(base);
    f(c);
    if (fixSum) {
      const msg = c.subarray(40, 40 + ((c[4]! << 8) | c[5]!));
      msg[2] = msg[3] = 0;
      const s = icmpv6Checksum(c.subarray(8, 24), c.subarray(24, 40), msg);
      msg[2] = s >> 8;
      msg[3] = s & 0xff;
    }
    return c;
  };
  const setPlen = (c: Uint8Array, n: number) => {
    c[4] = n >> 8;
    c[5] = n & 0xff;
  };
  const rows: Array<{ desc: string; input: Uint8Array; want: string }> = [
    { desc: 'IPv6 header cut at 39 bytes', input: base.subarray(0, 39), want: IgnoreReason.Ipv6Truncated },
    { desc: 'payload length past the end', input: mut((c) => setPlen(c, 33), false), want: IgnoreReason.Ipv6Truncated },
    { desc: 'version 4 in an IPv6 frame', input: mut((c) => (c[0] = 0x45), false), want: IgnoreReason.Ipv6BadVersion },
    { desc: 'next header UDP', input: mut((c) => (c[6] = 17), false), want: IgnoreReason.NotIcmpv6 },
    { desc: 'next header hop-by-hop (not followed)', input: mut((c) => (c[6] = 0), false), want: IgnoreReason.NotIcmpv6 },
    { desc: 'ICMPv6 echo request', input: mut((c) => (c[40] = 128)), want: IgnoreReason.NotNeighbourSolicitation },
    { desc: 'neighbour advertisement', input: mut((c) => (c[40] = 136)), want: IgnoreReason.NotNeighbourSolicitation },
    { desc: 'hop limit 254 (routed from off-link)', input: mut((c) => (c[7] = 254), false), want: IgnoreReason.NdpBadHopLimit },
    { desc: 'code 1', input: mut((c) => (c[41] = 1)), want: IgnoreReason.NdpBadCode },
    { desc: 'checksum off by one', input: mut((c) => (c[43] = c[43]! ^ 1), false), want: IgnoreReason.NdpBadChecksum },
    { desc: 'ICMP message of 20 bytes', input: mut((c) => setPlen(c, 20)), want: IgnoreReason.NdpTruncated },
    { desc: 'ICMP message of 3 bytes', input: mut((c) => setPlen(c, 3), false), want: IgnoreReason.NdpTruncated },
    { desc: 'option length 0', input: mut((c) => (c[65] = 0)), want: IgnoreReason.NdpBadOption },
    { desc: 'option length 2 runs past the end', input: mut((c) => (c[65] = 2)), want: IgnoreReason.NdpBadOption },
    { desc: 'multicast target', input: mut((c) => (c[48] = 0xff)), want: IgnoreReason.NdpMulticastTarget },
    { desc: 'from :: with a source link-layer option', input: mut((c) => c.fill(0, 8, 24)), want: IgnoreReason.NdpBadDad },
    {
      desc: 'from :: to a unicast destination',
      input: mut((c) => {
        c.fill(0, 8, 24);
        setPlen(c, 24);
        c.set(c.subarray(48, 64), 24);
      }),
      want: IgnoreReason.NdpBadDad,
    },
  ];
  for (const row of rows) {
    const r = decodeNeighbourSolicitation(row.input);
    assert.equal(r.ok, false, row.desc);
    if (!r.ok) assert.equal(r.reason, row.want, row.desc);
  }
});

test('property: ARP encode/decode round trip', () => {
  const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });
  const ip4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => bytesToIp(b));
  fc.assert(
    fc.property(fc.constantFrom<1 | 2>(1, 2), mac, ip4, mac, ip4, (op, sm, si, tm, ti) => {
      const p = { op, senderMac: sm, senderIp: si, targetMac: tm, targetIp: ti };
      const r = decodeArp(decodeEthernet(encodeEthernet({ dst: tm, src: sm, etherType: 0x0806, payload: encodeArp(p) }))!.payload);
      assert.ok(r.ok);
      assert.deepEqual({ ...r.value, senderMac: [...r.value.senderMac], targetMac: [...r.value.targetMac] }, { ...p, senderMac: [...sm], targetMac: [...tm] });
    }),
  );
});

test('property: NS round trip; any single-bit flip is rejected or decodes without throwing', () => {
  const ip6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).filter((b) => b[0] !== 0xff && b.some((x) => x !== 0)).map((b) => bytesToIp(b));
  fc.assert(
    fc.property(ip6, ip6, fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.nat(86 * 8 - 1), (src, target, mac, bit) => {
      const ns = { src, dst: solicitedNodeAddress(target), target, sourceMac: mac };
      const frame = encodeNeighbourSolicitation(ns, mac);
      const r = decodeNeighbourSolicitation(decodeEthernet(frame)!.payload);
      assert.ok(r.ok);
      assert.equal(r.value.target, target);
      assert.equal(r.value.src, src);
      const flipped = Uint8Array.from(frame);
      flipped[bit >> 3] = flipped[bit >> 3]! ^ (0x80 >> (bit & 7));
      const eth = decodeEthernet(flipped)!;
      decodeNeighbourSolicitation(eth.payload); // must not throw
      // a flip inside the ICMPv6 message (after the checksum-covered addresses) never passes
      if (bit >> 3 >= 54) assert.equal(decodeNeighbourSolicitation(eth.payload).ok, false);
    }),
  );
});
