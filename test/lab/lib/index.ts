// edgelb network lab: namespaces, veths, bridges, real routers (BIRD 2, FRR, GoBGP) and guaranteed teardown.
//
// Usage (root; no test-runner imports here, so src/ may use it too):
//   import { Lab, edgeTopology, edgePlan } from '../lab/lib/index.js';
//   const lab = await Lab.create(edgeTopology({ prefix: 'bgp', nodes: 2, backends: 1 }));
//   try {
//     await lab.exec('client', ['ping', '-c1', '-W1', edgePlan.node(1).v4]);        // {stdout, stderr, code}
//     const d = await lab.spawn('node1', ['node', 'dist/cli/main.js', 'daemon', '--config', cfg]);  // nsenter'd, logged
//     const routes = await lab.fibRoutes('router', '10.9.9.9/32');                  // [{prefix, nexthops: [...]}]
//     await lab.linkDown('node1', 'eth0');
//   } catch (e) { console.error(lab.logs()); throw e; }
//   finally { await lab.teardown(); }        // also runs on exit/SIGINT; leftovers of dead runs are removed on create
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
export { FrrRouter, FRR_DAEMON_DIR } from './routers/frr.js';
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
