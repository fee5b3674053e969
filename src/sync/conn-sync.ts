// ConnSync: the main thread's handle on connection-state sync. Starts the sync worker thread
// (worker.ts: its own socket, its own loop), restarts it if it dies, turns its cumulative stats
// into Prometheus metrics (edgelb_sync_*) and a view for the API. Sync needs the XDP data path and
// a multi-node cluster with a key; it never touches the heartbeat.
import { Worker } from 'node:worker_threads';
import { networkInterfaces } from 'node:os';
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import { canonicalIp, familyOf } from '../lib/addr.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { FromSyncWorker, SyncWorkerConfig, SyncWorkerStats, ToSyncWorker } from './worker.js';
import { startWorker } from '../lib/worker.js';
import { ringOf, type KeyRing, type MacKeys } from '../lib/cluster-keys.js';
import type { SyncRow } from '../model/views.js';

export interface ConnSyncOptions {
  self: string;
  /** cluster.listen (host:port of the heartbeat): the sync socket binds its host. */
  listen: string;
  /** cluster.members (host or host:port), this node included. */
  members: readonly string[];
  port: number;
  /** The cluster key ring (sign with the primary, accept any; setKeys replaces it), or one key. */
  key: MacKeys;
  pinDir: string;
  clockObject: string;
  refreshMs: number;
  queueLimit: number;
  tickMs?: number;
  packetsPerTick?: number;
  helloMs?: number;
  logger: Logger;
  registry: Registry;
}

/** What GET /v1/sync shows of the thread (the REST row less the SNAT addresses, which sync-wiring adds). */
export type SyncView = Omit<SyncRow, 'snatHeld'>;

/** The host of "host", "host:port" or "[v6]:port", canonical; undefined if it is not an address. */
export function hostOf(member: string): string | undefined {
  let h = member.trim();
  const br = /^\[([^\]]+)\](?::\d+)?$/.exec(h);
  if (br) h = br[1]!;
  else if (familyOf(h) === 0 && /:\d+$/.test(h) && h.indexOf(':') === h.lastIndexOf(':')) h = h.replace(/:\d+$/, '');
  return familyOf(h) ? canonicalIp(h) : undefined;
}

const keyOf = (host: string, port: number) => (familyOf(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);

export class ConnSync {
  private readonly log: Logger;
  private readonly host: string;
  private peers: Array<{ host: string; port: number; key: string }>;
  private readonly locals = new Set<string>();
  private worker: Worker | undefined;
  private running = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private restarts = 0;
  private last: SyncWorkerStats | undefined;
  private lastErrorLog = 0;
  private readonly m: {
    sent: Counter;
    received: Counter;
    applied: Counter;
    skipped: Counter<'reason'>;
    dropped: Counter<'reason'>;
    bulk: Counter;
    queued: Gauge;
    lag: Gauge;
    lagMax: Gauge;
    peersKnown: Gauge;
    restarts: Counter;
    nonPrimary: Counter;
  };
  private keys: KeyRing;

  constructor(private readonly opts: ConnSyncOptions) {
    this.log = opts.logger.child({ subsystem: 'sync' });
    const listenHost = hostOf(opts.listen);
    if (!listenHost) throw new EdgelbError('EDGELB_ERR_CLUSTER', `cluster.listen ${opts.listen}: no address for the sync socket`);
    this.host = listenHost;
    if (listenHost === '0.0.0.0' || listenHost === '::') for (const l of Object.values(networkInterfaces())) for (const a of l ?? []) this.locals.add(canonicalIp(a.address));
    this.peers = this.peersOf(opts.members);
    this.keys = ringOf(opts.key instanceof Uint8Array ? Uint8Array.from(opts.key) : opts.key);
    if (this.peers.length > 0 && this.keys.send.length === 0) throw new EdgelbError('EDGELB_ERR_CLUSTER', 'connection sync needs the cluster key');
    const registers = [opts.registry];
    this.m = {
      sent: new Counter({ name: 'edgelb_sync_entries_sent_total', help: 'Flow records sent to peers (one per peer)', registers }),
      received: new Counter({ name: 'edgelb_sync_entries_received_total', help: 'Flow records received in authenticated, fresh batches', registers }),
      applied: new Counter({ name: 'edgelb_sync_entries_applied_total', help: 'Flow records inserted into this node\'s conntrack', registers }),
      skipped: new Counter({ name: 'edgelb_sync_entries_skipped_total', help: 'Flow records received but not inserted, by reason (stale, noService, noBackend, conflict, invalid, failed)', labelNames: ['reason'], registers }),
      dropped: new Counter({ name: 'edgelb_sync_dropped_total', help: 'Records or datagrams dropped, by reason (queue-full, ring-full, no-peer-boot, send-error, and the codec\'s: unauthenticated, replayed, stale, truncated, oversize, malformed, unknown-sender)', labelNames: ['reason'], registers }),
      bulk: new Counter({ name: 'edgelb_sync_bulk_entries_sent_total', help: 'Flow records sent in bulk resyncs to peers that joined or restarted', registers }),
      queued: new Gauge({ name: 'edgelb_sync_queue_entries', help: 'Flow records waiting to be sent', registers }),
      lag: new Gauge({ name: 'edgelb_sync_lag_ms', help: 'Age of the newest batch\'s oldest flow news when applied here (ms; excludes network transit)', registers }),
      lagMax: new Gauge({ name: 'edgelb_sync_lag_max_ms', help: 'Largest edgelb_sync_lag_ms seen', registers }),
      peersKnown: new Gauge({ name: 'edgelb_sync_peers_known', help: 'Peers whose sync socket answered (they receive flows)', registers }),
      restarts: new Counter({ name: 'edgelb_sync_worker_restarts_total', help: 'Sync threads restarted after they died', registers }),
      nonPrimary: new Counter({ name: 'edgelb_sync_nonprimary_key_total', help: 'Sync datagrams accepted that were signed with a key other than this node\'s primary cluster key (a rotation in progress)', registers }),
    };
  }

  /** The other members' sync sockets (this node and non-addresses left out), sorted. */
  private peersOf(members: readonly string[]): Array<{ host: string; port: number; key: string }> {
    const hosts = new Set<string>();
    for (const mem of members) {
      const h = hostOf(mem);
      if (h && h !== this.host && !this.locals.has(h)) hosts.add(h);
    }
    return [...hosts].sort().map((h) => ({ host: h, port: this.opts.port, key: keyOf(h, this.opts.port) }));
  }

  /**
   * A new member set (Kubernetes: edgelb's ready pods come and go). The thread sends to the new
   * peers at once and forgets the ones that left: their datagrams are then 'unknown-sender'.
   * Returns whether the peers changed.
   */
  setMembers(members: readonly string[]): boolean {
    const next = this.peersOf(members);
    if (next.map((p) => p.key).join() === this.peers.map((p) => p.key).join()) return false;
    if (next.length > 0 && this.keys.send.length === 0) throw new EdgelbError('EDGELB_ERR_CLUSTER', 'connection sync needs the cluster key');
    this.log.info({ from: this.peers.map((p) => p.key), to: next.map((p) => p.key) }, 'connection sync peers changed');
    this.peers = next;
    this.worker?.postMessage({ type: 'peers', peers: next } satisfies ToSyncWorker);
    return true;
  }

  /** A new key ring (a rotation step): the thread signs with its primary from now on and accepts any listed key. */
  setKeys(keys: KeyRing): void {
    this.keys = keys;
    this.worker?.postMessage({ type: 'keys', keys } satisfies ToSyncWorker);
  }

  /** The peers' sync sockets now ("host:port"). */
  peerKeys(): string[] {
    return this.peers.map((p) => p.key);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.spawn();
  }

  private async spawn(): Promise<void> {
    const cfg: SyncWorkerConfig = {
      self: this.opts.self,
      listenHost: this.host,
      listenPort: this.opts.port,
      peers: this.peers,
      key: this.keys,
      pinDir: this.opts.pinDir,
      clockObject: this.opts.clockObject,
      tickMs: this.opts.tickMs ?? 10,
      queueLimit: this.opts.queueLimit,
      packetsPerTick: this.opts.packetsPerTick ?? 64,
      refreshMs: this.opts.refreshMs,
      helloMs: this.opts.helloMs ?? 1000,
    };
    const w = startWorker(import.meta.url, 'worker', cfg);
    this.worker = w;
    this.last = undefined; // a new thread counts from 0
    const started = new Promise<void>((resolve, reject) => {
      w.on('message', (m: FromSyncWorker) => {
        if (this.worker !== w && m.type !== 'stats') return;
        if (m.type === 'ready') {
          this.log.info({ port: m.port, peers: this.peers.length, scheduling: m.scheduling }, 'connection sync started');
          resolve();
        } else if (m.type === 'error') {
          const now = Date.now();
          if (now - this.lastErrorLog > 5000) {
            this.lastErrorLog = now;
            this.log.warn({ err: m.message }, 'connection sync error (repeats are logged every 5 s)');
          }
          reject(new EdgelbError('EDGELB_ERR_CLUSTER', `connection sync: ${m.message}`));
        } else if (m.type === 'stats') {
          this.onStats(m.stats);
        }
      });
      w.on('error', (e) => reject(new EdgelbError('EDGELB_ERR_CLUSTER', `sync worker failed: ${errorMessage(e)}`, { cause: e })));
      w.once('exit', (code) => {
        if (this.worker !== w) return;
        this.worker = undefined;
        reject(new EdgelbError('EDGELB_ERR_CLUSTER', `sync thread exited (${code})`));
        if (!this.running) return;
        this.log.error({ code }, 'connection sync thread exited: restarting it in 1 s');
        this.restartTimer = setTimeout(() => {
          this.restarts++;
          this.m.restarts.inc();
          this.spawn().catch((e) => this.log.error({ err: errorMessage(e) }, 'connection sync restart failed'));
        }, 1000);
      });
    });
    try {
      await started;
    } catch (e) {
      if (this.worker === w) {
        this.worker = undefined;
        void w.terminate();
      }
      throw e;
    }
  }

  private onStats(s: SyncWorkerStats): void {
    const p = this.last;
    const d = (now: number, before: number | undefined) => Math.max(0, now - (before ?? 0));
    this.m.sent.inc(d(s.sent, p?.sent));
    this.m.received.inc(d(s.received, p?.received));
    this.m.applied.inc(d(s.applied.applied, p?.applied.applied));
    this.m.bulk.inc(d(s.bulkSent, p?.bulkSent));
    this.m.nonPrimary.inc(d(s.nonPrimary ?? 0, p?.nonPrimary));
    for (const k of ['stale', 'noService', 'noBackend', 'conflict', 'invalid', 'failed'] as const) {
      const v = d(s.applied[k], p?.applied[k]);
      if (v) this.m.skipped.inc({ reason: k }, v);
    }
    for (const [k, v] of Object.entries(s.dropped)) {
      const x = d(v ?? 0, p?.dropped[k as keyof typeof s.dropped]);
      if (x) this.m.dropped.inc({ reason: k }, x);
    }
    this.m.queued.set(s.queued);
    this.m.lag.set(s.lagLastMs);
    this.m.lagMax.set(s.lagMaxMs);
    this.m.peersKnown.set(s.peersKnown);
    this.last = structuredClone(s);
  }

  view(): SyncView {
    const s = this.last;
    const { applied, ...skipped } = s?.applied ?? { applied: 0 };
    return {
      listen: keyOf(this.host, this.opts.port),
      peers: this.peers.length,
      peerAddresses: this.peerKeys(),
      peersKnown: s?.peersKnown ?? 0,
      sent: s?.sent ?? 0,
      received: s?.received ?? 0,
      applied,
      bulkSent: s?.bulkSent ?? 0,
      queued: s?.queued ?? 0,
      lagLastMs: s?.lagLastMs ?? 0,
      lagMaxMs: s?.lagMaxMs ?? 0,
      skipped: skipped as Record<string, number>,
      dropped: { ...(s?.dropped ?? {}) } as Record<string, number>,
      restarts: this.restarts,
    };
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    const exited = new Promise<void>((r) => w.once('exit', () => r()));
    w.postMessage({ type: 'stop' } satisfies ToSyncWorker);
    const t = setTimeout(() => void w.terminate(), 1000);
    await exited;
    clearTimeout(t);
  }
}
