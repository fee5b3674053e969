// IPAM for LoadBalancer Services: pools of CIDRs and ranges, static IPs by annotation, shared IPs
// (allow-shared-ip, ports must not clash), dual-stack by ipFamilyPolicy. Pure: no API calls.
//
// Allocations persist in the Service's status.loadBalancer.ingress, which only the leader writes
// (status is a subresource a tenant cannot edit), and `rebuild()` reloads them all before any new
// assignment, oldest Service first, so a controller restart never moves an IP nor hands one to
// two Services. The edgelb.io/assigned-ips annotation is user-writable: it is only a request,
// granted when the address is free, refused (IPInUse) when another Service holds it.
// Address blocks, sizes and the first-free walk are the shared allocator's (config/allocate.ts).
import { bigIntToIp, canonicalIp as parseCanonical, familyOf, ipToBigInt as parseBigInt, type Family } from '../lib/addr.js';

/**
 * Address parsing, remembered: IPAM is rebuilt from every Service's status on every pass, so the
 * same few thousand strings were parsed again and again (a third of a 1,000-Service pass). Bounded:
 * cleared past 200,000 entries.
 */
function remembered<T>(f: (ip: string) => T): (ip: string) => T {
  const m = new Map<string, T>();
  return (ip) => {
    let v = m.get(ip);
    if (v === undefined) {
      if (m.size > 200_000) m.clear();
      m.set(ip, (v = f(ip)));
    }
    return v;
  };
}
const canonicalIp = remembered(parseCanonical);
const ipToBigInt = remembered(parseBigInt);
import { blockSize, firstFreeValue, parseBlocks, type Block } from '../config/allocate.js';
import {
  ANN_ASSIGNED_IPS,
  ANN_ASSIGNED_POOL,
  annotation,
  portKeys,
  requestedPool,
  selectorMatches,
  serviceKey,
  sharingKey,
  staticIps,
} from './annotations.js';
import type { IPPoolObj, LabelSelector, ServiceObj } from './types.js';

export interface IpamPool {
  name: string;
  cidrs: string[];
  ranges: string[];
  avoidBuggyIPs: boolean;
  autoAssign: boolean;
  /** Lower is tried first; ties by name. */
  priority: number;
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  serviceSelector?: LabelSelector;
}

/** Why an assignment succeeded or failed; tests and conditions use these, never message text. */
export type IpamReason =
  | 'Assigned' // a new address was given
  | 'Kept' // the recorded address stays
  | 'InvalidRequest' // an annotation could not be read
  | 'StaticIPOutsidePools' // a static IP lies in no IPPool: refused, never announced
  | 'IPInUse' // the static IP is held by a Service it may not share with
  | 'PoolNotFound' // the pool annotation names no IPPool
  | 'NoMatchingPool' // no IPPool's selectors accept the Service
  | 'PoolFull'; // every matching pool is out of addresses of a needed family

export type AssignResult =
  | { ok: true; reason: 'Assigned' | 'Kept'; pool: string; ips: string[]; changed: boolean }
  | {
      ok: false;
      reason: Exclude<IpamReason, 'Assigned' | 'Kept'>;
      message: string;
      /** Refused because of the edgelb.io/assigned-ips request: the annotation stays (the user's to remove). */
      fromRequest?: boolean;
    };

export interface Allocation {
  key: string;
  pool: string;
  ips: string[];
  sharingKey?: string;
  ports: string[];
}

export interface RebuildProblem {
  key: string;
  ip: string;
  reason: 'IPInUse' | 'NotInPool' | 'InvalidRecord';
  message: string;
}

interface CompiledPool extends IpamPool {
  blocks: Block[];
  /** Usable addresses per family (the allocator's rule, avoidBuggyIPs applied). */
  size: { 4: bigint; 6: bigint };
}

/** Turn an IPPool object into an IpamPool, or the reasons it is invalid (cross-field rules). */
export function poolFromObj(obj: IPPoolObj): { pool?: IpamPool; errors: string[] } {
  const s = obj.spec ?? {};
  const pool: IpamPool = {
    name: obj.metadata.name,
    cidrs: s.cidrs ?? [],
    ranges: s.ranges ?? [],
    avoidBuggyIPs: s.avoidBuggyIPs ?? true,
    autoAssign: s.autoAssign ?? true,
    priority: s.priority ?? 0,
    ...(s.namespaces ? { namespaces: s.namespaces } : {}),
    ...(s.namespaceSelector ? { namespaceSelector: s.namespaceSelector } : {}),
    ...(s.serviceSelector ? { serviceSelector: s.serviceSelector } : {}),
  };
  const errors = parseBlocks(pool).errors.map((e) => `spec.${e}`);
  if (pool.cidrs.length + pool.ranges.length === 0) errors.push('spec: needs at least one of cidrs or ranges');
  return errors.length ? { errors } : { pool, errors };
}

const famName = (f: Family) => (f === 4 ? 'IPv4' : 'IPv6');

/** Which address families a Service needs: `required` must all be served, `optional` if possible. */
export function wantedFamilies(svc: ServiceObj): { required: Family[]; optional: Family[] } {
  const loxi = annotation(svc, 'ipam');
  if (loxi === 'ipv4') return { required: [4], optional: [] };
  if (loxi === 'ipv6' || loxi === 'ipv6to4') return { required: [6], optional: [] };
  const fams = (svc.spec.ipFamilies ?? []).map((f) => (f === 'IPv6' ? 6 : 4) as Family);
  const primary: Family = fams[0] ?? 4;
  const secondary: Family = primary === 4 ? 6 : 4;
  switch (svc.spec.ipFamilyPolicy) {
    case 'RequireDualStack':
      return { required: [primary, secondary], optional: [] };
    case 'PreferDualStack':
      return { required: [primary], optional: [secondary] };
    default:
      return { required: [primary], optional: [] };
  }
}

export class Ipam {
  private pools = new Map<string, CompiledPool>();
  private readonly byKey = new Map<string, Allocation>();
  /** ip → keys holding it (more than one only when they share). */
  private readonly byIp = new Map<string, Set<string>>();
  /** The same addresses as numbers, per family, for fast free-address scans. */
  private readonly usedVals = { 4: new Set<bigint>(), 6: new Set<bigint>() };
  /** ip → the pool it was taken from; and the count of addresses taken per pool and family. */
  private readonly ipPool = new Map<string, string>();
  private readonly taken = new Map<string, number>();

  constructor(
    pools: IpamPool[] = [],
    private readonly namespaceLabels: (ns: string) => Record<string, string> | undefined = () => undefined,
  ) {
    this.setPools(pools);
  }

  /** Replace the pool set. Existing allocations stay (assign() re-checks them). */
  setPools(pools: IpamPool[]): void {
    this.pools = new Map(
      pools.map((p) => {
        const blocks = parseBlocks(p).blocks;
        const size = { 4: 0n, 6: 0n };
        for (const b of blocks) size[b.family] += blockSize(b, p.avoidBuggyIPs);
        return [p.name, { ...p, blocks, size }];
      }),
    );
  }

  poolNames(): string[] {
    return [...this.pools.keys()];
  }

  allocation(key: string): Allocation | undefined {
    return this.byKey.get(key);
  }

  allocations(): Allocation[] {
    return [...this.byKey.values()];
  }

  /** Keys holding `ip`. */
  holders(ip: string): string[] {
    return [...(this.byIp.get(ip) ?? [])];
  }

  /** Name of the pool whose ranges contain `ip`, preferring `hint`. */
  poolOf(ip: string, hint?: string): string | undefined {
    const f = familyOf(ip);
    if (!f) return undefined;
    const v = ipToBigInt(ip);
    const inPool = (p: CompiledPool) => p.blocks.some((b) => b.family === f && v >= b.first && v <= b.last);
    if (hint) {
      const h = this.pools.get(hint);
      if (h && inPool(h)) return hint;
    }
    for (const p of this.sortedPools()) if (inPool(p)) return p.name;
    return undefined;
  }

  /** Addresses assigned from a pool and its size (avoidBuggyIPs applied). */
  usage(pool: string): { assigned: number; size: bigint } {
    const p = this.pools.get(pool);
    if (!p) return { assigned: 0, size: 0n };
    const assigned = (this.taken.get(`${pool}|4`) ?? 0) + (this.taken.get(`${pool}|6`) ?? 0);
    return { assigned, size: p.size[4] + p.size[6] };
  }

  /**
   * Load the allocations recorded in Services (before any assign()). Oldest first: when two
   * records claim one address and may not share, the older keeps it and the newer is reported.
   */
  rebuild(services: ServiceObj[]): RebuildProblem[] {
    this.byKey.clear();
    this.byIp.clear();
    this.usedVals[4].clear();
    this.usedVals[6].clear();
    this.ipPool.clear();
    this.taken.clear();
    const problems: RebuildProblem[] = [];
    const sorted = [...services].sort((a, b) => {
      const ta = new Date(a.metadata.creationTimestamp ?? 0).getTime();
      const tb = new Date(b.metadata.creationTimestamp ?? 0).getTime();
      return ta - tb || serviceKey(a).localeCompare(serviceKey(b));
    });
    for (const svc of sorted) {
      const key = serviceKey(svc);
      const recorded = statusIps(svc);
      if (recorded.length === 0) continue;
      const hint = svc.metadata.annotations?.[ANN_ASSIGNED_POOL];
      const kept: string[] = [];
      let pool: string | undefined;
      for (const raw of recorded) {
        if (!familyOf(raw)) {
          problems.push({ key, ip: raw, reason: 'InvalidRecord', message: `recorded address "${raw}" is not an IP` });
          continue;
        }
        const ip = canonicalIp(raw);
        if (kept.some((k) => familyOf(k) === familyOf(ip))) continue;
        const p = this.poolOf(ip, hint);
        if (!p) {
          problems.push({ key, ip, reason: 'NotInPool', message: `recorded address ${ip} lies in no IPPool` });
          continue;
        }
        const clash = this.clashWith(ip, svc);
        if (clash) {
          problems.push({ key, ip, reason: 'IPInUse', message: `${ip} is also recorded by older ${clash}, which may not share it` });
          continue;
        }
        pool ??= p;
        kept.push(ip);
      }
      if (kept.length && pool) this.record(svc, pool, kept);
    }
    return problems;
  }

  /** Give `svc` its addresses, keeping any it holds that still fit its request. */
  assign(svc: ServiceObj): AssignResult {
    const key = serviceKey(svc);
    const st = staticIps(svc);
    if (!st.ok) return { ok: false, reason: 'InvalidRequest', message: st.message };
    const wantPool = requestedPool(svc);
    if (wantPool !== undefined && !this.pools.has(wantPool)) {
      this.release(key);
      return { ok: false, reason: 'PoolNotFound', message: `the pool annotation names IPPool "${wantPool}", which does not exist` };
    }
    const existing = this.byKey.get(key);
    if (st.ips.length > 0) return this.assignStatic(svc, key, st.ips, wantPool, existing);

    if (!existing) {
      const asked = this.assignRequested(svc, key, wantPool);
      if (asked) return asked;
    }
    const fams = wantedFamilies(svc);
    if (existing && this.pools.has(existing.pool) && (wantPool === undefined || wantPool === existing.pool)) {
      const inPool = existing.ips.filter((ip) => this.poolOf(ip, existing.pool) === existing.pool);
      const all = [...fams.required, ...fams.optional];
      const keep = inPool.filter((ip) => all.includes(familyOf(ip) as Family));
      if (keep.length > 0 && fams.required.every((f) => keep.some((ip) => familyOf(ip) === f))) {
        // complete optional families from the same pool when it can, never moving what is kept
        const extra: string[] = [];
        for (const f of fams.optional) {
          if (keep.some((ip) => familyOf(ip) === f)) continue;
          const ip = this.pickFree(this.pools.get(existing.pool)!, f, svc);
          if (ip) extra.push(ip);
        }
        const ips = sortFam([...keep, ...extra], fams);
        const changed = !sameSet(ips, existing.ips);
        if (changed) this.record(svc, existing.pool, ips);
        else this.updateMeta(svc);
        return { ok: true, reason: 'Kept', pool: existing.pool, ips, changed };
      }
    }
    // a new allocation (the old one, if any, no longer fits)
    const previous = existing;
    this.release(key);
    const candidates = this.candidatePools(svc, wantPool);
    if (candidates.length === 0) {
      return {
        ok: false,
        reason: 'NoMatchingPool',
        message: this.pools.size === 0 ? 'there is no IPPool' : `no IPPool accepts ${key} (autoAssign, namespaces and selectors of ${[...this.pools.keys()].join(', ')})`,
      };
    }
    const full: string[] = [];
    for (const p of candidates) {
      const got: string[] = [];
      let ok = true;
      for (const f of fams.required) {
        const ip = this.pickFree(p, f, svc);
        if (!ip) {
          ok = false;
          break;
        }
        got.push(ip);
      }
      if (!ok) {
        const missing = fams.required.filter((f) => !p.blocks.some((b) => b.family === f));
        if (missing.length) full.push(`${p.name} has no ${missing.map(famName).join('/')} range`);
        else {
          const u = this.usage(p.name);
          full.push(`${p.name} is full (${u.assigned} of ${u.size} addresses assigned)`);
        }
        continue;
      }
      for (const f of fams.optional) {
        const ip = this.pickFree(p, f, svc);
        if (ip) got.push(ip);
      }
      const ips = sortFam(got, fams);
      this.record(svc, p.name, ips);
      return { ok: true, reason: 'Assigned', pool: p.name, ips, changed: !previous || !sameSet(ips, previous.ips) };
    }
    return {
      ok: false,
      reason: 'PoolFull',
      message: `no free ${fams.required.map(famName).join('+')} address: ${full.join('; ')}`,
    };
  }

  /** Forget the allocation of a Service (deleted, or no longer ours). */
  release(key: string): void {
    const a = this.byKey.get(key);
    if (!a) return;
    this.byKey.delete(key);
    for (const ip of a.ips) {
      const s = this.byIp.get(ip);
      s?.delete(key);
      if (s && s.size === 0) {
        this.byIp.delete(ip);
        const f = familyOf(ip) as Family;
        this.usedVals[f].delete(ipToBigInt(ip));
        const pool = this.ipPool.get(ip);
        this.ipPool.delete(ip);
        if (pool !== undefined) this.taken.set(`${pool}|${f}`, (this.taken.get(`${pool}|${f}`) ?? 1) - 1);
      }
    }
  }

  // ---- internals ----

  private assignStatic(svc: ServiceObj, key: string, ips: string[], wantPool: string | undefined, existing?: Allocation): AssignResult {
    let pool: string | undefined;
    for (const ip of ips) {
      const p = wantPool !== undefined ? (this.poolOf(ip, wantPool) === wantPool ? wantPool : undefined) : this.poolOf(ip);
      if (!p) {
        this.release(key);
        const where = wantPool !== undefined ? `IPPool "${wantPool}"` : 'every IPPool';
        return {
          ok: false,
          reason: 'StaticIPOutsidePools',
          message: `static IP ${ip} is outside ${where} (${this.describePools(wantPool)}); edgelb never announces it`,
        };
      }
      pool ??= p;
    }
    for (const ip of ips) {
      const clash = this.clashWith(ip, svc, key);
      if (clash) {
        this.release(key);
        return { ok: false, reason: 'IPInUse', message: `static IP ${ip} is held by ${clash}, and they may not share it (allow-shared-ip with the same key and no common port)` };
      }
    }
    const same = existing !== undefined && sameSet(existing.ips, ips);
    this.release(key);
    this.record(svc, pool!, ips);
    return { ok: true, reason: same ? 'Kept' : 'Assigned', pool: pool!, ips, changed: !same };
  }

  /**
   * The edgelb.io/assigned-ips annotation of a Service that holds nothing (no status): granted
   * when every address lies in a pool it may use and is free; refused when another Service
   * holds one and may not share it; ignored (undefined: a fresh allocation) otherwise.
   */
  private assignRequested(svc: ServiceObj, key: string, wantPool: string | undefined): AssignResult | undefined {
    const raw = annotationIps(svc);
    if (raw.length === 0 || raw.some((ip) => !familyOf(ip))) return undefined;
    const ips = [...new Set(raw.map(canonicalIp))];
    const fams = wantedFamilies(svc);
    const all = [...fams.required, ...fams.optional];
    if (!fams.required.every((f) => ips.some((ip) => familyOf(ip) === f)) || ips.some((ip) => !all.includes(familyOf(ip) as Family))) return undefined;
    const hint = svc.metadata.annotations?.[ANN_ASSIGNED_POOL];
    let pool: string | undefined;
    for (const ip of ips) {
      const p = this.poolOf(ip, wantPool ?? hint);
      if (!p || (wantPool !== undefined && p !== wantPool)) return undefined;
      const cp = this.pools.get(p)!;
      if (!this.poolAccepts(cp, svc)) return undefined;
      pool ??= p;
    }
    for (const ip of ips) {
      const clash = this.clashWith(ip, svc, key);
      if (clash) {
        return {
          ok: false,
          reason: 'IPInUse',
          fromRequest: true,
          message: `annotation ${ANN_ASSIGNED_IPS} asks for ${ip}, which ${clash} holds and may not share; edgelb assigns addresses itself: remove the annotation to get a free one`,
        };
      }
    }
    this.record(svc, pool!, sortFam(ips, fams));
    return { ok: true, reason: 'Assigned', pool: pool!, ips: sortFam(ips, fams), changed: true };
  }

  private describePools(only?: string): string {
    const ps = only !== undefined ? [this.pools.get(only)].filter((p): p is CompiledPool => !!p) : [...this.pools.values()];
    if (ps.length === 0) return 'there is no IPPool';
    return ps.map((p) => `${p.name}: ${[...p.cidrs, ...p.ranges].join(',')}`).join('; ');
  }

  private sortedPools(): CompiledPool[] {
    return [...this.pools.values()].sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name));
  }

  private candidatePools(svc: ServiceObj, wantPool?: string): CompiledPool[] {
    if (wantPool !== undefined) {
      const p = this.pools.get(wantPool);
      return p && this.poolAccepts(p, svc) ? [p] : [];
    }
    return this.sortedPools().filter((p) => p.autoAssign && this.poolAccepts(p, svc));
  }

  private poolAccepts(p: CompiledPool, svc: ServiceObj): boolean {
    const ns = svc.metadata.namespace ?? 'default';
    if (p.namespaces && p.namespaces.length > 0 && !p.namespaces.includes(ns)) return false;
    if (p.namespaceSelector && !selectorMatches(p.namespaceSelector, this.namespaceLabels(ns))) return false;
    if (p.serviceSelector && !selectorMatches(p.serviceSelector, svc.metadata.labels)) return false;
    return true;
  }

  /** A shareable address already in use, else the first free one, of family f in pool p. */
  private pickFree(p: CompiledPool, f: Family, svc: ServiceObj): string | undefined {
    const sk = sharingKey(svc);
    if (sk !== undefined) {
      for (const [ip, keys] of this.byIp) {
        if (familyOf(ip) !== f || keys.size === 0) continue;
        if (this.poolOf(ip, p.name) !== p.name) continue;
        if (!this.clashWith(ip, svc)) return ip;
      }
    }
    // every address of the pool taken from it: full, without a scan
    if (BigInt(this.taken.get(`${p.name}|${f}`) ?? 0) >= p.size[f]) return undefined;
    const vals = this.usedVals;
    const r = firstFreeValue(p.blocks, { has: (v, fam) => vals[fam].has(v), size: vals[f].size }, p.avoidBuggyIPs, { family: f });
    return r && bigIntToIp(r.value, r.family);
  }

  /** The key of a holder of `ip` that `svc` may not share with, if any. */
  private clashWith(ip: string, svc: ServiceObj, self = serviceKey(svc)): string | undefined {
    const sk = sharingKey(svc);
    const ports = new Set(portKeys(svc));
    for (const k of this.byIp.get(ip) ?? []) {
      if (k === self) continue;
      const other = this.byKey.get(k)!;
      if (sk === undefined || other.sharingKey !== sk) return k;
      if (other.ports.some((p) => ports.has(p))) return k;
    }
    return undefined;
  }

  private record(svc: ServiceObj, pool: string, ips: string[]): void {
    const key = serviceKey(svc);
    this.release(key);
    const sk = sharingKey(svc);
    this.byKey.set(key, { key, pool, ips: [...ips], ports: portKeys(svc), ...(sk !== undefined ? { sharingKey: sk } : {}) });
    for (const ip of ips) {
      let s = this.byIp.get(ip);
      if (!s) {
        this.byIp.set(ip, (s = new Set()));
        const f = familyOf(ip) as Family;
        this.usedVals[f].add(ipToBigInt(ip));
        this.ipPool.set(ip, pool);
        this.taken.set(`${pool}|${f}`, (this.taken.get(`${pool}|${f}`) ?? 0) + 1);
      }
      s.add(key);
    }
  }

  private updateMeta(svc: ServiceObj): void {
    const a = this.byKey.get(serviceKey(svc));
    if (!a) return;
    const sk = sharingKey(svc);
    a.ports = portKeys(svc);
    if (sk !== undefined) a.sharingKey = sk;
    else delete a.sharingKey;
  }
}

/** The addresses the leader recorded for a Service: status.loadBalancer.ingress (what nodes announce). */
export function statusIps(svc: ServiceObj): string[] {
  return (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip);
}

/** The addresses of the edgelb.io/assigned-ips annotation: a request, never trusted as a record. */
export function annotationIps(svc: ServiceObj): string[] {
  const ann = svc.metadata.annotations?.[ANN_ASSIGNED_IPS];
  return ann === undefined ? [] : ann.split(',').map((s) => s.trim()).filter(Boolean);
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function sortFam(ips: string[], fams: { required: Family[]; optional: Family[] }): string[] {
  const order = [...fams.required, ...fams.optional];
  return [...ips].sort((x, y) => order.indexOf(familyOf(x) as Family) - order.indexOf(familyOf(y) as Family));
}
