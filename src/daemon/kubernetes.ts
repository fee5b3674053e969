// Kubernetes mode wiring: adapts the KubernetesSource (watchers → DesiredState, leader IPAM and
// status) to the daemon's StateSource, and lets the node runtime report its BGP sessions for the
// BGPPeer status through the daemon's NeighborReport (the runtime fills it once its speaker exists).
import { EdgelbError } from '../lib/errors.js';
import { waitFor } from '../lib/backoff.js';
import type { KubernetesSourceContext, StateSource } from './daemon.js';

export async function createKubernetesSource(ctx: KubernetesSourceContext): Promise<StateSource> {
  const { KubernetesSource } = await import('../k8s/source.js');
  const src = new KubernetesSource({
    nodeName: ctx.base.node.name,
    settings: ctx.base,
    logger: ctx.logger,
    registry: ctx.registry,
    statusSource: { bgpNeighbors: () => ctx.neighbors.rows() },
    ...(ctx.defaultClass ? { defaultClass: true } : {}),
    ...(ctx.defaultLbMode ? { defaultLbMode: ctx.defaultLbMode } : {}),
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
