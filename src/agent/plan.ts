// The agent's pure core: from the desired state and the live facts (shard masters, endpoint
// health, data-path health, drain), compute what each engine should hold and why each VIP is or
// is not announced from this node. No I/O; the Agent applies the result.
import type { DesiredState, ServiceSpec } from '../model/desired-state.js';
import type { AnnounceDecision, VipRow } from '../model/views.js';
import { familyOf, canonicalIp } from '../lib/addr.js';
import type { Advertisement, DataplaneService } from '../model/engine-inputs.js';
import type { HealthTarget } from './ports.js';

/**
 * MEDs in bgpMode activeBackup: the shard master is preferred, standbys stay as a hot path. The
 * master's MED falls as the shard's ownership epoch rises, so a master that took a shard over beats
 * the route its dead predecessor leaves at the router until the router's hold timer (or a graceful
 * restart timer) ends: the router switches at once instead of spreading over both.
 */
export const MED_MASTER = 1000;
export const MED_BACKUP = 2000;
export function masterMed(epoch: number): number {
  return MED_MASTER - Math.min(Math.max(0, Math.floor(epoch)), MED_MASTER - 1);
}

/** Why a VIP is (or is not) announced from this node by one method. Stable strings: the API shows them. */
export type VipReason =
  | 'announced'
  | 'announced-backup' // activeBackup standby: advertised with the high MED
  | 'drained'
  | 'node-excluded' // Kubernetes: the Node is excluded from load balancers or its network is unavailable
  | 'dataplane-unhealthy'
  | 'no-healthy-endpoint'
  | 'no-local-endpoint'
  | 'not-shard-master'
  | 'no-bgp-config'
  | 'not-in-pool-mode'; // the pool does not announce this way

export interface Facts {
  isMaster(shard: number): boolean;
  masterOf(shard: number): string | null;
  /** The shard's ownership epoch (0 without a cluster). */
  epochOf(shard: number): number;
  isHealthy(service: string, endpoint: string): boolean;
  dataplane: { ok: boolean; reason?: string } | null; // null: no data path on this node
  drained: boolean;
}

export interface VipDecision extends AnnounceDecision {
  reason: VipReason;
}

/** A VIP row of the REST contract, with the agent's reason codes. */
export interface VipView extends VipRow {
  bgp: VipDecision & { med?: number };
  l2: VipDecision;
}

export interface Plan {
  advertisements: Advertisement[];
  owned: string[];
  dataplane: DataplaneService[];
  healthTargets: HealthTarget[];
  vips: VipView[];
  /** service name → endpoints that are ready and healthy */
  healthyEndpoints: Map<string, string[]>;
}

function hostPrefix(vip: string): string {
  return `${canonicalIp(vip)}/${familyOf(vip) === 6 ? 128 : 32}`;
}

/** Ready endpoints that pass their probe (a service without a probe trusts readiness). */
export function healthyEndpointsOf(svc: ServiceSpec, facts: Facts): string[] {
  return svc.endpoints.filter((e) => e.ready && (svc.probe.type === 'none' || facts.isHealthy(svc.name, e.address))).map((e) => e.address);
}

export function computePlan(state: DesiredState, facts: Facts): Plan {
  const pools = new Map(state.pools.map((p) => [p.name, p]));
  const healthyEndpoints = new Map<string, string[]>();
  const dataplane: DataplaneService[] = [];
  const healthTargets: HealthTarget[] = [];

  // per-service eligibility, then grouped per VIP (several services may share one)
  interface Eligibility { ok: boolean; reason: VipReason; detail?: string }
  const perVip = new Map<string, { svcs: ServiceSpec[]; elig: Eligibility[] }>();

  for (const svc of state.services) {
    const healthy = healthyEndpointsOf(svc, facts);
    healthyEndpoints.set(svc.name, healthy);
    if (svc.probe.type !== 'none') {
      const target: HealthTarget = { service: svc.name, endpoints: svc.endpoints.filter((e) => e.ready).map((e) => e.address), probe: svc.probe };
      if (svc.ports[0]) target.port = svc.ports[0].targetPort;
      healthTargets.push(target);
    }
    for (const vip of svc.vips) {
      for (const p of svc.ports) {
        dataplane.push({
          name: `${svc.name}/${canonicalIp(vip)}:${p.port}/${p.protocol}`,
          vip: canonicalIp(vip),
          port: p.port,
          protocol: p.protocol,
          mode: svc.mode,
          backends: healthy.filter((a) => familyOf(a) === familyOf(vip)).map((address) => ({ address, port: p.targetPort })),
          epSelect: svc.epSelect,
          timeoutSec: svc.timeoutSec,
        });
      }
    }
    let elig: Eligibility = { ok: true, reason: 'announced' };
    if (facts.drained) elig = { ok: false, reason: 'drained' };
    else if (state.node.noAnnounceReason) elig = { ok: false, reason: 'node-excluded', detail: state.node.noAnnounceReason };
    else if (facts.dataplane && !facts.dataplane.ok) elig = { ok: false, reason: 'dataplane-unhealthy', detail: facts.dataplane.reason };
    else if (svc.localOnly && !svc.endpoints.some((e) => e.ready && e.nodeName === state.node.name && healthy.includes(e.address)))
      elig = { ok: false, reason: 'no-local-endpoint' };
    else if (svc.withdrawWhenUnhealthy && healthy.length === 0) elig = { ok: false, reason: 'no-healthy-endpoint' };
    for (const vip of svc.vips) {
      const key = canonicalIp(vip);
      const entry = perVip.get(key) ?? { svcs: [], elig: [] };
      entry.svcs.push(svc);
      entry.elig.push(elig);
      perVip.set(key, entry);
    }
  }

  const advertisements: Advertisement[] = [];
  const owned: string[] = [];
  const vips: VipView[] = [];
  for (const [vip, { svcs, elig }] of [...perVip].sort(([a], [b]) => a.localeCompare(b))) {
    const first = svcs[0]!;
    const pool = pools.get(first.pool);
    const announce = pool?.announce ?? 'bgp';
    const bgpMode = pool?.bgpMode ?? 'ecmp';
    const shard = first.shard;
    const master = facts.isMaster(shard);
    // a shared VIP is announced while any of its services may be
    const e = elig.find((x) => x.ok) ?? elig[0]!;
    const view: VipView = {
      vip,
      services: svcs.map((s) => s.name),
      pool: first.pool,
      shard,
      master: facts.masterOf(shard),
      interface: state.node.interface,
      announce,
      bgpMode,
      bgp: { announced: false, reason: 'not-in-pool-mode' },
      l2: { announced: false, reason: 'not-in-pool-mode' },
    };
    const detail = e.detail !== undefined ? { detail: e.detail } : {};
    if (announce === 'bgp' || announce === 'both') {
      if (!state.bgp) view.bgp = { announced: false, reason: 'no-bgp-config' };
      else if (!e.ok) view.bgp = { announced: false, reason: e.reason, ...detail };
      else {
        const ad: Advertisement = { prefix: hostPrefix(vip) };
        if (bgpMode === 'activeBackup') ad.med = master ? masterMed(facts.epochOf(shard)) : MED_BACKUP;
        if (state.bgp.communities.length) ad.communities = [...state.bgp.communities];
        if (state.bgp.largeCommunities.length) ad.largeCommunities = [...state.bgp.largeCommunities];
        advertisements.push(ad);
        view.bgp = { announced: true, reason: bgpMode === 'activeBackup' && !master ? 'announced-backup' : 'announced' };
        if (ad.med !== undefined) view.bgp.med = ad.med;
      }
    }
    if (announce === 'l2' || announce === 'both') {
      if (!e.ok) view.l2 = { announced: false, reason: e.reason, ...detail };
      else if (!master) view.l2 = { announced: false, reason: 'not-shard-master' };
      else {
        owned.push(vip);
        view.l2 = { announced: true, reason: 'announced' };
      }
    }
    vips.push(view);
  }
  return { advertisements, owned, dataplane, healthTargets, vips, healthyEndpoints };
}
