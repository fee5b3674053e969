// XDP data path packet tables through BPF_PROG_TEST_RUN: {description, input packet, expected
// verdict and counter, expected output packet} for every mode × protocol × family, replies,
// ICMP errors, non-VIP traffic, truncated/malformed packets and fragments. Services are
// programmed through XdpDataplane.setServices (the real facade) in a private network namespace
// whose routes and permanent neighbours make bpf_fib_lookup deterministic. Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { loadNative } from '../../src/native/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { XdpDataplane } from '../../src/dataplane/xdp.js';
import { xdpNativeFrom, XDP_ACTION, type XdpNative } from '../../src/dataplane/native.js';
import type { DataplaneService } from '../../src/dataplane/types.js';
import { frame, icmpQuote, parse, TCP_ACK, TCP_PSH, TCP_SYN, type PktSpec } from './dataplane/pkt.js';
import { BACKEND_MAC, createTestNetns, deleteTestNetns, NODE_MAC, ROUTER_MAC, xdpCtx } from './dataplane/netns.js';

const NS = `xdpu${process.pid}`;
const C4 = '10.1.0.5';
const C6 = '2001:db8:1::5';
const NODE4 = '10.0.0.10';
const NODE6 = '2001:db8::10';
const B2 = '10.0.0.2';
const B3 = '10.0.0.3';
const B2v6 = '2001:db8::2';
const B3v6 = '2001:db8::3';

const svc = (name: string, vip: string, port: number, protocol: 'tcp' | 'udp', mode: DataplaneService['mode'], backends: Array<[string, number]>, extra: Partial<DataplaneService> = {}): DataplaneService => ({
  name,
  vip,
  port,
  protocol,
  mode,
  backends: backends.map(([address, p]) => ({ address, port: p })),
  epSelect: 'maglev',
  timeoutSec: 300,
  ...extra,
});

const SERVICES: DataplaneService[] = [
  svc('dnat4-tcp', '192.168.80.1', 80, 'tcp', 'dnat', [[B2, 8080]]),
  svc('dnat4-udp', '192.168.80.1', 53, 'udp', 'dnat', [[B2, 5353]]),
  svc('onearm4-tcp', '192.168.80.2', 80, 'tcp', 'onearm', [[B3, 8080]]),
  svc('fullnat4-udp', '192.168.80.3', 53, 'udp', 'fullnat', [[B2, 53]]),
  svc('dsr4-tcp', '192.168.80.4', 80, 'tcp', 'dsr', [[B3, 80]]),
  svc('empty4', '192.168.80.5', 80, 'tcp', 'dnat', []),
  svc('noneigh4', '192.168.80.6', 80, 'tcp', 'dnat', [['10.0.0.4', 80]]),
  svc('offseg4', '192.168.80.7', 80, 'tcp', 'dnat', [['10.50.0.20', 80]]),
  svc('blackhole4', '192.168.80.8', 80, 'tcp', 'dnat', [['10.60.0.5', 80]]),
  svc('dsr-offseg4', '192.168.80.9', 80, 'tcp', 'dsr', [['10.50.0.20', 80]]),
  svc('dnat6-tcp', '2001:db8:80::1', 80, 'tcp', 'dnat', [[B2v6, 8080]]),
  svc('onearm6-udp', '2001:db8:80::2', 53, 'udp', 'onearm', [[B3v6, 5353]]),
  svc('fullnat6-tcp', '2001:db8:80::3', 443, 'tcp', 'fullnat', [[B2v6, 8443]]),
  svc('dsr6-udp', '2001:db8:80::4', 53, 'udp', 'dsr', [[B3v6, 53]]),
];

type Verdict = keyof typeof XDP_ACTION;

interface Row {
  desc: string;
  input: () => Buffer;
  verdict: Verdict;
  /** The counter code this packet's verdict increments (lower case). */
  counter: string;
  /** Expected output: a frame, 'same' (untouched), or built from the output (allocated ports). */
  want?: Buffer | 'same' | ((out: Buffer) => Buffer);
}

let native: XdpNative;
let dp: XdpDataplane;
let ifindex = 0;

function run(pkt: Buffer): { verdict: Verdict; out: Buffer } {
  const r = native.progTestRun(dp.programFd, pkt, 1, { ctx: xdpCtx(pkt.length, ifindex) });
  const verdict = (Object.entries(XDP_ACTION).find(([, v]) => v === r.retval)?.[0] ?? `retval ${r.retval}`) as Verdict;
  return { verdict, out: r.data };
}

/** Frame toward a backend / the client, as the XDP program should emit it. */
const toBackend = (s: Omit<PktSpec, 'srcMac' | 'dstMac'>, ip: string) => frame({ ...s, srcMac: NODE_MAC, dstMac: BACKEND_MAC[ip]! });
const toRouter = (s: Omit<PktSpec, 'srcMac' | 'dstMac'>) => frame({ ...s, srcMac: NODE_MAC, dstMac: ROUTER_MAC });
const fromBackend = (s: Omit<PktSpec, 'srcMac' | 'dstMac'>, ip: string) => frame({ ...s, srcMac: BACKEND_MAC[ip]!, dstMac: NODE_MAC });

const natPort = new Map<string, number>();
function allocated(name: string, out: Buffer): number {
  const port = parse(out).sport;
  assert.ok(port >= 61000 && port <= 65535, `${name}: SNAT port ${port} outside 61000-65535`);
  natPort.set(name, port);
  return port;
}
const portOf = (name: string) => natPort.get(name) ?? 0;

/** Inner UDP checksum of an ICMP quote is not rewritten (documented): copy it from the input. */
function keepInnerUdpCsum(want: Buffer, input: Buffer, innerL4: number): Buffer {
  input.copy(want, innerL4 + 6, innerL4 + 6, innerL4 + 8);
  return want;
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
    desc: 'VIP on a port without a service: untouched',
    input: () => frame({ src: C4, dst: '192.168.80.1', proto: 'tcp', sport: 40022, dport: 443 }),
    verdict: 'PASS',
    counter: 'pass_vip_no_svc',
    want: 'same',
  },
  {
    desc: 'ICMP echo to a VIP: untouched',
    input: () => frame({ src: C4, dst: '192.168.80.1', proto: 'icmp', icmp: { type: 8, code: 0, rest: 0x00010001 } }),
    verdict: 'PASS',
    counter: 'pass_icmp',
    want: 'same',
  },
  {
    desc: 'ICMP error about an untracked flow: untouched',
    input: () => frame({ src: '10.1.0.1', dst: '192.168.80.1', proto: 'icmp', icmp: { type: 3, code: 4, body: icmpQuote({ src: '192.168.80.1', dst: C4, proto: 'tcp', sport: 80, dport: 49999 }) } }),
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
    desc: 'IPv4 with options: to the kernel',
    input: () => {
      const f = frame({ src: C4, dst: '192.168.80.1', proto: 'tcp' });
      const ip = Buffer.from(f.subarray(14, 34));
      ip[0] = 0x46;
      ip.writeUInt16BE(ip.readUInt16BE(2) + 4, 2);
      return Buffer.concat([f.subarray(0, 14), ip, Buffer.from([1, 1, 1, 0]), f.subarray(34)]);
    },
    verdict: 'PASS',
    counter: 'pass_ip_options',
    want: 'same',
  },
  {
    desc: 'IPv4 first fragment (MF) to a VIP: to the kernel',
    input: () => frame({ src: C4, dst: '192.168.80.1', proto: 'udp', sport: 40033, dport: 53, frag: { more: true, offset: 0 }, payload: Buffer.alloc(64) }),
    verdict: 'PASS',
    counter: 'pass_fragment',
    want: 'same',
  },
  {
    desc: 'IPv4 later fragment to a VIP: to the kernel',
    input: () => frame({ src: C4, dst: '192.168.80.1', proto: 'udp', sport: 40033, dport: 53, frag: { more: false, offset: 9 }, payload: Buffer.alloc(16) }),
    verdict: 'PASS',
    counter: 'pass_fragment',
    want: 'same',
  },
  {
    desc: 'IPv6 fragment header to a VIP: to the kernel',
    input: () => frame({ src: C6, dst: '2001:db8:80::1', proto: 'tcp', sport: 41030, dport: 80, frag: { more: true, offset: 0 } }),
    verdict: 'PASS',
    counter: 'pass_fragment',
    want: 'same',
  },
];

/** Every mode × protocol × family: the first packet of a flow, and its reply (dsr has none). */
const MODES = ['dnat', 'onearm', 'fullnat', 'dsr'] as const;
const MATRIX_SERVICES: DataplaneService[] = [];
const MATRIX_ROWS: Row[] = [];
{
  let k = 0;
  for (const fam of [4, 6] as const) {
    for (const mode of MODES) {
      for (const proto of ['tcp', 'udp'] as const) {
        k++;
        const vip = fam === 4 ? `192.168.82.${k}` : `2001:db8:82::${k}`;
        const client = fam === 4 ? C4 : C6;
        const be = fam === 4 ? B2 : B2v6;
        const node = fam === 4 ? NODE4 : NODE6;
        const vport = proto === 'tcp' ? 80 : 53;
        const bport = mode === 'dsr' ? vport : proto === 'tcp' ? 8080 : 5353;
        const sport = 42000 + k;
        const name = `m-${mode}${fam}-${proto}`;
        const payload = Buffer.from(`m${k}`);
        const flags = proto === 'tcp' ? { tcpFlags: TCP_SYN } : { payload };
        const rflags = proto === 'tcp' ? { tcpFlags: TCP_SYN | TCP_ACK } : { payload };
        MATRIX_SERVICES.push(svc(name, vip, vport, proto, mode, [[be, bport]]));
        const fwd = (srcIp: string, srcPort: number) => toBackend({ src: srcIp, dst: mode === 'dsr' ? vip : be, proto, sport: srcPort, dport: bport, ttl: mode === 'dsr' ? 64 : 63, ...flags }, be);
        MATRIX_ROWS.push({
          desc: `${name}: first packet`,
          input: () => frame({ src: client, dst: vip, proto, sport, dport: vport, ...flags }),
          verdict: 'TX',
          counter: 'tx',
          want:
            mode === 'dnat' || mode === 'dsr'
              ? fwd(client, sport)
              : (out) => fwd(mode === 'onearm' ? node : vip, allocated(name, out)),
        });
        if (mode === 'dsr') continue;
        MATRIX_ROWS.push({
          desc: `${name}: reply`,
          input: () =>
            fromBackend({ src: be, dst: mode === 'dnat' ? client : mode === 'onearm' ? node : vip, proto, sport: bport, dport: mode === 'dnat' ? sport : portOf(name), ...rflags }, be),
          verdict: 'TX',
          counter: 'tx',
          want: () => toRouter({ src: vip, dst: client, proto, sport: vport, dport: sport, ttl: 63, ...rflags }),
        });
      }
    }
  }
}

function runRows(rows: Row[]): void {
  for (const row of rows) {
    const input = row.input();
    const before = dp.counters();
    const { verdict, out } = run(input);
    const afterC = dp.counters();
    assert.equal(verdict, row.verdict, `${row.desc}: verdict`);
    assert.equal(afterC[row.counter]! - before[row.counter]!, 1, `${row.desc}: counter ${row.counter}`);
    assert.equal(afterC.rx! - before.rx!, 1, `${row.desc}: rx`);
    if (row.want === 'same') assert.deepEqual(out.toString('hex'), input.toString('hex'), `${row.desc}: untouched`);
    else if (row.want) {
      const want = typeof row.want === 'function' ? row.want(out) : row.want;
      assert.equal(out.toString('hex'), want.toString('hex'), `${row.desc}: output`);
    }
  }
}

describe('XDP packet tables (BPF_PROG_TEST_RUN)', () => {
  before(async () => {
    const { execFileSync } = await import('node:child_process');
    // the BPF object (another build step may have removed build/)
    execFileSync('make', ['-s', '-C', fileURLToPath(new URL('../..', import.meta.url)), 'build/bpf/edgelb_xdp.bpf.o'], { stdio: 'ignore' });
    native = xdpNativeFrom(loadNative());
    const ns = createTestNetns(NS);
    native.xdpSetNetns(ns.path);
    execFileSync('ip', ['route', 'add', 'blackhole', '10.60.0.0/24']);
    ifindex = native.ifNameToIndex('xdpt0');
    dp = new XdpDataplane({
      node: { name: `xdpu-${process.pid}`, routerId: NODE4, interface: 'xdpt0' },
      spec: { attachMode: 'auto', maglevSize: 251, conntrackSize: 1024, enabled: true },
      logger: silentLogger(),
      registry: new Registry(),
      native,
      manageNeighbours: false,
      maxServices: 40,
      maxBackends: 64,
    });
    const opened = await dp.open();
    assert.equal(opened.attachMode, 'generic');
    assert.equal(opened.takenOver, false);
    await dp.setServices(SERVICES);
  });

  after(async () => {
    try {
      await dp?.close({ detach: true });
    } finally {
      native?.xdpSetNetns(null);
      deleteTestNetns(NS);
    }
  });

  test('packet table', () => {
    runRows(ROWS);
  });

  test(`every mode × protocol × family (${MATRIX_ROWS.length} rows)`, async () => {
    await dp.setServices([...SERVICES, ...MATRIX_SERVICES]);
    runRows(MATRIX_ROWS);
    for (const m of dp.stats().services.filter((x) => x.name.startsWith('m-'))) {
      assert.equal(m.packets, m.mode === 'dsr' ? 1 : 2, `${m.name} packets`);
    }
    await dp.setServices(SERVICES);
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
