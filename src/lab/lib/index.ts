// edgelb network lab: namespaces, veths, bridges, real routers (BIRD 2, FRR, GoBGP) and guaranteed teardown.
//
// Usage (root; no test-runner imports here, so src/ may use it too; see README.md beside this file):
//   import { Lab, edgeTopology, edgePlan, BirdRouter, GobgpRouter } from '../lab/lib/index.js';
//   const lab = await Lab.create(edgeTopology({ prefix: 'bgp', nodes: 2, backends: 1 }));  // router+br0, node1..2, be1, client
//   try {
//     const bird = await BirdRouter.start(lab, 'router', { asn: 64512, routerId: '10.0.0.1',
//       neighbors: [{ address: edgePlan.node(1).v4, asn: 64513, password: 'pw' }] });
//     const d = await lab.spawn('node1', ['node', 'dist/cli/main.js', 'daemon', '--config', cfg]);  // nsenter'd, logged
//     await bird.waitEstablished();
//     const rib = await bird.waitRoute('10.9.9.9/32');                        // {prefix, nexthops, med, communities, paths}
//     const fib = await lab.waitForFibRoute('router', '10.9.9.9/32', (r) => r.nexthops.length === 2);
//     await lab.exec('client', ['ping', '-c1', '10.9.9.9']);                 // {stdout, stderr, code}
//     await lab.linkDown('node1', 'eth0');
//   } catch (e) { console.error(lab.logs()); throw e; }
//   finally { await lab.teardown(); }        // also runs on exit/SIGINT/SIGTERM; leftovers of dead runs are removed on create
// Namespaces are `<prefix>-<run>-<node>` (lab.netns('node1')); interface names are per namespace (≤ 15 chars).
// Ownership records live in /run/edgelb-lab/<prefix>-<pid>-<seq>.json; only dead owners' leftovers are removed.
export { Lab, type LabNode, type LabResource, type LabCreateOptions } from './lab.js';
export { run, runSync, inNetns, LabExecError, type ExecOptions, type ExecResult } from './exec.js';
export { LabProcess, type SpawnOptions } from './process.js';
export { waitUntil, LabTimeoutError, LabFatalError, type WaitOptions } from './wait.js';
export { parseIpRouteJson, normalizePrefix, type FibRoute, type FibNexthop } from './fib.js';
export { cleanupStale, RECORD_DIR, isAlive, isRunning, procStartTime, type OwnershipData, type StaleCleanup } from './ownership.js';
export {
  edgeTopology,
  edgePlan,
  hostOf,
  isV6,
  type LabSpec,
  type NodeSpec,
  type LinkSpec,
  type LinkEnd,
  type BridgeSpec,
  type RouteSpec,
  type NodeRole,
  type EdgeTopologyOptions,
} from './topology.js';
export { BirdRouter } from './routers/bird.js';
export { FrrRouter, FRR_DAEMON_DIR, FRR_TMP_DIR } from './routers/frr.js';
export { GobgpRouter, ribArgs, type GobgpStartOptions, type Announcement } from './routers/gobgp.js';
export { RouterBase } from './routers/base.js';
export { birdConfig, birdProtocolName, type BirdOptions } from './routers/bird-config.js';
export { frrBgpdConfig, frrZebraConfig, type FrrOptions } from './routers/frr-config.js';
export { gobgpConfig, type GobgpOptions } from './routers/gobgp-config.js';
export { parseBirdProtocols, parseBirdRoutes } from './routers/bird-parse.js';
export { parseFrrNeighbors, parseFrrRoutes } from './routers/frr-parse.js';
export { parseGobgpNeighbors, parseGobgpRib } from './routers/gobgp-parse.js';
export {
  normalizeState,
  type BgpRouter,
  type BgpState,
  type Neighbor,
  type NeighborConfig,
  type RibPath,
  type RibRoute,
  type RouterOptions,
} from './routers/types.js';
