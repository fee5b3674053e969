// ShardManager: decides which shards this node masters, from Membership's live set, quorum and
// the claims every node carries in its heartbeats. Ownership changes are fenced by an epoch:
// a node takes a shard only when no live node still claims it (the predecessor released it or is
// dead), with an epoch above every epoch seen for that shard, and releases at once when the plan
// or the loss of quorum says so. A node that returns waits holdDownMs before it is eligible.
import { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';
import { EdgelbError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { PeerDeath, PeerInfo } from './membership.js';
import { planShards } from './ownership.js';

export const DEFAULT_HOLD_DOWN_MS = 3000;

/** What ShardManager needs of Membership (an interface, so tests can drive it). */
export interface MembershipView extends EventEmitter {
  readonly self: string;
  peers(): PeerInfo[];
  hasQuorum(): boolean;
  memberCount(): number;
  setPayload(payload: unknown): void;
}

/** The heartbeat payload: eligibility and the shards held, with their epochs. */
export interface ShardClaims {
  e: boolean;
  c: Array<[shard: number, epoch: number]>;
}

export interface ShardState {
  shard: number;
  state: 'MASTER' | 'BACKUP';
  /** Name of the node that masters the shard now ('' when none does). */
  master: string;
  epoch: number;
}

export interface ShardManagerOptions {
  self: string;
  shards: number;
  membership: MembershipView;
  holdDownMs?: number;
  logger: Logger;
  registry: Registry;
}

export type ShardChange = { shard: number; action: 'take' | 'release'; epoch: number; reason: string; from?: string };

function parseClaims(p: unknown): ShardClaims {
  const o = p as Partial<ShardClaims> | undefined;
  const c = Array.isArray(o?.c) ? o.c.filter((x): x is [number, number] => Array.isArray(x) && Number.isInteger(x[0]) && Number.isInteger(x[1])) : [];
  return { e: o?.e === true, c };
}

export class ShardManager extends EventEmitter {
  readonly self: string;
  readonly shards: number;
  readonly holdDownMs: number;
  private readonly m: MembershipView;
  private readonly log: Logger;
  /** Shards this node masters → epoch. */
  private readonly held = new Map<number, number>();
  /** Highest epoch seen per shard. */
  private readonly epochs: number[];
  /** Last node seen mastering each shard, and when it was last heard from. */
  private readonly lastMaster: Array<{ name: string; seenMs: number } | undefined>;
  private readonly deaths = new Map<string, number>();
  private eligible = false;
  private quorumSince: number | null = null;
  private holdTimer: NodeJS.Timeout | undefined;
  private running = false;
  private viewCache: ShardState[] = [];
  private lastPayload = '';
  private readonly onChange = () => this.evaluate('membership');
  private readonly onDead = (d: PeerDeath) => this.deaths.set(d.name, d.lastSeenMs);
  private readonly mMaster: Gauge<'shard'>;
  private readonly mFailovers: Counter;
  private readonly mFailoverSeconds: Histogram;

  constructor(opts: ShardManagerOptions) {
    super();
    if (!Number.isInteger(opts.shards) || opts.shards < 1) throw new EdgelbError('EDGELB_ERR_CLUSTER', 'cluster.shards must be an integer >= 1');
    this.self = opts.self;
    this.shards = opts.shards;
    this.holdDownMs = opts.holdDownMs ?? DEFAULT_HOLD_DOWN_MS;
    this.m = opts.membership;
    this.log = opts.logger.child({ subsystem: 'shards' });
    this.epochs = new Array<number>(opts.shards).fill(0);
    this.lastMaster = new Array(opts.shards).fill(undefined);
    const registers = [opts.registry];
    this.mMaster = new Gauge({ name: 'edgelb_shard_master', help: '1 when this node masters the shard', labelNames: ['shard'], registers });
    this.mFailovers = new Counter({ name: 'edgelb_failovers_total', help: 'Shards this node took over from another master', registers });
    this.mFailoverSeconds = new Histogram({
      name: 'edgelb_failover_duration_seconds',
      help: 'From the last heartbeat of a dead master to this node taking its shard',
      buckets: [0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5],
      registers,
    });
    for (let s = 0; s < this.shards; s++) this.mMaster.set({ shard: String(s) }, 0);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.m.on('change', this.onChange);
    this.m.on('dead', this.onDead);
    this.evaluate('start');
  }

  /** Give up every shard and stop following membership. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.m.off('change', this.onChange);
    this.m.off('dead', this.onDead);
    if (this.holdTimer) clearTimeout(this.holdTimer);
    const changes: ShardChange[] = [];
    for (const [s, epoch] of this.held) changes.push({ shard: s, action: 'release', epoch, reason: 'stop' });
    this.held.clear();
    this.eligible = false;
    this.publish(changes);
  }

  isMaster(shard: number): boolean {
    return this.held.has(shard);
  }

  /** Name of the node mastering the shard now, '' when none. */
  masterOf(shard: number): string {
    return this.viewCache[shard]?.master ?? '';
  }

  /** Shards this node masters, ascending. */
  mastered(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** Per shard: this node's state, the master's name and the epoch (GET /v1/ha). */
  view(): ShardState[] {
    return this.viewCache.map((x) => ({ ...x }));
  }

  /** Whether this node may master shards now (quorum, hold-down over). */
  isEligible(): boolean {
    return this.eligible;
  }

  /** Recompute from the current membership view; called on every membership change. */
  evaluate(reason: string): void {
    if (!this.running) return;
    const now = Date.now();
    const peers = this.m.peers().map((p) => ({ ...p, claims: parseClaims(p.payload) }));
    const quorum = this.m.hasQuorum();
    if (!quorum) {
      if (this.eligible || this.quorumSince !== null) this.log.warn({ live: peers.length + 1, members: this.m.memberCount() }, 'lost sight of the majority: giving up every mastership');
      this.quorumSince = null;
      this.eligible = false;
    } else {
      this.quorumSince ??= now;
      if (!this.eligible) {
        const coldStart = !peers.some((p) => p.claims.e);
        if (this.m.memberCount() === 1 || coldStart || now - this.quorumSince >= this.holdDownMs) {
          this.eligible = true;
          this.log.info({ coldStart }, 'eligible for masterships');
        } else if (!this.holdTimer) {
          this.holdTimer = setTimeout(() => {
            this.holdTimer = undefined;
            this.evaluate('hold-down over');
          }, this.quorumSince + this.holdDownMs - now + 1);
        }
      }
    }
    // who claims what now (the highest epoch wins when two claim one shard)
    const current = new Array<string>(this.shards).fill('');
    const currentEpoch = new Array<number>(this.shards).fill(-1);
    const claim = (name: string, s: number, epoch: number, seenMs: number) => {
      if (s < 0 || s >= this.shards) return;
      if (epoch > this.epochs[s]!) this.epochs[s] = epoch;
      if (epoch > currentEpoch[s]! || (epoch === currentEpoch[s] && name < current[s]!)) {
        current[s] = name;
        currentEpoch[s] = epoch;
      }
      this.lastMaster[s] = { name, seenMs };
    };
    for (const p of peers) for (const [s, e] of p.claims.c) claim(p.name, s, e, p.lastSeenMs);
    for (const [s, e] of this.held) claim(this.self, s, e, now);
    const eligibleNodes = peers.filter((p) => p.claims.e).map((p) => p.name);
    if (this.eligible) eligibleNodes.push(this.self);
    const target = quorum ? planShards(this.shards, eligibleNodes, current) : new Array<string>(this.shards).fill('');
    const changes: ShardChange[] = [];
    // release first: a node stops answering before anyone else may start
    for (const [s, epoch] of this.held) {
      if (target[s] === this.self) continue;
      this.held.delete(s);
      changes.push({ shard: s, action: 'release', epoch, reason: quorum ? `rebalance to ${target[s] || 'none'}` : 'no quorum' });
    }
    for (let s = 0; s < this.shards; s++) {
      if (target[s] !== this.self || this.held.has(s)) continue;
      const other = peers.find((p) => p.claims.c.some(([cs]) => cs === s));
      if (other) continue; // fenced: wait until the holder says it released (or is declared dead)
      const epoch = this.epochs[s]! + 1;
      this.epochs[s] = epoch;
      this.held.set(s, epoch);
      const prev = this.lastMaster[s];
      const ch: ShardChange = { shard: s, action: 'take', epoch, reason };
      if (prev && prev.name !== this.self) {
        ch.from = prev.name;
        // a failover: the previous master is gone (a hand-over from a live node is not one)
        if (!peers.some((p) => p.name === prev.name)) {
          this.mFailovers.inc();
          const died = this.deaths.get(prev.name);
          if (died !== undefined) this.mFailoverSeconds.observe(Math.max(0, now - died) / 1000);
        }
      }
      this.lastMaster[s] = { name: this.self, seenMs: now };
      changes.push(ch);
    }
    for (let s = 0; s < this.shards; s++) {
      const mine = this.held.get(s);
      const master = mine !== undefined ? this.self : target[s] === this.self ? '' : current[s] && current[s] !== this.self ? current[s]! : '';
      this.viewCache[s] = { shard: s, state: mine !== undefined ? 'MASTER' : 'BACKUP', master, epoch: mine ?? Math.max(0, currentEpoch[s]!) };
    }
    this.publish(changes);
  }

  private publish(changes: ShardChange[]): void {
    const claims: ShardClaims = { e: this.eligible, c: [...this.held].sort((a, b) => a[0] - b[0]) };
    const text = JSON.stringify(claims);
    if (text !== this.lastPayload) {
      this.lastPayload = text;
      this.m.setPayload(claims);
    }
    for (let s = 0; s < this.shards; s++) this.mMaster.set({ shard: String(s) }, this.held.has(s) ? 1 : 0);
    if (!this.running) for (const v of this.viewCache) if (v.state === 'MASTER') Object.assign(v, { state: 'BACKUP', master: '' });
    for (const c of changes) this.log.info(c, c.action === 'take' ? 'shard taken' : 'shard released');
    if (changes.length) this.emit('change', changes);
  }
}
