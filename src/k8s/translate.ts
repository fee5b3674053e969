// The one pure function of the Kubernetes source (MetalLB's config.For): Services, EndpointSlices,
// Nodes, IPPools, BGPPeers, BGPPolicies, Secrets and edgelb's own Pods → the DesiredState of one
// node, plus a per-Service plan (served or why not, which nodes announce and how) for status.
// Built from small pure functions: the cluster objects in objects.ts, one Service in
// serviceOf(), the peers of this node in peersOf(), the node settings in nodeStateOf().
// A Service's addresses are only those the leader wrote in status.loadBalancer.ingress (a
// subresource tenants cannot write); the user-writable annotations are never trusted here.
import { canonicalIp, familyOf } from '../lib/addr.js';
import type {
  DesiredState,
  Endpoint,
  EpSelect,
  LbMode,
  PeerSpec,
  PoolSpec,
  ProbeSpec,
  ProbeType,
  ServicePort,
  ServiceSpec,
} from '../model/desired-state.js';
import { fnv1a32 } from '../config/hash.js';
import { ANN_ASSIGNED_POOL, ANN_ASSIGNED_SHARD, annotation, isOurs, selectorMatches, serviceKey } from './annotations.js';
import { Ipam, statusIps } from './ipam.js';
import { loxiPeerSpecOf, peerSpecOf, validPolicies, validPools, type Problem } from './objects.js';
import { snatFromNodes } from './snat-annotations.js';
import type {
  BGPPeerObj,
  BGPPolicyObj,
  EndpointSliceObj,
  IPPoolObj,
  LoxiBGPPeerServiceObj,
  NodeObj,
  NodeReportObj,
  SecretObj,
  ServiceObj,
} from './types.js';

export { poolSpecOf, policySpecOf, type Problem } from './objects.js';

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
  /** What each node reports it carries (carried.ts). Absent: carriage is not tracked, and
   *  Served follows the plan alone; empty: no node has reported. */
  reports?: NodeReportObj[];
}

export interface TranslateOptions {
  nodeName: string;
  /** Node-level settings from the ConfigMap file: node, api, cluster, bgp.asn, dataplane, l2. */
  settings: DesiredState;
  defaultClass?: boolean;
  defaultLbMode?: LbMode;
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
    return { shard: (m ? Number(m[1]) : fnv1a32(zone)) % shards, source: 'annotation' };
  }
  const rec = svc.metadata.annotations?.[ANN_ASSIGNED_SHARD];
  if (rec !== undefined && /^\d+$/.test(rec) && Number(rec) < shards) return { shard: Number(rec), source: 'assigned' };
  return { shard: fnv1a32(serviceKey(svc)) % shards, source: 'hash' };
}

/** The least loaded shard (ties: the lowest number). */
export function leastLoadedShard(loads: number[]): number {
  let best = 0;
  for (let i = 1; i < loads.length; i++) if (loads[i]! < loads[best]!) best = i;
  return best;
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


/** EndpointSlices grouped by "namespace/service", so each Service reads only its own. */
export function slicesByService(slices: EndpointSliceObj[]): Map<string, EndpointSliceObj[]> {
  const m = new Map<string, EndpointSliceObj[]>();
  for (const sl of slices) {
    const svc = sl.metadata.labels?.[LABEL_SERVICE_NAME];
    if (svc === undefined) continue;
    const k = `${sl.metadata.namespace ?? 'default'}/${svc}`;
    const list = m.get(k);
    if (list) list.push(sl);
    else m.set(k, [sl]);
  }
  return m;
}

/** What the Services of one translation share. */
interface ServiceContext {
  opts: TranslateOptions;
  shards: number;
  poolIndex: Ipam;
  poolByName: Map<string, PoolSpec>;
  slices: Map<string, EndpointSliceObj[]>;
  memberNodes: string[];
  eligibleNodes: string[];
}

/** The VIPs of a Service: its status addresses that lie in a usable pool. */
function serviceVips(svc: ServiceObj, c: ServiceContext, problems: Problem[]): { vips: string[]; pool?: string; recorded: string[] } {
  const recorded = statusIps(svc).filter((ip) => familyOf(ip)).map(canonicalIp);
  const hint = svc.metadata.annotations?.[ANN_ASSIGNED_POOL];
  const vips: string[] = [];
  let pool: string | undefined;
  for (const ip of recorded) {
    const p = c.poolIndex.poolOf(ip, hint);
    if (!p) {
      problems.push({ object: `Service ${serviceKey(svc)}`, reason: 'NotInPool', message: `${ip} lies in no IPPool; edgelb never announces it` });
      continue;
    }
    pool ??= p;
    vips.push(ip);
  }
  return pool === undefined ? { vips: [], recorded } : { vips, pool, recorded };
}

/** A value of an annotation from a table of names, else the default and a problem. */
function pick<T>(svc: ServiceObj, key: string, table: Record<string, T>, dflt: T, names: string, problems: Problem[]): T {
  const raw = annotation(svc, key)?.toLowerCase();
  if (raw === undefined || raw === '') return dflt;
  const v = table[raw];
  if (v !== undefined) return v;
  problems.push({ object: `Service ${serviceKey(svc)}`, reason: 'InvalidAnnotation', message: `${key} "${raw}" is not one of ${names}; using ${String(dflt)}` });
  return dflt;
}

/** The TCP and UDP ports of a Service, target ports from its EndpointSlices. */
function servicePorts(svc: ServiceObj, portByName: Map<string, number>, problems: Problem[]): ServicePort[] {
  const ports: ServicePort[] = [];
  for (const p of svc.spec.ports ?? []) {
    const proto = (p.protocol ?? 'TCP').toUpperCase();
    if (proto !== 'TCP' && proto !== 'UDP') {
      problems.push({ object: `Service ${serviceKey(svc)}`, reason: 'UnsupportedProtocol', message: `port ${p.port}/${proto} is not served (TCP and UDP only)` });
      continue;
    }
    const fromSlice = portByName.get(p.name ?? '');
    const targetPort = fromSlice ?? (typeof p.targetPort === 'number' ? p.targetPort : p.port);
    ports.push({ port: p.port, protocol: proto === 'TCP' ? 'tcp' : 'udp', targetPort });
  }
  return ports;
}

/** Which nodes announce a served Service, and the plan's reason and message. */
function announcePlan(spec: ServiceSpec, pool: PoolSpec, c: ServiceContext): ServicePlan {
  let nodes = c.eligibleNodes;
  if (spec.localOnly) {
    const withLocal = new Set(spec.endpoints.filter((e) => e.ready && e.nodeName).map((e) => e.nodeName!));
    nodes = nodes.filter((n) => withLocal.has(n));
  }
  const how = [
    pool.announce !== 'l2' ? `BGP ${pool.bgpMode === 'ecmp' ? 'ECMP (every node)' : 'activeBackup (shard master preferred by MED)'}` : '',
    pool.announce !== 'bgp' ? 'L2 ARP/NDP (shard master answers)' : '',
  ]
    .filter(Boolean)
    .join(' + ');
  const vips = spec.vips.join(', ');
  const at = `${vips} from pool ${pool.name}, shard ${spec.shard}`;
  const readyEps = spec.endpoints.filter((e) => e.ready).length;
  let reason = 'Served';
  let message = `${at}, announced by ${nodes.length ? nodes.join(', ') : 'no node'} via ${how}; ${readyEps} ready endpoint(s)`;
  if (nodes.length === 0) {
    reason = spec.localOnly && c.eligibleNodes.length ? 'NoLocalEndpoint' : 'NoAnnouncingNode';
    message =
      reason === 'NoLocalEndpoint'
        ? `${at}: externalTrafficPolicy Local and no edgelb node hosts a ready endpoint, so no node announces it`
        : `${at}: no edgelb node may announce it (${c.memberNodes.length ? 'all excluded or NetworkUnavailable' : 'no edgelb pod is ready'})`;
  } else if (readyEps === 0) {
    reason = 'NoReadyEndpoint';
    message = `${at}: no ready endpoint, so the VIP is withdrawn until one is ready`;
  }
  return { key: spec.name, served: reason === 'Served', reason, message, vips: spec.vips, pool: pool.name, shard: spec.shard, nodes, how };
}

/** One Service → its ServiceSpec (when it has addresses in a pool) and its plan. */
export function serviceOf(svc: ServiceObj, c: ServiceContext, problems: Problem[]): { spec?: ServiceSpec; plan: ServicePlan } {
  const key = serviceKey(svc);
  const { vips, pool, recorded } = serviceVips(svc, c, problems);
  if (recorded.length === 0) return { plan: { key, served: false, reason: 'Pending', message: 'no address assigned yet', vips: [], nodes: [] } };
  if (pool === undefined) {
    return { plan: { key, served: false, reason: 'NotInPool', message: `${recorded.join(', ')} lies in no IPPool; edgelb never announces it`, vips: [], nodes: [] } };
  }
  const mode = pick(svc, 'lbmode', LB_MODES, c.opts.defaultLbMode ?? 'onearm', 'dnat, onearm, fullnat, dsr', problems);
  const epSelect = pick<EpSelect>(svc, 'epselect', EP_SELECT, 'maglev', 'maglev, rr, hash, persist, lc', problems);
  const { endpoints, portByName } = endpointsOf(svc, c.slices.get(key) ?? []);
  const ports = servicePorts(svc, portByName, problems);
  const pr = probeOf(svc, ports[0]?.protocol ?? 'tcp');
  if (pr.error) problems.push({ object: `Service ${key}`, reason: 'InvalidAnnotation', message: pr.error });
  const timeoutRaw = annotation(svc, 'timeout');
  const spec: ServiceSpec = {
    name: key,
    vips,
    pool,
    shard: shardOf(svc, c.shards).shard,
    mode,
    ports,
    endpoints,
    probe: pr.probe,
    epSelect,
    timeoutSec: timeoutRaw !== undefined && /^\d+$/.test(timeoutRaw) ? Number(timeoutRaw) : 300,
    withdrawWhenUnhealthy: true,
    localOnly: svc.spec.externalTrafficPolicy === 'Local',
  };
  return { spec, plan: announcePlan(spec, c.poolByName.get(pool)!, c) };
}

/** The BGP peers of this node: BGPPeers whose nodeSelector matches it, then kube-loxilb's BGPPeerServices. */
export function peersOf(view: ClusterView, myLabels: Record<string, string>, invalidPolicies: ReadonlySet<string>, problems: Problem[]): PeerSpec[] {
  const peers: PeerSpec[] = [];
  for (const p of [...view.peers].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    if (!selectorMatches(p.spec.nodeSelector, myLabels)) continue;
    const r = peerSpecOf(p, view.secrets, view.policies, invalidPolicies);
    problems.push(...r.problems);
    if (r.peer) peers.push(r.peer);
  }
  for (const lp of [...view.loxiPeers].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const r = loxiPeerSpecOf(lp);
    if (r.problem) problems.push(r.problem);
    else if (!peers.some((p) => p.address === r.peer!.address)) peers.push(r.peer!); // an edgelb BGPPeer wins
  }
  return peers;
}

/** Node-level settings from the file, completed from the Node object and edgelb's pods. */
function nodeStateOf(view: ClusterView, opts: TranslateOptions, myNode: NodeObj | undefined): Pick<DesiredState, 'node' | 'cluster'> & { routerId: string } {
  const settings = opts.settings;
  const routerId = settings.node.routerId || nodeInternalIp(myNode) || settings.bgp?.routerId || '';
  const noAnnounce = nodeNoAnnounceReason(myNode);
  const node = { ...settings.node, name: opts.nodeName, routerId, ...(noAnnounce ? { noAnnounceReason: noAnnounce } : {}) };
  if (!noAnnounce) delete (node as { noAnnounceReason?: string }).noAnnounceReason;
  let cluster = settings.cluster;
  if (cluster) {
    // the ready pods, and this one (it runs): a pod that is starting or failing its readiness
    // probe is no member yet, so it counts neither for nor against the others' quorum
    const ips = [...new Set(view.members.filter((m) => m.ready || m.nodeName === opts.nodeName).map((m) => m.ip).filter((ip) => familyOf(ip)))].sort();
    if (ips.length > 0) {
      const port = /:(\d+)$/.exec(cluster.listen)?.[1];
      cluster = { ...cluster, members: ips.map((ip) => (port ? (familyOf(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`) : ip)) };
    }
  }
  return { node, routerId, ...(cluster ? { cluster } : {}) };
}

export function translate(view: ClusterView, opts: TranslateOptions): Translation {
  const settings = opts.settings;
  const problems: Problem[] = [];
  const nodesByName = new Map(view.nodes.map((n) => [n.metadata.name, n]));
  const myNode = nodesByName.get(opts.nodeName);

  const vp = validPools(view.pools);
  problems.push(...vp.problems);
  // which nodes can announce: nodes with a ready edgelb pod that are not excluded
  const memberNodes = [...new Set(view.members.filter((m) => m.ready).map((m) => m.nodeName))].sort();
  const ctx: ServiceContext = {
    opts,
    shards: settings.cluster?.shards ?? 1,
    poolIndex: new Ipam(vp.ipamPools),
    poolByName: new Map(vp.pools.map((p) => [p.name, p])),
    slices: slicesByService(view.slices),
    memberNodes,
    eligibleNodes: memberNodes.filter((n) => !nodeNoAnnounceReason(nodesByName.get(n))),
  };
  const services: ServiceSpec[] = [];
  const plans: ServicePlan[] = [];
  const ours = view.services.filter((s) => isOurs(s, opts.defaultClass)).sort((a, b) => serviceKey(a).localeCompare(serviceKey(b)));
  for (const svc of ours) {
    const r = serviceOf(svc, ctx, problems);
    if (r.spec) services.push(r.spec);
    plans.push(r.plan);
  }

  const pol = validPolicies(view.policies);
  problems.push(...pol.problems);
  const peers = peersOf(view, myNode?.metadata.labels ?? {}, pol.invalid, problems);
  if (peers.length > 0 && !settings.bgp) {
    problems.push({ object: `Node ${opts.nodeName}`, reason: 'NoLocalAsn', message: 'BGPPeers select this node but the node settings have no bgp.asn; no session is started' });
  }
  const ns = nodeStateOf(view, opts, myNode);
  const { node, routerId } = ns;
  let cluster = ns.cluster;
  if (cluster?.sync) {
    // every Node's edgelb.io/snat-address (a survivor needs the dead node's)
    const snat = snatFromNodes(cluster.sync, view.nodes);
    problems.push(...snat.problems);
    cluster = { ...cluster, sync: snat.sync };
  }
  const state: DesiredState = {
    node,
    api: settings.api,
    ...(cluster ? { cluster } : {}),
    ...(settings.bgp ? { bgp: { ...settings.bgp, routerId: routerId || settings.bgp.routerId, peers } } : {}),
    pools: vp.pools,
    services,
    policies: pol.policies,
    dataplane: settings.dataplane,
    l2: settings.l2,
  };
  return { state, problems, plans };
}
