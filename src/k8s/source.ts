// KubernetesSource: the DesiredState from the API server. Every process watches Services,
// EndpointSlices, Nodes, Namespaces, IPPools, BGPPeers, BGPPolicies, kube-loxilb BGPPeerServices,
// and its own namespace's Secrets and Pods. Its role says what it does with them (as MetalLB splits
// its controller from its speakers): a 'speaker' (a DaemonSet pod) emits 'state' for its own node
// and writes only its own BGPPeer status entries and its own NodeReport (what it carries,
// carried.ts) when that changes; a 'controller' (`edgelb controller`) competes for the Lease and,
// holding it, does IPAM and writes status, reading every NodeReport for Served; 'all' does both
// (`edgelb daemon --kubernetes --controller`). When the API server is unreachable, the caches and
// the last emitted state stay as they were: the node keeps serving. This node's settings are the
// ConfigMap's (replaced on reload) overlaid with its Node's edgelb.io/* annotations
// (node-settings.ts), and their problems are Events on its Node (node-events.ts).
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import type { DesiredState, LbMode } from '../model/desired-state.js';
import { selectorMatches } from './annotations.js';
import { GROUP, KubeWriter, Reflector, VERSION, loadKubeClient, statusOf, type ListResult } from './client.js';
import { slimCustom, slimEndpointSlice, slimmer, slimNamespace, slimNode, slimPod, slimSecret, slimService } from './slim.js';
import { LeaderController } from './controller.js';
import { LeaderElector } from './leader.js';
import { NodeEvents } from './node-events.js';
import { NodeSettings } from './node-settings.js';
import { K8sMetrics } from './metrics.js';
import { peerEntryChanged, peerNodeEntry, type NodeStatusSource } from './status.js';
import { REPORT_KIND, REPORT_PLURAL, reportChanged, reportStatus, type ReportStatus } from './carried.js';
import { nodeInternalIp, translate, type ClusterView, type MemberPod, type Problem, type ServicePlan, type TranslateOptions, type Translation } from './translate.js';
import type {
  BGPPeerNodeStatus,
  BGPPeerObj,
  BGPPolicyObj,
  EndpointSliceObj,
  IPPoolObj,
  LoxiBGPPeerServiceObj,
  NamespaceObj,
  NodeObj,
  NodeReportObj,
  PodObj,
  SecretObj,
  ServiceObj,
} from './types.js';

export type { NodeStatusSource, NeighborStatus } from './status.js';

export interface KubernetesSourceOptions {
  /** kubeconfig file; default: KUBECONFIG, ~/.kube/config, or in-cluster credentials. */
  kubeconfig?: string;
  nodeName: string;
  /** Node-level settings from the ConfigMap file (node, api, cluster, bgp.asn, dataplane, l2). */
  settings: DesiredState;
  logger: Logger;
  registry: Registry;
  /** The node agent's BGP sessions, for BGPPeer status. */
  statusSource?: NodeStatusSource;
  /** edgelb's namespace (Secrets, Pods, Lease). Default: POD_NAMESPACE or edgelb-system. */
  namespace?: string;
  /** Label selector of edgelb's pods. Default app.kubernetes.io/name=edgelb. */
  podSelector?: string;
  /** Leader identity. Default: POD_NAME, else the node name. */
  identity?: string;
  leaseName?: string;
  leaseDurationSec?: number;
  leaderRetryMs?: number;
  /** Serve LoadBalancer Services that have no loadBalancerClass. */
  defaultClass?: boolean;
  defaultLbMode?: LbMode;
  /** Batch watch events this long before recomputing (default 50 ms). */
  debounceMs?: number;
  /** BGPPeer status refresh period (default 10 s). */
  statusIntervalMs?: number;
  /** How often this node's NodeReport is checked, and written when it changed (default 1 s). */
  reportIntervalMs?: number;
  /** The translation (default: translate()); tests wrap it to prove a throw is contained. */
  translate?: typeof translate;
  /** 'speaker': node state and its own BGPPeer entries; 'controller': Lease, IPAM and status
   *  writes, no node state; 'all' (default): both in one process. */
  role?: SourceRole;
}

export type SourceRole = 'all' | 'speaker' | 'controller';

const CORE = (res: string) => `/api/v1/${res}`;

export class KubernetesSource extends EventEmitter {
  private readonly o: KubernetesSourceOptions;
  private readonly log: Logger;
  private readonly metrics: K8sMetrics;
  private readonly namespace: string;
  private readonly identity: string;
  private writer: KubeWriter | undefined;
  private reflectors: Array<Reflector<KubernetesObject>> = [];
  private r!: {
    services: Reflector<KubernetesObject>;
    slices: Reflector<KubernetesObject>;
    nodes: Reflector<KubernetesObject>;
    namespaces: Reflector<KubernetesObject>;
    pools: Reflector<KubernetesObject>;
    peers: Reflector<KubernetesObject>;
    policies: Reflector<KubernetesObject>;
    loxiPeers: Reflector<KubernetesObject>;
    secrets: Reflector<KubernetesObject>;
    pods: Reflector<KubernetesObject>;
    reports: Reflector<KubernetesObject>;
  };
  private elector: LeaderElector | undefined;
  private leaderCtl: LeaderController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  /** This node's report as last written (undefined: not yet, or the write failed). */
  private reportSent: ReportStatus | undefined;
  private reportFailing = false;
  private running: Promise<void> | undefined;
  private dirty = false;
  private stopped = true;
  private retryDelay = 250;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly translateFn: typeof translate;
  /** CPU time of the last recompute: the next waits at least as long, so a flood of watch
   * events never starves the event loop (API I/O, BGP timers) of a large cluster. */
  private lastDurationMs = 0;
  private lastJson = '';
  private last: DesiredState | undefined;
  private lastProblems: Problem[] = [];
  private lastPlans: ServicePlan[] = [];
  private readonly written = new Map<string, BGPPeerNodeStatus>();
  private readonly role: SourceRole;
  /** The ConfigMap's settings now (replaced on reload), and this node's view of them. */
  private base: DesiredState;
  private readonly nodeSettings = new NodeSettings();
  private nodeEvents: NodeEvents | undefined;
  private settingsNow: DesiredState;

  constructor(o: KubernetesSourceOptions) {
    super();
    this.o = o;
    this.role = o.role ?? 'all';
    this.log = o.logger.child({ subsystem: 'k8s' });
    this.metrics = new K8sMetrics(o.registry);
    this.namespace = o.namespace ?? process.env.POD_NAMESPACE ?? 'edgelb-system';
    this.identity = o.identity ?? process.env.POD_NAME ?? `${o.nodeName}@${hostname()}`;
    this.translateFn = o.translate ?? translate;
    this.base = this.settingsNow = o.settings;
  }

  /** A reloaded ConfigMap: node-level changes wait for a restart (RestartRequired), the rest applies. */
  updateSettings(settings: DesiredState): void {
    this.base = settings;
    this.nodeEvents?.configRejected('', this.myNode()?.metadata.uid);
    this.schedule();
  }

  /** The ConfigMap was refused on reload: an Event on this Node, the last good settings kept. */
  settingsRejected(message: string): void {
    this.nodeEvents?.configRejected(message, this.myNode()?.metadata.uid);
  }

  private myNode(): NodeObj | undefined {
    if (!this.reflectors.length) return undefined;
    return (this.r.nodes.list() as NodeObj[]).find((n) => n.metadata.name === this.o.nodeName);
  }

  /** True once every watched resource has been listed (for /readyz). */
  get synced(): boolean {
    return this.reflectors.length > 0 && this.reflectors.every((r) => r.synced);
  }

  get isLeader(): boolean {
    return this.elector?.isLeader ?? false;
  }

  /** The last DesiredState emitted. */
  current(): DesiredState | undefined {
    return this.last;
  }

  /** What could not be used, from the last computation. */
  problems(): Problem[] {
    return this.lastProblems;
  }

  /** Per-Service plans (served or why not, which nodes announce), from the last computation. */
  plans(): ServicePlan[] {
    return this.lastPlans;
  }

  async start(): Promise<void> {
    this.stopped = false;
    const kc = await loadKubeClient(this.o.kubeconfig);
    const w = (this.writer = new KubeWriter(kc));
    const onChange = () => this.schedule();
    // a controller re-plans for a Service event unless it is the echo of its own write
    const onService = (o?: KubernetesObject) => {
      if (this.role === 'controller' && o && this.leaderCtl?.isOwnEcho(o as ServiceObj)) return;
      this.schedule();
    };
    const ns = this.namespace;
    const podSelector = this.o.podSelector ?? 'app.kubernetes.io/name=edgelb';
    // each cache keeps only what edgelb reads of its objects (slim.ts)
    const mk = (name: string, path: string, slim: Parameters<typeof slimmer>[0], o: { selector?: string; optional?: boolean; onChange?: (o?: KubernetesObject) => void } = {}) =>
      new Reflector<KubernetesObject>(name, kc, path, () => w.list(path, o.selector) as Promise<ListResult<KubernetesObject>>, o.onChange ?? onChange, this.log, o.selector, o.optional ?? false, slimmer(slim));
    this.r = {
      services: mk('services', CORE('services'), slimService, { onChange: onService }),
      slices: mk('endpointslices', '/apis/discovery.k8s.io/v1/endpointslices', slimEndpointSlice),
      nodes: mk('nodes', CORE('nodes'), slimNode),
      namespaces: mk('namespaces', CORE('namespaces'), slimNamespace),
      pools: mk('ippools', `/apis/${GROUP}/${VERSION}/ippools`, slimCustom),
      peers: mk('bgppeers', `/apis/${GROUP}/${VERSION}/bgppeers`, slimCustom),
      policies: mk('bgppolicies', `/apis/${GROUP}/${VERSION}/bgppolicies`, slimCustom),
      loxiPeers: mk('bgppeerservices', '/apis/bgppeer.loxilb.io/v1/bgppeerservices', slimCustom, { optional: true }),
      secrets: mk('secrets', `/api/v1/namespaces/${ns}/secrets`, slimSecret),
      pods: mk('pods', `/api/v1/namespaces/${ns}/pods`, slimPod, { selector: podSelector }),
      // optional: without the CRD (or the right to read it) no node reports, and Served says so;
      // only the Lease holder uses them, so a report changing costs the others no recompute
      reports: mk(REPORT_PLURAL, `/apis/${GROUP}/${VERSION}/${REPORT_PLURAL}`, slimCustom, {
        optional: true,
        onChange: () => {
          if (this.isLeader) this.schedule();
        },
      }),
    };
    this.reflectors = Object.values(this.r);
    this.nodeEvents = new NodeEvents({ writer: w, nodeName: this.o.nodeName, identity: this.identity, logger: this.log, registry: this.o.registry });
    await Promise.all(this.reflectors.map((r) => r.start()));
    this.metrics.synced(this.synced);
    if (this.role !== 'speaker') this.startWriter(w, ns);
    this.schedule();
    this.scheduleStatus();
    this.scheduleReport();
  }

  /** The Lease and, while holding it, the writer (IPAM and status). */
  private startWriter(w: KubeWriter, ns: string): void {
    this.leaderCtl = new LeaderController({
      writer: w,
      log: this.log,
      identity: this.identity,
      metrics: this.metrics,
      namespaceLabels: (name) => (this.r.namespaces.list() as NamespaceObj[]).find((n) => n.metadata.name === name)?.metadata.labels,
      onRetry: () => this.schedule(0),
    });
    this.elector = new LeaderElector({
      writer: w,
      namespace: ns,
      name: this.o.leaseName ?? 'edgelb-leader',
      identity: this.identity,
      log: this.log,
      ...(this.o.leaseDurationSec !== undefined ? { leaseDurationSec: this.o.leaseDurationSec } : {}),
      ...(this.o.leaderRetryMs !== undefined ? { retryMs: this.o.leaderRetryMs } : {}),
    });
    this.elector.on('change', (v: boolean) => {
      this.metrics.leader(v);
      this.leaderCtl!.reset();
      this.emit('leader', v);
      this.schedule();
    });
    this.elector.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.statusTimer);
    clearTimeout(this.reportTimer);
    clearTimeout(this.retryTimer);
    await this.running?.catch(() => undefined);
    this.leaderCtl?.reset();
    await this.leaderCtl?.idle();
    await this.elector?.stop();
    await Promise.all(this.reflectors.map((r) => r.stop()));
  }

  /** Recompute soon (watch events are batched). */
  private schedule(delay = Math.max(this.o.debounceMs ?? 50, this.lastDurationMs)): void {
    if (this.stopped) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.recompute()
        .catch((e: unknown) => {
          this.metrics.translateError();
          this.log.error({ err: errorMessage(e) }, 'recompute failed; keeping the last good desired state');
        })
        .finally(() => {
        this.running = undefined;
        if (this.dirty) {
          this.dirty = false;
          this.schedule();
        }
      });
    }, delay);
  }

  private view(): ClusterView {
    const pods = this.r.pods.list() as PodObj[];
    const members: MemberPod[] = pods
      .filter((p) => p.spec?.nodeName && p.status?.podIP)
      .map((p) => ({ nodeName: p.spec!.nodeName!, ip: p.status!.podIP!, ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false }));
    const nodes = this.r.nodes.list() as NodeObj[];
    if (this.role !== 'controller' && !members.some((m) => m.nodeName === this.o.nodeName)) {
      // this daemon runs, whether or not its pod is visible (e.g. outside the cluster)
      const ip = this.settingsNow.node.routerId || nodeInternalIp(nodes.find((n) => n.metadata.name === this.o.nodeName)) || '';
      members.push({ nodeName: this.o.nodeName, ip, ready: true });
    }
    return {
      services: this.r.services.list() as ServiceObj[],
      slices: this.r.slices.list() as EndpointSliceObj[],
      nodes,
      pools: this.r.pools.list() as IPPoolObj[],
      peers: this.r.peers.list() as BGPPeerObj[],
      policies: this.r.policies.list() as BGPPolicyObj[],
      loxiPeers: this.r.loxiPeers.list() as LoxiBGPPeerServiceObj[],
      secrets: this.r.secrets.list() as SecretObj[],
      members,
      reports: this.r.reports.list() as NodeReportObj[],
    };
  }

  private async recompute(): Promise<void> {
    const synced = this.synced;
    this.metrics.synced(synced);
    if (!synced) return; // never act on a partial picture (IPAM must see every Service and pool)
    // this node's settings: the ConfigMap's, overlaid with its Node's annotations (a controller
    // has no node: the ConfigMap's)
    let settings = this.base;
    if (this.role !== 'controller') {
      const myNode = this.myNode();
      const resolved = this.nodeSettings.resolve(this.base, myNode);
      this.settingsNow = settings = resolved.settings;
      this.nodeEvents?.report(resolved, myNode?.metadata.uid);
    }
    const view = this.view();
    const opts = {
      nodeName: this.o.nodeName,
      settings,
      ...(this.o.defaultClass !== undefined ? { defaultClass: this.o.defaultClass } : {}),
      ...(this.o.defaultLbMode !== undefined ? { defaultLbMode: this.o.defaultLbMode } : {}),
    };
    const t0 = performance.now();
    if (this.role !== 'controller') this.nodeState(view, opts);
    if (this.elector?.isLeader && this.leaderCtl) {
      this.metrics.reconcile();
      try {
        this.leaderCtl.reconcile(view, opts);
        this.retryDelay = 250;
      } catch (e) {
        this.metrics.translateError();
        this.log.error({ err: errorMessage(e) }, 'leader plan failed; will retry');
        this.retryLater();
      }
    }
    // the next recompute waits at least as long as this one took (the CPU it measured)
    this.lastDurationMs = Math.min(1000, performance.now() - t0);
  }

  /** This node's DesiredState, emitted when it changed. */
  private nodeState(view: ClusterView, opts: TranslateOptions): void {
    // containment: a throw in the translation (a bug, an object nobody foresaw) is logged and
    // counted; the node keeps the last good state and the watches go on
    let t: Translation;
    try {
      t = this.translateFn(view, opts);
    } catch (e) {
      this.metrics.translateError();
      this.log.error({ err: errorMessage(e) }, 'translation failed; keeping the last good desired state');
      return;
    }
    this.lastProblems = t.problems;
    this.lastPlans = t.plans;
    const json = JSON.stringify(t.state);
    if (json !== this.lastJson) {
      this.lastJson = json;
      this.last = t.state;
      this.metrics.stateUpdate();
      this.emit('state', t.state);
    }
  }

  /** Reconcile again after a back-off (a write failed); one timer at a time. */
  private retryLater(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryDelay = Math.min(this.retryDelay * 2, 30_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule(0);
    }, this.retryDelay);
    this.retryTimer.unref();
  }

  private scheduleStatus(): void {
    if (this.stopped || !this.o.statusSource || this.role === 'controller') return;
    this.statusTimer = setTimeout(() => {
      void this.writePeerStatus().finally(() => this.scheduleStatus());
    }, this.o.statusIntervalMs ?? 10_000);
  }

  private scheduleReport(): void {
    if (this.stopped || !this.o.statusSource?.carried || this.role === 'controller') return;
    this.reportTimer = setTimeout(() => {
      void this.writeReport().finally(() => this.scheduleReport());
    }, this.o.reportIntervalMs ?? 1000);
  }

  /**
   * Write this node's NodeReport (server-side apply, field manager per node) when what it carries
   * changed: at most one small write per interval, none while nothing changes. It is owned by the
   * Node, so deleting the Node deletes it.
   */
  async writeReport(): Promise<void> {
    const src = this.o.statusSource;
    if (!src?.carried || !this.writer || !this.synced) return;
    let carried, sessions;
    try {
      carried = src.carried();
      sessions = src.bgpNeighbors();
    } catch (e) {
      this.log.debug({ err: errorMessage(e) }, 'status source failed');
      return;
    }
    if (!carried) return; // no node agent yet
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const status = reportStatus({ node: this.o.nodeName, pod: this.identity, carried, sessions, now });
    if (!reportChanged(this.reportSent, status)) return;
    const node = (this.r.nodes.list() as NodeObj[]).find((n) => n.metadata.name === this.o.nodeName);
    const owner = node?.metadata.uid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.o.nodeName, uid: node.metadata.uid }] } : {};
    try {
      await this.writer.applyClusterObject(REPORT_PLURAL, REPORT_KIND, { name: this.o.nodeName, ...owner }, { status }, `edgelb-node-${this.o.nodeName}`);
      this.reportSent = status;
      this.reportFailing = false;
      this.metrics.write('nodereport', 'ok');
    } catch (e) {
      // warn once per failing stretch (a missing CRD or RBAC rule), then retry quietly
      if (this.reportSent !== undefined || !this.reportFailing) this.log.warn({ err: errorMessage(e) }, 'NodeReport not written: Services stay Served=False until it is (crds/edgelb.io_nodereports.yaml, RBAC nodereports)');
      this.reportFailing = true;
      this.reportSent = undefined;
      this.metrics.write('nodereport', 'error');
    }
  }

  /** Write this node's session entry into each BGPPeer that selects it (server-side apply, one field manager per node). */
  async writePeerStatus(): Promise<void> {
    if (!this.o.statusSource || !this.writer || !this.synced) return;
    let neighbors;
    try {
      neighbors = this.o.statusSource.bgpNeighbors();
    } catch (e) {
      this.log.debug({ err: errorMessage(e) }, 'status source failed');
      return;
    }
    const myNode = (this.r.nodes.list() as NodeObj[]).find((n) => n.metadata.name === this.o.nodeName);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const manager = `edgelb-node-${this.o.nodeName}`;
    const seen = new Set<string>();
    for (const p of this.r.peers.list() as BGPPeerObj[]) {
      const name = p.metadata.name;
      if (!selectorMatches(p.spec.nodeSelector, myNode?.metadata.labels ?? {})) continue;
      seen.add(name);
      const n = neighbors.find((x) => x.address === p.spec.address);
      const entry = peerNodeEntry(this.o.nodeName, n, now);
      if (!peerEntryChanged(this.written.get(name), entry)) continue;
      try {
        await this.writer.applyClusterStatus('bgppeers', 'BGPPeer', name, { nodes: [entry] }, manager);
        this.written.set(name, entry);
        this.metrics.write('bgppeer-node-status', 'ok');
      } catch (e) {
        this.metrics.write('bgppeer-node-status', 'error');
        if (statusOf(e) !== 404) this.log.debug({ peer: name, err: errorMessage(e) }, 'BGPPeer status not written');
      }
    }
    for (const name of [...this.written.keys()]) {
      if (seen.has(name)) continue;
      this.written.delete(name);
      await this.writer.applyClusterStatus('bgppeers', 'BGPPeer', name, { nodes: [] }, manager).catch(() => undefined);
    }
  }
}
