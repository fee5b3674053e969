// Service annotation keys (edgelb.io/*, with loxilb.io/* and MetalLB keys read too) and label
// selector matching. Pure.
import { canonicalIp, familyOf } from '../lib/addr.js';
import type { LabelSelector, ServiceObj } from './types.js';

export const LB_CLASS = 'edgelb.io/edgelb';
export const PREFIX = 'edgelb.io/';
export const LOXI_PREFIX = 'loxilb.io/';

/** Written by the controller: the allocation, the commit point of IPAM (see ipam.ts). */
export const ANN_ASSIGNED_IPS = 'edgelb.io/assigned-ips';
export const ANN_ASSIGNED_POOL = 'edgelb.io/assigned-pool';
/** Written by the controller: the shard chosen once (least loaded) and kept. */
export const ANN_ASSIGNED_SHARD = 'edgelb.io/assigned-shard';

/** The condition type edgelb writes on Services. */
export const CONDITION_TYPE = 'edgelb.io/Served';

/** The two full keys of each short key, built once: a key concatenated per lookup is a new string
 * to hash every time, and the plan looks up several keys of every Service on every pass. */
const fullKeys = new Map<string, readonly [string, string]>();

/** The value of an edgelb annotation `key` (edgelb.io/ first, then loxilb.io/), trimmed. */
export function annotation(svc: ServiceObj, key: string): string | undefined {
  const a = svc.metadata.annotations;
  if (!a) return undefined;
  let k = fullKeys.get(key);
  if (!k) fullKeys.set(key, (k = [PREFIX + key, LOXI_PREFIX + key]));
  const v = a[k[0]] ?? a[k[1]];
  return v === undefined ? undefined : v.trim();
}

export type StaticIps = { ok: true; ips: string[] } | { ok: false; message: string };

/**
 * The static addresses a Service asks for, from (in order) edgelb.io/staticIP, loxilb.io/staticIP,
 * metallb.universe.tf/loadBalancerIPs, metallb.io/loadBalancerIPs, spec.loadBalancerIP.
 * Empty list: no static request. At most one address per family.
 */
export function staticIps(svc: ServiceObj): StaticIps {
  const a = svc.metadata.annotations ?? {};
  const raw =
    a['edgelb.io/staticIP'] ??
    a['loxilb.io/staticIP'] ??
    a['metallb.universe.tf/loadBalancerIPs'] ??
    a['metallb.io/loadBalancerIPs'] ??
    svc.spec.loadBalancerIP ??
    '';
  const parts = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const ips: string[] = [];
  const fams = new Set<number>();
  for (const p of parts) {
    const f = familyOf(p);
    if (!f) return { ok: false, message: `static IP "${p}" is not an IP address` };
    if (fams.has(f)) return { ok: false, message: `static IPs "${raw}" name two IPv${f} addresses (one per family)` };
    fams.add(f);
    ips.push(canonicalIp(p));
  }
  return { ok: true, ips };
}

/** The sharing key of allow-shared-ip (edgelb.io/, loxilb.io/, metallb.universe.tf/, metallb.io/). */
export function sharingKey(svc: ServiceObj): string | undefined {
  const a = svc.metadata.annotations ?? {};
  const v = annotation(svc, 'allow-shared-ip') ?? a['metallb.universe.tf/allow-shared-ip'] ?? a['metallb.io/allow-shared-ip'];
  return v === undefined || v === '' ? undefined : v;
}

/** The pool a Service asks for by name (edgelb.io/pool, loxilb.io/pool, metallb address-pool keys). */
export function requestedPool(svc: ServiceObj): string | undefined {
  const a = svc.metadata.annotations ?? {};
  const v = annotation(svc, 'pool') ?? a['metallb.universe.tf/address-pool'] ?? a['metallb.io/address-pool'];
  return v === undefined || v === '' ? undefined : v;
}

/** Whether `labels` satisfy a Kubernetes label selector (an absent selector matches everything). */
export function selectorMatches(sel: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!sel) return true;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const vals = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !vals.includes(l[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && vals.includes(l[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Service key "namespace/name". */
export function serviceKey(svc: { metadata: { namespace?: string; name: string } }): string {
  return `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
}

/** Whether edgelb serves this Service: type LoadBalancer and our class (or no class with defaultClass). */
export function isOurs(svc: ServiceObj, defaultClass = false): boolean {
  if (svc.spec.type !== 'LoadBalancer') return false;
  const cls = svc.spec.loadBalancerClass;
  return cls === LB_CLASS || (cls === undefined && defaultClass);
}

/** Port identities "proto/port" of a Service, for shared-IP clash checks. */
export function portKeys(svc: ServiceObj): string[] {
  return (svc.spec.ports ?? []).map((p) => `${(p.protocol ?? 'TCP').toUpperCase()}/${p.port}`);
}
