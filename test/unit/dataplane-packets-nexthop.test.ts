// XDP data path through BPF_PROG_TEST_RUN, the next-hop map (edgelb_be_nh): kept from netlink
// neighbour and link events of the uplink, a hit sends a new flow without bpf_fib_lookup, a miss
// (no neighbour, an entry of an older slot generation, the uplink down) falls back to the FIB
// exactly as before, and a MAC change reaches the very next new flow and the next packet of an
// established one. Every wait is for the map itself, never a sleep. Shared setup in
// dataplane/packets.ts. Needs root.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { frame, parse, TCP_ACK, TCP_SYN } from './dataplane/pkt.js';
import { addon, B2, B3, dp, NS, run, useXdpPacketDataplane } from './dataplane/packets.js';
import { BACKEND_MAC, NODE_MAC, ROUTER_MAC } from './dataplane/netns.js';
import { u32Key } from '../../src/dataplane/native.js';

const ip = (...a: string[]) => execFileSync('ip', ['-n', NS, ...a], { stdio: ['ignore', 'ignore', 'pipe'] });

/** Resolves when cond() holds (checked every few ms while events are handled); fails after 10 s. */
async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The backend slot of address:port (from edgelb_be). */
function slotOf(address: string, port: number): { index: number; gen: number } {
  const n = addon();
  for (let i = 0; i < 64; i++) {
    const v = n.mapLookup(dp.mapFd('backends'), u32Key(i));
    const b = v ? (n.xdpDecode('backend', v) as { address?: string; port?: number; gen: number }) : undefined;
    if (b?.address === address && b.port === port) return { index: i, gen: b.gen };
  }
  throw new Error(`no slot for ${address}:${port}`);
}

/** The next-hop map entry of a slot, as the addon decodes it. */
function entry(index: number): { gen: number; smac?: string; dmac?: string; ifindex?: number } {
  const v = addon().mapLookup(dp.mapFd('backendNextHop'), u32Key(index));
  return addon().xdpDecode('nh', v!) as { gen: number; smac?: string; dmac?: string; ifindex?: number };
}

let sport = 20000;
/** A new dnat flow to 192.168.80.1:80 (backend B2:8080). */
const synB2 = () => run(frame({ src: '10.9.0.1', dst: '192.168.80.1', proto: 'tcp', sport: sport++, dport: 80, tcpFlags: TCP_SYN }));

describe('XDP next-hop map (netlink-kept, BPF_PROG_TEST_RUN)', () => {
  useXdpPacketDataplane();

  test('after the dump, every backend with a neighbour entry has its MAC in the map; a new flow uses it (no FIB lookup)', async () => {
    await until('the neighbour dump', () => dp.nextHops?.synced === true);
    const b2 = slotOf(B2, 8080);
    await until('the entry of B2', () => entry(b2.index).dmac === BACKEND_MAC[B2]);
    assert.deepEqual(entry(b2.index), { gen: b2.gen, smac: NODE_MAC, dmac: BACKEND_MAC[B2], ifindex: addon().ifNameToIndex('xdpt0') });
    const before = dp.counters();
    const out = synB2();
    assert.equal(out.verdict, 'TX');
    assert.equal(parse(out.out).dstMac, BACKEND_MAC[B2]);
    assert.equal(parse(out.out).srcMac, NODE_MAC);
    const c = dp.counters();
    assert.equal(c.nh_cached! - before.nh_cached!, 1, 'hit');
    assert.equal(c.nh_miss! - before.nh_miss!, 0);
    // the IPv6 backend too
    const v6 = slotOf('2001:db8::2', 8080);
    await until('the entry of B2 (IPv6)', () => entry(v6.index).dmac === BACKEND_MAC['2001:db8::2']);
  });

  test('a backend without a neighbour entry is a miss: bpf_fib_lookup and the kernel, as before', async () => {
    await until('the neighbour dump', () => dp.nextHops?.synced === true);
    const s = slotOf('10.0.0.4', 80);
    assert.equal(entry(s.index).dmac, undefined);
    const before = dp.counters();
    const r = run(frame({ src: '10.9.0.2', dst: '192.168.80.6', proto: 'tcp', sport: 31000, dport: 80, tcpFlags: TCP_SYN }));
    assert.equal(r.verdict, 'PASS');
    const c = dp.counters();
    assert.equal(c.nh_miss! - before.nh_miss!, 1);
    assert.equal(c.pass_no_neigh! - before.pass_no_neigh!, 1, 'the kernel resolves it');
  });

  test('an entry written for another generation of the slot is ignored (miss), the FIB answers', async () => {
    await until('the neighbour dump', () => dp.nextHops?.synced === true);
    const b2 = slotOf(B2, 8080);
    const n = addon();
    n.mapUpdate(dp.mapFd('backendNextHop'), u32Key(b2.index), n.xdpEncode('nh', { smac: NODE_MAC, dmac: '02:00:00:00:00:66', ifindex: n.ifNameToIndex('xdpt0'), gen: b2.gen + 1 }));
    try {
      const before = dp.counters();
      const out = synB2();
      assert.equal(parse(out.out).dstMac, BACKEND_MAC[B2], 'from the FIB, not the stale entry');
      assert.equal(dp.counters().nh_miss! - before.nh_miss!, 1);
    } finally {
      n.mapUpdate(dp.mapFd('backendNextHop'), u32Key(b2.index), n.xdpEncode('nh', { smac: NODE_MAC, dmac: BACKEND_MAC[B2]!, ifindex: n.ifNameToIndex('xdpt0'), gen: b2.gen }));
    }
  });

  test("a backend's MAC change reaches the very next new flow and the next packet of an established flow", async () => {
    await until('the neighbour dump', () => dp.nextHops?.synced === true);
    const b2 = slotOf(B2, 8080);
    await until('the entry of B2', () => entry(b2.index).dmac === BACKEND_MAC[B2]);
    const est = { src: '10.9.1.1', dst: '192.168.80.1', proto: 'tcp' as const, sport: 42000, dport: 80 };
    assert.equal(parse(run(frame({ ...est, tcpFlags: TCP_SYN })).out).dstMac, BACKEND_MAC[B2]);
    const moved = '02:00:00:00:00:22';
    ip('neigh', 'replace', B2, 'lladdr', moved, 'dev', 'xdpt0', 'nud', 'permanent');
    try {
      await until('the map to hold the new MAC', () => entry(b2.index).dmac === moved);
      const before = dp.counters();
      assert.equal(parse(synB2().out).dstMac, moved, 'the next new flow');
      assert.equal(dp.counters().nh_cached! - before.nh_cached!, 1);
      assert.equal(parse(run(frame({ ...est, tcpFlags: TCP_ACK })).out).dstMac, moved, 'the established flow');
    } finally {
      ip('neigh', 'replace', B2, 'lladdr', BACKEND_MAC[B2]!, 'dev', 'xdpt0', 'nud', 'permanent');
    }
    await until('the map to hold the MAC back', () => entry(b2.index).dmac === BACKEND_MAC[B2]);
  });

  test('a deleted neighbour empties its entry (miss); re-added, it is back', async () => {
    await until('the neighbour dump', () => dp.nextHops?.synced === true);
    const b3 = slotOf(B3, 8080);
    await until('the entry of B3', () => entry(b3.index).dmac === BACKEND_MAC[B3]);
    ip('neigh', 'del', B3, 'dev', 'xdpt0');
    try {
      await until('the entry of B3 to empty', () => entry(b3.index).dmac === undefined);
      const before = dp.counters();
      const r = run(frame({ src: '10.9.2.1', dst: '192.168.80.2', proto: 'tcp', sport: 43000, dport: 80, tcpFlags: TCP_SYN }));
      assert.equal(r.verdict, 'PASS', 'no neighbour: the kernel resolves it');
      assert.equal(dp.counters().nh_miss! - before.nh_miss!, 1);
    } finally {
      ip('neigh', 'replace', B3, 'lladdr', BACKEND_MAC[B3]!, 'dev', 'xdpt0', 'nud', 'permanent');
    }
    await until('the entry of B3 back', () => entry(b3.index).dmac === BACKEND_MAC[B3]);
  });

  test('the uplink going down empties the map; up again, the entries come back (with its new MAC)', async () => {
    await until('the neighbour dump', () => dp.nextHops?.synced === true);
    const b2 = slotOf(B2, 8080);
    await until('the entry of B2', () => entry(b2.index).dmac === BACKEND_MAC[B2]);
    ip('link', 'set', 'xdpt0', 'down');
    try {
      await until('the entry of B2 to empty', () => entry(b2.index).dmac === undefined);
    } finally {
      ip('link', 'set', 'xdpt0', 'up');
      // the kernel flushed neighbours, routes and the IPv6 address with the link: put them back
      ip('-6', 'addr', 'replace', '2001:db8::10/64', 'dev', 'xdpt0', 'nodad');
      ip('route', 'replace', 'default', 'via', '10.0.0.1');
      ip('-6', 'route', 'replace', 'default', 'via', '2001:db8::1');
      for (const [a, mac] of [...Object.entries(BACKEND_MAC), ['10.0.0.1', ROUTER_MAC], ['2001:db8::1', ROUTER_MAC]]) ip('neigh', 'replace', a!, 'lladdr', mac!, 'dev', 'xdpt0', 'nud', 'permanent');
    }
    await until('the entry of B2 back', () => entry(b2.index).dmac === BACKEND_MAC[B2] && entry(b2.index).smac === NODE_MAC);
  });
});
