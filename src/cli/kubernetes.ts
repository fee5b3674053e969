// Kubernetes mode wiring: adapts the KubernetesSource (watchers → DesiredState, leader IPAM and
// status) to the daemon's StateSource, and lets the node runtime report its BGP sessions for the
// BGPPeer status (the runtime is built after the source, so the link is set late).
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { DesiredState } from '../model/desired-state.js';
import { EdgelbError } from '../lib/errors.js';
import { waitFor } from '../lib/backoff.js';
import type { StateSource } from './daemon.js';

export interface NeighborStatusRow {
  address: string;
  state: string;
  uptimeSec: number;
  prefixesSent: number;
  lastError?: string;
}

let neighborSource: () => NeighborStatusRow[] = () => [];

/** Called by the node runtime once its BGP speaker exists. */
export function setNeighborSource(fn: () => NeighborStatusRow[]): void {
  neighborSource = fn;
}

export async function createKubernetesSource(ctx: { base: DesiredState; logger: Logger; registry: Registry }): Promise<StateSource> {
  const { KubernetesSource } = await import('../k8s/source.js');
  const src = new KubernetesSource({
    nodeName: ctx.base.node.name,
    settings: ctx.base,
    logger: ctx.logger,
    registry: ctx.registry,
    statusSource: { bgpNeighbors: () => neighborSource() },
  });
  return {
    async start() {
      await src.start();
      // the first state once every watch has listed: a node never programs a partial view
      try {
        return await waitFor(() => src.current(), { timeoutMs: 120_000, intervalMs: 100, what: 'the first Kubernetes desired state' });
      } catch (e) {
        await src.stop();
        throw new EdgelbError('EDGELB_ERR_K8S', `no desired state from the Kubernetes API: ${(e as Error).message}`, { cause: e });
      }
    },
    on: (event, listener) => src.on(event, listener),
    close: () => src.stop(),
  };
}
