// The one pure function of the Kubernetes source (MetalLB's config.For): Services, EndpointSlices,
// Nodes, IPPools, BGPPeers, BGPPolicies, Secrets and edgelb's own Pods → the DesiredState of one
// node, plus a per-Service plan (served or why not, which nodes announce and how) for status.
import { canonicalIp, familyOf } from '../lib/addr.js';
import type {
  DesiredState,
  Endpoint,
  EpSelect,
  LbMode,
  PeerSpec,
  PolicySpec,
  PoolSpec,
  ProbeSpec,
  ProbeType,
  ServicePort,
  ServiceSpec,
} from '../model/desired-state.js';
import { ANN_ASSIGNED_POOL, ANN_ASSIGNED_SHARD, annotation, isOurs, selectorMatches, serviceKey } from './annotations.js';
import { Ipam, poolFromObj, recordedIps } from './ipam.js';
import type {
  BGPPeerObj,
  BGPPolicyObj,
  EndpointSliceObj,
  IPPoolObj,
  LoxiBGPPeerServiceObj,
  NodeObj,
  SecretObj,
  ServiceObj,
} from './types.js';

export const LABEL_EXCLUDE_LB = 'node.kubernetes.io/exclude-from-external-load-balancers';
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';

/** An edgelb pod as the translation needs it: where it runs and its (host network) address. */
export interface MemberPod {
  nodeName: string;
  ip: string;
  ready: boolean;
}

export interface ClusterView {
  services: ServiceObj[];
  slices: EndpointSliceObj[];
  nodes: NodeObj[];
  pools: IPPoolObj[];
  peers: BGPPeerObj[];
  policies: BGPPolicyObj[];
  loxiPeers: LoxiBGPPeerServiceObj[];
  /** Secrets of edgelb's own namespace (BGP passwords). */
  secrets: SecretObj[];
  /** edgelb's own pods (cluster members, and the nodes that can announce). */
  members: MemberPod[];
}

export interface TranslateOptions {
  nodeName: string;
  /** Node-level settings from the ConfigMap file: node, api, cluster, bgp.asn, dataplane, l2. */
  settings: DesiredState;
  defaultClass?: boolean;
  defaultLbMode?: LbMode;
}

/** Something in the cluster edgelb cannot use as given; it is skipped, the rest goes on. */
export interface Problem {
  object: string; // "Service default/web", "BGPPeer tor-a"
  reason: string;
  message: string;
}

export interface ServicePlan {
  key: string;
  served: boolean;
  reason: string; // 'Served' or why not
  message: string;
  vips: string[];
  pool?: string;
  shard?: number;
  /** Nodes that announce this Service's VIPs (edgelb pods on eligible nodes). */
  nodes: string[];
  how?: string; // "BGP ecmp", "L2 (shard master answers ARP/NDP)", ...
}

export interface Translation {
  state: DesiredState;
  problems: Problem[];
  plans: ServicePlan[];
}

const LB_MODES: Record<string, LbMode> = { default: 'dnat', dnat: 'dnat', onearm: 'onearm', fullnat: 'fullnat', dsr: 'dsr' };
const EP_SELECT: Record<string, EpSelect> = { maglev: 'maglev', rr: 'rr', roundrobin: 'rr', hash: 'hash', persist: 'persist', lc: 'lc' };
const PROBE_TYPES: Record<string, ProbeType> = { none: 'none', tcp: 'tcp', udp: 'udp', http: 'http', https: 'https', ping: 'ping', icmp: 'ping' };

/** The shard a Service is in: the user's zoneinstance annotation, else the one recorded, else a hash. */
export function shardOf(svc: ServiceObj, shards: number): { shard: number; source: 'annotation' | 'assigned' | 'hash' } {
  const zone = annotation(svc, 'zoneinstance');
  if (zone !== undefined && zone !== '') {
    const m = /(\d+)$/.exec(zone); // "2", "llb-inst2"
    return { shard: (m ? Number(m[1]) : hashString(zone)) % shards, source: 'annotation' };
  }
  const rec = svc.metadata.annotations?.[ANN_ASSIGNED_SHARD];
  if (rec !== undefined && /^\d+$/.test(rec) && Number(rec) < shards) return { shard: Number(rec), source: 'assigned' };
  return { shard: hashString(serviceKey(svc)) % shards, source: 'hash' };
}

/** The least loaded shard (ties: the lowest number). */
export function leastLoadedShard(loads: number[]): number {
  let best = 0;
  for (let i = 1; i < loads.length; i++) if (loads[i]! < loads[best]!) best = i;
  return best;
}

export function hashString(s: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Why a node may not announce (excluded label, NetworkUnavailable), or undefined. */
export function nodeNoAnnounceReason(node: NodeObj | undefined): string | undefined {
  if (!node) return undefined;
  if (node.metadata.labels && LABEL_EXCLUDE_LB in node.metadata.labels) return `node has label ${LABEL_EXCLUDE_LB}`;
  const nu = node.status?.conditions?.find((c) => c.type === 'NetworkUnavailable');
  if (nu?.status === 'True') return `node condition NetworkUnavailable is True${nu.reason ? ` (${nu.reason})` : ''}`;
  return undefined;
}

export function nodeInternalIp(node: NodeObj | undefined, family: 4 | 6 = 4): string | undefined {
  const a = node?.status?.addresses?.find((x) => x.type === 'InternalIP' && familyOf(x.address) === family);
  return a?.address;
}

export function poolSpecOf(p: IPPoolObj): PoolSpec {
  return {
    name: p.metadata.name,
    cidrs: p.spec.cidrs ?? [],
    ranges: p.spec.ranges ?? [],
    announce: p.spec.announce ?? 'bgp',
    bgpMode: p.spec.bgpMode ?? 'ecmp',
    avoidBuggyIPs: p.spec.avoidBuggyIPs ?? true,
    autoAssign: p.spec.autoAssign ?? true,
  };
}

export function policySpecOf(p: BGPPolicyObj): PolicySpec {
  const s = p.spec ?? {};
  const prefixSets: PolicySpec['prefixSets'] = {};
  for (const ps of s.prefixSets ?? []) prefixSets[ps.name] = ps.prefixes.map((e) => ({ ...e }));
  const communitySets: PolicySpec['communitySets'] = {};
  for (const cs of s.communitySets ?? []) communitySets[cs.name] = [...cs.communities];
  return {
    name: p.metadata.name,
    prefixSets,
    communitySets,
    statements: (s.statements ?? []).map((st) => ({ name: st.name, match: { ...(st.match ?? {}) }, actions: { ...(st.actions ?? {}) } })),
    defaultResult: s.defaultResult ?? 'accept',
  };
}

function secretValue(secrets: SecretObj[], name: string, key: string): string | undefined {
  const sec = secrets.find((s) => s.metadata.name === name);
  if (!sec) return undefined;
  if (sec.stringData?.[key] !== undefined) return sec.stringData[key];
  const b64 = sec.data?.[key];
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
}

function probeOf(svc: ServiceObj, proto: 'tcp' | 'udp'): { probe: ProbeSpec; error?: string } {
  const liveness = (annotation(svc, 'liveness') ?? '').toLowerCase();
  const typeRaw = annotation(svc, 'probetype')?.toLowerCase();
  const num = (k: string, d: number) => {
    const v = annotation(svc, k);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : d;
  };
  let error: string | undefined;
  let type: ProbeType = 'none';
  if (typeRaw !== undefined) {
    const t = PROBE_TYPES[typeRaw];
    if (t === undefined) error = `probetype "${typeRaw}" is not one of ${Object.keys(PROBE_TYPES).join(', ')}`;
    else type = t;
  } else if (liveness === 'yes' || liveness === 'true') type = proto;
  if (type !== 'none' && liveness !== 'yes' && liveness !== 'true' && typeRaw === undefined) type = 'none';
  const port = annotation(svc, 'probeport');
  const req = annotation(svc, 'probereq');
  const resp = annotation(svc, 'proberesp');
  const probe: ProbeSpec = {
    type,
    intervalMs: 5000,
    timeoutMs: num('probetimeout', 2) * 1000,
    retries: num('proberetries', 2),
    ...(port !== undefined && /^\d+$/.test(port) ? { port: Number(port) } : {}),
    ...(req !== undefined ? (type === 'http' || type === 'https' ? { path: req.startsWith('/') ? req : `/${req}` } : { request: req }) : {}),
    ...(resp !== undefined ? { response: resp } : {}),
  };
  return error ? { probe, error } : { probe };
}

/** Endpoints of a Service from its EndpointSlices (deduplicated; nil ready counts as ready). */
export function endpointsOf(svc: ServiceObj, slices: EndpointSliceObj[]): { endpoints: Endpoint[]; portByName: Map<string, number> } {
  const ns = svc.metadata.namespace ?? 'default';
  const seen = new Map<string, Endpoint>();
  const portByName = new Map<string, number>();
  for (const sl of slices) {
    if ((sl.metadata.namespace ?? 'default') !== ns || sl.metadata.labels?.[LABEL_SERVICE_NAME] !== svc.metadata.name) continue;
    if (sl.addressType === 'FQDN') continue;
    for (const p of sl.ports ?? []) if (p.port !== undefined && !portByName.has(p.name ?? '')) portByName.set(p.name ?? '', p.port);
    for (const ep of sl.endpoints ?? []) {
      const ready = ep.conditions?.ready !== false && ep.conditions?.terminating !== true;
      for (const a of ep.addresses) {
        if (!familyOf(a)) continue;
        const address = canonicalIp(a);
        const prev = seen.get(address);
        if (prev && prev.ready) continue;
        seen.set(address, { address, ready, ...(ep.nodeName ? { nodeName: ep.nodeName } : {}) });
      }
    }
  }
  return { endpoints: [...seen.values()].sort((a, b) => a.address.localeCompare(b.address)), portByName };
}

export function translate(view: ClusterView, opts: TranslateOptions): Translation {
  const settings = opts.settings;
  const problems: Problem[] = [];
  const shards = settings.cluster?.shards ?? 1;
  const nodesByName = new Map(view.nodes.map((n) => [n.metadata.name, n]));
  const myNode = nodesByName.get(opts.nodeName);

  // pools: valid ones only (the schema catches field errors; these are cross-field rules)
  const pools: PoolSpec[] = [];
  const ipamPools = [];
  for (const p of [...view.pools].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const r = poolFromObj(p);
    if (!r.pool) {
      problems.push({ object: `IPPool ${p.metadata.name}`, reason: 'InvalidPool', message: r.errors.join('; ') });
      continue;
    }
    ipamPools.push(r.pool);
    pools.push(poolSpecOf(p));
  }
  const poolIndex = new Ipam(ipamPools);
  const poolByName = new Map(pools.map((p) => [p.name, p]));

  // which nodes can announce: nodes with a ready edgelb pod that are not excluded
  const memberNodes = [...new Set(view.members.filter((m) => m.ready).map((m) => m.nodeName))].sort();
  const eligibleNodes = memberNodes.filter((n) => !nodeNoAnnounceReason(nodesByName.get(n)));

  const services: ServiceSpec[] = [];
  const plans: ServicePlan[] = [];
  const sortedSvcs = [...view.services].filter((s) => isOurs(s, opts.defaultClass)).sort((a, b) => serviceKey(a).localeCompare(serviceKey(b)));
  for (const svc of sortedSvcs) {
    const key = serviceKey(svc);
    const obj = `Service ${key}`;
    const recorded = recordedIps(svc).filter((ip) => familyOf(ip)).map(canonicalIp);
    if (recorded.length === 0) {
      plans.push({ key, served: false, reason: 'Pending', message: 'no address assigned yet', vips: [], nodes: [] });
      continue;
    }
    const hint = svc.metadata.annotations?.[ANN_ASSIGNED_POOL];
    const vips: string[] = [];
    let pool: string | undefined;
    for (const ip of recorded) {
      const p = poolIndex.poolOf(ip, hint);
      if (!p) {
        problems.push({ object: obj, reason: 'NotInPool', message: `${ip} lies in no IPPool; edgelb never announces it` });
        continue;
      }
      pool ??= p;
      vips.push(ip);
    }
    if (vips.length === 0 || pool === undefined) {
      plans.push({ key, served: false, reason: 'NotInPool', message: `${recorded.join(', ')} lies in no IPPool; edgelb never announces it`, vips: [], nodes: [] });
      continue;
    }
    const modeRaw = annotation(svc, 'lbmode')?.toLowerCase();
    let mode: LbMode = opts.defaultLbMode ?? 'onearm';
    if (modeRaw !== undefined && modeRaw !== '') {
      const m = LB_MODES[modeRaw];
      if (m) mode = m;
      else problems.push({ object: obj, reason: 'InvalidAnnotation', message: `lbmode "${modeRaw}" is not one of dnat, onearm, fullnat, dsr; using ${mode}` });
    }
    const epRaw = annotation(svc, 'epselect')?.toLowerCase();
    let epSelect: EpSelect = 'maglev';
    if (epRaw !== undefined && epRaw !== '') {
      const e = EP_SELECT[epRaw];
      if (e) epSelect = e;
      else problems.push({ object: obj, reason: 'InvalidAnnotation', message: `epselect "${epRaw}" is not one of maglev, rr, hash, persist, lc; using maglev` });
    }
    const { endpoints, portByName } = endpointsOf(svc, view.slices);
    const ports: ServicePort[] = [];
    for (const p of svc.spec.ports ?? []) {
      const proto = (p.protocol ?? 'TCP').toUpperCase();
      if (proto !== 'TCP' && proto !== 'UDP') {
        problems.push({ object: obj, reason: 'UnsupportedProtocol', message: `port ${p.port}/${proto} is not served (TCP and UDP only)` });
        continue;
      }
      const fromSlice = portByName.get(p.name ?? '');
      const targetPort = fromSlice ?? (typeof p.targetPort === 'number' ? p.targetPort : p.port);
      ports.push({ port: p.port, protocol: proto === 'TCP' ? 'tcp' : 'udp', targetPort });
    }
    const firstProto = ports[0]?.protocol ?? 'tcp';
    const pr = probeOf(svc, firstProto);
    if (pr.error) problems.push({ object: obj, reason: 'InvalidAnnotation', message: pr.error });
    const timeoutRaw = annotation(svc, 'timeout');
    const timeoutSec = timeoutRaw !== undefined && /^\d+$/.test(timeoutRaw) ? Number(timeoutRaw) : 300;
    const { shard } = shardOf(svc, shards);
    const localOnly = svc.spec.externalTrafficPolicy === 'Local';
    services.push({
      name: key,
      vips,
      pool,
      shard,
      mode,
      ports,
      endpoints,
      probe: pr.probe,
      epSelect,
      timeoutSec,
      withdrawWhenUnhealthy: true,
      localOnly,
    });
    const ps = poolByName.get(pool)!;
    let nodes = eligibleNodes;
    if (localOnly) {
      const withLocal = new Set(endpoints.filter((e) => e.ready && e.nodeName).map((e) => e.nodeName!));
      nodes = nodes.filter((n) => withLocal.has(n));
    }
    const how = [
      ps.announce !== 'l2' ? `BGP ${ps.bgpMode === 'ecmp' ? 'ECMP (every node)' : 'activeBackup (shard master preferred by MED)'}` : '',
      ps.announce !== 'bgp' ? 'L2 ARP/NDP (shard master answers)' : '',
    ]
      .filter(Boolean)
      .join(' + ');
    const readyEps = endpoints.filter((e) => e.ready).length;
    let reason = 'Served';
    let message = `${vips.join(', ')} from pool ${pool}, shard ${shard}, announced by ${nodes.length ? nodes.join(', ') : 'no node'} via ${how}; ${readyEps} ready endpoint(s)`;
    if (nodes.length === 0) {
      reason = localOnly && eligibleNodes.length ? 'NoLocalEndpoint' : 'NoAnnouncingNode';
      message =
        reason === 'NoLocalEndpoint'
          ? `${vips.join(', ')} from pool ${pool}, shard ${shard}: externalTrafficPolicy Local and no edgelb node hosts a ready endpoint, so no node announces it`
          : `${vips.join(', ')} from pool ${pool}, shard ${shard}: no edgelb node may announce it (${memberNodes.length ? 'all excluded or NetworkUnavailable' : 'no edgelb pod is ready'})`;
    } else if (readyEps === 0) {
      reason = 'NoReadyEndpoint';
      message = `${vips.join(', ')} from pool ${pool}, shard ${shard}: no ready endpoint, so the VIP is withdrawn until one is ready`;
    }
    plans.push({ key, served: reason === 'Served', reason, message, vips, pool, shard, nodes, how });
  }

  // peers of this node: BGPPeers whose nodeSelector matches it, plus kube-loxilb's BGPPeerService
  const policyNames = new Set(view.policies.map((p) => p.metadata.name));
  const policies = [...view.policies].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const peers: PeerSpec[] = [];
  const myLabels = myNode?.metadata.labels ?? {};
  for (const p of [...view.peers].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const s = p.spec;
    if (!selectorMatches(s.nodeSelector, myLabels)) continue;
    const obj = `BGPPeer ${p.metadata.name}`;
    if (!familyOf(s.address)) {
      problems.push({ object: obj, reason: 'InvalidPeer', message: `address "${s.address}" is not an IP` });
      continue;
    }
    let password: string | undefined;
    if (s.passwordSecretRef) {
      const k = s.passwordSecretRef.key ?? 'password';
      password = secretValue(view.secrets, s.passwordSecretRef.name, k);
      if (password === undefined) {
        problems.push({ object: obj, reason: 'SecretNotFound', message: `Secret ${s.passwordSecretRef.name} (key ${k}) is not in edgelb's namespace; the peer is skipped` });
        continue;
      }
    }
    const exportPolicies: string[] = [];
    for (const n of [...(s.exportPolicies ?? []), ...policies.filter((x) => x.spec.peers?.includes(p.metadata.name)).map((x) => x.metadata.name)]) {
      if (exportPolicies.includes(n)) continue;
      if (!policyNames.has(n)) {
        problems.push({ object: obj, reason: 'PolicyNotFound', message: `export policy "${n}" does not exist; skipped` });
        continue;
      }
      exportPolicies.push(n);
    }
    const holdTime = s.holdTime ?? 9;
    peers.push({
      address: canonicalIp(s.address),
      asn: s.asn,
      port: s.port ?? 179,
      holdTime,
      ...(s.keepalive !== undefined ? { keepalive: s.keepalive } : {}),
      ...(password !== undefined ? { password } : {}),
      passive: s.passive ?? false,
      connectRetry: s.connectRetry ?? 5,
      idleHold: 1,
      gracefulRestart: s.gracefulRestart?.enabled ?? true,
      restartTime: s.gracefulRestart?.restartTime ?? 30,
      ...(s.ebgpMultihop !== undefined ? { ebgpMultihop: s.ebgpMultihop } : {}),
      ...(s.gtsm !== undefined ? { gtsm: s.gtsm } : {}),
      ...(s.localAddress ? { localAddress: s.localAddress } : {}),
      families: s.families ?? [familyOf(s.address) === 6 ? 'ipv6' : 'ipv4'],
      exportPolicies,
      maxPrefixes: s.maxPrefixes ?? 10_000,
    });
  }
  for (const lp of [...view.loxiPeers].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const addr = lp.spec?.ipAddress;
    if (!addr || !familyOf(addr)) {
      problems.push({ object: `BGPPeerService ${lp.metadata.name}`, reason: 'InvalidPeer', message: `ipAddress "${addr}" is not an IP` });
      continue;
    }
    if (peers.some((p) => p.address === canonicalIp(addr))) continue; // an edgelb BGPPeer wins
    peers.push({
      address: canonicalIp(addr),
      asn: lp.spec.remoteAs,
      port: lp.spec.remotePort ?? 179,
      holdTime: 9,
      passive: false,
      connectRetry: 5,
      idleHold: 1,
      gracefulRestart: true,
      restartTime: 30,
      families: [familyOf(addr) === 6 ? 'ipv6' : 'ipv4'],
      exportPolicies: [],
      maxPrefixes: 10_000,
    });
  }
  if (peers.length > 0 && !settings.bgp) {
    problems.push({ object: `Node ${opts.nodeName}`, reason: 'NoLocalAsn', message: 'BGPPeers select this node but the node settings have no bgp.asn; no session is started' });
  }

  // node-level settings from the file, completed from the Node object and edgelb's pods
  const routerId = settings.node.routerId || nodeInternalIp(myNode) || settings.bgp?.routerId || '';
  const noAnnounce = nodeNoAnnounceReason(myNode);
  const node = { ...settings.node, name: opts.nodeName, routerId, ...(noAnnounce ? { noAnnounceReason: noAnnounce } : {}) };
  if (!noAnnounce) delete (node as { noAnnounceReason?: string }).noAnnounceReason;
  let cluster = settings.cluster;
  if (cluster) {
    const ips = [...new Set(view.members.map((m) => m.ip).filter((ip) => familyOf(ip)))].sort();
    if (ips.length > 0) {
      const port = /:(\d+)$/.exec(cluster.listen)?.[1];
      cluster = { ...cluster, members: ips.map((ip) => (port ? (familyOf(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`) : ip)) };
    }
  }
  const state: DesiredState = {
    node,
    api: settings.api,
    ...(cluster ? { cluster } : {}),
    ...(settings.bgp ? { bgp: { ...settings.bgp, routerId: routerId || settings.bgp.routerId, peers } } : {}),
    pools,
    services,
    policies: policies.map(policySpecOf),
    dataplane: settings.dataplane,
    l2: settings.l2,
  };
  return { state, problems, plans };
}
