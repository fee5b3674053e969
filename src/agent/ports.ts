// The engine ports the node agent drives. Each is the smallest structural slice of an engine's
// public API that the agent needs, so the agent is tested over fakes and wired to the real
// engines (BgpSpeaker, L2Announcer, XdpDataplane, HealthChecker, ShardManager) by the CLI.
import type { PeerSpec, PolicySpec, ProbeSpec } from '../model/desired-state.js';
import type { Advertisement, DataplaneService } from '../model/engine-inputs.js';
import type { ShardRow } from '../model/views.js';

export interface BgpPort {
  setPeers(peers: PeerSpec[], policies: PolicySpec[]): void;
  setAdvertisements(ads: Advertisement[]): void;
  setInitialReconcileDone(): void;
}

export interface L2Port {
  setOwned(vips: string[]): void;
}

export interface DataplanePort {
  setServices(list: DataplaneService[]): Promise<void>;
  health(): { ok: boolean; reason?: string };
}

export interface HealthTarget {
  service: string;
  endpoints: string[];
  probe: ProbeSpec;
  /** Port probed when probe.port is not set: the service's first target port. */
  port?: number;
}

export interface HealthPort {
  setTargets(targets: HealthTarget[]): void;
  isHealthy(service: string, endpoint: string): boolean;
}

/** A shard as the agent and GET /v1/ha see it. */
export type ShardView = ShardRow;

export interface ShardPort {
  isMaster(shard: number): boolean;
  masterOf(shard: number): string | null;
  view(): ShardView[];
  /** Whether this node takes part in the cluster (false while fenced: its heartbeat thread is down). */
  health?(): { ok: boolean; reason?: string };
}

/** Everything the agent may drive; a missing engine means "this node does not do that". */
export interface Engines {
  bgp?: BgpPort;
  l2?: L2Port;
  dataplane?: DataplanePort;
  health?: HealthPort;
  shards?: ShardPort;
}
