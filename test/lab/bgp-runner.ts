// Lab helper: runs one BgpSpeaker in a namespace (as an edge node would) and takes commands over
// a small HTTP API on a unix socket: PUT /ads (the advertisement set), POST /reconciled,
// GET /neighbors, GET /metrics, POST /stop?mode=graceful|shutdown. SIGTERM = stop('graceful').
//   node --import tsx test/lab/bgp-runner.ts CONFIG.json
// CONFIG: { asn, routerId, listenPort, localAddresses?, peers: PeerSpec[], policies?, ads?,
//           reconciled?, restarting?, forwardingPreserved?, native?, control: "/path/to.sock" }
import http from 'node:http';
import { readFileSync, rmSync } from 'node:fs';
import { Registry } from 'prom-client';
import { BgpSpeaker, type Advertisement } from '../../src/bgp/speaker.js';
import { createLogger } from '../../src/lib/logger.js';
import type { PeerSpec, PolicySpec } from '../../src/model/desired-state.js';
import { loadNative } from '../../src/native/index.js';

interface RunnerConfig {
  asn: number;
  routerId: string;
  listenPort: number;
  localAddresses?: { ipv4?: string; ipv6?: string };
  peers: PeerSpec[];
  policies?: PolicySpec[];
  ads?: Advertisement[];
  reconciled?: boolean;
  restarting?: boolean;
  forwardingPreserved?: boolean;
  control: string;
  logLevel?: 'debug' | 'info';
  /** load the native addon (TCP MD5, TTL, GTSM sockets) */
  native?: boolean;
}

const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as RunnerConfig;
const logger = createLogger({ level: cfg.logLevel ?? 'info' });
const registry = new Registry();
const speaker = new BgpSpeaker({
  asn: cfg.asn,
  routerId: cfg.routerId,
  listenPort: cfg.listenPort,
  ...(cfg.localAddresses ? { localAddresses: cfg.localAddresses } : {}),
  logger,
  registry,
  restarting: cfg.restarting ?? false,
  forwardingPreserved: cfg.forwardingPreserved ?? false,
  ...(cfg.native ? { native: loadNative() } : {}),
});
speaker.setPeers(cfg.peers, cfg.policies ?? []);
if (cfg.ads) speaker.setAdvertisements(cfg.ads);
if (cfg.reconciled) speaker.setInitialReconcileDone();
await speaker.start();

async function body(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

rmSync(cfg.control, { force: true });
const server = http.createServer((req, res) => {
  void (async () => {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      let out: unknown = { ok: true };
      if (req.method === 'PUT' && url.pathname === '/ads') {
        speaker.setAdvertisements((await body(req)) as Advertisement[]);
        out = { ok: true, at: performance.timeOrigin + performance.now() };
      } else if (req.method === 'POST' && url.pathname === '/reconciled') speaker.setInitialReconcileDone();
      else if (req.method === 'PUT' && url.pathname === '/peers') {
        const b = (await body(req)) as { peers: PeerSpec[]; policies: PolicySpec[] };
        speaker.setPeers(b.peers, b.policies);
      } else if (req.method === 'GET' && url.pathname === '/neighbors') out = speaker.neighbors();
      else if (req.method === 'GET' && url.pathname === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(await registry.metrics());
        return;
      } else if (req.method === 'POST' && url.pathname === '/stop') {
        await speaker.stop(url.searchParams.get('mode') === 'shutdown' ? 'shutdown' : 'graceful');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
        server.close();
        setTimeout(() => process.exit(0), 50);
        return;
      } else {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  })();
});
server.listen(cfg.control);
logger.info({ control: cfg.control }, 'bgp runner ready');

process.on('SIGTERM', () => {
  void speaker.stop('graceful').then(() => process.exit(0));
});
