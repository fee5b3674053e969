// Heartbeat worker thread: sends and receives the cluster's UDP heartbeats and decides liveness
// off the main event loop, so a busy main thread or its garbage collection never fakes a death.
// Talks to Membership (main thread) by messages only. The receive path is bounded: datagrams from
// addresses that are not members are dropped before anything is parsed, the size and layout are
// checked before the HMAC, and each member may cost at most VERIFY_BUDGET HMACs per interval, so a
// flood (even one that spoofs a member) cannot delay the other members' heartbeats.
import { createSocket, type RemoteInfo } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { canonicalIp, familyOf, unmapIpv4 } from '../lib/addr.js';
import { ringOf, type KeyRing, type MacKeys } from '../lib/cluster-keys.js';
import { DeathClock } from './death-clock.js';
import { checkFresh, decodeHeartbeat, encodeHeartbeat, SendLog, type Challenge, type HeartbeatDrop, type ReplayState } from './heartbeat-codec.js';

export interface WorkerConfig {
  self: string;
  listenHost: string;
  listenPort: number;
  peers: Array<{ host: string; port: number; key: string }>;
  /** The cluster key ring (sign with the primary, accept any), or one key. */
  key: MacKeys;
  intervalMs: number;
  deadAfterMs: number;
  /** SCHED_FIFO priority of this thread (1-99); 0 = do not ask for real-time scheduling. */
  rtPriority: number;
  /** The payload to start with (a restarted thread carries the node's claims on). */
  payload: Uint8Array;
}

export interface PeerView {
  key: string;
  name: string;
  payload: Uint8Array;
  /** Wall-clock time (ms) of the last accepted heartbeat. */
  lastSeenMs: number;
}

/** A peer this thread declared dead: its last accepted heartbeat and when it was declared (wall ms). */
export interface Died {
  key: string;
  name: string;
  lastSeenMs: number;
  detectedMs: number;
}

export type FromWorker =
  | { type: 'ready'; port: number; scheduling: string }
  | { type: 'error'; message: string }
  | { type: 'view'; live: PeerView[]; died: Died[] }
  | { type: 'stats'; sent: number; received: number; nonPrimary: number; stalls: number; lateSends: number; maxSendGapMs: number; maxGcMs: number; dropped: Partial<Record<HeartbeatDrop, number>> }
  /** A member's heartbeats now verify with another key of the ring (`id`; primary: the ring's first). */
  | { type: 'keyUse'; peer: string; name: string; id: string; primary: boolean };

/**
 * Best effort: run this thread with real-time scheduling (SCHED_FIFO at cfg.rtPriority, as
 * keepalived's vrrp_rt_priority does for VRRP), else at nice -10, so CPU-bound neighbours cannot
 * delay heartbeats. Measured on a 2-vCPU VM at load 16 plus a busy loop per core: 30 ms sleeps
 * overshoot by at most 1 ms with SCHED_FIFO, by up to 80 ms at nice -10 or nice 0. The thread
 * runs for microseconds every few ms, so real-time priority cannot starve anything (and the
 * kernel's RT throttling caps it anyway). Needs CAP_SYS_NICE (the daemon runs as root).
 */
function raisePriority(): string {
  let tid = 0;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return 'normal';
  }
  if (!(tid > 0)) return 'normal';
  if (cfg.rtPriority > 0) {
    try {
      execFileSync('chrt', ['-f', '-p', String(cfg.rtPriority), String(tid)], { stdio: 'ignore', timeout: 2000 });
      return `SCHED_FIFO ${cfg.rtPriority}`;
    } catch {
      /* no chrt or not permitted: try nice */
    }
  }
  try {
    setPriority(tid, -10);
    return 'nice -10';
  } catch {
    return 'normal';
  }
}

export type ToWorker = { type: 'payload'; payload: Uint8Array } | { type: 'peers'; peers: WorkerConfig['peers'] } | { type: 'keys'; keys: KeyRing } | { type: 'stop' };

/** HMAC verifications a member may cost per heartbeat interval (it sends one, plus immediate
 *  sends on claim changes); the rest of its datagrams are dropped unverified as rate-limited. */
export const VERIFY_BUDGET = 16;

interface Peer {
  host: string;
  port: number;
  key: string;
  /** The last heartbeat accepted from it (freshness state). */
  replay?: ReplayState;
  /** What we echo to it: its boot id and latest sequence number heard (0n: nothing yet). */
  echoBoot: bigint;
  echoSeq: bigint;
  budget: number;
  /** The key form (index in ring.accept) its last authentic heartbeat used: tried first. */
  form: number;
  /** The id of the key it authenticates with now ('' until heard). */
  keyId: string;
  name: string;
  payload: Uint8Array;
  lastSeenMono: number;
  lastSeenWall: number;
  live: boolean;
}

const cfg = workerData as WorkerConfig;
/** The step of the decision after a stall of this thread (the grid the periodic check used). */
const checkEveryMs = Math.max(2, Math.min(10, Math.floor(cfg.intervalMs / 3)));
let stalls = 0;
const scheduling = raisePriority();
const port = parentPort!;
const boot = randomBytes(8).readBigUInt64BE(0) || 1n;
let seq = 0n;
let payload: Uint8Array = cfg.payload ?? new Uint8Array(0);
const stats = { sent: 0, received: 0, nonPrimary: 0, dropped: {} as Partial<Record<HeartbeatDrop, number>> };
let ring: KeyRing = ringOf(cfg.key);
let statsDirty = false;
const newPeer = (p: WorkerConfig['peers'][number]): Peer => ({ ...p, echoBoot: 0n, echoSeq: 0n, budget: VERIFY_BUDGET, form: 0, keyId: '', name: '', payload: new Uint8Array(0), lastSeenMono: 0, lastSeenWall: 0, live: false });
const peers = new Map<string, Peer>(cfg.peers.map((p) => [p.key, newPeer(p)]));
/** Members by the address and port the socket reports (no parsing for the common spelling). */
const byRaw = new Map<string, Peer>();
const family = familyOf(cfg.listenHost) === 6 ? 'udp6' : 'udp4';
const sock = createSocket({ type: family, reuseAddr: false });
const sendLog = new SendLog(256);
/** Echoes older than this are stale: generous next to deadAfterMs, so a stalled thread is not a death. */
const challenge: Challenge = { boot, ageOf: (s) => sendLog.ageOf(s, performance.now()), windowMs: 2 * cfg.deadAfterMs + cfg.intervalMs };

/** Recent strangers, so a flood from a few addresses costs a map lookup per datagram. Bounded. */
const strangers = new Set<string>();

function peerOf(r: RemoteInfo): Peer | undefined {
  const raw = `${r.address}|${r.port}`;
  const hit = byRaw.get(raw);
  if (hit) return hit;
  if (strangers.has(raw)) return undefined;
  const a = r.address.replace(/%.*$/, '');
  const c = familyOf(a) ? canonicalIp(unmapIpv4(a)) : '';
  const p = c ? peers.get(familyOf(c) === 6 ? `[${c}]:${r.port}` : `${c}:${r.port}`) : undefined;
  if (p) {
    if (byRaw.size < 4 * peers.size + 4) byRaw.set(raw, p);
  } else {
    if (strangers.size >= 4096) strangers.clear();
    strangers.add(raw);
  }
  return p;
}

let maxGcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.duration > maxGcMs) maxGcMs = e.duration;
}).observe({ entryTypes: ['gc'] });
let lastSend = 0;
let lateSends = 0;
let maxSendGapMs = 0;

function sendTo(p: Peer): void {
  const pkt = encodeHeartbeat({ boot, seq, echoBoot: p.echoBoot, echoSeq: p.echoSeq, name: cfg.self, payload }, ring);
  sock.send(pkt, p.port, p.host, (err) => {
    if (!err) stats.sent++;
  });
}

/** One round: a new sequence number (a new challenge), one packet per member with its echo. */
function sendAll(): void {
  const now = performance.now();
  if (lastSend) {
    const gap = now - lastSend;
    if (gap > 2 * cfg.intervalMs) lateSends++;
    if (gap > maxSendGapMs) maxSendGapMs = gap;
  }
  lastSend = now;
  seq++;
  sendLog.record(seq, now);
  for (const p of peers.values()) {
    p.budget = VERIFY_BUDGET;
    sendTo(p);
  }
  statsDirty = true;
}

function postView(died: Died[]): void {
  const live: PeerView[] = [];
  for (const p of peers.values()) if (p.live) live.push({ key: p.key, name: p.name, payload: p.payload, lastSeenMs: p.lastSeenWall });
  port.postMessage({ type: 'view', live, died } satisfies FromWorker);
}

function drop(reason: HeartbeatDrop): void {
  stats.dropped[reason] = (stats.dropped[reason] ?? 0) + 1;
  statsDirty = true;
}

sock.on('message', (msg, rinfo) => {
  const p = peerOf(rinfo);
  if (!p) return drop('unknown-sender');
  if (p.budget <= 0) return drop('rate-limited');
  p.budget--;
  const d = decodeHeartbeat(msg, ring, p.form);
  if (!d.ok) return drop(d.reason);
  const hb = d.hb;
  p.form = d.form;
  const id = ring.ids[d.key] ?? '';
  if (id !== p.keyId) {
    // which key a member uses, on every change: the operator's sign that an old key is unused
    p.keyId = id;
    port.postMessage({ type: 'keyUse', peer: p.key, name: hb.name, id, primary: d.key === 0 } satisfies FromWorker);
  }
  const fresh = checkFresh(p.replay, hb, challenge);
  // what we echo back: the newest sequence of its boot; another boot only from a fresh heartbeat,
  // or while nothing of it was accepted yet (the first contact, in both directions)
  const newBoot = hb.boot !== p.echoBoot;
  if ((newBoot && (fresh.ok || !p.replay)) || (!newBoot && hb.seq > p.echoSeq)) {
    p.echoBoot = hb.boot;
    p.echoSeq = hb.seq;
    if (newBoot && p.budget > 0) {
      // answer a new boot at once (with a sequence number of its own): accepted within a round trip
      seq++;
      sendLog.record(seq, performance.now());
      sendTo(p);
    }
  }
  if (!fresh.ok) return drop(fresh.reason);
  p.replay = fresh.state;
  stats.received++;
  if (d.key !== 0) stats.nonPrimary++;
  statsDirty = true;
  p.lastSeenMono = performance.now();
  p.lastSeenWall = Date.now();
  clock.heard(p.key, p.lastSeenMono);
  const changed = !p.live || p.name !== hb.name || Buffer.compare(Buffer.from(p.payload), Buffer.from(hb.payload)) !== 0;
  p.live = true;
  p.name = hb.name;
  p.payload = hb.payload;
  if (changed) postView([]);
});

/** The precise sleep DeathClock finishes a deadline with (this thread only; at most ~1.5 ms). */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Deaths: each live peer is declared dead deadAfterMs after its last accepted heartbeat, by a
 * timer armed for the earliest deadline (death-clock.ts), decided after the socket was read, and
 * skipped when this thread itself was not scheduled in time (then decided one step later).
 */
const clock = new DeathClock(
  {
    deadAfterMs: cfg.deadAfterMs,
    stallAfterMs: Math.max(cfg.deadAfterMs / 2, checkEveryMs * 4),
    stallStepMs: checkEveryMs,
    onStall: () => {
      stalls++;
      statsDirty = true;
    },
    onDead: (keys) => {
      const died: Died[] = [];
      const detectedMs = Date.now();
      for (const k of keys) {
        const p = peers.get(k);
        if (!p?.live) continue;
        p.live = false;
        died.push({ key: p.key, name: p.name, lastSeenMs: p.lastSeenWall, detectedMs });
      }
      if (died.length) postView(died);
    },
  },
  {
    now: () => performance.now(),
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (t) => clearTimeout(t as NodeJS.Timeout),
    defer: (fn) => void setImmediate(fn),
    sleep: (ms) => void Atomics.wait(sleeper, 0, 0, ms),
  },
);

sock.on('error', (e) => port.postMessage({ type: 'error', message: e.message } satisfies FromWorker));
sock.bind(cfg.listenPort, cfg.listenHost, () => {
  // room for a burst: the kernel queues what arrives while this thread is not scheduled
  try {
    sock.setRecvBufferSize(1 << 20);
  } catch {
    /* the default buffer still works */
  }
  const sendTimer = setInterval(sendAll, cfg.intervalMs);
  const statsTimer = setInterval(() => {
    if (!statsDirty) return;
    statsDirty = false;
    port.postMessage({ type: 'stats', ...stats, stalls, lateSends, maxSendGapMs: Math.round(maxSendGapMs), maxGcMs: Math.round(maxGcMs) } satisfies FromWorker);
  }, 250);
  port.on('message', (m: ToWorker) => {
    if (m.type === 'payload') {
      payload = m.payload;
      sendAll(); // tell the others at once: releases and claims travel without waiting a tick
    } else if (m.type === 'peers') {
      // a new member set: keep what is known of the members that stay, forget the ones that left
      // (they are gone, not dead), greet the new ones at once
      const next = new Set(m.peers.map((p) => p.key));
      let removedLive = false;
      for (const [k, p] of peers) {
        if (next.has(k)) continue;
        peers.delete(k);
        clock.forget(k);
        removedLive ||= p.live;
      }
      for (const p of m.peers) if (!peers.has(p.key)) peers.set(p.key, newPeer(p));
      byRaw.clear();
      strangers.clear();
      if (removedLive) postView([]);
      sendAll();
    } else if (m.type === 'keys') {
      // a rotation step: sign with the new primary from the next heartbeat on, accept the new list
      ring = m.keys;
      for (const p of peers.values()) {
        p.form = 0;
        p.keyId = '';
      }
    } else if (m.type === 'stop') {
      clearInterval(sendTimer);
      clock.stop();
      clearInterval(statsTimer);
      port.postMessage({ type: 'stats', ...stats, stalls, lateSends, maxSendGapMs: Math.round(maxSendGapMs), maxGcMs: Math.round(maxGcMs) } satisfies FromWorker);
      sock.close(() => port.close());
    }
  });
  sendAll();
  port.postMessage({ type: 'ready', port: sock.address().port, scheduling } satisfies FromWorker);
});
