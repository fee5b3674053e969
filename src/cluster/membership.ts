// Membership: which edgelb nodes of the cluster are alive, from authenticated UDP heartbeats that a
// worker thread sends and checks (see heartbeat-worker.ts). Emits 'change' when the live set or a
// live node's payload (its shard claims) changes. Works without the Kubernetes API server.
// Containment: a heartbeat thread that dies fences this node. It sees no peer and has no quorum
// (so ShardManager gives up every shard) and health() says why (so /readyz is 503) until the
// thread is back: Membership restarts it with a back-off, and the others accept its new boot.
// The member set can change while it runs (setMembers: Kubernetes mode follows edgelb's ready
// pods), so a node joins or leaves without a restart of the others.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { networkInterfaces } from 'node:os';
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import { canonicalIp } from '../lib/addr.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { HB_MAX_PAYLOAD, type HeartbeatDrop } from './heartbeat-codec.js';
import type { FromWorker, ToWorker, WorkerConfig } from './heartbeat-worker.js';
import { hasQuorum } from './ownership.js';
import { parseHostPort, tieBreakerOf, type HostPort } from './members.js';
import { startWorker } from '../lib/worker.js';
import { ringOf, type KeyRing, type MacKeys } from '../lib/cluster-keys.js';

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

/**
 * The node flags that keep the real-time heartbeat thread from waiting on normal-priority threads
 * of its own process: `--single-threaded-gc` (see above) and `--no-concurrent-recompilation`.
 * With V8's concurrent recompilation, a function of the heartbeat thread that gets hot is queued
 * for TurboFan through the process-wide platform task queue, whose mutex the main thread and the
 * platform's worker threads (normal priority) also take; one of them preempted while it holds it
 * blocks the heartbeat thread. Traced under `stress-ng --cpu 0` on 2 vCPUs (bench/l2-gaps.ts,
 * USTACK=1): the heartbeat thread asleep 25 ms in a futex wait from TaskQueue::Push
 * (OptimizingCompileDispatcher::QueueForOptimization), woken by a platform worker thread; at a
 * 30 ms budget that is a false failover. Without it TurboFan compiles on the calling thread.
 * `--single-threaded` implies both. Returns the flags missing from `execArgv`.
 */
export function missingHeartbeatFlags(execArgv: readonly string[] = process.execArgv): string[] {
  const has = (f: string) => execArgv.includes(f) || execArgv.includes('--single-threaded');
  return ['--single-threaded-gc', '--no-concurrent-recompilation'].filter((f) => !has(f));
}
export const DEFAULT_DEAD_AFTER_MS = 150;

export interface MembershipOptions {
  /** This node's name (node.name): what others see and what shard ownership hashes. */
  self: string;
  /** host:port of this node's heartbeat socket (cluster.listen). */
  listen: string;
  /** Every member's address (host or host:port), this node included (cluster.members). */
  members: readonly string[];
  /**
   * The shared secret: the key ring parsed from cluster.keyFile (sign with the primary, accept
   * any; setKeys replaces it live), or one key's bytes. Required when there is another member.
   */
  key: MacKeys | undefined;
  intervalMs?: number;
  deadAfterMs?: number;
  /**
   * SCHED_FIFO priority of the heartbeat thread (default 10; 0 = none, then nice -10 is tried).
   * Real-time scheduling is what keeps a 150 ms detection free of false alarms on a busy machine.
   */
  realtimePriority?: number;
  /** How payloads travel (default JSON). The node runtime passes the compact shard-claims codec. */
  payloadCodec?: PayloadCodec;
  /** First delay before a dead heartbeat thread is restarted (doubles up to 5 s; default 100 ms). */
  restartDelayMs?: number;
  logger: Logger;
  registry: Registry;
}

export interface PayloadCodec {
  encode(payload: unknown): Uint8Array;
  /** undefined for bytes it cannot read; never throws. */
  decode(bytes: Uint8Array): unknown;
}

const jsonCodec: PayloadCodec = {
  encode: (p) => new TextEncoder().encode(JSON.stringify(p)),
  decode: (b) => {
    try {
      return b.length ? JSON.parse(new TextDecoder().decode(b)) : undefined;
    } catch {
      return undefined;
    }
  },
};

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
  /** Wall-clock time the heartbeat thread declared it dead (lastSeenMs + deadAfterMs or later). */
  detectedMs: number;
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
  private members: HostPort[];
  private peerAddrs: HostPort[];
  private selfKey: string;
  /** Peers are listed but there is no key: heartbeats are off and this node masters nothing. */
  private keyless = false;
  /**
   * Members setMembers added that have not been heard yet → end of their grace (ms). They count
   * for the quorum only once heard or once the grace is over, so a lone master does not give its
   * shards up (for the first round trip) when a second node joins.
   */
  private readonly pending = new Map<string, number>();
  private pendingTimer: NodeJS.Timeout | undefined;
  private key: KeyRing | undefined;
  /** The member list last given (setMembers), to re-evaluate when a key arrives. */
  private memberList: readonly string[];
  private readonly rtPriority: number;
  /** How the heartbeat thread is scheduled ('SCHED_FIFO 10', 'nice -10' or 'normal'), once started. */
  scheduling = '';
  private flagsWarned = false;
  private worker: Worker | undefined;
  private running = false;
  private stopping: Worker | undefined;
  private fenced = false;
  private fencedWhy = '';
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelay: number;
  private readonly firstRestartDelay: number;
  private readonly codec: PayloadCodec;
  private payloadBytes: Uint8Array = new Uint8Array(0);
  private livePeers = new Map<string, PeerInfo>(); // by address key
  private lastStats = { sent: 0, received: 0, nonPrimary: 0, stalls: 0, lateSends: 0, dropped: {} as Record<string, number> };
  /** Longest gap between two heartbeat rounds of this node so far (ms), for diagnostics. */
  maxSendGapMs = 0;
  /** Longest garbage collection pause of the heartbeat thread so far (ms), for diagnostics. */
  maxGcMs = 0;
  private readonly mSent: Counter;
  private readonly mReceived: Counter;
  private readonly mDropped: Counter<'reason'>;
  private readonly mNonPrimary: Counter;
  private readonly mLive: Gauge;
  private readonly mDeaths: Counter;
  private readonly mStalls: Counter;
  private readonly mLate: Counter;
  private readonly mRestarts: Counter;
  private readonly mFenced: Gauge;

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
    const set = this.resolve(opts.members);
    if (!set.self && set.members.length > 0) {
      throw new EdgelbError('EDGELB_ERR_CLUSTER', `cluster.listen ${opts.listen} is not one of cluster.members`);
    }
    this.members = set.members;
    this.selfKey = set.self?.key ?? this.listen.key;
    this.peerAddrs = set.peers;
    const noKey = !opts.key || (opts.key instanceof Uint8Array && opts.key.length === 0);
    if (this.peerAddrs.length > 0 && noKey) {
      throw new EdgelbError('EDGELB_ERR_CLUSTER', 'a multi-node cluster needs a shared key (cluster.keyFile): refusing to run unauthenticated heartbeats');
    }
    if (opts.key instanceof Uint8Array && opts.key.length > 0 && opts.key.length < 16) this.log.warn('cluster key is shorter than 16 bytes');
    this.key = noKey ? undefined : ringOf(opts.key instanceof Uint8Array ? Uint8Array.from(opts.key) : opts.key!);
    this.memberList = opts.members;
    this.codec = opts.payloadCodec ?? jsonCodec;
    this.firstRestartDelay = this.restartDelay = opts.restartDelayMs ?? 100;
    this.rtPriority = opts.realtimePriority ?? 10;
    if (!Number.isInteger(this.rtPriority) || this.rtPriority < 0 || this.rtPriority > 99) throw new EdgelbError('EDGELB_ERR_CLUSTER', 'realtimePriority must be 0..99');
    const registers = [opts.registry];
    this.mSent = new Counter({ name: 'edgelb_cluster_heartbeats_sent_total', help: 'Heartbeats sent (one per peer)', registers });
    this.mReceived = new Counter({ name: 'edgelb_cluster_heartbeats_received_total', help: 'Heartbeats accepted', registers });
    this.mNonPrimary = new Counter({
      name: 'edgelb_cluster_heartbeats_nonprimary_key_total',
      help: 'Heartbeats accepted that were signed with a key other than this node\'s primary (first) cluster key: 0 for a while on every node = the old key is unused and can be dropped',
      registers,
    });
    this.mDropped = new Counter({ name: 'edgelb_cluster_heartbeats_dropped_total', help: 'Heartbeats dropped, by reason (unauthenticated, replayed, malformed, unknown-sender)', labelNames: ['reason'], registers });
    this.mLive = new Gauge({ name: 'edgelb_cluster_members_live', help: 'Live cluster members, this node included', registers });
    this.mDeaths = new Counter({ name: 'edgelb_cluster_member_deaths_total', help: 'Peers declared dead after deadAfterMs without a heartbeat', registers });
    this.mStalls = new Counter({ name: 'edgelb_cluster_worker_stalls_total', help: 'Liveness checks skipped because the heartbeat thread itself was not scheduled in time', registers });
    this.mLate = new Counter({ name: 'edgelb_cluster_heartbeats_late_total', help: 'Heartbeat rounds sent more than two intervals after the previous one (this node was starved)', registers });
    this.mRestarts = new Counter({ name: 'edgelb_cluster_worker_restarts_total', help: 'Heartbeat threads restarted after they died (this node was fenced meanwhile)', registers });
    this.mFenced = new Gauge({ name: 'edgelb_cluster_fenced', help: '1 while this node is fenced: its heartbeat thread is down, it holds no shard and is not ready', registers });
    this.mLive.set(1);
  }

  /** Members parsed and deduplicated, this node among them (or undefined), and the others. */
  private resolve(list: readonly string[]): { members: HostPort[]; self: HostPort | undefined; peers: HostPort[] } {
    const seen = new Map<string, HostPort>();
    for (const m of list) {
      const hp = parseHostPort(m, this.listen.port);
      seen.set(hp.key, hp);
    }
    const members = [...seen.values()];
    const unspecified = this.listen.host === '0.0.0.0' || this.listen.host === '::';
    const locals = unspecified ? localAddresses() : new Set<string>();
    const isSelf = (m: HostPort) => m.key === this.listen.key || (unspecified && m.port === this.listen.port && locals.has(m.host));
    return { members, self: members.find(isSelf), peers: members.filter((m) => !isSelf(m)) };
  }

  /**
   * A new member set, while running (Kubernetes mode: edgelb's ready pods). Heartbeats go to the
   * new peers at once; a peer that left is forgotten (not a death). A set that does not name this
   * node gets it added (it runs, so it is a member). Peers without a key: no heartbeats and no
   * quorum, so this node masters nothing and says why, rather than acting alone.
   * Throws only for a member that is not an address.
   */
  setMembers(list: readonly string[]): void {
    this.memberList = list;
    const set = this.resolve(list);
    let members = set.members;
    if (!set.self) {
      members = [...members, this.listen];
      if (set.members.length) this.log.warn({ listen: this.listen.key, members: list }, 'this node is not in the member list: counted in anyway');
    }
    const text = (l: HostPort[]) => l.map((m) => m.key).sort().join(',');
    const keyless = set.peers.length > 0 && !this.key;
    if (text(members) === text(this.members) && keyless === this.keyless) return;
    const before = text(this.members);
    this.members = members;
    this.selfKey = set.self?.key ?? this.listen.key;
    this.peerAddrs = set.peers;
    if (keyless && !this.keyless) this.log.error({ peers: set.peers.length }, 'other edgelb nodes are members but this node has no cluster key: no heartbeats, and this node masters no shard (mount the cluster key Secret)');
    this.keyless = keyless;
    const keys = new Set(set.peers.map((p) => p.key));
    for (const k of [...this.livePeers.keys()]) if (!keys.has(k)) this.livePeers.delete(k);
    const old = new Set(before.split(','));
    const graceEnd = Date.now() + Math.max(1000, 4 * this.deadAfterMs);
    for (const k of keys) if (!old.has(k) && !this.livePeers.has(k)) this.pending.set(k, graceEnd);
    for (const k of [...this.pending.keys()]) if (!keys.has(k)) this.pending.delete(k);
    this.armPending();
    this.mLive.set(this.livePeers.size + 1);
    this.worker?.postMessage({ type: 'peers', peers: this.workerPeers() } satisfies ToWorker);
    this.log.info({ from: before, to: text(members) }, 'cluster members changed');
    this.emit('change', this.live());
  }

  /**
   * A new key ring (the key file changed: a rotation step). The heartbeat thread signs with its
   * primary from the next heartbeat on and accepts any of its keys; nothing else is reset, so the
   * peers stay live. A first key (Kubernetes: the Secret mounted late) ends keyless mode.
   */
  setKeys(keys: KeyRing): void {
    const wasKeyless = this.keyless;
    this.key = keys;
    this.worker?.postMessage({ type: 'keys', keys } satisfies ToWorker);
    if (wasKeyless) {
      this.log.info('cluster key present: heartbeats to the other members start');
      this.setMembers(this.memberList);
    }
  }

  /** When the next grace ends: forget it and re-evaluate (a silent new member now counts). */
  private armPending(): void {
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    this.pendingTimer = undefined;
    if (!this.pending.size) return;
    const next = Math.min(...this.pending.values());
    this.pendingTimer = setTimeout(() => {
      const now = Date.now();
      for (const [k, end] of this.pending) if (end <= now) this.pending.delete(k);
      this.armPending();
      this.emit('change', this.live());
    }, Math.max(0, next - Date.now()) + 1);
    this.pendingTimer.unref?.();
  }

  /** Members that count for the quorum: all but the new ones not heard yet (in their grace). */
  private counted(): HostPort[] {
    return this.pending.size ? this.members.filter((m) => !this.pending.has(m.key)) : this.members;
  }

  private workerPeers(): WorkerConfig['peers'] {
    return this.keyless ? [] : this.peerAddrs.map((p) => ({ host: p.host, port: p.port, key: p.key }));
  }

  /** Start the heartbeat worker; resolves once its socket is bound. */
  async start(): Promise<void> {
    if (this.worker || this.running) return;
    this.running = true;
    try {
      await this.spawn();
    } catch (e) {
      this.running = false;
      throw e;
    }
  }

  /** Whether this node takes part in the cluster now (false while fenced), and why not. */
  health(): { ok: boolean; reason?: string } {
    // keyless is not unready: an unready pod drops out of the others' member lists, and nodes
    // that each see only themselves would all be masters
    return this.fenced ? { ok: false, reason: this.fencedWhy } : { ok: true };
  }

  private fence(why: string): void {
    this.fencedWhy = why;
    if (!this.fenced) {
      this.fenced = true;
      this.mFenced.set(1);
      this.log.error({ why }, 'heartbeat thread down: this node is fenced (every shard given up, not ready) until it is back');
    }
    this.livePeers.clear();
    this.mLive.set(1);
    this.emit('change', this.live());
    if (this.restartTimer || !this.running) return;
    const delay = this.restartDelay;
    this.restartDelay = Math.min(5000, this.restartDelay * 2);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.running) return;
      this.mRestarts.inc();
      this.spawn().then(
        () => {
          this.fenced = false;
          this.fencedWhy = '';
          this.mFenced.set(0);
          this.restartDelay = this.firstRestartDelay;
          this.log.warn('heartbeat thread restarted: this node rejoins (after the hold-down)');
          this.emit('change', this.live());
        },
        (e: unknown) => this.fence(`heartbeat thread restart failed: ${errorMessage(e)}`),
      );
    }, delay);
    this.restartTimer.unref?.();
  }

  private async spawn(): Promise<void> {
    const cfg: WorkerConfig = {
      self: this.self,
      listenHost: this.listen.host,
      listenPort: this.listen.port,
      peers: this.workerPeers(),
      key: this.key ?? new Uint8Array(0),
      intervalMs: this.intervalMs,
      deadAfterMs: this.deadAfterMs,
      rtPriority: this.rtPriority,
      payload: this.payloadBytes,
    };
    const w = startWorker(import.meta.url, 'heartbeat-worker', cfg);
    this.worker = w;
    this.lastStats = { sent: 0, received: 0, nonPrimary: 0, stalls: 0, lateSends: 0, dropped: {} }; // a new thread counts from 0
    const started = new Promise<void>((resolve, reject) => {
      const onMsg = (m: FromWorker) => {
        if (m.type === 'ready') {
          this.scheduling = m.scheduling;
          const info = { listen: this.listen.key, peers: this.peerAddrs.length, intervalMs: this.intervalMs, deadAfterMs: this.deadAfterMs, scheduling: m.scheduling };
          if (m.scheduling === 'normal' && this.peerAddrs.length) this.log.warn(info, 'cluster membership started without raised scheduling priority: a busy machine may cause false failovers');
          else this.log.info(info, 'cluster membership started');
          const missing = missingHeartbeatFlags();
          if (missing.length && this.peerAddrs.length && !this.flagsWarned) {
            this.flagsWarned = true;
            this.log.warn({ missing }, `node runs without ${missing.join(' ')}: the heartbeat thread can wait on normal-priority threads of this process (V8's GC or compile queue) and miss heartbeats on a busy machine (the edgelb binary and image pass them)`);
          }
          resolve();
        } else if (m.type === 'error') {
          reject(new EdgelbError('EDGELB_ERR_CLUSTER', `heartbeat socket ${this.listen.key}: ${m.message}`));
        }
      };
      w.on('message', (m: FromWorker) => {
        if (this.worker !== w && !(m.type === 'stats' && this.stopping === w)) return; // a thread that was replaced
        onMsg(m);
        this.onWorker(m);
      });
      let lastError = '';
      w.on('error', (e) => {
        lastError = errorMessage(e);
        reject(new EdgelbError('EDGELB_ERR_CLUSTER', `heartbeat worker failed: ${lastError}`, { cause: e }));
      });
      w.once('exit', (code) => {
        if (this.worker !== w) return; // stopped on purpose
        this.worker = undefined;
        const why = `heartbeat thread exited (${code})${lastError ? `: ${lastError}` : ''}`;
        reject(new EdgelbError('EDGELB_ERR_CLUSTER', why));
        this.fence(why);
      });
    });
    try {
      await started;
    } catch (e) {
      if (this.worker === w) {
        this.worker = undefined; // a thread that could not bind is not a crash: end it
        void w.terminate();
      }
      throw e;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    this.pendingTimer = undefined;
    this.restartTimer = undefined;
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    this.stopping = w;
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

  /** Whether other members are listed but no key authenticates heartbeats (no shard is mastered). */
  isKeyless(): boolean {
    return this.keyless;
  }

  /** Member addresses now (host:port keys), sorted. */
  memberKeys(): string[] {
    return this.members.map((m) => m.key).sort();
  }

  /** Configured member count (this node included; new members count once heard or after their grace). */
  memberCount(): number {
    return Math.max(1, this.counted().length);
  }

  /** Quorum rule of ownership.ts: more than half live, or exactly half holding the tie-breaker. */
  hasQuorum(): boolean {
    if (this.fenced || this.keyless) return false;
    const tb = tieBreakerOf(this.counted());
    const tieLive = tb === this.selfKey || this.livePeers.has(tb);
    return hasQuorum(this.livePeers.size + 1, this.memberCount(), tieLive);
  }

  /**
   * What this node tells the others in every heartbeat (sent at once, and by a restarted thread).
   * A payload the heartbeat cannot carry is refused here, logged, and never reaches the thread.
   */
  setPayload(payload: unknown): void {
    const bytes = this.codec.encode(payload);
    if (bytes.length > HB_MAX_PAYLOAD) {
      this.log.error({ bytes: bytes.length, max: HB_MAX_PAYLOAD }, 'heartbeat payload too large: not sent (the others keep the previous one)');
      return;
    }
    this.payloadBytes = bytes;
    this.worker?.postMessage({ type: 'payload', payload: bytes } satisfies ToWorker);
  }

  private onWorker(m: FromWorker): void {
    if (m.type === 'view') {
      if (this.fenced) return;
      const next = new Map<string, PeerInfo>();
      const members = new Set(this.peerAddrs.map((p) => p.key));
      for (const p of m.live) {
        if (!members.has(p.key)) continue; // a view the thread sent before it learnt the new member set
        const payload = p.payload.length ? this.codec.decode(p.payload) : undefined;
        next.set(p.key, { name: p.name || p.key, address: p.key, payload, lastSeenMs: p.lastSeenMs });
      }
      const before = this.live().join(',');
      this.livePeers = next;
      for (const k of next.keys()) this.pending.delete(k); // heard: counts from now on
      this.mLive.set(next.size + 1);
      for (const d of m.died) {
        this.mDeaths.inc();
        this.log.warn({ peer: d.name, address: d.key, silentMs: Date.now() - d.lastSeenMs }, 'cluster member dead');
        this.emit('dead', { name: d.name, address: d.key, lastSeenMs: d.lastSeenMs, detectedMs: d.detectedMs } satisfies PeerDeath);
      }
      const after = this.live().join(',');
      if (before !== after) this.log.info({ live: this.live() }, 'cluster membership changed');
      this.emit('change', this.live());
    } else if (m.type === 'stats') {
      this.mSent.inc(m.sent - this.lastStats.sent);
      this.mReceived.inc(m.received - this.lastStats.received);
      if (m.nonPrimary > this.lastStats.nonPrimary) this.mNonPrimary.inc(m.nonPrimary - this.lastStats.nonPrimary);
      for (const [reason, n] of Object.entries(m.dropped) as Array<[HeartbeatDrop, number]>) {
        const d = n - (this.lastStats.dropped[reason] ?? 0);
        if (d > 0) this.mDropped.inc({ reason }, d);
      }
      if (m.stalls > this.lastStats.stalls) this.mStalls.inc(m.stalls - this.lastStats.stalls);
      if (m.lateSends > this.lastStats.lateSends) this.mLate.inc(m.lateSends - this.lastStats.lateSends);
      this.maxSendGapMs = m.maxSendGapMs;
      this.maxGcMs = m.maxGcMs;
      this.lastStats = { sent: m.sent, received: m.received, nonPrimary: m.nonPrimary, stalls: m.stalls, lateSends: m.lateSends, dropped: { ...m.dropped } };
    } else if (m.type === 'keyUse') {
      const info = { peer: m.name || m.peer, address: m.peer, keyId: m.id };
      if (m.primary) this.log.info(info, `cluster member ${info.peer} signs with this node's primary cluster key (${m.id})`);
      else this.log.warn(info, `cluster member ${info.peer} signs with cluster key ${m.id}, not this node's primary: accepted (a rotation in progress); drop that key only once no member uses it`);
    } else if (m.type === 'error') {
      this.log.error({ err: m.message }, 'heartbeat socket error');
    }
  }
}
