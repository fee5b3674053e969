// Opens the XDP data path the way the daemon does (XdpDataplane over the real addon), programs the
// services given as JSON, prints "CONNTRACK <method> <entries>", "READY {takenOver, attachMode}" and stays until SIGTERM (then
// leaves the data path in place, like a hitless restart; SIGUSR1: detaches it, like an uninstall)
// — or until it is killed with SIGKILL.
//   node --import tsx test/lab/dataplane-owner.ts run '{"nodeName":..,"iface":..,"services":[..]}'
//   node --import tsx test/lab/dataplane-owner.ts cleanup '{"nodeName":..,"iface":..}'
import { Registry } from 'prom-client';
import { loadNative } from '../../src/native/index.js';
import { createLogger } from '../../src/lib/logger.js';
import { XdpDataplane } from '../../src/dataplane/xdp.js';
import { cleanupNode } from '../../src/dataplane/cleanup.js';
import type { DataplaneService } from '../../src/dataplane/types.js';
import type { AttachMode } from '../../src/model/desired-state.js';

interface OwnerArgs {
  nodeName: string;
  iface: string;
  routerId?: string;
  attachMode?: AttachMode;
  services?: DataplaneService[];
  maglevSize?: number;
  conntrackSize?: number;
}

const [cmd, json] = process.argv.slice(2);
const args = JSON.parse(json ?? '{}') as OwnerArgs;
const logger = createLogger({ level: 'info' });

if (cmd === 'cleanup') {
  const r = await cleanupNode({ nodeName: args.nodeName, iface: args.iface, logger });
  process.stdout.write(`CLEANED ${JSON.stringify(r)}\n`);
  process.exit(0);
}

const dp = new XdpDataplane({
  node: { name: args.nodeName, routerId: args.routerId ?? '0.0.0.0', interface: args.iface },
  spec: { attachMode: args.attachMode ?? 'auto', maglevSize: args.maglevSize ?? 65537, conntrackSize: args.conntrackSize ?? 65536, enabled: true },
  logger,
  registry: new Registry(),
  native: loadNative(),
});
const opened = await dp.open();
await dp.setServices(args.services ?? []);
// how the conntrack entries are counted (kernel = BPF_PROG_TEST_RUN worked) and how many
process.stdout.write(`CONNTRACK ${dp.conntrackCountMethod} ${dp.conntrackEntries(true)}\n`);
process.stdout.write(`READY ${JSON.stringify(opened)}\n`);
process.on('SIGTERM', () => {
  void dp.close({ detach: false }).then(() => process.exit(0));
});
process.on('SIGUSR1', () => {
  // an uninstall: detach and remove what the data path made (pins, managed neighbour entries)
  void dp.close({ detach: true }).then(() => {
    process.stdout.write('DETACHED\n');
    process.exit(0);
  });
});
process.on('SIGUSR2', () => {
  process.stdout.write(`STATS ${JSON.stringify(dp.stats())}\n`);
});
setInterval(() => undefined, 1 << 30);
