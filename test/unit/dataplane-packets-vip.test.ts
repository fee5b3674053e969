// XDP data path through BPF_PROG_TEST_RUN, everything addressed to a VIP ends in XDP: ICMP and
// ICMPv6 echo answered (and rate-limited), neighbour discovery left to the announcer, TCP to an
// unserved port answered with RST (dataplane.rstUnserved), fragment chains followed by IP ID in
// both directions, IPv6 extension headers dropped; and the keyed flow hash (same key, same
// backend; another key, another spread). Shared setup in dataplane/packets.ts. Needs root.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { frame, parse, TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN, type PktSpec } from './dataplane/pkt.js';
import { addon, B2, C4, C6, ctDelete, dp, fromBackend, run, runRows, SERVICES, svc, toBackend, toRouter, useXdpPacketDataplane, type Row } from './dataplane/packets.js';
import { NODE_MAC, ROUTER_MAC } from './dataplane/netns.js';
import { u32Key } from '../../src/dataplane/native.js';

const VIP4 = '192.168.80.1';
const VIP6 = '2001:db8:80::1';
const ECHO_RATE = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A frame as the program sends it back out where it came from (MACs swapped). */
const back = (s: Omit<PktSpec, 'srcMac' | 'dstMac'>) => frame({ ...s, srcMac: NODE_MAC, dstMac: ROUTER_MAC });

/** IPv6 with a hop-by-hop options header (PadN) in front of TCP. */
function withHopByHop(f: Buffer): Buffer {
  const out = Buffer.concat([f.subarray(0, 54), Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]), f.subarray(54)]);
  out[20] = 0;
  out.writeUInt16BE(out.readUInt16BE(18) + 8, 18);
  return out;
}

/** A later IPv4 fragment: the IP header (with its checksum fixed) and the bytes after the UDP header. */
function laterFragment(f: Buffer): Buffer {
  const out = Buffer.concat([f.subarray(0, 34), f.subarray(42)]);
  out.writeUInt16BE(out.length - 14, 16);
  out.writeUInt16BE(0, 24);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += out.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  out.writeUInt16BE(~sum & 0xffff, 24);
  return out;
}

const ROWS: Row[] = [
  {
    desc: 'ICMPv6 echo to a VIP: echo reply (type 129) from the VIP',
    input: () => frame({ src: C6, dst: VIP6, proto: 'icmp', icmp: { type: 128, code: 0, rest: 0x00070001 }, payload: Buffer.from('ping6') }),
    verdict: 'TX',
    counter: 'tx_echo',
    want: back({ src: VIP6, dst: C6, proto: 'icmp', icmp: { type: 129, code: 0, rest: 0x00070001 }, payload: Buffer.from('ping6') }),
  },
  {
    desc: 'ICMPv6 neighbour solicitation for a VIP (135): to the kernel and the L2 announcer',
    input: () => frame({ src: '2001:db8::1', dst: VIP6, proto: 'icmp', icmp: { type: 135, code: 0, body: Buffer.from(new Uint8Array(16)) } }),
    verdict: 'PASS',
    counter: 'pass_ndp',
    want: 'same',
  },
  {
    desc: 'ICMPv6 router advertisement (134) to all nodes: to the kernel',
    input: () => frame({ src: 'fe80::1', dst: 'ff02::1', proto: 'icmp', icmp: { type: 134, code: 0 } }),
    verdict: 'PASS',
    counter: 'pass_ndp',
    want: 'same',
  },
  {
    desc: 'ICMPv6 echo reply (129) to a VIP, untracked: dropped',
    input: () => frame({ src: C6, dst: VIP6, proto: 'icmp', icmp: { type: 129, code: 0 } }),
    verdict: 'DROP',
    counter: 'drop_vip_icmp',
  },
  {
    desc: 'TCP SYN to an unserved VIP port: RST|ACK from the VIP, ack = seq + 1, no window, no payload',
    input: () => frame({ src: C4, dst: VIP4, proto: 'tcp', sport: 47000, dport: 22, seq: 1000, tcpFlags: TCP_SYN }),
    verdict: 'TX',
    counter: 'tx_rst',
    want: back({ src: VIP4, dst: C4, proto: 'tcp', sport: 22, dport: 47000, seq: 0, ack: 1001, window: 0, tcpFlags: TCP_RST | TCP_ACK }),
  },
  {
    desc: 'TCP SYN with data to an unserved port: the RST acknowledges the data and carries none',
    input: () => frame({ src: C4, dst: VIP4, proto: 'tcp', sport: 47001, dport: 22, seq: 5000, tcpFlags: TCP_SYN, payload: Buffer.from('abc') }),
    verdict: 'TX',
    counter: 'tx_rst',
    want: back({ src: VIP4, dst: C4, proto: 'tcp', sport: 22, dport: 47001, seq: 0, ack: 5004, window: 0, tcpFlags: TCP_RST | TCP_ACK }),
  },
  {
    desc: 'TCP data (ACK) to an unserved port: RST with seq = the segment\'s ack',
    input: () => frame({ src: C4, dst: VIP4, proto: 'tcp', sport: 47002, dport: 22, seq: 7, ack: 0x12345678, tcpFlags: TCP_ACK | TCP_PSH, payload: Buffer.from('x') }),
    verdict: 'TX',
    counter: 'tx_rst',
    want: back({ src: VIP4, dst: C4, proto: 'tcp', sport: 22, dport: 47002, seq: 0x12345678, ack: 0, window: 0, tcpFlags: TCP_RST }),
  },
  {
    desc: 'an RST to an unserved port is never answered',
    input: () => frame({ src: C4, dst: VIP4, proto: 'tcp', sport: 47003, dport: 22, tcpFlags: TCP_RST }),
    verdict: 'DROP',
    counter: 'drop_vip_no_svc',
  },
  {
    desc: 'IPv6 TCP SYN to an unserved port: RST|ACK (pseudo-header checksum from scratch)',
    input: () => frame({ src: C6, dst: VIP6, proto: 'tcp', sport: 47004, dport: 22, seq: 99, tcpFlags: TCP_SYN }),
    verdict: 'TX',
    counter: 'tx_rst',
    want: back({ src: VIP6, dst: C6, proto: 'tcp', sport: 22, dport: 47004, seq: 0, ack: 100, window: 0, tcpFlags: TCP_RST | TCP_ACK }),
  },
  {
    desc: 'UDP to an unserved VIP port: dropped (no RST for UDP)',
    input: () => frame({ src: C4, dst: VIP4, proto: 'udp', sport: 47005, dport: 123 }),
    verdict: 'DROP',
    counter: 'drop_vip_no_svc',
  },
  {
    desc: 'IPv6 hop-by-hop header to a VIP: dropped',
    input: () => withHopByHop(frame({ src: C6, dst: VIP6, proto: 'tcp', sport: 47006, dport: 80 })),
    verdict: 'DROP',
    counter: 'drop_ip_options',
  },
  {
    desc: 'IPv6 hop-by-hop header, not to a VIP: to the kernel',
    input: () => withHopByHop(frame({ src: C6, dst: '2001:db8::10', proto: 'tcp', sport: 47007, dport: 22 })),
    verdict: 'PASS',
    counter: 'pass_ip_options',
    want: 'same',
  },
  // ---- a fragment chain of a served UDP port (dnat4-udp: VIP:53 -> 10.0.0.2:5353), both ways
  {
    desc: 'first fragment (MF, offset 0) to a served UDP port: translated like a whole datagram',
    input: () => frame({ src: C4, dst: VIP4, proto: 'udp', sport: 47100, dport: 53, id: 0x4242, frag: { more: true, offset: 0 }, payload: Buffer.alloc(32, 1) }),
    verdict: 'TX',
    counter: 'tx',
    want: toBackend({ src: C4, dst: B2, proto: 'udp', sport: 47100, dport: 5353, id: 0x4242, frag: { more: true, offset: 0 }, payload: Buffer.alloc(32, 1), ttl: 63 }, B2),
  },
  {
    desc: 'middle fragment (MF, offset 5) of the same datagram (IP ID): addresses rewritten',
    input: () => laterFragment(frame({ src: C4, dst: VIP4, proto: 'udp', sport: 47100, dport: 53, id: 0x4242, frag: { more: true, offset: 5 }, payload: Buffer.alloc(40, 2) })),
    verdict: 'TX',
    counter: 'tx',
    want: laterFragment(toBackend({ src: C4, dst: B2, proto: 'udp', sport: 47100, dport: 5353, id: 0x4242, frag: { more: true, offset: 5 }, payload: Buffer.alloc(40, 2), ttl: 63 }, B2)),
  },
  {
    desc: 'last fragment (offset 10) of the same datagram',
    input: () => laterFragment(frame({ src: C4, dst: VIP4, proto: 'udp', sport: 47100, dport: 53, id: 0x4242, frag: { more: false, offset: 10 }, payload: Buffer.alloc(8, 3) })),
    verdict: 'TX',
    counter: 'tx',
    want: laterFragment(toBackend({ src: C4, dst: B2, proto: 'udp', sport: 47100, dport: 5353, id: 0x4242, frag: { more: false, offset: 10 }, payload: Buffer.alloc(8, 3), ttl: 63 }, B2)),
  },
  {
    desc: 'the backend\'s fragmented reply, first fragment: source -> VIP:53',
    input: () => fromBackend({ src: B2, dst: C4, proto: 'udp', sport: 5353, dport: 47100, id: 0x5151, frag: { more: true, offset: 0 }, payload: Buffer.alloc(32, 4) }, B2),
    verdict: 'TX',
    counter: 'tx',
    want: toRouter({ src: VIP4, dst: C4, proto: 'udp', sport: 53, dport: 47100, id: 0x5151, frag: { more: true, offset: 0 }, payload: Buffer.alloc(32, 4), ttl: 63 }),
  },
  {
    desc: 'the backend\'s reply, last fragment: source -> VIP',
    input: () => laterFragment(fromBackend({ src: B2, dst: C4, proto: 'udp', sport: 5353, dport: 47100, id: 0x5151, frag: { more: false, offset: 5 }, payload: Buffer.alloc(16, 5) }, B2)),
    verdict: 'TX',
    counter: 'tx',
    want: laterFragment(toRouter({ src: VIP4, dst: C4, proto: 'udp', sport: 53, dport: 47100, id: 0x5151, frag: { more: false, offset: 5 }, payload: Buffer.alloc(16, 5), ttl: 63 })),
  },
  {
    desc: 'a fragment of another datagram (other IP ID) to the VIP: dropped',
    input: () => laterFragment(frame({ src: C4, dst: VIP4, proto: 'udp', sport: 47100, dport: 53, id: 0x4243, frag: { more: false, offset: 10 }, payload: Buffer.alloc(8) })),
    verdict: 'DROP',
    counter: 'drop_fragment',
  },
];

describe('XDP: every packet to a VIP ends in XDP (BPF_PROG_TEST_RUN)', () => {
  useXdpPacketDataplane({ spec: { rstUnserved: true, icmpEchoRate: ECHO_RATE, flowHashKey: 'unit-test cluster key' } });

  test('packet table: echo, NDP, RST, extension headers, fragment chains', () => {
    runRows(ROWS);
  });

  test('echo replies are rate-limited per CPU and the excess is counted', async () => {
    await sleep(1100); // a fresh one-second window
    const before = dp.counters();
    const N = 20;
    for (let i = 0; i < N; i++) run(frame({ src: C4, dst: VIP4, proto: 'icmp', icmp: { type: 8, code: 0, rest: i } }));
    const c = dp.counters();
    const tx = c.tx_echo! - before.tx_echo!;
    const dropped = c.drop_echo_rate! - before.drop_echo_rate!;
    assert.equal(tx + dropped, N);
    assert.ok(tx >= 1 && tx <= ECHO_RATE * availableParallelism(), `replies ${tx}`);
  });

  test('the flow hash is keyed: the same key gives the same backends, another key another spread', async () => {
    const three: Array<[string, number]> = [[B2, 53], ['10.0.0.3', 53], ['10.0.0.4', 53]];
    await dp.setServices([...SERVICES, svc('k3', '192.168.82.1', 53, 'udp', 'dnat', three)]);
    const flows = Array.from({ length: 40 }, (_, i) => ({ src: `10.4.${i}.1`, dst: '192.168.82.1', sport: 30000 + i, dport: 53, protocol: 'udp' as const }));
    const pick = () =>
      flows.map((f) => {
        ctDelete(f);
        return parse(run(frame({ src: f.src, dst: f.dst, proto: 'udp', sport: f.sport, dport: f.dport })).out).dst;
      });
    const n = addon();
    const cfgFd = dp.mapFd('cfg');
    const original = n.mapLookup(cfgFd, u32Key(0))!;
    const a = pick();
    assert.deepEqual(pick(), a, 'same key: same backends');
    const cfg = n.xdpDecode('cfg', original) as Record<string, unknown>;
    n.mapUpdate(cfgFd, u32Key(0), n.xdpEncode('cfg', { ...cfg, hashKey: Buffer.from('another cluster!') }));
    try {
      const b = pick();
      const moved = a.filter((d, i) => d !== b[i]).length;
      assert.ok(moved >= 8, `another key moved only ${moved} of 40 flows`);
    } finally {
      n.mapUpdate(cfgFd, u32Key(0), original);
    }
    assert.deepEqual(pick(), a, 'the key back: the same backends again');
    await dp.setServices(SERVICES);
  });
});
