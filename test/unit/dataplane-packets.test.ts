// XDP data path packet table through BPF_PROG_TEST_RUN: {description, input packet, expected
// verdict and counter, expected output packet} for each mode and family, replies, ICMP errors,
// non-VIP traffic, truncated/malformed packets and fragments; then the per-service counters and
// the tracked flows those packets leave behind. The mode × protocol × family grid is in
// dataplane-packets-grid.test.ts, conntrack and balancing in dataplane-packets-conntrack.test.ts;
// the shared setup (private network namespace, real XdpDataplane facade) is in
// dataplane/packets.ts. Needs root.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { frame, icmpQuote, parse, TCP_ACK, TCP_PSH, TCP_SYN } from './dataplane/pkt.js';
import { B2, B2v6, B3, B3v6, C4, C6, dp, fromBackend, NODE4, NODE6, allocated, portOf, run, runRows, SERVICES, svc, toBackend, toRouter, useXdpPacketDataplane, type Row } from './dataplane/packets.js';

/** Inner UDP checksum of an ICMP quote is not rewritten (documented): copy it from the input. */
function keepInnerUdpCsum(want: Buffer, input: Buffer, innerL4: number): Buffer {
  input.copy(want, innerL4 + 6, innerL4 + 6, innerL4 + 8);
  return want;
}

/** The same frame with a 4-byte IPv4 option (NOP NOP NOP EOL) and its header checksum fixed. */
function withOptions(f: Buffer): Buffer {
  const ip = Buffer.from(f.subarray(14, 34));
  ip[0] = 0x46;
  ip.writeUInt16BE(ip.readUInt16BE(2) + 4, 2);
  return Buffer.concat([f.subarray(0, 14), ip, Buffer.from([1, 1, 1, 0]), f.subarray(34)]);
}

/** A later fragment carries no L4 header: keep only the IP header and 16 bytes of payload. */
function laterFragment(f: Buffer): Buffer {
  const out = Buffer.concat([f.subarray(0, 34), f.subarray(42, 58)]);
  out.writeUInt16BE(20 + 16, 16);
  out.writeUInt16BE(0, 24);
  out.writeUInt16BE(ipChecksum(out.subarray(14, 34)), 24);
  return out;
}

function ipChecksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const ROWS: Row[] = [
  // ---- dnat, IPv4 ----
  {
    desc: 'dnat4 tcp SYN: destination -> backend, client address kept, MACs from the FIB, TTL-1',
    input: () => frame({ src: C4, dst: '192.168.80.1', proto: 'tcp', sport: 40001, dport: 80 }),
    verdict: 'TX',
    counter: 'tx',
    want: toBackend({ src: C4, dst: B2, proto: 'tcp', sport: 40001, dport: 8080, ttl: 63 }, B2),
  },
  {
    desc: 'dnat4 tcp reply: source -> VIP:port, toward the client through the router',
    input: () => fromBackend({ src: B2, dst: C4, proto: 'tcp', sport: 8080, dport: 40001, tcpFlags: TCP_SYN | TCP_ACK }, B2),
    verdict: 'TX',
    counter: 'tx',
    want: toRouter({ src: '192.168.80.1', dst: C4, proto: 'tcp', sport: 80, dport: 40001, tcpFlags: TCP_SYN | TCP_ACK, ttl: 63 }),
  },
  {
    desc: 'dnat4 tcp established data with payload',
    input: () => frame({ src: C4, dst: '192.168.80.1', proto: 'tcp', sport: 40001, dport: 80, tcpFlags: TCP_ACK | TCP_PSH, seq: 1001, payload: Buffer.from('GET / HTTP/1.0\r\n\r\n') }),
    verdict: 'TX',
    counter: 'tx',
    want: toBackend({ src: C4, dst: B2, proto: 'tcp', sport: 40001, dport: 8080, tcpFlags: TCP_ACK | TCP_PSH, seq: 1001, payload: Buffer.from('GET / HTTP/1.0\r\n\r\n'), ttl: 63 }, B2),
  },
  {
    desc: 'dnat4 udp with checksum 0 stays 0',
    input: () => frame({ src: C4, dst: '192.168.80.1', proto: 'udp', sport: 40100, dport: 53, udpNoChecksum: true, payload: Buffer.from('q') }),
    verdict: 'TX',
    counter: 'tx',
    want: toBackend({ src: C4, dst: B2, proto: 'udp', sport: 40100, dport: 5353, udpNoChecksum: true, payload: Buffer.from('q'), ttl: 63 }, B2),
  },
  {
    desc: 'dnat4 udp with a checksum, odd payload length',
    input: () => frame({ src: C4, dst: '192.168.80.1', proto: 'udp', sport: 40101, dport: 53, payload: Buffer.from('abc') }),
    verdict: 'TX',
    counter: 'tx',
    want: toBackend({ src: C4, dst: B2, proto: 'udp', sport: 40101, dport: 5353, payload: Buffer.from('abc'), ttl: 63 }, B2),
  },
  {
    desc: 'ICMPv4 frag-needed about a dnat4 reply: outer and inner headers toward the backend',
    input: () =>
      frame({ src: '10.1.0.1', dst: '192.168.80.1', proto: 'icmp', icmp: { type: 3, code: 4, rest: 1400, body: icmpQuote({ src: '192.168.80.1', dst: C4, proto: 'tcp', sport: 80, dport: 40001, ttl: 60, tcpFlags: TCP_SYN | TCP_ACK }) } }),
    verdict: 'TX',
    counter: 'tx',
    want: toBackend({ src: '10.1.0.1', dst: B2, proto: 'icmp', ttl: 63, icmp: { type: 3, code: 4, rest: 1400, body: icmpQuote({ src: B2, dst: C4, proto: 'tcp', sport: 8080, dport: 40001, ttl: 60, tcpFlags: TCP_SYN | TCP_ACK }) } }, B2),
  },
  // ---- onearm, IPv4 ----
  {
    desc: 'onearm4 tcp SYN: source -> node address + allocated port, destination -> backend',
    input: () => frame({ src: C4, dst: '192.168.80.2', proto: 'tcp', sport: 40002, dport: 80 }),
    verdict: 'TX',
    counter: 'tx',
    want: (out) => toBackend({ src: NODE4, dst: B3, proto: 'tcp', sport: allocated('onearm4', out), dport: 8080, ttl: 63 }, B3),
  },
  {
    desc: 'onearm4 tcp reply to node:port -> VIP -> client',
    input: () => fromBackend({ src: B3, dst: NODE4, proto: 'tcp', sport: 8080, dport: portOf('onearm4'), tcpFlags: TCP_SYN | TCP_ACK }, B3),
    verdict: 'TX',
    counter: 'tx',
    want: () => toRouter({ src: '192.168.80.2', dst: C4, proto: 'tcp', sport: 80, dport: 40002, tcpFlags: TCP_SYN | TCP_ACK, ttl: 63 }),
  },
  // ---- fullnat, IPv4 ----
  {
    desc: 'fullnat4 udp: source -> VIP + allocated port',
    input: () => frame({ src: C4, dst: '192.168.80.3', proto: 'udp', sport: 40003, dport: 53, payload: Buffer.from('hello') }),
    verdict: 'TX',
    counter: 'tx',
    want: (out) => toBackend({ src: '192.168.80.3', dst: B2, proto: 'udp', sport: allocated('fullnat4', out), dport: 53, payload: Buffer.from('hello'), ttl: 63 }, B2),
  },
  {
    desc: 'fullnat4 udp reply -> VIP:53 -> client',
    input: () => fromBackend({ src: B2, dst: '192.168.80.3', proto: 'udp', sport: 53, dport: portOf('fullnat4'), payload: Buffer.from('world!') }, B2),
    verdict: 'TX',
    counter: 'tx',
    want: () => toRouter({ src: '192.168.80.3', dst: C4, proto: 'udp', sport: 53, dport: 40003, payload: Buffer.from('world!'), ttl: 63 }),
  },
  {
    desc: 'ICMPv4 port unreachable from a fullnat4 backend: translated back to the client',
    input: () => fromBackend({ src: B2, dst: '192.168.80.3', proto: 'icmp', icmp: { type: 3, code: 3, body: icmpQuote({ src: '192.168.80.3', dst: B2, proto: 'udp', sport: portOf('fullnat4'), dport: 53, ttl: 63, payload: Buffer.from('hello') }) } }, B2),
    verdict: 'TX',
    counter: 'tx',
    want: () => {
      // recompute the ICMP checksum after keeping the (unrewritten) inner UDP checksum
      const input = fromBackend({ src: B2, dst: '192.168.80.3', proto: 'icmp', icmp: { type: 3, code: 3, body: icmpQuote({ src: '192.168.80.3', dst: B2, proto: 'udp', sport: portOf('fullnat4'), dport: 53, ttl: 63, payload: Buffer.from('hello') }) } }, B2);
      const body = keepInnerUdpCsum(icmpQuote({ src: C4, dst: '192.168.80.3', proto: 'udp', sport: 40003, dport: 53, ttl: 63, payload: Buffer.from('hello') }), input.subarray(14 + 20 + 8), 20);
      return toRouter({ src: '192.168.80.3', dst: C4, proto: 'icmp', ttl: 63, icmp: { type: 3, code: 3, body } });
    },
  },
  // ---- dsr, IPv4 ----
  {
    desc: 'dsr4 tcp: only the MACs change (VIP and TTL kept)',
    input: () => frame({ src: C4, dst: '192.168.80.4', proto: 'tcp', sport: 40004, dport: 80 }),
    verdict: 'TX',
    counter: 'tx',
    want: toBackend({ src: C4, dst: '192.168.80.4', proto: 'tcp', sport: 40004, dport: 80 }, B3),
  },
  {
    desc: 'dsr4 backend off the segment: dropped',
    input: () => frame({ src: C4, dst: '192.168.80.9', proto: 'tcp', sport: 40009, dport: 80 }),
    verdict: 'DROP',
    counter: 'drop_dsr_offlink',
  },
  // ---- next hops ----
  {
    desc: 'no neighbour for the backend: translated packet to the kernel (it resolves)',
    input: () => frame({ src: C4, dst: '192.168.80.6', proto: 'tcp', sport: 40006, dport: 80 }),
    verdict: 'PASS',
    counter: 'pass_no_neigh',
    want: frame({ src: C4, dst: '10.0.0.4', proto: 'tcp', sport: 40006, dport: 80 }),
  },
  {
    desc: 'backend behind another interface: translated packet to the kernel routing',
    input: () => frame({ src: C4, dst: '192.168.80.7', proto: 'tcp', sport: 40007, dport: 80 }),
    verdict: 'PASS',
    counter: 'pass_route',
    want: frame({ src: C4, dst: '10.50.0.20', proto: 'tcp', sport: 40007, dport: 80 }),
  },
  {
    desc: 'backend behind a blackhole route: dropped',
    input: () => frame({ src: C4, dst: '192.168.80.8', proto: 'tcp', sport: 40008, dport: 80 }),
    verdict: 'DROP',
    counter: 'drop_fib',
  },
  {
    desc: 'service without backends: dropped',
    input: () => frame({ src: C4, dst: '192.168.80.5', proto: 'tcp', sport: 40005, dport: 80 }),
    verdict: 'DROP',
    counter: 'drop_no_backend',
  },
  {
    desc: 'TTL 1 to a VIP: untouched, the kernel answers time-exceeded',
    input: () => frame({ src: C4, dst: '192.168.80.1', proto: 'tcp', sport: 40010, dport: 80, ttl: 1 }),
    verdict: 'PASS',
    counter: 'pass_ttl',
    want: 'same',
  },
  // ---- IPv6 ----
  {
    desc: 'dnat6 tcp SYN',
    input: () => frame({ src: C6, dst: '2001:db8:80::1', proto: 'tcp', sport: 41001, dport: 80 }),
    verdict: 'TX',
    counter: 'tx',
    want: toBackend({ src: C6, dst: B2v6, proto: 'tcp', sport: 41001, dport: 8080, ttl: 63 }, B2v6),
  },
  {
    desc: 'dnat6 tcp reply',
    input: () => fromBackend({ src: B2v6, dst: C6, proto: 'tcp', sport: 8080, dport: 41001, tcpFlags: TCP_SYN | TCP_ACK }, B2v6),
    verdict: 'TX',
    counter: 'tx',
    want: toRouter({ src: '2001:db8:80::1', dst: C6, proto: 'tcp', sport: 80, dport: 41001, tcpFlags: TCP_SYN | TCP_ACK, ttl: 63 }),
  },
  {
    desc: 'ICMPv6 packet-too-big about a dnat6 reply: toward the backend (pseudo-header checksum)',
    input: () => frame({ src: '2001:db8:1::1', dst: '2001:db8:80::1', proto: 'icmp', icmp: { type: 2, code: 0, rest: 1280, body: icmpQuote({ src: '2001:db8:80::1', dst: C6, proto: 'tcp', sport: 80, dport: 41001, tcpFlags: TCP_SYN | TCP_ACK }) } }),
    verdict: 'TX',
    counter: 'tx',
    want: toBackend({ src: '2001:db8:1::1', dst: B2v6, proto: 'icmp', ttl: 63, icmp: { type: 2, code: 0, rest: 1280, body: icmpQuote({ src: B2v6, dst: C6, proto: 'tcp', sport: 8080, dport: 41001, tcpFlags: TCP_SYN | TCP_ACK }) } }, B2v6),
  },
  {
    desc: 'onearm6 udp: source -> node IPv6 address + port',
    input: () => frame({ src: C6, dst: '2001:db8:80::2', proto: 'udp', sport: 41002, dport: 53, payload: Buffer.from('q6') }),
    verdict: 'TX',
    counter: 'tx',
    want: (out) => toBackend({ src: NODE6, dst: B3v6, proto: 'udp', sport: allocated('onearm6', out), dport: 5353, payload: Buffer.from('q6'), ttl: 63 }, B3v6),
  },
  {
    desc: 'onearm6 udp reply',
    input: () => fromBackend({ src: B3v6, dst: NODE6, proto: 'udp', sport: 5353, dport: portOf('onearm6'), payload: Buffer.from('a6') }, B3v6),
    verdict: 'TX',
    counter: 'tx',
    want: () => toRouter({ src: '2001:db8:80::2', dst: C6, proto: 'udp', sport: 53, dport: 41002, payload: Buffer.from('a6'), ttl: 63 }),
  },
  {
    desc: 'fullnat6 tcp SYN',
    input: () => frame({ src: C6, dst: '2001:db8:80::3', proto: 'tcp', sport: 41003, dport: 443 }),
    verdict: 'TX',
    counter: 'tx',
    want: (out) => toBackend({ src: '2001:db8:80::3', dst: B2v6, proto: 'tcp', sport: allocated('fullnat6', out), dport: 8443, ttl: 63 }, B2v6),
  },
  {
    desc: 'fullnat6 tcp reply',
    input: () => fromBackend({ src: B2v6, dst: '2001:db8:80::3', proto: 'tcp', sport: 8443, dport: portOf('fullnat6'), tcpFlags: TCP_SYN | TCP_ACK }, B2v6),
    verdict: 'TX',
    counter: 'tx',
    want: () => toRouter({ src: '2001:db8:80::3', dst: C6, proto: 'tcp', sport: 443, dport: 41003, tcpFlags: TCP_SYN | TCP_ACK, ttl: 63 }),
  },
  {
    desc: 'dsr6 udp: MACs only',
    input: () => frame({ src: C6, dst: '2001:db8:80::4', proto: 'udp', sport: 41004, dport: 53, payload: Buffer.from('x') }),
    verdict: 'TX',
    counter: 'tx',
    want: toBackend({ src: C6, dst: '2001:db8:80::4', proto: 'udp', sport: 41004, dport: 53, payload: Buffer.from('x') }, B3v6),
  },
  // ---- not ours ----
  {
    desc: 'non-VIP IPv4 tcp: untouched',
    input: () => frame({ src: C4, dst: B2, proto: 'tcp', sport: 40020, dport: 80 }),
    verdict: 'PASS',
    counter: 'pass_not_vip',
    want: 'same',
  },
  {
    desc: 'non-VIP IPv6 udp: untouched',
    input: () => frame({ src: C6, dst: B3v6, proto: 'udp', sport: 40021, dport: 53 }),
    verdict: 'PASS',
    counter: 'pass_not_vip',
    want: 'same',
  },
  {
    desc: 'VIP on a port without a service: dropped (never to the kernel, which would route it back out)',
    input: () => frame({ src: C4, dst: '192.168.80.1', proto: 'tcp', sport: 40022, dport: 443 }),
    verdict: 'DROP',
    counter: 'drop_vip_no_svc',
  },
  {
    desc: 'ICMP echo to a VIP: answered from the VIP, back to the sender, by XDP',
    input: () => frame({ src: C4, dst: '192.168.80.1', proto: 'icmp', icmp: { type: 8, code: 0, rest: 0x00010001 }, payload: Buffer.from('ping') }),
    verdict: 'TX',
    counter: 'tx_echo',
    want: frame({ srcMac: '02:00:00:00:00:10', dstMac: '02:00:00:00:00:01', src: '192.168.80.1', dst: C4, proto: 'icmp', icmp: { type: 0, code: 0, rest: 0x00010001 }, payload: Buffer.from('ping') }),
  },
  {
    desc: 'ICMP error about an untracked flow, to a VIP: dropped',
    input: () => frame({ src: '10.1.0.1', dst: '192.168.80.1', proto: 'icmp', icmp: { type: 3, code: 4, body: icmpQuote({ src: '192.168.80.1', dst: C4, proto: 'tcp', sport: 80, dport: 49999 }) } }),
    verdict: 'DROP',
    counter: 'drop_vip_icmp',
  },
  {
    desc: 'ICMP error about an untracked flow, not to a VIP: untouched',
    input: () => frame({ src: '10.1.0.1', dst: NODE4, proto: 'icmp', icmp: { type: 3, code: 4, body: icmpQuote({ src: NODE4, dst: C4, proto: 'tcp', sport: 22, dport: 49999 }) } }),
    verdict: 'PASS',
    counter: 'pass_icmp',
    want: 'same',
  },
  {
    desc: 'ARP: untouched',
    input: () => Buffer.concat([Buffer.from('ffffffffffff020000000001', 'hex'), Buffer.from('0806', 'hex'), Buffer.alloc(28, 1)]),
    verdict: 'PASS',
    counter: 'pass_not_ip',
    want: 'same',
  },
  // ---- truncated, malformed, fragments ----
  {
    desc: 'Ethernet header only, EtherType IPv4: to the kernel',
    input: () => Buffer.from('020000000010020000000001' + '0800', 'hex'),
    verdict: 'PASS',
    counter: 'pass_malformed',
    want: 'same',
  },
  {
    desc: 'IPv4 header cut short: to the kernel',
    input: () => frame({ src: C4, dst: '192.168.80.1', proto: 'tcp' }).subarray(0, 14 + 12),
    verdict: 'PASS',
    counter: 'pass_malformed',
    want: 'same',
  },
  {
    desc: 'TCP header truncated, to a VIP: dropped',
    input: () => {
      const f = frame({ src: C4, dst: '192.168.80.1', proto: 'tcp', sport: 40030, dport: 80 });
      return f.subarray(0, 14 + 20 + 10);
    },
    verdict: 'DROP',
    counter: 'drop_malformed',
  },
  {
    desc: 'TCP header truncated, not to a VIP: to the kernel',
    input: () => frame({ src: C4, dst: B2, proto: 'tcp', sport: 40031, dport: 80 }).subarray(0, 14 + 20 + 10),
    verdict: 'PASS',
    counter: 'pass_malformed',
    want: 'same',
  },
  {
    desc: 'IPv4 version field 5: to the kernel',
    input: () => {
      const f = frame({ src: C4, dst: '192.168.80.1', proto: 'tcp' });
      f[14] = 0x55;
      return f;
    },
    verdict: 'PASS',
    counter: 'pass_malformed',
    want: 'same',
  },
  {
    desc: 'IPv4 total length beyond the frame, to a VIP: dropped',
    input: () => {
      const f = frame({ src: C4, dst: '192.168.80.1', proto: 'udp', sport: 40032, dport: 53 });
      f.writeUInt16BE(200, 16);
      return f;
    },
    verdict: 'DROP',
    counter: 'drop_malformed',
  },
  {
    desc: 'IPv4 with options, to a VIP: dropped',
    input: () => withOptions(frame({ src: C4, dst: '192.168.80.1', proto: 'tcp' })),
    verdict: 'DROP',
    counter: 'drop_ip_options',
  },
  {
    desc: 'IPv4 with options, not to a VIP: to the kernel',
    input: () => withOptions(frame({ src: C4, dst: NODE4, proto: 'tcp' })),
    verdict: 'PASS',
    counter: 'pass_ip_options',
    want: 'same',
  },
  {
    desc: 'IPv4 later fragment to a VIP, its first fragment never seen: dropped',
    input: () => laterFragment(frame({ src: C4, dst: '192.168.80.1', proto: 'udp', sport: 40034, dport: 53, id: 0x7777, frag: { more: false, offset: 9 }, payload: Buffer.alloc(16) })),
    verdict: 'DROP',
    counter: 'drop_fragment',
  },
  {
    desc: 'IPv4 later fragment, not to a VIP: to the kernel',
    input: () => laterFragment(frame({ src: C4, dst: NODE4, proto: 'udp', sport: 40034, dport: 53, id: 0x7778, frag: { more: false, offset: 9 }, payload: Buffer.alloc(16) })),
    verdict: 'PASS',
    counter: 'pass_fragment',
    want: 'same',
  },
  {
    desc: 'IPv6 fragment header to a VIP: dropped',
    input: () => frame({ src: C6, dst: '2001:db8:80::1', proto: 'tcp', sport: 41030, dport: 80, frag: { more: true, offset: 0 } }),
    verdict: 'DROP',
    counter: 'drop_fragment',
  },
];

describe('XDP packet tables (BPF_PROG_TEST_RUN)', () => {
  useXdpPacketDataplane();

  test('packet table', () => {
    runRows(ROWS);
  });

  test('per-service packet and byte counters follow the traffic', () => {
    const st = dp.stats();
    const dnat = st.services.find((s) => s.name === 'dnat4-tcp')!;
    // SYN, reply, data, ICMP error: 4 packets forwarded
    assert.equal(dnat.packets, 4);
    assert.ok(dnat.bytes > 4 * 54);
    // backend counters belong to the backend (address:port), summed over the services using it
    assert.ok(dnat.backends[0]!.packets >= 4);
    assert.equal(st.services.find((s) => s.name === 'empty4')!.packets, 0);
    assert.ok(st.conntrackEntries >= 10, `conntrack entries ${st.conntrackEntries}`);
    assert.equal(st.attached, true);
    assert.equal(st.attachMode, 'generic');
  });

  test('a moved flow (non-SYN, no conntrack entry) is balanced by Maglev and counted', () => {
    const before = dp.counters();
    const { verdict, out } = run(frame({ src: C4, dst: '192.168.80.1', proto: 'tcp', sport: 40500, dport: 80, tcpFlags: TCP_ACK }));
    assert.equal(verdict, 'TX');
    assert.equal(parse(out).dst, B2);
    assert.equal(dp.counters().ct_new_non_syn! - before.ct_new_non_syn!, 1);
  });

  test('removing a backend re-balances its tracked flows; a service update rewrites only that service', async () => {
    await dp.setServices([...SERVICES.filter((s) => s.name !== 'dnat4-tcp'), svc('dnat4-tcp', '192.168.80.1', 80, 'tcp', 'dnat', [[B3, 8080]])]);
    const before = dp.counters();
    const { verdict, out } = run(frame({ src: C4, dst: '192.168.80.1', proto: 'tcp', sport: 40001, dport: 80, tcpFlags: TCP_ACK }));
    assert.equal(verdict, 'TX');
    assert.equal(parse(out).dst, B3);
    assert.equal(dp.counters().ct_backend_gone! - before.ct_backend_gone!, 1);
    // the other services' flows are untouched: the onearm flow still uses its port
    const r = run(fromBackend({ src: B3, dst: NODE4, proto: 'tcp', sport: 8080, dport: portOf('onearm4'), tcpFlags: TCP_ACK }, B3));
    assert.equal(r.verdict, 'TX');
    assert.equal(parse(r.out).src, '192.168.80.2');
    await dp.setServices(SERVICES);
  });
});
