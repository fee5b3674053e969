// The node runtime: builds the engines a DesiredState asks for (XDP data path, BGP speaker,
// cluster membership and shard ownership, L2 announcer, health probes), wires their events into
// the node agent, and serves the agent's views to the API. This is the only place that knows the
// concrete engine classes; the agent sees them through its ports.
import { existsSync, readFileSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { Agent } from '../agent/agent.js';
import type { Engines, DataplanePort } from '../agent/ports.js';
import type { ApiViews } from '../api/views.js';
import { BgpSpeaker } from '../bgp/speaker.js';
import { BfdManager, type UdpSocketFn } from '../bfd/manager.js';
import { claimsPayloadCodec } from '../cluster/claims-codec.js';
import { Membership } from '../cluster/membership.js';
import { ShardManager } from '../cluster/shard-manager.js';
import { XdpDataplane } from '../dataplane/xdp.js';
import type { Dataplane } from '../dataplane/types.js';
import { HealthChecker } from '../health/checker.js';
import { L2Announcer } from '../l2/announcer.js';
import { openNativePacketIo } from '../l2/native-packet-io.js';
import { errorMessage } from '../lib/errors.js';
import type { DesiredState } from '../model/desired-state.js';
import { loadNative, nativeAvailable } from '../native/index.js';
import type { NeighborReport, StateConsumer, StopMode } from './daemon.js';
import { cleanupNode } from '../dataplane/cleanup.js';
import { enableForwarding, recordForwarding } from './forwarding.js';
import { DrainState } from './drain-state.js';
import { ownSnatAddress, ownSnatAddress6, startSync, type SyncHandle } from './sync-wiring.js';
import { join } from 'node:path';
import { ClusterKeyFile } from './cluster-keys.js';
import type { KeyRing } from '../lib/cluster-keys.js';
import { DEFAULT_PIN_BASE } from '../dataplane/xdp.js';

export interface RuntimeContext {
  logger: Logger;
  registry: Registry;
  initial: DesiredState;
  /** Filled with the speaker's sessions for the BGPPeer status (Kubernetes mode). */
  neighbors?: NeighborReport;
  /** Kubernetes mode: the members follow edgelb's ready pods, so membership runs even alone. */
  kubernetes?: boolean;
}

/** Node-level settings a reload cannot change without a restart (the member list changes live). */
function nodeLevelKey(s: DesiredState): string {
  const cluster = s.cluster ? { ...s.cluster, members: [] } : undefined;
  // the other nodes' SNAT addresses change live too (sync-wiring); this node's own is node-level
  if (cluster?.sync) cluster.sync = { ...cluster.sync, snatAddresses: { own: ownSnatAddress(s) ?? '' }, snatAddresses6: { own: ownSnatAddress6(s) ?? '' } };
  return JSON.stringify([s.node, cluster, s.bgp?.asn, s.bgp?.routerId, s.bgp?.listenPort, s.dataplane]);
}

/**
 * The cluster keys, followed live (daemon/cluster-keys.ts): the file's key ring; in Kubernetes
 * mode a missing file is no key (a lone node needs none) until the Secret appears.
 */
function openClusterKeys(keyFile: string | undefined, kubernetes: boolean, logger: Logger, registry: Registry): { file?: ClusterKeyFile; ring?: KeyRing } {
  if (!keyFile) return {};
  const file = new ClusterKeyFile({ file: keyFile, logger, registry });
  const ring = file.load(kubernetes);
  if (!ring) logger.warn({ keyFile }, `no cluster key at ${keyFile}: fine while this node is alone; with other edgelb nodes it masters nothing until the key Secret is mounted`);
  return { file, ...(ring ? { ring } : {}) };
}

/**
 * The data path forwards with bpf_fib_lookup, which answers "forwarding disabled" unless the
 * uplink forwards: turn IPv4 and IPv6 forwarding on for that interface (not host-wide), and say so.
 * In Kubernetes /proc/sys is read-only here: the init container (`edgelb forwarding`) set it.
 */
function ensureForwarding(iface: string, log: Logger, registry: Registry): void {
  const results = enableForwarding(iface);
  recordForwarding(registry, iface, results);
  for (const r of results) {
    if (r.outcome === 'enabled') log.info({ iface, family: r.family }, `enabled ${r.family} forwarding on ${iface} (the XDP data path needs it for next-hop lookups)`);
    if (r.outcome === 'failed')
      log.warn(
        { iface, family: r.family, err: r.error },
        `could not enable ${r.family} forwarding on ${iface}: new flows will be passed to the kernel (Kubernetes: the init container \`edgelb forwarding\` sets it when the pod starts; delete the pod after changing the uplink)`,
      );
  }
}

function needsL2(s: DesiredState): boolean {
  return s.pools.some((p) => p.announce === 'l2' || p.announce === 'both');
}

export async function createNodeRuntime(ctx: RuntimeContext): Promise<StateConsumer> {
  const { logger, registry, initial } = ctx;
  const log = logger.child({ subsystem: 'runtime' });
  const engines: Engines = {};
  const closers: Array<(mode: StopMode) => Promise<void>> = [];
  let agent: Agent | undefined;
  const notify = (why: string) => void agent?.notify(why);
  const kubernetes = ctx.kubernetes === true;
  const clustered = !!initial.cluster && (initial.cluster.members.length > 1 || kubernetes);
  // the cluster key file first: a bad one stops the start before anything is opened
  const keys = clustered ? openClusterKeys(initial.cluster!.keyFile, kubernetes, logger, registry) : {};

  // ---- data path first: whether it was taken over intact sets the graceful-restart F bit
  let dataplane: Dataplane | undefined;
  let takenOver = false;
  if (initial.dataplane.enabled) {
    const native = loadNative();
    ensureForwarding(initial.node.interface, log, registry);
    // the daemon's own ports are never SNAT ports; the flow-hash key falls back to the cluster key
    const ownPorts = [initial.api.listen, initial.cluster?.listen].map((l) => Number(/:(\d+)$/.exec(l ?? '')?.[1])).filter((p) => p > 0);
    // Kubernetes mode: members come and go, so sync runs from the start even alone
    const syncSpec = initial.cluster && (initial.cluster.members.length > 1 || ctx.kubernetes === true) ? initial.cluster.sync : undefined;
    if (syncSpec) ownPorts.push(syncSpec.port);
    const snat4 = ownSnatAddress(initial);
    const snat6 = ownSnatAddress6(initial);
    // the default key file of Kubernetes mode may be absent (a lone node): then no cluster-derived hash key
    const keyFile = initial.cluster?.keyFile && existsSync(initial.cluster.keyFile) ? initial.cluster.keyFile : undefined;
    const dp = new XdpDataplane({ node: initial.node, spec: initial.dataplane, logger, registry, native, reservedPorts: ownPorts, ...(keyFile ? { clusterKeyFile: keyFile } : {}), ...(syncSpec ? { sync: true, ...(snat4 ? { snatAddress4: snat4 } : {}), ...(snat6 ? { snatAddress6: snat6 } : {}) } : {}) });
    const opened = await dp.open();
    takenOver = opened.takenOver;
    log.info({ attachMode: opened.attachMode, takenOver, iface: initial.node.interface }, takenOver ? 'data path taken over from the previous daemon, nothing detached' : 'data path attached');
    dataplane = dp;
    const port: DataplanePort = { setServices: (l) => dp.setServices(l), health: () => dp.health() };
    engines.dataplane = port;
    // the data path stays attached and pinned on every stop but an uninstall (a restart or an
    // upgrade takes it over); `edgelb cleanup` removes it by hand
    closers.push(async (mode) => dp.close({ detach: mode === 'uninstall' }));
  }

  // ---- health probes
  const health = new HealthChecker({ logger, registry });
  health.on('change', (service: string, endpoint: string, healthy: boolean) => {
    log.info({ service, endpoint, healthy }, `endpoint ${endpoint} of ${service} is ${healthy ? 'healthy' : 'unhealthy'}`);
    notify('endpoint health');
  });
  engines.health = health;
  closers.push(async () => health.stop());

  let syncHandle: SyncHandle | undefined;
  // ---- cluster membership and shards (in Kubernetes mode always: edgelb pods come and go, and
  // a lone node is then master of every shard through the same code as several)
  let membership: Membership | undefined;
  const clusterKeys = keys.file;
  if (initial.cluster && clustered) {
    const c = initial.cluster;
    const key = keys.ring;
    membership = new Membership({
      self: initial.node.name,
      listen: c.listen,
      // Kubernetes: the pods' list goes through setMembers, which refuses to act without a key
      // instead of throwing (the key Secret may be missing; the daemon still serves alone)
      members: kubernetes ? [] : c.members,
      key,
      intervalMs: c.heartbeatIntervalMs,
      deadAfterMs: c.deadAfterMs,
      ...(c.realtimePriority !== undefined ? { realtimePriority: c.realtimePriority } : {}),
      payloadCodec: claimsPayloadCodec(c.shards),
      logger,
      registry,
    });
    const shards = new ShardManager({ self: initial.node.name, shards: c.shards, membership, holdDownMs: c.holdDownMs, logger, registry });
    shards.on('change', () => notify('shard ownership'));
    if (kubernetes) membership.setMembers(c.members);
    await membership.start();
    shards.start();
    // how the heartbeat thread got scheduled: SCHED_FIFO needs CAP_SYS_NICE and, in a container, an
    // RT budget (cpu.rt_runtime_us); without it the fallback (nice -10, or normal) is shown here
    new Gauge({
      name: 'edgelb_cluster_heartbeat_scheduling',
      help: 'How the heartbeat thread is scheduled: 1 for the policy in use (SCHED_FIFO <prio>, nice -10, normal)',
      labelNames: ['policy', 'realtime'],
      registers: [registry],
    }).set({ policy: membership.scheduling || 'unknown', realtime: String(membership.scheduling.startsWith('SCHED_FIFO')) }, 1);
    if (c.realtimePriority === 0) log.info({ scheduling: membership.scheduling }, 'heartbeat thread without real-time priority: cluster.realtimePriority is 0');
    else if (membership.scheduling && !membership.scheduling.startsWith('SCHED_FIFO'))
      log.warn({ scheduling: membership.scheduling }, `heartbeat thread without real-time priority (${membership.scheduling}): grant CAP_SYS_NICE and an RT budget (cpu.rt_runtime_us) to the container`);
    const mb = membership;
    engines.shards = {
      isMaster: (s) => shards.isMaster(s),
      masterOf: (s) => shards.masterOf(s) || null,
      view: () => shards.view().map((v) => ({ ...v, master: v.master || null })),
      health: () => mb.health(),
    };
    closers.push(async () => {
      shards.stop();
      await mb.stop();
    });
    // connection-state sync: its own thread and socket, on the data path's pins
    if (dataplane instanceof XdpDataplane) {
      const sync = await startSync({ initial, dataplane, membership: mb, logger, registry, ...(key ? { keys: key } : {}) });
      if (sync) {
        syncHandle = sync;
        closers.unshift(async () => sync.stop());
      }
    }
    // a rotation step: the key file changed (edited, the Secret updated) and is good
    if (clusterKeys) {
      const kf = clusterKeys;
      kf.on('keys', (ring) => {
        mb.setKeys(ring);
        syncHandle?.setKeys(ring);
      });
      kf.start();
      closers.push(async () => kf.stop());
    }
  }

  // ---- L2 announcer (only when a pool announces by L2)
  if (needsL2(initial)) {
    const io = openNativePacketIo(initial.node.interface);
    const l2 = new L2Announcer({
      iface: initial.node.interface,
      logger,
      registry,
      io,
      garpCount: initial.l2.garpCount,
      garpIntervalMs: initial.l2.garpIntervalMs,
      refreshIntervalMs: initial.l2.refreshIntervalMs,
    });
    l2.start();
    engines.l2 = l2;
    closers.push(async () => l2.stop());
  }

  // ---- BGP speaker
  let speaker: BgpSpeaker | undefined;
  if (initial.bgp) {
    const b = initial.bgp;
    speaker = new BgpSpeaker({
      asn: b.asn,
      routerId: b.routerId,
      listenPort: b.listenPort,
      logger,
      registry,
      // whenever the addon is there: peers (and their MD5/GTSM options) can arrive later, from a
      // reload or a BGPPeer, not only from the first state
      native: nativeAvailable() ? loadNative() : undefined,
      restarting: takenOver,
      forwardingPreserved: takenOver,
    });
    engines.bgp = speaker;
    const sp = speaker;
    if (ctx.neighbors) ctx.neighbors.rows = () =>
      sp.neighbors().map((n) => ({
        address: n.address,
        state: n.state,
        uptimeSec: n.uptime,
        prefixesSent: n.prefixesSent,
        ...(n.lastError ? { lastError: `${n.lastError.reason}${n.lastError.code !== undefined ? ` (NOTIFICATION ${n.lastError.code}/${n.lastError.subcode ?? 0})` : ''}` } : {}),
      }));
    closers.unshift(async (mode) => sp.stop(mode === 'restart' ? 'graceful' : 'shutdown'));
  }

  // ---- BFD (its own thread, started with the first peer that asks for it): a session Down ends
  // that peer's BGP session at once
  let bfd: BfdManager | undefined;
  if (speaker) {
    const native = nativeAvailable() ? loadNative() : undefined;
    // with the XDP data path, the XDP program answers for the Up sessions while no daemon runs
    const xdp = dataplane instanceof XdpDataplane ? dataplane : undefined;
    const offload = xdp ? { sessions: xdp.mapFd('bfd'), frames: xdp.mapFd('bfdFrames'), lease: xdp.mapFd('bfdLease') } : undefined;
    const m = new BfdManager({ logger, registry, ...(native ? { udpSocket: native.extra.udpSocket as UdpSocketFn } : {}), ...(offload ? { offload } : {}) });
    const sp = speaker;
    m.on('down', (peer: string) => void sp.bfdDown(peer));
    m.setPeers(initial.bgp?.peers ?? []);
    await m.started();
    bfd = m;
    closers.push(async () => m.stop());
  }

  agent = new Agent({ nodeName: initial.node.name, engines, logger, registry });
  const a = agent;
  if (ctx.neighbors) {
    const sp = speaker;
    ctx.neighbors.carried = () => {
      const c = a.carried();
      const sent = sp?.carried() ?? new Map<string, string[]>();
      return { bgp: [...sent.keys()].map((p) => p.replace(/\/\d+$/, '')).sort(), l2: c.owned, withheld: c.withheld };
    };
  }
  // a drain outlives restarts: the marker beside the pins puts the new agent in drain before it
  // announces anything
  const drainState = new DrainState(initial.dataplane.pinRoot ?? join(DEFAULT_PIN_BASE, initial.node.name), logger);
  if (drainState.persisted()) {
    await a.drain();
    log.warn({ marker: drainState.path }, 'this node was drained before the restart: it stays drained (edgelb drain --undo to announce again)');
  }
  if (speaker) await speaker.start();
  const nodeKey = nodeLevelKey(initial);

  const views = (): Partial<ApiViews> => ({
    services: () => {
      const stats = dataplane?.stats();
      return a.services().map((s) => {
        const rows = stats?.services.filter((x) => x.name.startsWith(`${s.name}/`)) ?? [];
        return {
          ...s,
          packets: rows.reduce((n, r) => n + r.packets, 0),
          bytes: rows.reduce((n, r) => n + r.bytes, 0),
        };
      });
    },
    vips: () => a.vips(),
    ha: () => a.ha(),
    bgpNeighbors: () => speaker?.neighbors() ?? [],
    ...(syncHandle ? { sync: () => syncHandle!.view() } : {}),
    ...(bfd ? { bfd: () => bfd!.rows() } : {}),
    readiness: () => a.readiness(),
    drain: async () => {
      await a.drain();
      return { drained: true, persisted: drainState.save(true) };
    },
    undrain: async () => {
      await a.undrain();
      return { drained: false, persisted: drainState.save(false) };
    },
  });

  return {
    async apply(state: DesiredState) {
      // members join and leave live (Kubernetes: edgelb's ready pods); a bad address is logged and
      // the previous set kept
      if (membership && state.cluster) {
        try {
          membership.setMembers(state.cluster.members);
        } catch (e) {
          log.error({ err: errorMessage(e), members: state.cluster.members }, 'cluster members not updated: keeping the previous set');
        }
      }
      syncHandle?.update(state);
      clusterKeys?.reload('config reload');
      if (nodeLevelKey(state) !== nodeKey) log.warn('node-level settings (node, cluster, bgp asn/routerId/listenPort, dataplane) changed: they take effect at the next restart');
      await a.apply(state);
      bfd?.setPeers(state.bgp?.peers ?? []);
    },
    views,
    async stop(mode) {
      a.stop();
      for (const close of closers) {
        try {
          await close(mode);
        } catch (e) {
          log.warn({ err: errorMessage(e) }, 'error while stopping an engine');
        }
      }
      if (mode === 'uninstall') {
        // what the engines did not take with them: another process' leftovers, the drain marker
        const pinRoot = initial.dataplane.pinRoot;
        const r = await cleanupNode({ nodeName: initial.node.name, iface: initial.node.interface, logger, ...(pinRoot ? { pinRoot } : {}) });
        log.info({ ...r }, 'uninstalled: nothing of edgelb is left on this node');
      }
    },
  };
}
