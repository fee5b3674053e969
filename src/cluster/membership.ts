// Membership: which edgelb nodes of the cluster are alive, from authenticated UDP heartbeats that a
// worker thread sends and checks (see heartbeat-worker.ts). Emits 'change' when the live set or a
// live node's payload (its shard claims) changes. Works without the Kubernetes API server.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { networkInterfaces } from 'node:os';
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import { canonicalIp } from '../lib/addr.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { HeartbeatDrop } from './heartbeat-codec.js';
import type { FromWorker, ToWorker, WorkerConfig } from './heartbeat-worker.js';
import { hasQuorum } from './ownership.js';
import { parseHostPort, tieBreakerOf, type HostPort } from './members.js';

/**
 * Run the daemon with `node --single-threaded-gc`: with V8's parallel GC, a pause of the heartbeat
 * isolate waits for helper threads that run at normal priority, and on a CPU-starved machine that
 * priority inversion stalled the real-time heartbeat thread for up to 280 ms (lab, 2 vCPUs at load
 * 15 plus a busy loop per core: worst heartbeat gaps 31-88 ms with the flag, 137-771 ms without).
 * V8 flags cannot be changed once it runs (setFlagsFromString here crashes the worker's isolate).
 *
 * Defaults: a heartbeat every 30 ms and death after 150 ms of silence (five lost heartbeats in a
 * row). At 30 ms a node costs ~33 small packets a second per peer; 150 ms tolerates four
 * consecutive losses or a 120 ms scheduling stall of the worker thread (the main loop's stalls and
 * GC pauses do not count, the worker has its own isolate and heap), and detection plus a burst of
 * gratuitous ARP stays well under the 300 ms failover target.
 */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30;
export const DEFAULT_DEAD_AFTER_MS = 150;

export interface MembershipOptions {
  /** This node's name (node.name): what others see and what shard ownership hashes. */
  self: string;
  /** host:port of this node's heartbeat socket (cluster.listen). */
  listen: string;
  /** Every member's address (host or host:port), this node included (cluster.members). */
  members: readonly string[];
  /** The shared secret (contents of cluster.keyFile); required when there is another member. */
  key: Uint8Array | undefined;
  intervalMs?: number;
  deadAfterMs?: number;
  /**
   * SCHED_FIFO priority of the heartbeat thread (default 10; 0 = none, then nice -10 is tried).
   * Real-time scheduling is what keeps a 150 ms detection free of false alarms on a busy machine.
   */
  realtimePriority?: number;
  logger: Logger;
  registry: Registry;
}

export interface PeerInfo {
  name: string;
  /** The member address it sends from. */
  address: string;
  /** The peer's last payload, parsed (JSON), or undefined. */
  payload: unknown;
  lastSeenMs: number;
}

export interface PeerDeath {
  name: string;
  address: string;
  /** Wall-clock time of its last accepted heartbeat. */
  lastSeenMs: number;
}

function localAddresses(): Set<string> {
  const s = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) s.add(canonicalIp(a.address));
  return s;
}

export class Membership extends EventEmitter {
  readonly self: string;
  readonly intervalMs: number;
  readonly deadAfterMs: number;
  private readonly log: Logger;
  private readonly listen: HostPort;
  private readonly members: HostPort[];
  private readonly peerAddrs: HostPort[];
  private readonly selfKey: string;
  private readonly key: Uint8Array;
  private readonly rtPriority: number;
  /** How the heartbeat thread is scheduled ('SCHED_FIFO 10', 'nice -10' or 'normal'), once started. */
  scheduling = '';
  private worker: Worker | undefined;
  private livePeers = new Map<string, PeerInfo>(); // by address key
  private lastStats = { sent: 0, received: 0, stalls: 0, lateSends: 0, dropped: {} as Record<string, number> };
  /** Longest gap between two heartbeat rounds of this node so far (ms), for diagnostics. */
  maxSendGapMs = 0;
  /** Longest garbage collection pause of the heartbeat thread so far (ms), for diagnostics. */
  maxGcMs = 0;
  private readonly mSent: Counter;
  private readonly mReceived: Counter;
  private readonly mDropped: Counter<'reason'>;
  private readonly mLive: Gauge;
  private readonly mDeaths: Counter;
  private readonly mStalls: Counter;
  private readonly mLate: Counter;

  constructor(opts: MembershipOptions) {
    super();
    this.self = opts.self;
    this.log = opts.logger.child({ subsystem: 'cluster' });
    this.intervalMs = opts.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.deadAfterMs = opts.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS;
    if (!(this.intervalMs >= 1) || !(this.deadAfterMs > this.intervalMs)) {
      throw new EdgelbError('EDGELB_ERR_CLUSTER', `deadAfterMs (${this.deadAfterMs}) must exceed the heartbeat interval (${this.intervalMs})`);
    }
    this.listen = parseHostPort(opts.listen);
    const seen = new Map<string, HostPort>();
    for (const m of opts.members) {
      const hp = parseHostPort(m, this.listen.port);
      seen.set(hp.key, hp);
    }
    this.members = [...seen.values()];
    const unspecified = this.listen.host === '0.0.0.0' || this.listen.host === '::';
    const locals = unspecified ? localAddresses() : new Set<string>();
    const isSelf = (m: HostPort) => m.key === this.listen.key || (unspecified && m.port === this.listen.port && locals.has(m.host));
    const selfMember = this.members.find(isSelf);
    if (!selfMember && this.members.length > 0) {
      throw new EdgelbError('EDGELB_ERR_CLUSTER', `cluster.listen ${opts.listen} is not one of cluster.members`);
    }
    this.selfKey = selfMember?.key ?? this.listen.key;
    this.peerAddrs = this.members.filter((m) => !isSelf(m));
    if (this.peerAddrs.length > 0 && (!opts.key || opts.key.length === 0)) {
      throw new EdgelbError('EDGELB_ERR_CLUSTER', 'a multi-node cluster needs a shared key (cluster.keyFile): refusing to run unauthenticated heartbeats');
    }
    if (opts.key && opts.key.length < 16) this.log.warn('cluster key is shorter than 16 bytes');
    this.key = Uint8Array.from(opts.key ?? new Uint8Array(0));
    this.rtPriority = opts.realtimePriority ?? 10;
    if (!Number.isInteger(this.rtPriority) || this.rtPriority < 0 || this.rtPriority > 99) throw new EdgelbError('EDGELB_ERR_CLUSTER', 'realtimePriority must be 0..99');
    const registers = [opts.registry];
    this.mSent = new Counter({ name: 'edgelb_cluster_heartbeats_sent_total', help: 'Heartbeats sent (one per peer)', registers });
    this.mReceived = new Counter({ name: 'edgelb_cluster_heartbeats_received_total', help: 'Heartbeats accepted', registers });
    this.mDropped = new Counter({ name: 'edgelb_cluster_heartbeats_dropped_total', help: 'Heartbeats dropped, by reason (unauthenticated, replayed, malformed, unknown-sender)', labelNames: ['reason'], registers });
    this.mLive = new Gauge({ name: 'edgelb_cluster_members_live', help: 'Live cluster members, this node included', registers });
    this.mDeaths = new Counter({ name: 'edgelb_cluster_member_deaths_total', help: 'Peers declared dead after deadAfterMs without a heartbeat', registers });
    this.mStalls = new Counter({ name: 'edgelb_cluster_worker_stalls_total', help: 'Liveness checks skipped because the heartbeat thread itself was not scheduled in time', registers });
    this.mLate = new Counter({ name: 'edgelb_cluster_heartbeats_late_total', help: 'Heartbeat rounds sent more than two intervals after the previous one (this node was starved)', registers });
    this.mLive.set(1);
  }

  /** Start the heartbeat worker; resolves once its socket is bound. */
  async start(): Promise<void> {
    if (this.worker) return;
    const cfg: WorkerConfig = {
      self: this.self,
      listenHost: this.listen.host,
      listenPort: this.listen.port,
      peers: this.peerAddrs.map((p) => ({ host: p.host, port: p.port, key: p.key })),
      key: this.key,
      intervalMs: this.intervalMs,
      deadAfterMs: this.deadAfterMs,
      rtPriority: this.rtPriority,
    };
    const here = import.meta.url;
    let w: Worker;
    if (here.endsWith('.ts')) {
      // running from source (tsx): the worker registers the TypeScript loader itself
      const url = new URL('./heartbeat-worker.ts', here).href;
      const tsx = import.meta.resolve('tsx/esm/api');
      w = new Worker(`import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url)}); })`, { eval: true, workerData: cfg });
    } else {
      w = new Worker(new URL('./heartbeat-worker.js', here), { workerData: cfg });
    }
    this.worker = w;
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: FromWorker) => {
        if (m.type === 'ready') {
          this.scheduling = m.scheduling;
          const info = { listen: this.listen.key, peers: this.peerAddrs.length, intervalMs: this.intervalMs, deadAfterMs: this.deadAfterMs, scheduling: m.scheduling };
          if (m.scheduling === 'normal' && this.peerAddrs.length) this.log.warn(info, 'cluster membership started without raised scheduling priority: a busy machine may cause false failovers');
          else this.log.info(info, 'cluster membership started');
          resolve();
        } else if (m.type === 'error') {
          reject(new EdgelbError('EDGELB_ERR_CLUSTER', `heartbeat socket ${this.listen.key}: ${m.message}`));
        }
      };
      w.on('message', (m: FromWorker) => {
        onMsg(m);
        this.onWorker(m);
      });
      w.once('error', (e) => reject(new EdgelbError('EDGELB_ERR_CLUSTER', `heartbeat worker failed: ${errorMessage(e)}`, { cause: e })));
      w.once('exit', (code) => {
        if (this.worker === w) {
          this.worker = undefined;
          reject(new EdgelbError('EDGELB_ERR_CLUSTER', `heartbeat worker exited (${code})`));
          this.log.error({ code }, 'heartbeat worker exited');
        }
      });
    });
  }

  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    const exited = new Promise<void>((r) => w.once('exit', () => r()));
    w.postMessage({ type: 'stop' } satisfies ToWorker);
    const t = setTimeout(() => void w.terminate(), 1000);
    await exited;
    clearTimeout(t);
    this.livePeers.clear();
    this.mLive.set(1);
  }

  /** Names of the live members, this node included, sorted. */
  live(): string[] {
    return [this.self, ...[...this.livePeers.values()].map((p) => p.name)].sort();
  }

  /** Live peers (not this node) with their last payloads. */
  peers(): PeerInfo[] {
    return [...this.livePeers.values()];
  }

  /** Configured member count (this node included). */
  memberCount(): number {
    return Math.max(1, this.members.length);
  }

  /** Quorum rule of ownership.ts: more than half live, or exactly half holding the tie-breaker. */
  hasQuorum(): boolean {
    const tb = tieBreakerOf(this.members);
    const tieLive = tb === this.selfKey || this.livePeers.has(tb);
    return hasQuorum(this.livePeers.size + 1, this.memberCount(), tieLive);
  }

  /** What this node tells the others in every heartbeat (JSON-serialisable; sent at once). */
  setPayload(payload: unknown): void {
    const bytes = new TextEncoder().encode(JSON.stringify(payload));
    this.worker?.postMessage({ type: 'payload', payload: bytes } satisfies ToWorker);
  }

  private onWorker(m: FromWorker): void {
    if (m.type === 'view') {
      const next = new Map<string, PeerInfo>();
      for (const p of m.live) {
        let payload: unknown;
        try {
          payload = p.payload.length ? JSON.parse(new TextDecoder().decode(p.payload)) : undefined;
        } catch {
          payload = undefined;
        }
        next.set(p.key, { name: p.name || p.key, address: p.key, payload, lastSeenMs: p.lastSeenMs });
      }
      const before = this.live().join(',');
      this.livePeers = next;
      this.mLive.set(next.size + 1);
      for (const d of m.died) {
        this.mDeaths.inc();
        this.log.warn({ peer: d.name, address: d.key, silentMs: Date.now() - d.lastSeenMs }, 'cluster member dead');
        this.emit('dead', { name: d.name, address: d.key, lastSeenMs: d.lastSeenMs } satisfies PeerDeath);
      }
      const after = this.live().join(',');
      if (before !== after) this.log.info({ live: this.live() }, 'cluster membership changed');
      this.emit('change', this.live());
    } else if (m.type === 'stats') {
      this.mSent.inc(m.sent - this.lastStats.sent);
      this.mReceived.inc(m.received - this.lastStats.received);
      for (const [reason, n] of Object.entries(m.dropped) as Array<[HeartbeatDrop, number]>) {
        const d = n - (this.lastStats.dropped[reason] ?? 0);
        if (d > 0) this.mDropped.inc({ reason }, d);
      }
      if (m.stalls > this.lastStats.stalls) this.mStalls.inc(m.stalls - this.lastStats.stalls);
      if (m.lateSends > this.lastStats.lateSends) this.mLate.inc(m.lateSends - this.lastStats.lateSends);
      this.maxSendGapMs = m.maxSendGapMs;
      this.maxGcMs = m.maxGcMs;
      this.lastStats = { sent: m.sent, received: m.received, stalls: m.stalls, lateSends: m.lateSends, dropped: { ...m.dropped } };
    } else if (m.type === 'error') {
      this.log.error({ err: m.message }, 'heartbeat socket error');
    }
  }
}
