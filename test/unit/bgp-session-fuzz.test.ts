// Session-level fuzzer (issue 11): live Sessions of one BgpSpeaker over real loopback sockets get
// random sequences of messages (valid, malformed, out of order, split) and connection events (a
// connection in, a second one, reset, half-close, slow reader) from scripted raw peers, in every
// FSM state, while the speaker changes its advertisements and peers. Invariants: no uncaught
// exception, at most one connection per peer past OpenConfirm, the session's connections agree with
// its state, and descriptors, timers and handles come back to where they were.
//   EDGELB_FUZZ_SEED=<n>   replay a run (the same choices; I/O timing still varies)
//   EDGELB_FUZZ_STEPS=<n>  steps in all (default 100000)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { setImmediate as tick } from 'node:timers/promises';
import { BgpState } from '../../src/bgp/fsm.js';
import { sleep } from '../../src/lib/backoff.js';
import type { BgpSpeaker } from '../../src/bgp/speaker.js';
import { encodeMessage, DEFAULT_CONTEXT, type BgpMessage } from '../../src/bgp/wire/index.js';
import { RawConn, freePort, newSpeaker, openMsg, peerSpec, rawListener } from './fixtures/bgp/loopback.js';

const SEED = Number(process.env.EDGELB_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const STEPS = Number(process.env.EDGELB_FUZZ_STEPS ?? 100_000);
const BATCH = 25_000;
const PEERS = 6;
const LOCAL_ID = '10.0.0.50';

/** mulberry32: a small seeded PRNG, so a seed replays the same choices. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const fds = () => readdirSync('/proc/self/fd').length;
const fdKinds = () => {
  const kinds: Record<string, number> = {};
  for (const f of readdirSync('/proc/self/fd')) {
    let k = '?';
    try {
      k = readlinkSync(`/proc/self/fd/${f}`).replace(/\[\d+\]/, '');
    } catch {
      // closed meanwhile
    }
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  return JSON.stringify(kinds);
};
const handles = () => {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
};

interface FuzzPeer {
  address: string;
  asn: number;
  id: string;
  cooperative: boolean;
  conns: RawConn[];
}

interface SessionInternals {
  state: BgpState;
  conn: { closed: boolean; connected: boolean } | null;
  spare: { closed: boolean; open?: unknown } | null;
}
const sessionsOf = (s: BgpSpeaker) => [...(s as unknown as { peers: Map<string, { session: SessionInternals }> }).peers.entries()];

async function batch(rnd: () => number, steps: number, stats: Record<string, number>): Promise<void> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const lport = await freePort('127.0.0.1');
  const peers: FuzzPeer[] = [];
  const listeners: Array<Awaited<ReturnType<typeof rawListener>>> = [];
  const s = newSpeaker({ asn: 65000, routerId: LOCAL_ID, listenPort: lport, listenAddress: '127.0.0.1' });
  const specs = [];
  for (let i = 0; i < PEERS; i++) {
    const p: FuzzPeer = { address: `127.0.0.${20 + i}`, asn: 65100 + i, id: i % 2 ? '10.0.0.90' : '10.0.0.10', cooperative: i >= PEERS / 2, conns: [] };
    const l = await rawListener(p.address, (c) => p.conns.push(c));
    listeners.push(l);
    peers.push(p);
    specs.push(peerSpec(p.address, p.asn, { port: l.port, localAddress: '127.0.0.1', holdTime: 3, connectRetry: 1, idleHold: 0, passive: i === 0, maxPrefixes: 20 }));
  }
  s.setPeers(specs, []);
  await s.start();
  const prefixes = Array.from({ length: 64 }, (_, i) => `10.77.${i}.0/24`);
  // half the peers mostly play by the rules (so sessions reach Established and meet chaos there)
  const opened = new WeakSet<RawConn>();
  const message = (p: FuzzPeer, c: RawConn): BgpMessage | Buffer => {
    if (p.cooperative && rnd() < 0.9) {
      if (!opened.has(c)) {
        opened.add(c);
        return openMsg({ asn: p.asn, bgpId: p.id, holdTime: 9 });
      }
      if (rnd() < 0.7) return { type: 'keepalive' };
      const nlri = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(prefixes));
      return { type: 'update', withdrawn: [], attributes: { origin: 'igp', asPath: [{ type: 'sequence', asns: [p.asn] }], nextHop: p.address }, nlri };
    }
    const r = rnd();
    if (r < 0.2) return openMsg({ asn: p.asn, bgpId: rnd() < 0.8 ? p.id : pick(['10.0.0.1', '10.0.0.99', LOCAL_ID]), holdTime: pick([0, 3, 9, 90]) });
    if (r < 0.23) return openMsg({ asn: p.asn + 1, bgpId: p.id }); // wrong AS
    if (r < 0.25) return openMsg({ asn: p.asn, bgpId: p.id, holdTime: 2 }); // unacceptable hold time
    if (r < 0.5) return { type: 'keepalive' };
    if (r < 0.7) {
      const nlri = Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => pick(prefixes));
      const withdrawn = rnd() < 0.3 ? Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(prefixes)) : [];
      return { type: 'update', withdrawn, attributes: { origin: 'igp', asPath: [{ type: 'sequence', asns: [p.asn] }], nextHop: p.address }, nlri };
    }
    if (r < 0.78) {
      // a valid header over a random body of a random known type
      const len = 19 + Math.floor(rnd() * 60);
      const b = Buffer.alloc(len);
      b.fill(0xff, 0, 16);
      b.writeUInt16BE(len, 16);
      b[18] = 1 + Math.floor(rnd() * 5);
      for (let i = 19; i < len; i++) b[i] = Math.floor(rnd() * 256);
      return b;
    }
    if (r < 0.82) return Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256))); // garbage
    if (r < 0.86) return { type: 'notification', code: 1 + Math.floor(rnd() * 6), subcode: Math.floor(rnd() * 4), data: Buffer.alloc(0) };
    if (r < 0.9) return { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 };
    return { type: 'update', withdrawn: [], attributes: {}, nlri: [] }; // End-of-RIB
  };
  const live = (p: FuzzPeer) => p.conns.filter((c) => !c.closed && !c.socket.destroyed);
  const connecting = new Set<Promise<void>>();
  let ended = false;
  const paused = new Set<RawConn>();
  const check = async () => {
    for (const c of paused) c.socket.resume();
    paused.clear();
    await sleep(150);
    for (const [addr, { session: se }] of sessionsOf(s)) {
      if (se.state === BgpState.Idle) assert.equal(se.spare, null, `${addr}: no candidate in Idle (seed ${SEED})`);
      if (se.state === BgpState.OpenConfirm || se.state === BgpState.Established) {
        assert.ok(se.conn && !se.conn.closed && se.conn.connected, `${addr}: ${se.state} has its connection (seed ${SEED})`);
      }
      if (se.state === BgpState.Established) stats.established = (stats.established ?? 0) + 1;
    }
    for (const p of peers) {
      // our KEEPALIVE goes only on the session's connection: past OpenSent, one live connection at most
      const confirmed = live(p).filter((c) => c.got.some((m) => m.type === 'keepalive'));
      if (confirmed.length > 1) {
        const se = sessionsOf(s).find(([a]) => a === p.address)?.[1].session;
        const desc = confirmed.map((c) => `${c.socket.localPort}->${c.socket.remotePort} got ${c.got.slice(-6).map((m) => m.type).join(',')} paused=${c.socket.isPaused()}`);
        assert.fail(`${p.address}: ${confirmed.length} live connections past OpenSent, session ${se?.state} (seed ${SEED}): ${desc.join(' | ')}`);
      }
      // forget closed connections so memory stays flat
      p.conns = live(p);
      for (const c of p.conns) if (c.got.length > 64) c.got.splice(0, c.got.length - 64);
    }
  };
  try {
    for (let i = 0; i < steps; i++) {
      const p = pick(peers);
      const r = rnd();
      const conns = live(p);
      if (r < 0.04 || conns.length === 0) {
        stats.connectIn = (stats.connectIn ?? 0) + 1;
        const pending = RawConn.connect(lport, '127.0.0.1', p.address).then(
          (c) => {
            if (ended) c.socket.destroy();
            else p.conns.push(c);
          },
          () => undefined,
        );
        connecting.add(pending);
        void pending.finally(() => connecting.delete(pending));
      } else if (r < 0.055) {
        stats.reset = (stats.reset ?? 0) + 1;
        pick(conns).reset();
      } else if (r < 0.065) {
        stats.halfClose = (stats.halfClose ?? 0) + 1;
        pick(conns).socket.end();
      } else if (r < 0.075) {
        stats.slowReader = (stats.slowReader ?? 0) + 1;
        const c = pick(conns);
        c.socket.pause();
        paused.add(c);
      } else if (r < 0.085) {
        stats.ads = (stats.ads ?? 0) + 1;
        s.setAdvertisements(Array.from({ length: Math.floor(rnd() * 300) }, (_, k) => ({ prefix: `192.168.${k >> 8}.${k & 255}/32`, med: Math.floor(rnd() * 10) })));
      } else if (r < 0.0865) {
        stats.setPeers = (stats.setPeers ?? 0) + 1;
        const k = Math.floor(rnd() * PEERS);
        specs[k] = { ...specs[k]!, holdTime: pick([3, 4, 5]) };
        s.setPeers(specs, []);
      } else {
        const c = pick(conns);
        const m = message(p, c);
        const b = Buffer.isBuffer(m) ? m : encodeMessage(m, { ...DEFAULT_CONTEXT, as4: true });
        if (rnd() < 0.1 && b.length > 1) {
          // split at a random offset (the framer)
          const at = 1 + Math.floor(rnd() * (b.length - 1));
          c.sendRaw(b.subarray(0, at));
          c.sendRaw(b.subarray(at));
        } else c.sendRaw(b);
        stats.messages = (stats.messages ?? 0) + 1;
      }
      if (i % 40 === 39) await tick();
      if (i % 1000 === 999) await sleep(2);
      if (i % 5000 === 4999) await check();
    }
    await check();
  } finally {
    ended = true;
    await Promise.all([...connecting]);
    for (const p of peers) for (const c of p.conns) c.socket.destroy();
    for (const l of listeners) await l.close();
    await s.stop('shutdown');
  }
}

test(`session fuzzer: ${STEPS} random steps against live sessions over loopback, no crash, one session per peer, nothing leaks`, async () => {
  console.log(`# bgp session fuzzer: EDGELB_FUZZ_SEED=${SEED} EDGELB_FUZZ_STEPS=${STEPS}`);
  const uncaught: unknown[] = [];
  const onErr = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onErr);
  process.on('unhandledRejection', onErr);
  const rnd = prng(SEED);
  const stats: Record<string, number> = {};
  await sleep(100);
  const fd0 = fds();
  const h0 = handles();
  const t0 = Date.now();
  try {
    for (let done = 0; done < STEPS; done += BATCH) {
      await batch(rnd, Math.min(BATCH, STEPS - done), stats);
      assert.deepEqual(uncaught.map(String), [], `uncaught exceptions (seed ${SEED})`);
    }
  } finally {
    process.off('uncaughtException', onErr);
    process.off('unhandledRejection', onErr);
  }
  const secs = (Date.now() - t0) / 1000;
  console.log(`# bgp session fuzzer: ${STEPS} steps in ${secs.toFixed(1)} s, ${JSON.stringify(stats)}`);
  // everything the batches opened is closed again (Conn.close destroys after at most 1 s)
  await sleep(1500);
  const fd1 = fds();
  const h1 = handles();
  if (process.env.EDGELB_FUZZ_DEBUG) {
    for (const h of (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()) {
      const so = h as { constructor: { name: string }; localPort?: number; remotePort?: number; remoteAddress?: string; localAddress?: string; destroyed?: boolean; pending?: boolean; connecting?: boolean; readyState?: string };
      console.log('# handle', so.constructor.name, so.localAddress, so.localPort, so.remoteAddress, so.remotePort, so.destroyed, so.connecting, so.readyState);
    }
  }
  assert.ok(fd1 <= fd0 + 2, `descriptors ${fd0} -> ${fd1} (seed ${SEED}): ${fdKinds()}`);
  for (const k of ['TCPSocketWrap', 'TCPServerWrap', 'Timeout']) assert.ok((h1[k] ?? 0) <= (h0[k] ?? 0) + 1, `${k} ${h0[k] ?? 0} -> ${h1[k] ?? 0} (seed ${SEED})`);
  assert.ok(stats.established! > 0, 'some sessions were Established at checkpoints');
});
