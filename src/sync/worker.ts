// Connection-sync worker thread: its own UDP socket and its own event loop, so neither the main
// loop nor the heartbeat thread waits for it. It watches the ring buffer the data path reports
// flows into (established or closing, never embryonic) and drains it as soon as it is readable;
// the flows are queued (bounded: the excess is dropped and counted) and shipped to every peer in
// authenticated batches (codec.ts) by the coalescing rule of send-queue.ts: a full batch at once,
// a partial one within windowMs of its first entry, at most packetsPerTick packets per tick. It
// applies the peers' batches to the local conntrack through the addon as they arrive.
// A peer seen with a new boot (a first contact, a restart) gets a bulk resync of every flow this
// node carries; every refreshMs the flows with newer packets are re-sent, so a peer's copy ages
// like the original. Runs at nice +5: the heartbeat thread (real-time) and the main loop come first.
import { createSocket, type RemoteInfo } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { canonicalIp, familyOf, unmapIpv4 } from '../lib/addr.js';
import { loadNative } from '../native/index.js';
import { decodeSync, encodeSync, recordsPerPacket, ReplayGuard, SYNC_RECORD_LEN, type SyncDrop, type SyncKindName } from './codec.js';
import { ringOf, type KeyRing, type MacKeys } from '../lib/cluster-keys.js';
import { syncNativeOf, type ApplyResult, type CtSyncHandle } from './native.js';
import { SendQueue } from './send-queue.js';

export interface SyncWorkerConfig {
  self: string;
  listenHost: string;
  listenPort: number;
  /** Other members' sync sockets; key = canonical "host:port" (IPv6 in brackets). */
  peers: Array<{ host: string; port: number; key: string }>;
  /** The cluster key ring (sign with the primary, accept any), or one key. */
  key: MacKeys;
  pinDir: string;
  /** ct_sync.bpf.o (the flow-clock program). */
  clockObject: string;
  tickMs: number;
  /** Longest wait (ms) of a partial batch of flows before it leaves (default 1). */
  windowMs?: number;
  queueLimit: number;
  /** Packets per peer per tick, at most (the rest waits in the queue). */
  packetsPerTick: number;
  refreshMs: number;
  helloMs: number;
}

export type SyncWorkerDrop = SyncDrop | 'queue-full' | 'ring-full' | 'send-error' | 'no-peer-boot';

export interface SyncWorkerStats {
  sent: number;
  received: number;
  packetsSent: number;
  packetsReceived: number;
  bulkSent: number;
  applied: ApplyResult;
  dropped: Partial<Record<SyncWorkerDrop, number>>;
  /** Records waiting to be sent. */
  queued: number;
  /** Age (ms) of the flow's last packet when its record was applied here: max and last batch's max. */
  lagMaxMs: number;
  lagLastMs: number;
  /** Peers whose boot this node knows (they can receive flows). */
  peersKnown: number;
  /** Datagrams accepted that were signed with a key other than the primary (a rotation in progress). */
  nonPrimary: number;
}

export type FromSyncWorker = { type: 'ready'; port: number; scheduling: string } | { type: 'error'; message: string } | { type: 'stats'; stats: SyncWorkerStats };
export type ToSyncWorker = { type: 'stop' } | { type: 'peers'; peers: SyncWorkerConfig['peers'] } | { type: 'keys'; keys: KeyRing };

interface Peer {
  host: string;
  port: number;
  key: string;
  guard: ReplayGuard;
  /** The key form (index in ring.accept) its last authentic datagram used: tried first. */
  form: number;
  /** Records to send it in a bulk resync, waiting for room. */
  bulk: Buffer[];
}

const cfg = workerData as SyncWorkerConfig;
const port = parentPort!;
const boot = randomBytes(8).readBigUInt64BE(0) || 1n;
let seq = 0n;
const perPacket = recordsPerPacket(cfg.self);
const emptyApply = (): ApplyResult => ({ applied: 0, invalid: 0, noService: 0, noBackend: 0, stale: 0, conflict: 0, failed: 0 });
const stats: SyncWorkerStats = { sent: 0, received: 0, packetsSent: 0, packetsReceived: 0, bulkSent: 0, applied: emptyApply(), dropped: {}, queued: 0, lagMaxMs: 0, lagLastMs: 0, peersKnown: 0, nonPrimary: 0 };
let ring: KeyRing = ringOf(cfg.key);

function niceThread(): string {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (tid > 0) {
      setPriority(tid, 5);
      return 'nice 5';
    }
  } catch {
    /* keep the default */
  }
  return 'normal';
}
const scheduling = niceThread();

function drop(reason: SyncWorkerDrop, n = 1): void {
  stats.dropped[reason] = (stats.dropped[reason] ?? 0) + n;
}

const peers = new Map<string, Peer>(cfg.peers.map((p) => [p.key, { ...p, guard: new ReplayGuard(boot), form: 0, bulk: [] }]));
const byRaw = new Map<string, Peer>();

/** A new peer set: the peers that stay keep their state (boot, replay window, pending bulk). */
function setPeers(list: SyncWorkerConfig['peers']): void {
  const keep = new Set(list.map((p) => p.key));
  for (const k of [...peers.keys()]) if (!keep.has(k)) peers.delete(k);
  for (const p of list) {
    if (peers.has(p.key)) continue;
    const np: Peer = { ...p, guard: new ReplayGuard(boot), form: 0, bulk: [] };
    peers.set(p.key, np);
    hello(np);
  }
  byRaw.clear();
}
function peerOf(r: RemoteInfo): Peer | undefined {
  const raw = `${r.address}|${r.port}`;
  const hit = byRaw.get(raw);
  if (hit) return hit;
  const a = r.address.replace(/%.*$/, '');
  const c = familyOf(a) ? canonicalIp(unmapIpv4(a)) : '';
  const p = c ? peers.get(familyOf(c) === 6 ? `[${c}]:${r.port}` : `${c}:${r.port}`) : undefined;
  if (p && byRaw.size < 4 * peers.size + 4) byRaw.set(raw, p);
  return p;
}

let ct: CtSyncHandle;
try {
  const native = loadNative();
  const loaded = native.xdpLoad(cfg.clockObject, { program: 'edgelb_now' });
  for (const m of Object.values(loaded.maps)) native.closeFd(m.fd);
  ct = new (syncNativeOf(native).CtSync)({ pinDir: cfg.pinDir, clockProgFd: loaded.progFd });
  native.closeFd(loaded.progFd);
} catch (e) {
  port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromSyncWorker);
  throw e;
}

const sock = createSocket({ type: familyOf(cfg.listenHost) === 6 ? 'udp6' : 'udp4', reuseAddr: false });

function send(p: Peer, kind: SyncKindName, records: Buffer): void {
  seq++;
  const pkt = encodeSync({ kind, boot, seq, echoBoot: p.guard.boot, name: cfg.self, records }, ring);
  const n = records.length / SYNC_RECORD_LEN;
  sock.send(pkt, p.port, p.host, (err) => {
    if (err) return drop('send-error', Math.max(1, n));
    stats.packetsSent++;
    stats.sent += n;
    if (kind === 'bulk') stats.bulkSent += n;
  });
}

function hello(p: Peer): void {
  send(p, 'hello', Buffer.alloc(0));
}

function knownPeers(): Peer[] {
  const known = [...peers.values()].filter((p) => p.guard.boot !== 0n);
  stats.peersKnown = known.length;
  return known;
}

/** Records waiting for every known peer (deltas), oldest first. */
const deltas = new SendQueue({
  recordLen: SYNC_RECORD_LEN,
  perPacket,
  limit: cfg.queueLimit,
  windowMs: cfg.windowMs ?? 1,
  packetsPerTick: cfg.packetsPerTick,
  now: () => performance.now(),
  schedule: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  ship: (b) => {
    for (const p of knownPeers()) send(p, 'delta', b);
  },
  onDrop: (n) => drop('queue-full', n),
});

function enqueue(records: Buffer): void {
  if (records.length === 0) return;
  if (knownPeers().length === 0) {
    // nobody to tell yet: they get every flow in the bulk resync when they appear
    drop('no-peer-boot', records.length / SYNC_RECORD_LEN + deltas.clear());
    return;
  }
  deltas.add(records);
  stats.queued = deltas.queued;
}

/**
 * How the ring is read: watched (a wake-up when it becomes readable) under light load; polled
 * every window under load, so a flood does not cost a wake-up per flow (the thread then falls
 * behind and the ring overflows); watched again from the next tick with packets to spare.
 */
let watching = false;
let watchBroken = false;
let pollTimer: NodeJS.Timeout | undefined;
function readRing(watch: boolean): void {
  if (watchBroken || (watch === watching && (watch || pollTimer))) return;
  try {
    if (watch) {
      if (pollTimer) clearInterval(pollTimer);
      pollTimer = undefined;
      ct.watch(drainRing);
      watching = true;
      return;
    }
    if (watching) ct.unwatch();
    watching = false;
    pollTimer ??= setInterval(drainRing, Math.max(1, cfg.windowMs ?? 1));
  } catch (e) {
    // polled every window from now on: slower, never lost
    watchBroken = true;
    watching = false;
    pollTimer ??= setInterval(drainRing, Math.max(1, cfg.windowMs ?? 1));
    port.postMessage({ type: 'error', message: `ring buffer watch: ${e instanceof Error ? e.message : String(e)}` } satisfies FromSyncWorker);
  }
}

/** Flows the data path reported since the last drain, into the queue (on readable and per tick). */
function drainRing(): void {
  try {
    const d = ct.drain(Math.max(1, cfg.queueLimit - deltas.queued));
    if (d.dropped) drop('ring-full', d.dropped);
    enqueue(d.records);
  } catch (e) {
    port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromSyncWorker);
  }
  if (watching && !deltas.light()) readRing(false);
}

/** Conntrack entries visited per tick by the refresh walk (three map calls each). */
const REFRESH_VISITS_PER_TICK = 2048;
let refreshMark = ct.now(); // flows before the start reach the peers by their bulk resync
let refreshing = false;
let lastRefresh = performance.now();
let lastHello = 0;

function tick(): void {
  drainRing(); // a fallback: the watch drains as soon as flows arrive
  try {
    const now = performance.now();
    if (!refreshing && now - lastRefresh >= cfg.refreshMs) {
      refreshing = true;
      lastRefresh = now;
    }
    if (refreshing) {
      // a slice of the walk per tick: a large table never holds this thread for long
      const w = ct.refreshStep(refreshMark, REFRESH_VISITS_PER_TICK);
      enqueue(w.records);
      if (w.done) {
        refreshMark = w.mark;
        refreshing = false;
      }
    }
    if (now - lastHello >= cfg.helloMs) {
      lastHello = now;
      for (const p of peers.values()) hello(p);
    }
    const known = knownPeers();
    if (known.length === 0) {
      const n = deltas.clear();
      if (n) drop('no-peer-boot', n);
    } else deltas.tick();
    if (deltas.light()) readRing(true);
    for (const p of known) {
      for (let i = 0; i < cfg.packetsPerTick && p.bulk.length > 0; i++) send(p, 'bulk', p.bulk.shift()!);
    }
    stats.queued = deltas.queued;
  } catch (e) {
    port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromSyncWorker);
  }
}

function startBulk(p: Peer): void {
  const w = ct.walk(0n, 4 * cfg.queueLimit);
  const step = perPacket * SYNC_RECORD_LEN;
  p.bulk = [];
  for (let off = 0; off < w.records.length; off += step) p.bulk.push(w.records.subarray(off, off + step));
}

function addApplied(r: ApplyResult): void {
  for (const k of Object.keys(r) as Array<keyof ApplyResult>) stats.applied[k] += r[k];
}

sock.on('message', (msg, rinfo) => {
  const p = peerOf(rinfo);
  if (!p) return drop('unknown-sender');
  const d = decodeSync(msg, ring, p.form);
  if (!d.ok) return drop(d.reason);
  p.form = d.form;
  const g = p.guard.check(d.packet);
  if (!g.ok) return drop(g.reason);
  stats.packetsReceived++;
  if (d.key !== 0) stats.nonPrimary++;
  if (g.newBoot) {
    // a first contact or a restart: let it know our boot at once, then give it every flow
    knownPeers(); // the count in the stats, now
    hello(p);
    try {
      startBulk(p);
    } catch (e) {
      port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromSyncWorker);
    }
  }
  const n = d.packet.records.length / SYNC_RECORD_LEN;
  if (n === 0) return;
  stats.received += n;
  const records = Buffer.from(d.packet.records.buffer, d.packet.records.byteOffset, d.packet.records.byteLength);
  let lag = 0;
  for (let off = 0; off < records.length; off += SYNC_RECORD_LEN) lag = Math.max(lag, records.readUInt32BE(off + 4));
  try {
    addApplied(ct.apply(records));
  } catch (e) {
    port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromSyncWorker);
    return;
  }
  if (d.packet.kind === 'delta') {
    stats.lagLastMs = lag;
    stats.lagMaxMs = Math.max(stats.lagMaxMs, lag);
  }
});

sock.on('error', (e) => port.postMessage({ type: 'error', message: e.message } satisfies FromSyncWorker));
sock.bind(cfg.listenPort, cfg.listenHost, () => {
  try {
    sock.setRecvBufferSize(4 << 20);
    sock.setSendBufferSize(4 << 20);
  } catch {
    /* the defaults still work */
  }
  const tickTimer = setInterval(tick, cfg.tickMs);
  readRing(true);
  const statsTimer = setInterval(() => port.postMessage({ type: 'stats', stats } satisfies FromSyncWorker), 250);
  port.on('message', (m: ToSyncWorker) => {
    if (m.type === 'peers') return setPeers(m.peers);
    if (m.type === 'keys') {
      // a rotation step: sign with the new primary from now on, accept every listed key
      ring = m.keys;
      for (const p of peers.values()) p.form = 0;
      return;
    }
    if (m.type !== 'stop') return;
    clearInterval(tickTimer);
    clearInterval(statsTimer);
    if (pollTimer) clearInterval(pollTimer);
    ct.unwatch();
    deltas.clear();
    port.postMessage({ type: 'stats', stats } satisfies FromSyncWorker);
    ct.close();
    sock.close(() => port.close());
  });
  for (const p of peers.values()) hello(p);
  port.postMessage({ type: 'ready', port: sock.address().port, scheduling } satisfies FromSyncWorker);
});
