// The views the API serves, typed by the REST contract (model/views.ts). The node agent implements
// ApiViews; without an agent the daemon serves views computed from the desired state alone
// (desiredStateViews), with the same row types.
import type { DesiredState } from '../model/desired-state.js';
import type { BfdRow, DrainResult, HaRow, NeighborRow, Readiness, ServiceRow, SyncRow, VipRow } from '../model/views.js';

export type { BfdRow, DrainResult, HaRow, NeighborRow, Readiness, ServiceRow, SyncRow, VipRow };

export interface ApiViews {
  /** GET /v1/services */
  services(): ServiceRow[];
  /** GET /v1/vips */
  vips(): VipRow[];
  /** GET /v1/ha */
  ha(): HaRow;
  /** GET /v1/bgp/neighbors. Never a password. */
  bgpNeighbors(): NeighborRow[];
  /** GET /v1/bfd. Never a key. */
  bfd(): BfdRow[];
  /** GET /readyz: 200 when ready, 503 with the reasons otherwise. */
  readiness(): Readiness;
  /** POST /v1/drain: withdraw every VIP of this node and keep them withdrawn. */
  drain(): Promise<DrainResult>;
  /** POST /v1/undrain: end a drain. */
  undrain(): Promise<DrainResult>;
  /** GET /v1/sync: connection-state sync (absent: 404, sync is off). */
  sync?(): SyncRow;
}

/**
 * Views derived from the desired state alone (no agent yet): the configured services, VIPs,
 * shards and peers, nothing announced. Drain only sets a flag (there is nothing to withdraw).
 */
export function desiredStateViews(current: () => DesiredState | undefined): ApiViews {
  let drained = false;
  const reason = 'no node agent in this daemon';
  const since = new Date().toISOString();
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
              interface: st.node.interface,
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
        shards: Array.from({ length: n }, (_, shard) => ({ shard, state: 'UNKNOWN' as const, master: null, epoch: 0 })),
        members: (st?.cluster?.members ?? []).map((address) => ({ address, alive: false })),
      };
    },
    bgpNeighbors: (): NeighborRow[] =>
      (current()?.bgp?.peers ?? []).map((p) => ({
        address: p.address,
        port: p.port,
        asn: p.asn,
        state: 'Idle',
        uptime: 0,
        prefixesSent: 0,
        prefixesReceived: 0,
        lastError: { at: since, class: 'admin', reason: 'no-agent', message: reason },
      })),
    // no agent, no BFD thread: every configured session is reported Down
    bfd: (): BfdRow[] =>
      (current()?.bgp?.peers ?? [])
        .filter((p) => p.bfd)
        .map((p) => ({
          peer: p.address,
          multihop: (p.ebgpMultihop ?? 1) > 1,
          state: 'Down',
          remoteState: 'Down',
          diag: 0,
          localDiscr: 0,
          remoteDiscr: 0,
          txIntervalMs: 0,
          detectTimeMs: 0,
          multiplier: p.bfd!.multiplier,
          remoteMultiplier: 0,
          auth: p.bfd!.auth ? `${p.bfd!.auth.type}/${p.bfd!.auth.keyId}` : 'none',
          upSeconds: 0,
          flaps: 0,
        })),
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
