// Benchmark side A for Kubernetes: edgelb's compiled Kubernetes controller (dist/, run with the
// daemon's production flags by bench/k8s-ingress.ts) against a kubeconfig, as the leader: the
// KubernetesSource that allocates addresses and writes Service status. Plain JavaScript so no
// TypeScript loader is in the process measured. On {stop}, replies {peakKiB, rssKiB} from
// /proc/self/status (VmHWM, VmRSS) and exits.
//   node --single-threaded-gc --max-semi-space-size=2 bench/lib/controller-child.mjs KUBECONFIG NAMESPACE
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { KubernetesSource } from '../../dist/k8s/source.js';
import { createLogger } from '../../dist/lib/logger.js';

const [kubeconfig, namespace] = process.argv.slice(2);
const node = 'bench-leader';
const settings = {
  node: { name: node, routerId: '', interface: 'eth0' },
  api: { listen: '127.0.0.1:11111' },
  bgp: { asn: 64513, routerId: '', listenPort: 179, peers: [], communities: [], largeCommunities: [] },
  pools: [],
  services: [],
  policies: [],
  dataplane: { attachMode: 'auto', maglevSize: 65537, conntrackSize: 65536, enabled: true },
  l2: { garpCount: 3, garpIntervalMs: 100, refreshIntervalMs: 0 },
};
const src = new KubernetesSource({
  kubeconfig,
  nodeName: node,
  settings,
  logger: createLogger({ level: 'warn' }),
  registry: new Registry(),
  namespace,
  identity: node,
  leaderRetryMs: 300,
  leaseDurationSec: 3,
  role: 'controller', // the controller process's figure (edgelb controller): no node translation
});
await src.start();
process.send({ started: true });
const kib = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
process.on('message', (m) => {
  if (!m || !m.stop) return;
  const rep = { peakKiB: kib('VmHWM'), rssKiB: kib('VmRSS') };
  void src.stop().then(() => {
    process.send(rep, () => process.exit(0));
  });
});
