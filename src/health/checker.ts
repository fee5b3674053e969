// HealthChecker: probes every endpoint of every target on its own timer and reports which are
// healthy. Declarative: setTargets(list) diffs against the current set, so unchanged targets keep
// their state and timers.
//
// States: an endpoint starts `unknown`, which counts as healthy (a new service is not held back
// until its first probe, and a restarted daemon does not drop traffic while it re-probes). It turns
// `unhealthy` after `retries` consecutive failed probes (at least one), and `healthy` again after
// one successful probe. Only unknown/healthy -> unhealthy and unhealthy -> healthy emit 'change'.
// Probe type `none` is always healthy and never probed. An endpoint the checker does not watch
// (not, or not yet, passed to setTargets) is unknown, so isHealthy() is true for it: a caller that
// plans before it sets targets does not drop traffic. healthy(service) lists watched endpoints only.
//
// Events: 'change' (service, endpoint, healthy: boolean), 'probe' (service, endpoint, ProbeOutcome).
// Metrics: edgelb_endpoint_healthy{service,endpoint} (1/0), edgelb_health_probes_total{type,result}.
import { EventEmitter } from 'node:events';
import type { Counter, Gauge, Registry } from 'prom-client';
import { counterOn, gaugeOn } from '../lib/metrics.js';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { ProbeSpec } from '../model/desired-state.js';
import type { NativeBinding } from '../native/binding.js';
import { loadNative } from '../native/load.js';
import { defaultProbers } from './probes.js';
import { fail, type EndpointHealth, type HealthState, type HealthTarget, type ProbeOutcome, type Probers } from './types.js';

export interface HealthCheckerOptions {
  logger: Logger;
  registry: Registry;
  /** The addon for ping probes (default: loadNative() on the first ping). */
  native?: NativeBinding;
  /** Replace probers by type (tests). */
  probers?: Partial<Probers>;
  /** Spread the first probe of new endpoints over this many ms at most (default 200). */
  firstProbeJitterMs?: number;
}

interface Entry {
  service: string;
  endpoint: string;
  spec: ProbeSpec;
  port: number | undefined;
  key: string;
  state: HealthState;
  failures: number;
  lastOutcome?: ProbeOutcome;
  lastProbeAt?: number;
  timer?: NodeJS.Timeout;
  /** Bumped when the entry's probe changes or it is removed: a result of an older run is dropped. */
  generation: number;
}

function probeKey(spec: ProbeSpec, port: number | undefined): string {
  const { type, port: p, path, request, response, intervalMs, timeoutMs, retries } = spec;
  return JSON.stringify([type, p ?? port, path, request, response, intervalMs, timeoutMs, retries]);
}

function effective(state: HealthState): boolean {
  return state !== 'unhealthy';
}

export class HealthChecker extends EventEmitter {
  private readonly log: Logger;
  private readonly services = new Map<string, { order: string[]; entries: Map<string, Entry> }>();
  private readonly probers: Probers;
  private readonly closeProbers: () => void;
  private readonly healthyGauge: Gauge<'service' | 'endpoint'>;
  private readonly probesTotal: Counter<'type' | 'result'>;
  private readonly jitterMs: number;
  private stopped = false;

  constructor(opts: HealthCheckerOptions) {
    super();
    this.log = opts.logger.child({ subsystem: 'health' });
    let native = opts.native;
    const defaults = defaultProbers(() => (native ??= loadNative()));
    this.probers = { ...defaults.probers, ...opts.probers };
    this.closeProbers = defaults.close;
    this.jitterMs = opts.firstProbeJitterMs ?? 200;
    this.healthyGauge = gaugeOn(opts.registry, {
      name: 'edgelb_endpoint_healthy',
      help: 'Whether a service endpoint passes its health probe (1) or not (0); unknown counts as 1',
      labelNames: ['service', 'endpoint'] as const,
    });
    this.probesTotal = counterOn(opts.registry, {
      name: 'edgelb_health_probes_total',
      help: 'Health probes run, by probe type and result (ok or the failure reason)',
      labelNames: ['type', 'result'] as const,
    });
  }

  /** Replace the watched set. Unchanged (service, endpoint, probe) keep state and timers. */
  setTargets(targets: HealthTarget[]): void {
    if (this.stopped) throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', 'HealthChecker.setTargets after stop()');
    const seen = new Set<string>();
    for (const t of targets) {
      if (seen.has(t.service)) {
        throw new EdgelbError('EDGELB_ERR_INVALID_ARGUMENT', `health target ${t.service} is listed twice`);
      }
      seen.add(t.service);
    }
    for (const [service, svc] of this.services) {
      if (!seen.has(service)) {
        for (const e of svc.entries.values()) this.remove(e);
        this.services.delete(service);
      }
    }
    for (const t of targets) {
      const order = [...new Set(t.endpoints)];
      let svc = this.services.get(t.service);
      if (!svc) {
        svc = { order, entries: new Map() };
        this.services.set(t.service, svc);
      }
      svc.order = order;
      const key = probeKey(t.probe, t.port);
      for (const [endpoint, e] of svc.entries) {
        if (!order.includes(endpoint)) {
          this.remove(e);
          svc.entries.delete(endpoint);
        }
      }
      for (const endpoint of order) {
        const e = svc.entries.get(endpoint);
        if (!e) {
          svc.entries.set(endpoint, this.add(t, endpoint, key));
        } else if (e.key !== key) {
          this.reprobe(e, t, key);
        }
      }
    }
  }

  /** false only for an endpoint that failed `retries` probes in a row; unwatched ones are unknown (true). */
  isHealthy(service: string, endpoint: string): boolean {
    const e = this.services.get(service)?.entries.get(endpoint);
    return e === undefined || effective(e.state);
  }

  /** The healthy endpoints of a service, in the order setTargets gave them. */
  healthy(service: string): string[] {
    const svc = this.services.get(service);
    if (!svc) return [];
    return svc.order.filter((ep) => effective(svc.entries.get(ep)!.state));
  }

  /** Every watched endpoint (of one service, or all) with its state and last probe. */
  status(service?: string): EndpointHealth[] {
    const out: EndpointHealth[] = [];
    for (const [name, svc] of this.services) {
      if (service !== undefined && name !== service) continue;
      for (const ep of svc.order) {
        const e = svc.entries.get(ep)!;
        const h: EndpointHealth = {
          service: name,
          endpoint: ep,
          healthy: effective(e.state),
          state: e.state,
          failures: e.failures,
          probe: e.spec.type,
        };
        if (e.lastOutcome) h.lastOutcome = e.lastOutcome;
        if (e.lastProbeAt !== undefined) h.lastProbeAt = e.lastProbeAt;
        out.push(h);
      }
    }
    return out;
  }

  /** Stop every timer and close the probe sockets. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const svc of this.services.values()) {
      for (const e of svc.entries.values()) {
        clearTimeout(e.timer);
        e.generation++;
      }
    }
    this.closeProbers();
  }

  private add(t: HealthTarget, endpoint: string, key: string): Entry {
    const e: Entry = {
      service: t.service,
      endpoint,
      spec: t.probe,
      port: t.probe.port ?? t.port,
      key,
      state: t.probe.type === 'none' ? 'healthy' : 'unknown',
      failures: 0,
      generation: 0,
    };
    this.healthyGauge.set({ service: e.service, endpoint }, 1);
    this.schedule(e, Math.floor(Math.random() * Math.min(this.jitterMs, e.spec.intervalMs)));
    return e;
  }

  /** The probe of an existing endpoint changed: keep its health, restart counting and probing. */
  private reprobe(e: Entry, t: HealthTarget, key: string): void {
    clearTimeout(e.timer);
    e.timer = undefined;
    e.generation++;
    e.spec = t.probe;
    e.port = t.probe.port ?? t.port;
    e.key = key;
    e.failures = 0;
    if (t.probe.type === 'none') this.transition(e, 'healthy', undefined);
    this.schedule(e, 0);
  }

  private remove(e: Entry): void {
    clearTimeout(e.timer);
    e.timer = undefined;
    e.generation++;
    this.healthyGauge.remove({ service: e.service, endpoint: e.endpoint });
  }

  private schedule(e: Entry, delayMs: number): void {
    if (this.stopped || e.spec.type === 'none') return;
    e.timer = setTimeout(() => void this.runProbe(e), delayMs);
  }

  private async runProbe(e: Entry): Promise<void> {
    e.timer = undefined;
    const gen = e.generation;
    const type = e.spec.type;
    if (type === 'none') return;
    let outcome: ProbeOutcome;
    try {
      outcome = await this.probers[type]({ address: e.endpoint, port: e.port, spec: e.spec });
    } catch (err) {
      outcome = fail(performance.now(), 'error', errorMessage(err));
    }
    if (gen !== e.generation || this.stopped) return; // removed, changed or stopped meanwhile
    e.lastOutcome = outcome;
    e.lastProbeAt = Date.now();
    this.probesTotal.inc({ type, result: outcome.ok ? 'ok' : (outcome.failure ?? 'error') });
    if (outcome.ok) {
      e.failures = 0;
      this.transition(e, 'healthy', outcome);
    } else {
      e.failures++;
      if (e.failures >= Math.max(1, e.spec.retries)) this.transition(e, 'unhealthy', outcome);
    }
    this.emit('probe', e.service, e.endpoint, outcome);
    this.schedule(e, e.spec.intervalMs);
  }

  private transition(e: Entry, next: HealthState, outcome: ProbeOutcome | undefined): void {
    const before = effective(e.state);
    e.state = next;
    const after = effective(next);
    if (before === after) return;
    this.healthyGauge.set({ service: e.service, endpoint: e.endpoint }, after ? 1 : 0);
    const why = outcome && !outcome.ok ? `${outcome.failure}${outcome.detail ? ` (${outcome.detail})` : ''}` : 'probe passed';
    this.log.info(
      { service: e.service, endpoint: e.endpoint, healthy: after, probe: e.spec.type, failures: e.failures, reason: why },
      `endpoint ${e.endpoint} of ${e.service} is now ${after ? 'healthy' : 'unhealthy'}: ${why}`,
    );
    this.emit('change', e.service, e.endpoint, after);
  }
}
