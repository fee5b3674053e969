// Pools and services of the file: unique names, non-overlapping pools, each VIP inside exactly the
// service's pool (a VIP inside no pool is never announced), shards in range, port clashes, and the
// deterministic allocation of an address for a service that names only a pool.
import { familyOf } from '../lib/addr.js';
import type { LbMode, PoolSpec, ProbeSpec, ServiceSpec } from '../model/desired-state.js';
import { blockContains, blocksOverlap, firstFree, poolBlocks, type Block, type Cursor } from './allocate.js';
import { Ctx, checkDuplicates, rawName, rawNames } from './context.js';
import { defaultShard } from './hash.js';
import { poolSchema, serviceSchema, type ServiceRaw } from './schema.js';

export interface PoolServiceOptions {
  hasBgp: boolean;
  /** The bgp section exists but failed: do not add "needs a bgp section" errors on top. */
  bgpFailed: boolean;
  /** Shards in effect; undefined when the cluster section failed (shard checks are skipped). */
  shards: number | undefined;
  defaultLbMode: LbMode;
}

interface PoolInfo {
  index: number;
  spec: PoolSpec;
  blocks: Block[];
}

export function checkPoolsAndServices(
  ctx: Ctx,
  rawPools: unknown,
  rawServices: unknown,
  o: PoolServiceOptions,
): { pools: PoolSpec[]; services: ServiceSpec[] } {
  const pools = checkPools(ctx, rawPools, o);
  const failedPoolNames = rawNames(rawPools);
  for (const p of pools) failedPoolNames.delete(p.spec.name);
  const poolsFailed = failedPoolNames.size > 0 || (rawPools !== undefined && rawPools !== null && !Array.isArray(rawPools));
  const services = checkServices(ctx, rawServices, pools, failedPoolNames, poolsFailed, o);
  return { pools: pools.map((p) => p.spec), services };
}

function checkPools(ctx: Ctx, raw: unknown, o: PoolServiceOptions): PoolInfo[] {
  const parsed = ctx.parseList(poolSchema, raw, ['pools']);
  const empty = (v: unknown) => v === undefined || v === null || (Array.isArray(v) && v.length === 0);
  if (Array.isArray(raw))
    raw.forEach((item: unknown, i) => {
      if (item && typeof item === 'object' && !Array.isArray(item)) {
        const it = item as { cidrs?: unknown; ranges?: unknown };
        if (empty(it.cidrs) && empty(it.ranges)) ctx.error(['pools', i, 'cidrs'], 'a pool needs at least one CIDR (or range)');
      }
    });
  const emptyPools = new Set(parsed.filter(([, p]) => p.cidrs.length === 0 && p.ranges.length === 0).map(([i]) => i));
  const out: PoolInfo[] = [];
  const dups = checkDuplicates(ctx, raw, ['pools'], 'name', rawName, (it) => `"${String(it.name)}"`);
  for (const [i, p] of parsed) {
    let ok = !emptyPools.has(i) && !dups.has(i);
    const announce = p.announce ?? (o.hasBgp ? 'bgp' : 'l2');
    if (announce !== 'l2' && !o.hasBgp) {
      ctx.error(['pools', i, 'announce'], `"${announce}" needs a bgp section (or use announce: l2)`);
      ok = false;
    }
    const blocks = poolBlocks(p);
    // overlaps inside this pool and with every earlier pool
    const where = (pi: number, p2: { cidrs: string[] }, k: number) =>
      k < p2.cidrs.length ? `pools[${pi}].cidrs[${k}]` : `pools[${pi}].ranges[${k - p2.cidrs.length}]`;
    blocks.forEach((b, k) => {
      const at = k < p.cidrs.length ? ['pools', i, 'cidrs', k] : ['pools', i, 'ranges', k - p.cidrs.length];
      for (let k2 = 0; k2 < k; k2++)
        if (blocksOverlap(b, blocks[k2]!)) {
          ctx.error(at, `overlaps ${where(i, p, k2)} (${blocks[k2]!.text})`);
          ok = false;
        }
      for (const other of out)
        other.blocks.forEach((b2, k2) => {
          if (blocksOverlap(b, b2)) {
            ctx.error(at, `overlaps ${where(other.index, other.spec, k2)} (${b2.text}) of pool "${other.spec.name}"`);
            ok = false;
          }
        });
    });
    if (ok)
      out.push({
        index: i,
        blocks,
        spec: {
          name: p.name,
          cidrs: p.cidrs,
          ranges: p.ranges,
          announce,
          bgpMode: p.bgpMode,
          avoidBuggyIPs: p.avoidBuggyIPs,
          autoAssign: p.autoAssign,
        },
      });
  }
  return out;
}

interface Pending {
  index: number;
  raw: ServiceRaw;
  spec: ServiceSpec;
  pool: PoolInfo | undefined;
  allocate: boolean;
}

function checkServices(
  ctx: Ctx,
  raw: unknown,
  pools: PoolInfo[],
  failedPoolNames: Set<string>,
  poolsFailed: boolean,
  o: PoolServiceOptions,
): ServiceSpec[] {
  const parsed = ctx.parseList(serviceSchema, raw, ['services']);
  const pending: Pending[] = [];
  const dups = checkDuplicates(ctx, raw, ['services'], 'name', rawName, (it) => `"${String(it.name)}"`);
  const poolOf = (ip: string) => pools.find((p) => p.blocks.some((b) => blockContains(b, ip)));

  for (const [i, s] of parsed) {
    let ok = true;
    const at = (...k: Array<string | number>) => ['services', i, ...k];
    const fail = (path: Array<string | number>, msg: string) => {
      ctx.error(path, msg);
      ok = false;
    };
    if (dups.has(i)) ok = false;

    // ---- addresses and pool
    if (s.vip !== undefined && s.vips !== undefined) fail(at('vips'), 'give either vip or vips, not both');
    const explicit: Array<{ ip: string; path: Array<string | number> }> =
      s.vip !== undefined ? [{ ip: s.vip, path: at('vip') }] : (s.vips ?? []).map((v, j) => ({ ip: v, path: at('vips', j) }));
    explicit.forEach((e, j) => {
      const dup = explicit.findIndex((x) => x.ip === e.ip);
      if (dup < j) fail(e.path, `duplicate of vips[${dup}]`);
    });
    let pool: PoolInfo | undefined;
    let poolUnknown = false; // refers to a pool that failed validation: skip dependent checks
    if (s.pool !== undefined) {
      pool = pools.find((p) => p.spec.name === s.pool);
      if (!pool) {
        if (failedPoolNames.has(s.pool)) poolUnknown = true;
        else fail(at('pool'), `unknown pool "${s.pool}"${pools.length ? ` (pools: ${pools.map((p) => p.spec.name).join(', ')})` : ''}`);
      }
    }
    if (!poolUnknown && (pool || s.pool === undefined)) {
      for (const e of explicit) {
        const holder = poolOf(e.ip);
        if (!holder) {
          if (poolsFailed) poolUnknown = true;
          else fail(e.path, `${e.ip} is inside no pool: edgelb never announces an address outside its pools`);
        } else if (!pool) {
          pool = holder; // the pool of the first VIP; the others must share it
        } else if (holder !== pool) {
          fail(
            e.path,
            s.pool !== undefined
              ? `${e.ip} is not inside pool "${pool.spec.name}" (it is inside pool "${holder.spec.name}")`
              : `${e.ip} is inside pool "${holder.spec.name}", but vips[0] is inside pool "${pool.spec.name}" (one pool per service)`,
          );
        }
      }
    }
    if (explicit.length === 0 && s.pool === undefined) fail(at('pool'), 'required: give vip, vips or pool');
    const allocate = explicit.length === 0 && s.pool !== undefined;
    if (allocate && pool && !pool.spec.autoAssign)
      fail(at('pool'), `pool "${pool.spec.name}" has autoAssign: false; give the service a vip`);

    // ---- shard
    let shard = 0;
    if (o.shards !== undefined) {
      if (s.shard !== undefined && s.shard >= o.shards)
        fail(at('shard'), `must be 0..${o.shards - 1} (cluster.shards is ${o.shards})`);
      shard = s.shard ?? defaultShard(s.name, o.shards);
    }

    // ---- ports, mode, endpoints
    const mode = s.mode ?? o.defaultLbMode;
    const portSeen = new Map<string, number>();
    s.ports.forEach((p, j) => {
      const key = `${p.port}/${p.protocol}`;
      if (portSeen.has(key)) fail(at('ports', j), `duplicate of ports[${portSeen.get(key)}] (${key})`);
      else portSeen.set(key, j);
      if (mode === 'dsr' && p.targetPort !== p.port)
        fail(at('ports', j, 'targetPort'), `must equal port (${p.port}) in dsr mode: the backend answers on the VIP's port`);
    });
    const vipFamilies = new Set(explicit.map((e) => familyOf(e.ip)));
    if (allocate && pool) for (const b of pool.blocks) vipFamilies.add(b.family);
    const epSeen = new Map<string, number>();
    s.endpoints.forEach((e, j) => {
      if (epSeen.has(e.address)) fail(at('endpoints', j), `duplicate of endpoints[${epSeen.get(e.address)}] (${e.address})`);
      else epSeen.set(e.address, j);
      if (explicit.length > 0 && !vipFamilies.has(familyOf(e.address)))
        fail(at('endpoints', j), `IPv${familyOf(e.address)} endpoint for a service whose VIPs are IPv${[...vipFamilies].join('/IPv')} (no translation between families)`);
    });
    if (s.endpoints.length === 0) ctx.warn(at('endpoints'), 'no endpoint: traffic to this service is dropped');

    // ---- probe
    const probe: ProbeSpec = {
      type: s.probe.type,
      intervalMs: s.probe.interval,
      timeoutMs: s.probe.timeout,
      retries: s.probe.retries,
    };
    if (s.probe.type !== 'none' && s.probe.type !== 'ping') probe.port = s.probe.port ?? s.ports[0]!.targetPort;
    else if (s.probe.port !== undefined) probe.port = s.probe.port;
    if (s.probe.type === 'http' || s.probe.type === 'https') probe.path = s.probe.path ?? '/';
    else if (s.probe.path !== undefined) fail(at('probe', 'path'), `only for http and https probes (type is ${s.probe.type})`);
    if (s.probe.request !== undefined) probe.request = s.probe.request;
    if (s.probe.response !== undefined) probe.response = s.probe.response;
    if (s.probe.timeout > s.probe.interval)
      fail(at('probe', 'timeout'), `must not exceed probe.interval (${s.probe.interval}ms)`);

    // ---- one owner at a time needed for NAT modes whose replies must come back to the translator
    if (pool && (mode === 'fullnat' || mode === 'dnat') && pool.spec.announce !== 'l2' && pool.spec.bgpMode === 'ecmp')
      ctx.warn(
        at('mode'),
        `${mode} replies must come back to the node that translated the flow, but pool "${pool.spec.name}" is announced by BGP ECMP from every node; use announce: l2 or bgpMode: activeBackup`,
      );

    if (!ok || poolUnknown || !pool) continue;
    pending.push({
      index: i,
      raw: s,
      pool,
      allocate,
      spec: {
        name: s.name,
        vips: explicit.map((e) => e.ip),
        pool: pool.spec.name,
        shard,
        mode,
        ports: s.ports,
        endpoints: s.endpoints.map((e) => (e.nodeName ? { address: e.address, nodeName: e.nodeName, ready: e.ready } : { address: e.address, ready: e.ready })),
        probe,
        epSelect: s.epSelect,
        timeoutSec: Math.round(s.timeout / 1000),
        withdrawWhenUnhealthy: s.withdrawWhenUnhealthy,
        localOnly: s.localOnly,
      },
    });
  }

  // ---- allocation: explicit VIPs first (every service), then pool-only services in file order
  const used = new Set<string>();
  for (const p of pending) for (const v of p.spec.vips) used.add(v);
  const cursors = new Map<PoolInfo, Cursor>();
  for (const p of pending) {
    if (!p.allocate) continue;
    let cursor = cursors.get(p.pool!);
    if (!cursor) cursors.set(p.pool!, (cursor = { block: 0, next: undefined }));
    const ip = firstFree(p.pool!.blocks, used, p.pool!.spec.avoidBuggyIPs, cursor);
    if (!ip) {
      ctx.error(['services', p.index, 'pool'], `pool "${p.pool!.spec.name}" has no free address left`);
      continue;
    }
    used.add(ip);
    p.spec.vips = [ip];
  }

  // ---- the same VIP, port and protocol in two services
  const owner = new Map<string, string>();
  for (const p of pending)
    p.spec.ports.forEach((port, j) => {
      for (const v of p.spec.vips) {
        const key = `${v}|${port.port}|${port.protocol}`;
        const other = owner.get(key);
        if (other !== undefined && other !== p.spec.name)
          ctx.error(['services', p.index, 'ports', j], `${v}:${port.port}/${port.protocol} is already used by service "${other}"`);
        else owner.set(key, p.spec.name);
      }
    });
  return pending.map((p) => p.spec);
}
