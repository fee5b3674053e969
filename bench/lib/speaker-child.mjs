// Benchmark side A for BGP: edgelb's compiled BgpSpeaker (dist/, run as the daemon runs:
// `node --single-threaded-gc --no-concurrent-recompilation --max-semi-space-size=2`), holding the advertisements of a prefix file before it starts,
// then taking changes from a command FIFO, one per line: "A <prefix>" (advertise) or
// "W <prefix>" (withdraw). Plain JavaScript so no TypeScript loader is in the process measured.
//   node --single-threaded-gc --no-concurrent-recompilation --max-semi-space-size=2 bench/lib/speaker-child.mjs CONFIG.json
// CONFIG: { asn, routerId, listenPort, peers: PeerSpec[], prefixFile?, fifo? }
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Registry } from 'prom-client';
import { BgpSpeaker } from '../../dist/bgp/speaker.js';
import { createLogger } from '../../dist/lib/logger.js';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const logger = createLogger({ level: 'warn' });
const speaker = new BgpSpeaker({ asn: cfg.asn, routerId: cfg.routerId, listenPort: cfg.listenPort, logger, registry: new Registry() });
const ads = new Map();
if (cfg.prefixFile) {
  for (const p of readFileSync(cfg.prefixFile, 'utf8').split('\n')) if (p) ads.set(p, { prefix: p });
}
speaker.setPeers(cfg.peers, []);
speaker.setAdvertisements([...ads.values()]);
speaker.setInitialReconcileDone();
await speaker.start();
process.stdout.write(`READY ${ads.size}\n`);

if (cfg.fifo) {
  // O_RDWR-free: the bench opens the FIFO for writing and keeps it open for the whole run
  const rl = createInterface({ input: createReadStream(cfg.fifo) });
  rl.on('line', (line) => {
    const [op, prefix] = line.trim().split(/\s+/);
    if (!prefix) return;
    if (op === 'A') ads.set(prefix, { prefix });
    else if (op === 'W') ads.delete(prefix);
    else return;
    speaker.setAdvertisements([...ads.values()]);
  });
}
process.on('SIGTERM', () => {
  void speaker.stop('graceful').then(() => process.exit(0));
});
