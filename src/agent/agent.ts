// The node agent: the only place that turns a DesiredState plus live facts (shard masters,
// endpoint health, data-path health, drain) into calls on the engines. It recomputes a plan on
// every change and calls an engine only when that engine's input changed, so a reload that
// touches one service disturbs nothing else.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DesiredState } from '../model/desired-state.js';
import type { HaRow, Readiness, ServiceRow } from '../model/views.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import { computePlan, type Facts, type Plan, type VipView } from './plan.js';
import type { Engines, ShardView } from './ports.js';

/** The engines the agent drives, as failures name them. */
export type EngineName = 'health' | 'dataplane' | 'bgp-peers' | 'bgp' | 'l2';

/** What one reconcile did: every engine took its input, or which ones lag and why. */
export interface ApplyResult {
  ok: boolean;
  lagging: Array<{ engine: EngineName; error: string }>;
}

/** A desired state some engines could not take (they keep their previous input and are retried). */
export class ApplyPartialError extends EdgelbError {
  constructor(readonly lagging: ApplyResult['lagging']) {
    super('EDGELB_ERR_APPLY_PARTIAL', `not applied by ${lagging.map((l) => `${l.engine} (${l.error})`).join(', ')}; retrying`);
  }
}

export interface AgentOptions {
  nodeName: string;
  engines: Engines;
  logger: Logger;
  registry?: Registry;
  /** How often the data path's health is polled (ms); 0 = never (tests call notify()). */
  dataplaneHealthIntervalMs?: number;
}

/** Stable key of an engine input, to tell whether it changed since the last call. */
function keyOf(x: unknown): string {
  return JSON.stringify(x);
}

export class Agent extends EventEmitter {
  private state: DesiredState | null = null;
  private drained = false;
  private plan: Plan | null = null;
  private last = { peers: '', ads: '', owned: '', dataplane: '', health: '' };
  private eorSent = false;
  private running: Promise<ApplyResult> = Promise.resolve({ ok: true, lagging: [] });
  /** What the speaker and the announcer hold now (new VIPs wait while the data path lags). */
  private lastAds = new Set<string>();
  private lastOwned = new Set<string>();
  private retryDelayMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryEnabled = true;
  private readonly inSync: Gauge<'engine'> | undefined;
  private pending = false;
  private dpTimer: NodeJS.Timeout | undefined;
  private lastDpHealth = '';
  private readonly reconciles: Counter | undefined;
  private readonly announcedGauge: Gauge | undefined;

  constructor(private readonly opts: AgentOptions) {
    super();
    if (opts.registry) {
      this.reconciles = new Counter({
        name: 'edgelb_agent_reconciles_total',
        help: 'Reconciles of the desired state into the engines, by result',
        labelNames: ['result'],
        registers: [opts.registry],
      });
      this.inSync = new Gauge({
        name: 'edgelb_agent_engine_in_sync',
        help: '1 when the engine runs the current desired state, 0 while it lags (its last call failed)',
        labelNames: ['engine'],
        registers: [opts.registry],
      });
      this.announcedGauge = new Gauge({
        name: 'edgelb_vip_announced',
        help: 'Whether this node announces a VIP, by method (bgp, l2)',
        labelNames: ['vip', 'method'],
        registers: [opts.registry],
      });
    }
    const every = opts.dataplaneHealthIntervalMs ?? 1000;
    if (every > 0 && opts.engines.dataplane) {
      this.dpTimer = setInterval(() => {
        const h = keyOf(this.opts.engines.dataplane!.health());
        if (h !== this.lastDpHealth) this.notify('dataplane health changed');
      }, every);
      this.dpTimer.unref();
    }
  }

  /**
   * Take a new desired state (first load or reload) and reconcile. Rejects with ApplyPartialError
   * (EDGELB_ERR_APPLY_PARTIAL) naming each engine that could not take it: those keep their previous
   * input and are retried (back-off, and on every change); the others run the new state.
   */
  async apply(state: DesiredState): Promise<void> {
    this.state = state;
    const r = await this.schedule('desired state');
    if (!r.ok) throw new ApplyPartialError(r.lagging);
  }

  /** Something the plan depends on changed (health, shards, data path): reconcile soon. */
  async notify(why: string): Promise<void> {
    await this.schedule(why);
  }

  /** Withdraw every VIP of this node and keep them withdrawn until undrain (rejects like apply). */
  async drain(): Promise<void> {
    this.drained = true;
    const r = await this.schedule('drain');
    if (!r.ok) throw new ApplyPartialError(r.lagging);
  }

  async undrain(): Promise<void> {
    this.drained = false;
    const r = await this.schedule('undrain');
    if (!r.ok) throw new ApplyPartialError(r.lagging);
  }

  isDrained(): boolean {
    return this.drained;
  }

  stop(): void {
    if (this.dpTimer) clearInterval(this.dpTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryEnabled = false;
  }

  /** Serialise reconciles; coalesce triggers that arrive while one runs. */
  private schedule(why: string): Promise<ApplyResult> {
    if (this.pending) return this.running;
    this.pending = true;
    this.running = this.running.then(async () => {
      this.pending = false;
      return this.reconcile(why);
    });
    return this.running;
  }

  private facts(): Facts {
    const { shards, health, dataplane } = this.opts.engines;
    return {
      isMaster: (s) => (shards ? shards.isMaster(s) : true),
      masterOf: (s) => (shards ? shards.masterOf(s) : this.opts.nodeName),
      epochOf: (s) => (shards ? (shards.view().find((v) => v.shard === s)?.epoch ?? 0) : 0),
      isHealthy: (svc, ep) => (health ? health.isHealthy(svc, ep) : true),
      dataplane: dataplane ? dataplane.health() : null,
      drained: this.drained,
    };
  }

  private async reconcile(why: string): Promise<ApplyResult> {
    const state = this.state;
    if (!state) return { ok: true, lagging: [] };
    const { bgp, l2, dataplane, health } = this.opts.engines;
    const facts = this.facts();
    this.lastDpHealth = keyOf(facts.dataplane);
    const plan = computePlan(state, facts);
    this.plan = plan;
    const log = this.opts.logger;
    const lagging: ApplyResult['lagging'] = [];
    /** Run one engine's step; a throw marks that engine as lagging and the others go on. */
    const step = async (engine: EngineName, fn: () => void | Promise<void>): Promise<boolean> => {
      try {
        await fn();
        this.inSync?.set({ engine }, 1);
        return true;
      } catch (e) {
        lagging.push({ engine, error: errorMessage(e) });
        this.inSync?.set({ engine }, 0);
        return false;
      }
    };
    if (health) {
      const k = keyOf(plan.healthTargets);
      if (k !== this.last.health)
        await step('health', () => {
          health.setTargets(plan.healthTargets);
          this.last.health = k;
        });
    }
    let dataplaneOk = true;
    if (dataplane) {
      const k = keyOf(plan.dataplane);
      if (k !== this.last.dataplane)
        dataplaneOk = await step('dataplane', async () => {
          await dataplane.setServices(plan.dataplane);
          this.last.dataplane = k;
        });
    }
    // while the data path lags, announce nothing new (it may not be served); withdrawals proceed
    const ads = dataplaneOk ? plan.advertisements : plan.advertisements.filter((a) => this.lastAds.has(a.prefix));
    const owned = dataplaneOk ? plan.owned : plan.owned.filter((v) => this.lastOwned.has(v));
    if (!dataplaneOk && ads.length < plan.advertisements.length) lagging.push({ engine: 'bgp', error: 'new advertisements wait for the data path' });
    if (!dataplaneOk && l2 && owned.length < plan.owned.length) lagging.push({ engine: 'l2', error: 'new VIPs wait for the data path' });
    if (bgp && state.bgp) {
      const k = keyOf([state.bgp.peers, state.policies]);
      if (k !== this.last.peers)
        await step('bgp-peers', () => {
          bgp.setPeers(state.bgp!.peers, state.policies);
          this.last.peers = k;
        });
    }
    if (bgp) {
      const k = keyOf(ads);
      if (k !== this.last.ads)
        await step('bgp', () => {
          bgp.setAdvertisements(ads);
          this.last.ads = k;
          this.lastAds = new Set(ads.map((a) => a.prefix));
        });
      if (!this.eorSent && lagging.length === 0) {
        // End-of-RIB only once the first full desired state is programmed everywhere
        await step('bgp', () => {
          bgp.setInitialReconcileDone();
          this.eorSent = true;
        });
      }
    }
    if (l2) {
      const k = keyOf(owned);
      if (k !== this.last.owned)
        await step('l2', () => {
          l2.setOwned(owned);
          this.last.owned = k;
          this.lastOwned = new Set(owned);
        });
    }
    this.updateGauges(plan.vips);
    if (lagging.length === 0) {
      this.retryDelayMs = 0;
      this.reconciles?.inc({ result: 'ok' });
      log.debug({ why, vips: plan.vips.length }, 'reconciled');
      this.emit('reconciled', plan);
      return { ok: true, lagging };
    }
    this.reconciles?.inc({ result: 'error' });
    this.retryDelayMs = Math.min(30_000, this.retryDelayMs ? this.retryDelayMs * 2 : 1000);
    log.error({ why, lagging, retryInMs: this.retryDelayMs }, `reconcile incomplete: ${lagging.map((l) => l.engine).join(', ')} lag behind the desired state; retrying`);
    this.emit('error-reconcile', new ApplyPartialError(lagging));
    if (!this.retryTimer && this.retryEnabled) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.notify('retry after a failed engine');
      }, this.retryDelayMs);
      this.retryTimer.unref();
    }
    return { ok: false, lagging };
  }

  private updateGauges(vips: VipView[]): void {
    if (!this.announcedGauge) return;
    this.announcedGauge.reset();
    for (const v of vips) {
      this.announcedGauge.set({ vip: v.vip, method: 'bgp' }, v.bgp.announced ? 1 : 0);
      this.announcedGauge.set({ vip: v.vip, method: 'l2' }, v.l2.announced ? 1 : 0);
    }
  }

  // ---- read-only views for the API ----

  vips(): VipView[] {
    // who masters a shard can change without this node's announcements changing (another node
    // took it): read it now rather than from the last plan
    const shards = this.opts.engines.shards;
    return (this.plan?.vips ?? []).map((v) => (shards ? { ...v, master: shards.masterOf(v.shard) } : v));
  }

  /**
   * What this node hands its engines now, for the Kubernetes NodeReport: the prefixes given to the
   * BGP speaker, the VIPs given to the L2 announcer (this node answers ARP/NDP for them), and the
   * VIPs it withholds with the plan's reason (VIPs another node masters, or that a pool does not
   * announce that way, are not "withheld"). What the speaker actually sent is the speaker's to say.
   */
  carried(): { ads: string[]; owned: string[]; withheld: Array<{ vip: string; reason: string }> } {
    const withheld: Array<{ vip: string; reason: string }> = [];
    const quiet = new Set(['announced', 'announced-backup', 'not-shard-master', 'not-in-pool-mode']);
    for (const v of this.plan?.vips ?? []) {
      if (v.bgp.announced || v.l2.announced) continue;
      const d = [v.bgp, v.l2].find((x) => !quiet.has(x.reason));
      if (d) withheld.push({ vip: v.vip, reason: d.reason });
    }
    return { ads: [...this.lastAds].sort(), owned: [...this.lastOwned].sort(), withheld };
  }

  services(): ServiceRow[] {
    const state = this.state;
    if (!state) return [];
    const health = this.opts.engines.health;
    return state.services.map((s) => {
      const healthy = this.plan?.healthyEndpoints.get(s.name) ?? [];
      return {
        name: s.name,
        vips: s.vips,
        pool: s.pool,
        shard: s.shard,
        mode: s.mode,
        ports: s.ports,
        endpoints: s.endpoints.map((e) => ({
          address: e.address,
          ready: e.ready,
          healthy: e.ready && (s.probe.type === 'none' || !health || health.isHealthy(s.name, e.address)),
        })),
        healthyEndpoints: healthy.length,
      };
    });
  }

  ha(): HaRow {
    const shards = this.opts.engines.shards;
    const n = this.state?.cluster?.shards ?? 1;
    const view: ShardView[] = shards
      ? shards.view()
      : Array.from({ length: n }, (_, shard) => ({ shard, state: 'MASTER' as const, master: this.opts.nodeName, epoch: 0 }));
    return { node: this.opts.nodeName, drained: this.drained, shards: view };
  }

  readiness(): Readiness {
    const reasons: string[] = [];
    if (!this.state) reasons.push('no configuration applied yet');
    else if (!this.plan) reasons.push('first reconcile not finished');
    const dp = this.opts.engines.dataplane?.health();
    if (dp && !dp.ok) reasons.push(`data path: ${dp.reason ?? 'unhealthy'}`);
    const cluster = this.opts.engines.shards?.health?.();
    if (cluster && !cluster.ok) reasons.push(`cluster: ${cluster.reason ?? 'fenced'}`);
    return { ready: reasons.length === 0, reasons };
  }
}
