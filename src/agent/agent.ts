// The node agent: the only place that turns a DesiredState plus live facts (shard masters,
// endpoint health, data-path health, drain) into calls on the engines. It recomputes a plan on
// every change and calls an engine only when that engine's input changed, so a reload that
// touches one service disturbs nothing else.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DesiredState } from '../model/desired-state.js';
import type { HaRow, Readiness, ServiceRow } from '../model/views.js';
import { errorMessage } from '../lib/errors.js';
import { computePlan, type Facts, type Plan, type VipView } from './plan.js';
import type { Engines, ShardView } from './ports.js';

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
  private running: Promise<void> = Promise.resolve();
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

  /** Take a new desired state (first load or reload) and reconcile. */
  apply(state: DesiredState): Promise<void> {
    this.state = state;
    return this.schedule('desired state');
  }

  /** Something the plan depends on changed (health, shards, data path): reconcile soon. */
  notify(why: string): Promise<void> {
    return this.schedule(why);
  }

  /** Withdraw every VIP of this node and keep them withdrawn until undrain. */
  drain(): Promise<void> {
    this.drained = true;
    return this.schedule('drain');
  }

  undrain(): Promise<void> {
    this.drained = false;
    return this.schedule('undrain');
  }

  isDrained(): boolean {
    return this.drained;
  }

  stop(): void {
    if (this.dpTimer) clearInterval(this.dpTimer);
  }

  /** Serialise reconciles; coalesce triggers that arrive while one runs. */
  private schedule(why: string): Promise<void> {
    if (this.pending) return this.running;
    this.pending = true;
    this.running = this.running.then(async () => {
      this.pending = false;
      await this.reconcile(why);
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

  private async reconcile(why: string): Promise<void> {
    const state = this.state;
    if (!state) return;
    const { bgp, l2, dataplane, health } = this.opts.engines;
    const facts = this.facts();
    this.lastDpHealth = keyOf(facts.dataplane);
    const plan = computePlan(state, facts);
    this.plan = plan;
    const log = this.opts.logger;
    try {
      if (health) {
        const k = keyOf(plan.healthTargets);
        if (k !== this.last.health) {
          health.setTargets(plan.healthTargets);
          this.last.health = k;
        }
      }
      if (dataplane) {
        const k = keyOf(plan.dataplane);
        if (k !== this.last.dataplane) {
          await dataplane.setServices(plan.dataplane);
          this.last.dataplane = k;
        }
      }
      if (bgp && state.bgp) {
        const k = keyOf([state.bgp.peers, state.policies]);
        if (k !== this.last.peers) {
          bgp.setPeers(state.bgp.peers, state.policies);
          this.last.peers = k;
        }
      }
      if (bgp) {
        const k = keyOf(plan.advertisements);
        if (k !== this.last.ads) {
          bgp.setAdvertisements(plan.advertisements);
          this.last.ads = k;
        }
        if (!this.eorSent) {
          // End-of-RIB only once the first full desired state is programmed everywhere
          bgp.setInitialReconcileDone();
          this.eorSent = true;
        }
      }
      if (l2) {
        const k = keyOf(plan.owned);
        if (k !== this.last.owned) {
          l2.setOwned(plan.owned);
          this.last.owned = k;
        }
      }
      this.updateGauges(plan.vips);
      this.reconciles?.inc({ result: 'ok' });
      log.debug({ why, vips: plan.vips.length }, 'reconciled');
      this.emit('reconciled', plan);
    } catch (e) {
      this.reconciles?.inc({ result: 'error' });
      log.error({ why, err: errorMessage(e) }, 'reconcile failed; will retry on the next change');
      this.emit('error-reconcile', e);
    }
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
