// The Dataplane interface: what the node agent programs (services with their healthy backends)
// and reads (health, counters). XdpDataplane implements it over the XDP program; FakeDataplane
// in memory for control-plane tests.
import type { EpSelect, LbMode, Protocol } from '../model/desired-state.js';
import type { DataplaneBackend, DataplaneService } from '../model/engine-inputs.js';

/** The engine inputs are defined once, in model/engine-inputs.ts. */
export type { DataplaneBackend, DataplaneService };

/** Traffic of a backend (address:port), summed over every service that uses it. */
export interface DataplaneBackendStats extends DataplaneBackend {
  packets: number;
  bytes: number;
}

export interface DataplaneServiceStats {
  name: string;
  vip: string;
  port: number;
  protocol: Protocol;
  mode: LbMode;
  /** Selection actually programmed (`lc` is served by maglev in XDP). */
  epSelect: EpSelect;
  packets: number;
  bytes: number;
  backends: DataplaneBackendStats[];
}

export interface DataplaneStats {
  attached: boolean;
  attachMode?: 'native' | 'generic';
  iface?: string;
  /** Every counter code by its name in lower case ("rx", "tx", "drop_no_backend", ...). */
  counters: Record<string, number>;
  services: DataplaneServiceStats[];
  conntrackEntries: number;
}

export interface DataplaneOpenResult {
  /** The program and pinned maps of a previous daemon were taken over intact. */
  takenOver: boolean;
  attachMode: 'native' | 'generic';
}

export interface Dataplane {
  open(): Promise<DataplaneOpenResult>;
  /** Declarative: the whole list; only services that changed are rewritten. */
  setServices(list: DataplaneService[]): Promise<void>;
  health(): { ok: boolean; reason?: string };
  stats(): DataplaneStats;
  /** detach: false leaves the program attached and the maps pinned (hitless restart). */
  close(opts: { detach: boolean }): Promise<void>;
}
