// Kubernetes mode wiring: adapts the KubernetesSource (watchers → DesiredState; with --controller
// also the Lease, IPAM and status writes, else a speaker only) to the daemon's StateSource, and lets the node runtime report its BGP sessions for the
// BGPPeer status through the daemon's NeighborReport (the runtime fills it once its speaker exists).
// On a stop signal it tells an uninstall from a rolling update: when the DaemonSet named by
// $EDGELB_DAEMONSET (in $POD_NAMESPACE) is gone or being deleted, the pod is going for good.
// Without a cluster section in the file a default one is made (members: edgelb's ready pods; key:
// cluster/key beside the file), and a reloaded file reaches the source as new node settings.
import { dirname } from 'node:path';
import { EdgelbError } from '../lib/errors.js';
import { waitFor } from '../lib/backoff.js';
import type { KubernetesSourceContext, StateSource } from './daemon.js';

export async function createKubernetesSource(ctx: KubernetesSourceContext): Promise<StateSource> {
  const { KubernetesSource } = await import('../k8s/source.js');
  const { withClusterDefaults, withFlowHashDefault, clusterKeyPresent } = await import('../k8s/node-settings.js');
  const configDir = dirname(ctx.configPath ?? '/etc/edgelb/config.yaml');
  const defaults = (s: typeof ctx.base) => withFlowHashDefault(withClusterDefaults(s, configDir), configDir);
  const settings = defaults(ctx.base);
  if (!ctx.base.cluster)
    ctx.logger.info(
      { listen: settings.cluster!.listen, shards: settings.cluster!.shards, keyFile: settings.cluster!.keyFile, key: clusterKeyPresent(settings) },
      "no cluster section: the members are edgelb's ready pods with the defaults (alone: master of every shard; several: the shards spread)",
    );
  const src = new KubernetesSource({
    nodeName: ctx.base.node.name,
    settings,
    logger: ctx.logger,
    registry: ctx.registry,
    statusSource: { bgpNeighbors: () => ctx.neighbors.rows(), carried: () => ctx.neighbors.carried?.() },
    role: ctx.controller ? 'all' : 'speaker',
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
    updateSettings: (s) => src.updateSettings(defaults(s)),
    settingsRejected: (m) => src.settingsRejected(m),
    stopMode: () => daemonSetStopMode(process.env),
  };
}

/**
 * 'uninstall' when the DaemonSet running this pod is deleted (404, or a deletionTimestamp: kubectl
 * and helm delete it before its pods), else 'restart' (a rolling update, a node drain, an evicted
 * pod: the next pod takes the data path over). Without EDGELB_DAEMONSET, always 'restart'.
 */
export async function daemonSetStopMode(env: NodeJS.ProcessEnv, kubeconfig?: string): Promise<'restart' | 'uninstall'> {
  const name = env.EDGELB_DAEMONSET;
  const namespace = env.POD_NAMESPACE;
  if (!name || !namespace) return 'restart';
  const { KubeWriter, loadKubeClient } = await import('../k8s/client.js');
  const ds = await new KubeWriter(await loadKubeClient(kubeconfig)).readDaemonSet(namespace, name);
  if (!ds) return 'uninstall';
  return (ds.metadata as { deletionTimestamp?: string } | undefined)?.deletionTimestamp ? 'uninstall' : 'restart';
}
