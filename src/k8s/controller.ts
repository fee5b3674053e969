// The leader's reconciler: IPAM (rebuilt from the Services before any new assignment), the
// allocation annotations, Service status and condition, Events, IPPool usage and the BGPPeer
// summary. Glue: decisions come from ipam.ts, translate.ts and status.ts.
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { ANN_ASSIGNED_IPS, isOurs, serviceKey } from './annotations.js';
import { Ipam, poolFromObj, type AssignResult, type IpamPool } from './ipam.js';
import {
  allocationAnnotations,
  desiredServiceStatus,
  eventObject,
  peerSummary,
  serviceEvent,
  serviceStatusPatch,
  withAnnotations,
} from './status.js';
import { leastLoadedShard, shardOf, translate, type ClusterView, type TranslateOptions } from './translate.js';
import { statusOf, type KubeWriter } from './client.js';
import type { K8sMetrics } from './metrics.js';
import type { ServiceObj } from './types.js';

export interface LeaderDeps {
  writer: KubeWriter;
  log: Logger;
  identity: string;
  metrics: K8sMetrics;
  namespaceLabels: (ns: string) => Record<string, string> | undefined;
  /** Parallel API writes (default 32). */
  concurrency?: number;
}

async function runLimited<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (i < items.length) await fn(items[i++]!);
  });
  await Promise.all(workers);
}

const isoNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export class LeaderController {
  private readonly ipam: Ipam;
  private rebuilt = false;
  /** key → outcome last written (reason + ips), so an Event is sent once per change. */
  private readonly outcomes = new Map<string, { reason: string; ips: string }>();
  /** key → what was last written and the resourceVersion it produced: while the watch cache
   * lags behind our own writes, the same write is not sent again. */
  private readonly sent = new Map<string, { status?: string; ann?: string; rv: number }>();

  constructor(private readonly d: LeaderDeps) {
    this.ipam = new Ipam([], d.namespaceLabels);
  }

  /** Call on gaining leadership: the next reconcile rebuilds IPAM from the Services first. */
  reset(): void {
    this.rebuilt = false;
    this.outcomes.clear();
    this.sent.clear();
  }

  /** Reconcile once. Returns true when some write failed and a retry is due. */
  async reconcile(view: ClusterView, opts: TranslateOptions): Promise<boolean> {
    const { log, metrics } = this.d;
    const shards = opts.settings.cluster?.shards ?? 1;
    const pools: IpamPool[] = [];
    for (const p of view.pools) {
      const r = poolFromObj(p);
      if (r.pool) pools.push(r.pool);
    }
    this.ipam.setPools(pools);
    const ours = view.services.filter((s) => isOurs(s, opts.defaultClass));
    if (!this.rebuilt) {
      const problems = this.ipam.rebuild(ours);
      for (const p of problems) log.warn({ service: p.key, ip: p.ip, reason: p.reason }, p.message);
      this.rebuilt = true;
      log.info({ services: ours.length, allocations: this.ipam.allocations().length }, 'IPAM rebuilt from Services');
    }
    const oursKeys = new Set(ours.map(serviceKey));
    for (const a of this.ipam.allocations()) if (!oursKeys.has(a.key)) this.ipam.release(a.key);
    for (const k of [...this.outcomes.keys()]) if (!oursKeys.has(k)) this.outcomes.delete(k);
    for (const k of [...this.sent.keys()]) if (!oursKeys.has(k)) this.sent.delete(k);

    // assign, oldest first; a Service without a shard gets the least loaded one, once
    const sorted = [...ours].sort(
      (a, b) => new Date(a.metadata.creationTimestamp ?? 0).getTime() - new Date(b.metadata.creationTimestamp ?? 0).getTime() || serviceKey(a).localeCompare(serviceKey(b)),
    );
    const loads = new Array<number>(shards).fill(0);
    for (const s of sorted) {
      const sh = shardOf(s, shards);
      if (sh.source !== 'hash') loads[sh.shard]!++;
    }
    const results = new Map<string, { r: AssignResult; svc: ServiceObj; ann: Record<string, string | null> }>();
    const patched: ServiceObj[] = [];
    for (const svc of sorted) {
      const r = this.ipam.assign(svc);
      let shard: number | undefined;
      if (r.ok) {
        const sh = shardOf(svc, shards);
        shard = sh.shard;
        if (sh.source === 'hash') {
          shard = leastLoadedShard(loads);
          loads[shard]!++;
        }
      } else metrics.ipamFailure(r.reason);
      const ann = allocationAnnotations(svc, r, shard);
      results.set(serviceKey(svc), { r, svc, ann });
      patched.push(withAnnotations(svc, ann));
    }
    metrics.allocations(this.ipam.allocations().length);

    // plans as the nodes will see them once the annotations are written
    const others = view.services.filter((s) => !isOurs(s, opts.defaultClass));
    const { plans } = translate({ ...view, services: [...patched, ...others] }, opts);
    const planByKey = new Map(plans.map((p) => [p.key, p]));
    let failed = false;
    const now = isoNow();
    // three phases, so every Service shows its address as early as possible: status (ingress and
    // condition: what users wait for, and the record rebuild() reads first), then the annotations
    // (pool, shard, and a second record of the addresses), then the Events
    const statusWork: Array<() => Promise<void>> = [];
    const annWork: Array<() => Promise<void>> = [];
    const eventWork: Array<() => Promise<void>> = [];
    const fail = (key: string) => (e: unknown) => {
      if (statusOf(e) === 404) return; // deleted meanwhile
      failed = true;
      log.warn({ service: key, err: errorMessage(e) }, 'service write failed; will retry');
    };
    for (const [key, { r, svc, ann }] of results) {
      const ns = svc.metadata.namespace ?? 'default';
      const name = svc.metadata.name;
      const want = desiredServiceStatus(r, planByKey.get(key));
      let status = serviceStatusPatch(svc, want, now);
      const ev = serviceEvent(this.outcomes.get(key), want, r);
      // skip what we wrote already when the cache has not caught up with our write yet
      const rv = Number(svc.metadata.resourceVersion ?? 0);
      const sent = this.sent.get(key);
      const cacheBehind = sent !== undefined && rv <= sent.rv;
      const statusSig = JSON.stringify({ i: want.ingress, c: want.condition });
      let annSig = JSON.stringify(ann);
      if (status && cacheBehind && sent.status === statusSig) status = undefined;
      const annToSend = Object.keys(ann).length > 0 && !(cacheBehind && sent.ann === annSig) ? ann : undefined;
      if (!annToSend) annSig = sent?.ann ?? '';
      const record = (field: 'status' | 'ann', sig: string) => (newRv: string | undefined) => {
        const cur = this.sent.get(key) ?? { rv: 0 };
        this.sent.set(key, { ...cur, [field]: sig, rv: Math.max(cur.rv, Number(newRv ?? 0)) });
      };
      let statusOk = !status;
      if (status) {
        const body = status;
        statusWork.push(() =>
          this.write('status', () => this.d.writer.patchServiceStatus(ns, name, body).then(record('status', statusSig))).then(() => {
            statusOk = true;
          }, fail(key)),
        );
      }
      if (annToSend) {
        annWork.push(() =>
          statusOk ? this.write('annotations', () => this.d.writer.patchServiceAnnotations(ns, name, annToSend).then(record('ann', annSig))).catch(fail(key)) : Promise.resolve(),
        );
      }
      eventWork.push(async () => {
        if (!statusOk) return;
        this.outcomes.set(key, { reason: want.condition.reason ?? '', ips: want.ingress.join(',') });
        if (!ev) return;
        await this.write('event', () => this.d.writer.createEvent(ns, eventObject(svc, ev, this.d.identity, now))).catch((e) =>
          log.debug({ service: key, err: errorMessage(e) }, 'event not written'),
        );
      });
    }
    const work: Array<() => Promise<void>> = [];
    // Services that are no longer ours lose what edgelb wrote
    for (const svc of others) {
      if (svc.metadata.annotations?.[ANN_ASSIGNED_IPS] === undefined) continue;
      const ns = svc.metadata.namespace ?? 'default';
      work.push(async () => {
        try {
          await this.write('status', () => this.d.writer.patchServiceStatus(ns, svc.metadata.name, { loadBalancer: { ingress: [] } }));
          await this.write('annotations', () => this.d.writer.patchServiceAnnotations(ns, svc.metadata.name, allocationAnnotations(svc, undefined, undefined)));
        } catch (e) {
          if (statusOf(e) !== 404) failed = true;
        }
      });
    }
    // IPPool usage and the BGPPeer summary column
    for (const p of view.pools) {
      const u = this.ipam.usage(p.metadata.name);
      const available = String(u.size - BigInt(u.assigned));
      if (p.status?.assigned === u.assigned && p.status?.available === available) continue;
      work.push(async () => {
        await this.write('ippool-status', () => this.d.writer.applyClusterStatus('ippools', 'IPPool', p.metadata.name, { assigned: u.assigned, available }, 'edgelb-leader')).catch((e) => {
          if (statusOf(e) !== 404) failed = true;
        });
      });
    }
    for (const peer of view.peers) {
      const s = peerSummary(peer.status?.nodes ?? []);
      if (peer.status?.summary === s.summary && peer.status?.established === s.established) continue;
      work.push(async () => {
        await this.write('bgppeer-status', () => this.d.writer.applyClusterStatus('bgppeers', 'BGPPeer', peer.metadata.name, s, 'edgelb-leader')).catch((e) => {
          if (statusOf(e) !== 404) failed = true;
        });
      });
    }
    const limit = this.d.concurrency ?? 32;
    await runLimited(statusWork, limit, (f) => f());
    await runLimited(annWork, limit, (f) => f());
    await runLimited(eventWork, limit, (f) => f());
    await runLimited(work, limit, (f) => f());
    return failed;
  }

  private async write(kind: string, f: () => Promise<unknown>): Promise<void> {
    try {
      await f();
      this.d.metrics.write(kind, 'ok');
    } catch (e) {
      this.d.metrics.write(kind, statusOf(e) === 404 ? 'gone' : 'error');
      throw e;
    }
  }
}
