// The BFD offload in XDP (native/bpf/bfd.h) through its TypeScript port (src/bfd/xdp-offload.ts),
// as packet tables run with BPF_PROG_TEST_RUN on the real program in a private namespace: lease
// live -> PASS to the daemon; lease out -> XDP_TX with the next signed frame, addresses, ports and
// MACs swapped, TTL 255, checksums right; meticulous windows used up or the max time passed ->
// PASS; unknown sessions, wrong TTL, wrong discriminators and malformed BFD -> not answered; and
// read() giving the next daemon what went on the wire (resumeOf). Needs root.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { XdpBfdOffload } from '../../src/bfd/xdp-offload.js';
import { encodeSigned, type BfdAuthConfig } from '../../src/bfd/auth.js';
import { BfdAuthType, BfdState, controlPacket } from '../../src/bfd/packet.js';
import { resumeOf, type BfdOffloadSession } from '../../src/bfd/offload.js';
import { addon, dp, NODE4, NODE6, run, runRows, useXdpPacketDataplane, type Row } from './dataplane/packets.js';
import { checksum, frame, type PktSpec } from './dataplane/pkt.js';
import { NODE_MAC, ROUTER_MAC } from './dataplane/netns.js';

useXdpPacketDataplane();

const R1 = '10.0.0.1';
const R2 = '10.0.0.5';
const R6 = '2001:db8::1';
const RM = '10.9.0.1'; // multihop peer
const KEY: BfdAuthConfig = { type: BfdAuthType.MeticulousKeyedSha1, keyId: 7, key: Buffer.from('s3cret') };
const KEYED: BfdAuthConfig = { type: BfdAuthType.KeyedSha1, keyId: 3, key: Buffer.from('other') };

/** Our Up packet (what the daemon signs ahead) and the router's. */
const ours = (my: number, your: number) => controlPacket({ state: BfdState.Up, myDiscr: my, yourDiscr: your, detectMult: 3, desiredMinTx: 100_000, requiredMinRx: 100_000 });
const theirs = (my: number, your: number, f: Partial<ReturnType<typeof ours>> = {}) => ({ ...ours(my, your), ...f });

function row(o: { key: string; local: string; peer: string; localDiscr: number; remoteDiscr: number; dstPort?: number; auth?: BfdAuthConfig; firstSeq?: number; window?: number }): BfdOffloadSession {
  const meticulous = o.auth?.type === BfdAuthType.MeticulousKeyedSha1;
  const firstSeq = o.firstSeq ?? 0;
  const n = meticulous ? (o.window ?? 3) : 1;
  return {
    key: o.key,
    family: o.local.includes(':') ? 6 : 4,
    local: o.local,
    srcPort: 49200,
    peer: o.peer,
    dstPort: o.dstPort ?? 3784,
    multihop: (o.dstPort ?? 3784) === 4784,
    localDiscr: o.localDiscr,
    remoteDiscr: o.remoteDiscr,
    detectMult: 3,
    desiredMinTxUs: 100_000,
    requiredMinRxUs: 100_000,
    remoteDesiredMinTxUs: 100_000,
    remoteMinRxUs: 100_000,
    remoteDetectMult: 3,
    ...(o.auth ? { auth: { type: o.auth.type, keyId: o.auth.keyId, meticulous } } : {}),
    firstSeq,
    frames: Array.from({ length: n }, (_, i) => encodeSigned(ours(o.localDiscr, o.remoteDiscr), o.auth, firstSeq + i)),
  };
}

const SESSIONS = [
  row({ key: R1, local: NODE4, peer: R1, localDiscr: 0x1001, remoteDiscr: 0x2001 }),
  row({ key: R2, local: NODE4, peer: R2, localDiscr: 0x1002, remoteDiscr: 0x2002, auth: KEY, firstSeq: 100, window: 3 }),
  row({ key: R6, local: NODE6, peer: R6, localDiscr: 0x1003, remoteDiscr: 0x2003, auth: KEYED, firstSeq: 42 }),
  row({ key: RM, local: NODE4, peer: RM, localDiscr: 0x1004, remoteDiscr: 0x2004, dstPort: 4784 }),
];

/** The router's control packet to us, as it arrives on the uplink. */
function fromRouter(peer: string, local: string, payload: Buffer, extra: Partial<PktSpec> = {}): Buffer {
  return frame({ srcMac: ROUTER_MAC, dstMac: NODE_MAC, src: peer, dst: local, proto: 'udp', sport: 50001, dport: 3784, ttl: 255, payload, ...extra });
}
const routerUp = (s: BfdOffloadSession, seq = 9, extra: Partial<PktSpec> = {}, f: Partial<ReturnType<typeof ours>> = {}) =>
  fromRouter(s.peer, s.local, encodeSigned(theirs(s.remoteDiscr, s.localDiscr, f), s.auth ? { ...(s.auth.type === KEY.type ? KEY : KEYED) } : undefined, seq), { dport: s.dstPort, ...extra });

/** What XDP must send: our frame from our address and port to the router's 3784/4784, TTL 255. */
function answer(s: BfdOffloadSession, payload: Buffer): Buffer {
  const f = frame({ srcMac: NODE_MAC, dstMac: ROUTER_MAC, src: s.local, dst: s.peer, proto: 'udp', sport: s.srcPort, dport: s.dstPort, ttl: 255, id: 0, payload });
  if (s.family === 4) {
    f.writeUInt16BE(0, 24);
    f.writeUInt16BE(checksum(f.subarray(14, 34)), 24);
  }
  return f;
}

let offload: XdpBfdOffload;
const fds = () => ({ sessions: dp.mapFd('bfd'), frames: dp.mapFd('bfdFrames'), lease: dp.mapFd('bfdLease') });
const live = () => offload.renewLease(performance.now() + 60_000, {});
const dead = (lastSeq: Record<string, number> = {}) => offload.renewLease(performance.now() - 1, lastSeq);
const [S1, S2, S6, SM] = SESSIONS as [BfdOffloadSession, BfdOffloadSession, BfdOffloadSession, BfdOffloadSession];

describe('BFD offload in XDP', () => {
  before(() => {
    offload = new XdpBfdOffload({ native: addon(), fds: fds() });
    offload.publish(SESSIONS);
  });

  test('no lease written yet: nothing is answered (the daemon has not handed over)', () => {
    runRows([{ desc: 'v4 up, no lease', input: () => routerUp(S1), verdict: 'PASS', counter: 'pass_bfd', want: 'same' }]);
  });

  test('lease live: every control packet of an offloaded session goes to the daemon', () => {
    live();
    runRows(SESSIONS.map((s): Row => ({ desc: `${s.key} lease live`, input: () => routerUp(s, 5, s.multihop ? { ttl: 250 } : {}), verdict: 'PASS', counter: 'pass_bfd', want: 'same' })));
  });

  test('lease out: answered with XDP_TX and the next frame, addresses, ports and MACs swapped, TTL 255', () => {
    dead({ [S2.key]: 100 }); // the daemon's last packet carried 100: XDP goes on from 101
    runRows([
      { desc: 'v4 unauthenticated', input: () => routerUp(S1), verdict: 'TX', counter: 'tx_bfd', want: answer(S1, S1.frames[0]!) },
      { desc: 'v4 unauthenticated again: same frame', input: () => routerUp(S1), verdict: 'TX', counter: 'tx_bfd', want: answer(S1, S1.frames[0]!) },
      { desc: 'v4 meticulous SHA-1: seq 101', input: () => routerUp(S2, 500), verdict: 'TX', counter: 'tx_bfd', want: answer(S2, S2.frames[1]!) },
      { desc: 'v4 meticulous SHA-1: seq 102', input: () => routerUp(S2, 501), verdict: 'TX', counter: 'tx_bfd', want: answer(S2, S2.frames[2]!) },
      { desc: 'v4 meticulous SHA-1: window used up', input: () => routerUp(S2, 502), verdict: 'PASS', counter: 'pass_bfd_spent', want: 'same' },
      { desc: 'v6 keyed SHA-1: the one frame, again and again', input: () => routerUp(S6), verdict: 'TX', counter: 'tx_bfd', want: answer(S6, S6.frames[0]!) },
      { desc: 'v6 keyed SHA-1 again', input: () => routerUp(S6), verdict: 'TX', counter: 'tx_bfd', want: answer(S6, S6.frames[0]!) },
      { desc: 'multihop 4784, TTL 250', input: () => routerUp(SM, 1, { ttl: 250 }), verdict: 'TX', counter: 'tx_bfd', want: answer(SM, SM.frames[0]!) },
      // a frame longer than the answer (Ethernet padding after the IP packet): cut to fit
      { desc: 'v4 with 10 bytes of padding', input: () => Buffer.concat([routerUp(S1), Buffer.alloc(10)]), verdict: 'TX', counter: 'tx_bfd', want: answer(S1, S1.frames[0]!) },
    ]);
  });

  test('lease out, not an offloaded Up packet: not answered', () => {
    const good = encodeSigned(theirs(S1.remoteDiscr, S1.localDiscr), undefined, 0);
    const patched = (at: number, v: number, b = Buffer.from(good)) => (b.writeUInt8(v, at), b);
    const rows: Row[] = [
      { desc: 'unknown session (your discriminator)', input: () => fromRouter(R1, NODE4, encodeSigned(theirs(S1.remoteDiscr, 0x7777), undefined, 0)), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'wrong router discriminator', input: () => fromRouter(R1, NODE4, encodeSigned(theirs(0x9999, S1.localDiscr), undefined, 0)), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'from another address', input: () => fromRouter('10.0.0.99', NODE4, good), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'to another of our addresses', input: () => fromRouter(R1, '10.0.0.11', good), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'single hop with TTL 254', input: () => fromRouter(R1, NODE4, good, { ttl: 254 }), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'single-hop session on the multihop port', input: () => fromRouter(R1, NODE4, good, { dport: 4784 }), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'router Down', input: () => fromRouter(R1, NODE4, encodeSigned(theirs(S1.remoteDiscr, S1.localDiscr, { state: BfdState.Down }), undefined, 0)), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'router Init', input: () => fromRouter(R1, NODE4, encodeSigned(theirs(S1.remoteDiscr, S1.localDiscr, { state: BfdState.Init }), undefined, 0)), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'version 0', input: () => fromRouter(R1, NODE4, patched(0, 0x00)), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'length 20 (< 24)', input: () => fromRouter(R1, NODE4, patched(3, 20)), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'length beyond the UDP payload', input: () => fromRouter(R1, NODE4, patched(3, 60)), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'detect mult 0', input: () => fromRouter(R1, NODE4, patched(2, 0)), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'multipoint bit', input: () => fromRouter(R1, NODE4, patched(1, good[1]! | 0x01)), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'truncated (20 bytes of BFD)', input: () => fromRouter(R1, NODE4, good.subarray(0, 20)), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'authenticated packet on an unauthenticated session', input: () => fromRouter(R1, NODE4, encodeSigned(theirs(S1.remoteDiscr, S1.localDiscr), KEYED, 1)), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'unauthenticated packet on an authenticated session', input: () => fromRouter(R6, NODE6, encodeSigned(theirs(S6.remoteDiscr, S6.localDiscr), undefined, 0)), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'another auth type (keyed MD5) on a SHA-1 session', input: () => fromRouter(R6, NODE6, encodeSigned(theirs(S6.remoteDiscr, S6.localDiscr), { ...KEYED, type: BfdAuthType.KeyedMd5 }, 1)), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
      { desc: 'IPv4 fragment', input: () => fromRouter(R1, NODE4, good, { frag: { more: true, offset: 0 } }), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' },
    ];
    runRows(rows);
  });

  test('past the offload max time: not answered', () => {
    const short = new XdpBfdOffload({ native: addon(), fds: fds(), maxCoverMs: 0 });
    short.renewLease(performance.now() - 1, {});
    runRows([{ desc: 'v4 past max', input: () => routerUp(S1), verdict: 'PASS', counter: 'pass_bfd_spent', want: 'same' }]);
    live();
  });

  test('read() gives the next daemon what went on the wire; resumeOf continues after it', () => {
    dead({ [S2.key]: 100 });
    assert.equal(run(routerUp(S2, 600)).verdict, 'TX');
    // a new daemon: a fresh port on the pinned maps
    const next = new XdpBfdOffload({ native: addon(), fds: fds() });
    const got = next.read();
    const byKey = new Map(got.sessions.map((s) => [s.key, s]));
    assert.equal(got.sessions.length, SESSIONS.length);
    for (const s of SESSIONS) assert.deepEqual(byKey.get(s.key), s, s.key);
    const p2 = got.progress.find((p) => p.key === S2.key)!;
    assert.deepEqual(p2, { key: S2.key, sent: 1, lastSeq: 101 });
    assert.equal(resumeOf(byKey.get(S2.key)!, p2).xmitAuthSeq, 101);
    assert.equal(resumeOf(byKey.get(S1.key)!, got.progress.find((p) => p.key === S1.key)).localDiscr, 0x1001);
    // the new daemon renews with its own packet 102: XDP is silent, and after 102 would come 103 (none left)
    next.publish(got.sessions);
    next.renewLease(performance.now() + 60_000, { [S2.key]: 102 });
    assert.equal(run(routerUp(S2, 601)).verdict, 'PASS');
    assert.deepEqual(next.read().progress.find((p) => p.key === S2.key), { key: S2.key, sent: 0, lastSeq: 102 });
  });

  test('publish replaces the table: a session no longer listed is no longer answered', () => {
    offload.publish([S1]);
    dead();
    assert.equal(run(routerUp(S1)).verdict, 'TX');
    runRows([{ desc: 'removed session', input: () => routerUp(S6), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' }]);
    offload.clear();
    runRows([{ desc: 'cleared', input: () => routerUp(S1), verdict: 'PASS', counter: 'pass_not_vip', want: 'same' }]);
  });

  test('the port refuses what the table cannot hold, without writing anything', () => {
    offload.publish(SESSIONS);
    assert.throws(() => offload.publish([S1, { ...S2, localDiscr: S1.localDiscr }]), /one discriminator/);
    assert.throws(() => offload.publish([{ ...S2, frames: [] }]), /0 frames/);
    assert.throws(() => offload.publish([{ ...S1, frames: [Buffer.alloc(70)] }]), /24\.\.64 bytes/);
    assert.throws(() => offload.publish([{ ...S1, key: 'k'.repeat(80) }]), /key/);
    assert.throws(() => offload.publish([{ ...S1, local: 'nope' }]), /not an IP address/);
    assert.throws(() => offload.publish([{ ...S1, peer: R6 }]), /one family/);
    assert.equal(offload.read().sessions.length, SESSIONS.length);
  });
});
