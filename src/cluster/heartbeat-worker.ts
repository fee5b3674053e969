// Heartbeat worker thread: sends and receives the cluster's UDP heartbeats and decides liveness
// off the main event loop, so a busy main thread or its garbage collection never fakes a death.
// Talks to Membership (main thread) by messages only.
import { createSocket, type RemoteInfo } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { canonicalIp, familyOf } from '../lib/addr.js';
import { checkReplay, decodeHeartbeat, encodeHeartbeat, type HeartbeatDrop, type ReplayState } from './heartbeat-codec.js';

export interface WorkerConfig {
  self: string;
  listenHost: string;
  listenPort: number;
  peers: Array<{ host: string; port: number; key: string }>;
  key: Uint8Array;
  intervalMs: number;
  deadAfterMs: number;
}

export interface PeerView {
  key: string;
  name: string;
  payload: Uint8Array;
  /** Wall-clock time (ms) of the last accepted heartbeat. */
  lastSeenMs: number;
}

export type FromWorker =
  | { type: 'ready'; port: number }
  | { type: 'error'; message: string }
  | { type: 'view'; live: PeerView[]; died: Array<{ key: string; name: string; lastSeenMs: number }> }
  | { type: 'stats'; sent: number; received: number; stalls: number; dropped: Record<HeartbeatDrop, number> };

/**
 * Best effort: run this thread at nice -10 (needs CAP_SYS_NICE, which the daemon has as root), so
 * a CPU-bound neighbour cannot starve the heartbeats. Linux nice values are per thread.
 */
function raisePriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (tid > 0) setPriority(tid, -10);
  } catch {
    /* not permitted or not Linux: run at the normal priority */
  }
}

export type ToWorker = { type: 'payload'; payload: Uint8Array } | { type: 'stop' };

interface Peer {
  host: string;
  port: number;
  key: string;
  replay?: ReplayState;
  name: string;
  payload: Uint8Array;
  lastSeenMono: number;
  lastSeenWall: number;
  live: boolean;
}

const cfg = workerData as WorkerConfig;
const checkEveryMs = Math.max(2, Math.min(10, Math.floor(cfg.intervalMs / 3)));
let stalls = 0;
raisePriority();
const port = parentPort!;
const bootTime = BigInt(Date.now());
const nonce = randomBytes(8).readBigUInt64BE(0);
let seq = 0n;
let payload: Uint8Array = new Uint8Array(0);
const stats = { sent: 0, received: 0, dropped: { malformed: 0, unauthenticated: 0, replayed: 0, 'unknown-sender': 0 } as Record<HeartbeatDrop, number> };
let statsDirty = false;
const peers = new Map<string, Peer>(cfg.peers.map((p) => [p.key, { ...p, name: '', payload: new Uint8Array(0), lastSeenMono: 0, lastSeenWall: 0, live: false }]));
const family = familyOf(cfg.listenHost) === 6 ? 'udp6' : 'udp4';
const sock = createSocket({ type: family, reuseAddr: false });

function keyOf(r: RemoteInfo): string {
  let a = r.address.replace(/%.*$/, '');
  if (a.startsWith('::ffff:') && familyOf(a.slice(7)) === 4) a = a.slice(7);
  const c = canonicalIp(a);
  return familyOf(c) === 6 ? `[${c}]:${r.port}` : `${c}:${r.port}`;
}

function sendAll(): void {
  seq++;
  const pkt = encodeHeartbeat({ bootTime, nonce, seq, name: cfg.self, payload }, cfg.key);
  for (const p of peers.values()) {
    sock.send(pkt, p.port, p.host, (err) => {
      if (!err) stats.sent++;
    });
  }
  statsDirty = true;
}

function postView(died: Array<{ key: string; name: string; lastSeenMs: number }>): void {
  const live: PeerView[] = [];
  for (const p of peers.values()) if (p.live) live.push({ key: p.key, name: p.name, payload: p.payload, lastSeenMs: p.lastSeenWall });
  port.postMessage({ type: 'view', live, died } satisfies FromWorker);
}

function drop(reason: HeartbeatDrop): void {
  stats.dropped[reason]++;
  statsDirty = true;
}

sock.on('message', (msg, rinfo) => {
  const p = peers.get(keyOf(rinfo));
  if (!p) return drop('unknown-sender');
  const d = decodeHeartbeat(msg, cfg.key);
  if (!d.ok) return drop(d.reason);
  const next = checkReplay(p.replay, d.hb);
  if (!next) return drop('replayed');
  p.replay = next;
  stats.received++;
  statsDirty = true;
  p.lastSeenMono = performance.now();
  p.lastSeenWall = Date.now();
  const changed = !p.live || p.name !== d.hb.name || Buffer.compare(Buffer.from(p.payload), Buffer.from(d.hb.payload)) !== 0;
  p.live = true;
  p.name = d.hb.name;
  p.payload = d.hb.payload;
  if (changed) postView([]);
});

let lastTick = performance.now();

/**
 * Runs from a timer, but decides in setImmediate: after the poll phase, so heartbeats that queued
 * in the socket while this thread was not scheduled are read before anyone is declared dead.
 * A tick that comes much later than planned means this thread itself stalled: skip it.
 */
function tick(): void {
  const now = performance.now();
  const stalled = now - lastTick > Math.max(cfg.deadAfterMs / 2, checkEveryMs * 4);
  lastTick = now;
  if (stalled) {
    stalls++;
    statsDirty = true;
    return;
  }
  setImmediate(check);
}

function check(): void {
  const now = performance.now();
  const died: Array<{ key: string; name: string; lastSeenMs: number }> = [];
  for (const p of peers.values()) {
    if (p.live && now - p.lastSeenMono > cfg.deadAfterMs) {
      p.live = false;
      died.push({ key: p.key, name: p.name, lastSeenMs: p.lastSeenWall });
    }
  }
  if (died.length) postView(died);
}

sock.on('error', (e) => port.postMessage({ type: 'error', message: e.message } satisfies FromWorker));
sock.bind(cfg.listenPort, cfg.listenHost, () => {
  const sendTimer = setInterval(sendAll, cfg.intervalMs);
  const checkTimer = setInterval(tick, checkEveryMs);
  const statsTimer = setInterval(() => {
    if (!statsDirty) return;
    statsDirty = false;
    port.postMessage({ type: 'stats', ...stats, stalls } satisfies FromWorker);
  }, 250);
  port.on('message', (m: ToWorker) => {
    if (m.type === 'payload') {
      payload = m.payload;
      sendAll(); // tell the others at once: releases and claims travel without waiting a tick
    } else if (m.type === 'stop') {
      clearInterval(sendTimer);
      clearInterval(checkTimer);
      clearInterval(statsTimer);
      port.postMessage({ type: 'stats', ...stats, stalls } satisfies FromWorker);
      sock.close(() => port.close());
    }
  });
  sendAll();
  port.postMessage({ type: 'ready', port: sock.address().port } satisfies FromWorker);
});
