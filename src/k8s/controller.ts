// The leader's executor: runs the writes that plan.ts decides. Glue only, no decisions:
// - the plan sees the cluster as it will be: Services overlaid with the writes this pod queued or
//   made that the watch cache does not show yet (by resourceVersion), so nothing is assigned or
//   written twice while the cache lags;
// - one write per Service (a PATCH of the status subresource carries status, condition and the
//   allocation annotations), at most `concurrency` in flight, no phase barriers: a Service's
//   write starts as soon as a worker is free; Events and IPPool/BGPPeer/BGPPolicy status come
//   after the Service writes waiting at that moment, and take at most an eighth of the slots, so a
//   burst of new Services never queues behind its own Events;
// - a new write for a Service whose write is still queued merges into it; writes for one
//   Service never run concurrently; a failed write drops its overlay and asks for a retry.
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { serviceKey } from './annotations.js';
import { planWrites, type ObjectStatusWrite, type ServiceWrite } from './plan.js';
import { involvedEvent, withAnnotations, type EventSpec } from './status.js';
import { GROUP, VERSION, statusOf, type KubeWriter } from './client.js';
import type { ClusterView, TranslateOptions } from './translate.js';
import type { K8sMetrics } from './metrics.js';
import type { ServiceObj } from './types.js';

export interface LeaderDeps {
  writer: Pick<KubeWriter, 'patchServiceStatus' | 'createEvent' | 'applyClusterStatus'>;
  log: Logger;
  identity: string;
  metrics: K8sMetrics;
  namespaceLabels: (ns: string) => Record<string, string> | undefined;
  /** Writes in flight at once (default 64; the API server's mutating limit is 200 by default). */
  concurrency?: number;
  /** Called when a failed write may be tried again: reconcile soon. */
  onRetry?: () => void;
}

/** What a Service write changes, kept until the watch cache shows it. */
interface Overlay {
  ann?: Record<string, string | null>;
  status?: ServiceObj['status'];
  /** resourceVersion the write produced (0 while queued or in flight). */
  rv: number;
  done: boolean;
}

interface ServiceJob {
  write: ServiceWrite;
  events: EventSpec[];
}

const isoNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const rvOf = (o: { metadata: { resourceVersion?: string } }) => Number(o.metadata.resourceVersion ?? 0);

export class LeaderController {
  private readonly overlays = new Map<string, Overlay>();
  private readonly queued = new Map<string, ServiceJob>();
  private readonly busy = new Set<string>();
  private low: Array<{ key: string; run: () => Promise<void> }> = [];
  private readonly lowKeys = new Set<string>();
  /** Object status last sent (signature, resourceVersion), so a lagging cache does not resend it. */
  private readonly objSent = new Map<string, { sig: string; rv: number }>();
  private active = 0;
  /** Events and object status in flight (at most an eighth of the slots). */
  private lowActive = 0;
  private idleWaiters: Array<() => void> = [];
  private epoch = 0;
  private loggedRebuild = false;
  /** Writes that failed: not re-sent before `until` (0.25 s doubling to 30 s), so a refused write never loops. */
  private readonly held = new Map<string, { until: number; delay: number }>();

  constructor(private readonly d: LeaderDeps) {}

  /** Call on gaining or losing leadership: forget everything queued and overlaid. */
  reset(): void {
    this.epoch++;
    this.overlays.clear();
    this.queued.clear();
    this.low = [];
    this.lowKeys.clear();
    this.objSent.clear();
    this.held.clear();
    this.loggedRebuild = false;
  }

  private isHeld(id: string): boolean {
    const h = this.held.get(id);
    return h !== undefined && Date.now() < h.until;
  }

  /** Hold a failed write back, then ask for a new pass once the hold is over. */
  private hold(id: string): void {
    const delay = Math.min((this.held.get(id)?.delay ?? 125) * 2, 30_000);
    this.held.set(id, { until: Date.now() + delay, delay });
    const epoch = this.epoch;
    setTimeout(() => {
      if (epoch === this.epoch) this.d.onRetry?.();
    }, delay + 5).unref();
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.active === 0 && this.queued.size === 0 && this.low.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Plan against the cache (plus what is on its way) and queue the writes. Returns at once. */
  reconcile(view: ClusterView, opts: TranslateOptions): void {
    const services = this.overlay(view.services);
    const plan = planWrites({ view: { ...view, services }, opts, namespaceLabels: this.d.namespaceLabels, now: isoNow() });
    if (!this.loggedRebuild) {
      this.loggedRebuild = true;
      for (const p of plan.rebuildProblems) this.d.log.warn({ service: p.key, ip: p.ip, reason: p.reason }, p.message);
      this.d.log.info({ services: services.length, allocations: plan.allocations }, 'IPAM rebuilt from Services');
    }
    this.d.metrics.allocations(plan.allocations);
    for (const r of plan.ipamFailures) this.d.metrics.ipamFailure(r);
    const objRv = new Map<string, number>();
    for (const [plural, list] of [['ippools', view.pools], ['bgppeers', view.peers], ['bgppolicies', view.policies]] as const) {
      for (const o of list) objRv.set(`${plural}/${o.metadata.name}`, rvOf(o));
    }
    for (const w of plan.writes) {
      if (w.kind === 'service') this.queueService(w);
      else this.queueObject(w, objRv);
    }
    this.pump();
  }

  /** The Services with the writes not yet in the cache applied; overlays the cache caught up with are dropped. */
  private overlay(services: ServiceObj[]): ServiceObj[] {
    const seen = new Set<string>();
    const out = services.map((svc) => {
      const key = serviceKey(svc);
      seen.add(key);
      const o = this.overlays.get(key);
      if (!o) return svc;
      if (o.done && rvOf(svc) >= o.rv) {
        this.overlays.delete(key);
        return svc;
      }
      const s = o.ann ? withAnnotations(svc, o.ann) : svc;
      return o.status ? { ...s, status: { ...(s.status ?? {}), ...o.status } } : s;
    });
    for (const k of [...this.overlays.keys()]) if (!seen.has(k)) this.overlays.delete(k);
    return out;
  }

  private queueService(w: ServiceWrite): void {
    if (this.isHeld(w.key)) return;
    const ann = w.body.metadata?.annotations;
    const status = w.body.status as ServiceObj['status'] | undefined;
    const prev = this.overlays.get(w.key);
    this.overlays.set(w.key, {
      ...(ann || prev?.ann ? { ann: { ...(prev?.ann ?? {}), ...(ann ?? {}) } } : {}),
      ...(status || prev?.status ? { status: { ...(prev?.status ?? {}), ...(status ?? {}) } } : {}),
      rv: 0,
      done: false,
    });
    const q = this.queued.get(w.key);
    if (!q) {
      this.queued.set(w.key, { write: w, events: w.event ? [w.event] : [] });
      return;
    }
    // merge into the write still waiting: newer values win
    const a = q.write.body;
    const body: ServiceWrite['body'] = {
      ...(a.status || w.body.status ? { status: { ...(a.status ?? {}), ...(w.body.status ?? {}) } } : {}),
      ...(a.metadata || w.body.metadata ? { metadata: { annotations: { ...(a.metadata?.annotations ?? {}), ...(w.body.metadata?.annotations ?? {}) } } } : {}),
    };
    q.write = { ...w, body };
    if (w.event) q.events.push(w.event);
  }

  private queueObject(w: ObjectStatusWrite, objRv: Map<string, number>): void {
    const id = `${w.plural}/${w.name}`;
    if (this.isHeld(id)) return;
    const sig = JSON.stringify(w.status, (k, v) => (k === 'lastTransitionTime' ? undefined : v));
    const sent = this.objSent.get(id);
    if (sent && (objRv.get(id) ?? 0) < sent.rv && sent.sig === sig) return; // the cache has not caught up yet
    if (sent && sent.rv === 0 && sent.sig === sig) return; // on its way
    if (this.lowKeys.has(id)) return; // queued already; the next plan sees the result
    this.objSent.set(id, { sig, rv: 0 });
    this.lowKeys.add(id);
    const epoch = this.epoch;
    this.low.push({
      key: id,
      run: async () => {
        this.lowKeys.delete(id);
        try {
          const rv = await this.write(`${w.plural.replace(/s$/, '')}-status`, () => this.d.writer.applyClusterStatus(w.plural, w.objKind, w.name, w.status, 'edgelb-leader'));
          if (epoch === this.epoch) this.objSent.set(id, { sig, rv: Number(rv ?? 0) });
          this.held.delete(id);
          if (w.event) {
            const ev = involvedEvent({ kind: w.objKind, apiVersion: `${GROUP}/${VERSION}`, name: w.name, ...(w.uid ? { uid: w.uid } : {}) }, w.event, this.d.identity, isoNow());
            await this.write('event', () => this.d.writer.createEvent(ev.namespace, ev.body)).catch((e) => this.d.log.debug({ object: id, err: errorMessage(e) }, 'event not written'));
          }
        } catch (e) {
          this.objSent.delete(id);
          if (statusOf(e) !== 404) {
            this.hold(id);
            this.failed(id, e);
          }
        }
      },
    });
  }

  /**
   * True when a watched Service is exactly what this pod's own write made (its resourceVersion):
   * the plan has nothing to learn from it (the overlay already showed it), so a controller that
   * runs no node need not re-plan for the echo of each of its writes.
   */
  isOwnEcho(svc: ServiceObj): boolean {
    const o = this.overlays.get(serviceKey(svc));
    return o !== undefined && o.done && o.rv > 0 && rvOf(svc) === o.rv && !this.queued.has(serviceKey(svc));
  }

  private pump(): void {
    const limit = this.d.concurrency ?? 64;
    const lowLimit = Math.max(1, Math.floor(limit / 8));
    while (this.active < limit) {
      let next = this.nextService();
      const low = !next && this.lowActive < lowLimit;
      if (low) next = this.low.shift();
      if (!next) break;
      this.active++;
      if (low) this.lowActive++;
      void next.run().finally(() => {
        this.active--;
        if (low) this.lowActive--;
        this.pump();
        if (this.active === 0 && this.queued.size === 0 && this.low.length === 0) for (const r of this.idleWaiters.splice(0)) r();
      });
    }
  }

  private nextService(): { key: string; run: () => Promise<void> } | undefined {
    for (const [key, job] of this.queued) {
      if (this.busy.has(key)) continue;
      this.queued.delete(key);
      this.busy.add(key);
      return { key, run: () => this.runService(job).finally(() => this.busy.delete(key)) };
    }
    return undefined;
  }

  private async runService(job: ServiceJob): Promise<void> {
    const { write: w } = job;
    const epoch = this.epoch;
    try {
      const rv = await this.write('service', () => this.d.writer.patchServiceStatus(w.namespace, w.name, w.body));
      this.held.delete(w.key);
      const o = this.overlays.get(w.key);
      // a newer write queued meanwhile keeps the overlay open until it lands too
      if (epoch === this.epoch && o && !this.queued.has(w.key)) {
        o.rv = Number(rv ?? 0);
        o.done = true;
      }
      const svc = w.after;
      for (const e of job.events) {
        const ev = involvedEvent(
          { kind: 'Service', apiVersion: 'v1', namespace: w.namespace, name: w.name, ...(svc.metadata.uid ? { uid: svc.metadata.uid } : {}), ...(rv ? { resourceVersion: rv } : {}) },
          e,
          this.d.identity,
          isoNow(),
        );
        this.low.push({
          key: `event/${w.key}`,
          run: () => this.write('event', () => this.d.writer.createEvent(ev.namespace, ev.body)).catch((err) => this.d.log.debug({ service: w.key, err: errorMessage(err) }, 'event not written')),
        });
      }
    } catch (e) {
      if (epoch === this.epoch && !this.queued.has(w.key)) this.overlays.delete(w.key);
      if (statusOf(e) !== 404) {
        // 404: deleted meanwhile
        this.hold(w.key);
        this.failed(w.key, e);
      }
    }
  }

  private failed(what: string, e: unknown): void {
    this.d.log.warn({ object: what, err: errorMessage(e), retryMs: this.held.get(what)?.delay }, 'write failed; will retry');
  }

  private async write<T>(kind: string, f: () => Promise<T>): Promise<T> {
    try {
      const r = await f();
      this.d.metrics.write(kind, 'ok');
      return r;
    } catch (e) {
      this.d.metrics.write(kind, statusOf(e) === 404 ? 'gone' : 'error');
      throw e;
    }
  }
}
