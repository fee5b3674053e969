// The read-only views the API serves, and the shapes of their rows. The node agent implements
// ApiViews; without an agent the daemon serves views computed from the desired state alone
// (desiredStateViews). The CLI's tables read these shapes and tolerate missing fields.
import type { DesiredState } from '../model/desired-state.js';

export interface ApiViews {
  /** GET /v1/services: ServiceRow-like objects. */
  services(): unknown[];
  /** GET /v1/vips: VipRow-like objects. */
  vips(): unknown[];
  /** GET /v1/ha: HaRow-like object. */
  ha(): unknown;
  /** GET /v1/bgp/neighbors: NeighborRow-like objects. Never a password. */
  bgpNeighbors(): unknown[];
  /** GET /readyz: 200 when ready, 503 with the reasons otherwise. */
  readiness(): { ready: boolean; reasons: string[] };
  /** POST /v1/drain: withdraw every VIP of this node and keep them withdrawn. */
  drain(): Promise<unknown>;
  /** POST /v1/undrain: end a drain. */
  undrain(): Promise<unknown>;
}

export interface ServiceRow {
  name: string;
  vips: string[];
  pool: string;
  shard: number;
  mode: string;
  ports: Array<{ port: number; protocol: string; targetPort: number }>;
  endpoints: Array<{ address: string; ready: boolean; healthy?: boolean }>;
  healthyEndpoints?: number;
}

export interface VipRow {
  vip: string;
  services: string[];
  pool: string;
  shard: number;
  announce: string;
  bgpMode: string;
  /** Node that masters the VIP's shard (null: unknown / no cluster). */
  master?: string | null;
  bgp?: { announced: boolean; reason: string; med?: number };
  l2?: { announced: boolean; reason: string };
}

export interface HaRow {
  node: string;
  drained: boolean;
  shards: Array<{ shard: number; state: string; master: string | null; epoch?: number }>;
  members?: Array<{ address: string; alive: boolean }>;
}

export interface NeighborRow {
  address: string;
  asn: number;
  state: string;
  uptimeSec?: number;
  prefixesSent?: number;
  prefixesReceived?: number;
  lastError?: string;
}

/**
 * Views derived from the desired state alone (no agent yet): the configured services, VIPs,
 * shards and peers, nothing announced. Drain only sets a flag (there is nothing to withdraw).
 */
export function desiredStateViews(current: () => DesiredState | undefined): ApiViews {
  let drained = false;
  const reason = 'no node agent in this daemon';
  return {
    services: (): ServiceRow[] =>
      (current()?.services ?? []).map((s) => ({
        name: s.name,
        vips: s.vips,
        pool: s.pool,
        shard: s.shard,
        mode: s.mode,
        ports: s.ports,
        endpoints: s.endpoints.map((e) => ({ address: e.address, ready: e.ready })),
      })),
    vips: (): VipRow[] => {
      const st = current();
      if (!st) return [];
      const rows = new Map<string, VipRow>();
      for (const s of st.services) {
        const pool = st.pools.find((p) => p.name === s.pool);
        for (const vip of s.vips) {
          const row = rows.get(vip);
          if (row) row.services.push(s.name);
          else
            rows.set(vip, {
              vip,
              services: [s.name],
              pool: s.pool,
              shard: s.shard,
              announce: pool?.announce ?? 'bgp',
              bgpMode: pool?.bgpMode ?? 'ecmp',
              master: null,
              bgp: { announced: false, reason },
              l2: { announced: false, reason },
            });
        }
      }
      return [...rows.values()];
    },
    ha: (): HaRow => {
      const st = current();
      const n = st?.cluster?.shards ?? 1;
      return {
        node: st?.node.name ?? '',
        drained,
        shards: Array.from({ length: n }, (_, shard) => ({ shard, state: 'UNKNOWN', master: null })),
        members: (st?.cluster?.members ?? []).map((address) => ({ address, alive: false })),
      };
    },
    bgpNeighbors: (): NeighborRow[] =>
      (current()?.bgp?.peers ?? []).map((p) => ({ address: p.address, asn: p.asn, state: 'Idle', lastError: reason })),
    readiness: () => (current() ? { ready: true, reasons: [] } : { ready: false, reasons: ['no configuration applied yet'] }),
    drain: async () => {
      drained = true;
      return { drained };
    },
    undrain: async () => {
      drained = false;
      return { drained };
    },
  };
}
