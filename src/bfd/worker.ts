// BFD worker thread: runs the engine (every session's timers, sends and receives) off the main
// event loop. Why a thread: with 3 x 100 ms the daemon has 300 ms before a router declares it
// dead, and the main loop can be busy longer than that (a 100k-prefix UPDATE burst, a large
// reconcile, a major GC), which would turn a busy daemon into a withdrawn node. The thread does
// little per packet (a decode, at most one SHA-1, a send) and talks to the main thread by
// messages only: session configurations in, state changes and views out.
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { canonicalIp, familyOf, unmapIpv4 } from '../lib/addr.js';
import { BfdEngine, type BfdClock, type BfdEngineStats } from './engine.js';
import type { BfdSessionConfig, BfdSessionView, BfdStateChange } from './session.js';
import { DgramTransport, openReceiver, type BfdRxSpec } from './udp.js';
import { createSocket } from 'node:dgram';
import { BfdOffloadDriver } from './offload-driver.js';
import { XdpBfdOffload } from './xdp-offload.js';
import { loadNative } from '../native/index.js';

export interface BfdWorkerConfig {
  receivers: BfdRxSpec[];
  /** Destination ports (tests only; default 3784 / 4784). */
  ports?: { single: number; multi: number };
  /** How often views are posted besides every state change (ms). */
  viewEveryMs: number;
  /** The XDP data path's pinned BFD maps (XdpDataplane.mapFd): Up sessions are published to them
   *  so the XDP program answers for a dead daemon, and a starting thread resumes from them. */
  offload?: { sessions: number; frames: number; lease: number };
}

export type ToBfdWorker =
  | { type: 'sessions'; sessions: BfdSessionConfig[] }
  | { type: 'admin'; key: string; down: boolean }
  /** adminDown: tell the peers first (an orderly stop); without it the sessions just go silent. */
  | { type: 'stop'; adminDown: boolean };

export type FromBfdWorker =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'change'; change: BfdStateChange }
  | { type: 'views'; views: BfdSessionView[]; stats: BfdEngineStats };

const cfg = workerData as BfdWorkerConfig;
const port = parentPort!;
const post = (m: FromBfdWorker) => port.postMessage(m);

const clock: BfdClock = {
  now: () => performance.now(),
  at: (at, fn) => {
    const t = setTimeout(fn, Math.max(0, at - performance.now()));
    return () => clearTimeout(t);
  },
};
const dgram = new DgramTransport((message) => post({ type: 'error', message }), cfg.ports);
const driver = cfg.offload ? offloadDriver(cfg.offload) : undefined;
const engine = new BfdEngine(driver ? driver.wrap(dgram) : dgram, clock, (change) => {
  post({ type: 'change', change });
  driver?.tick();
  postViews();
});
driver?.attach(engine);

/** Our address towards each peer (the kernel's route), learnt once per peer off the hot path. */
const locals = new Map<string, string | undefined>();
function localFor(peer: string): string | undefined {
  if (!locals.has(peer)) {
    locals.set(peer, undefined);
    const s = createSocket(familyOf(peer) === 6 ? 'udp6' : 'udp4');
    s.on('error', () => s.close());
    s.connect(9, peer, () => {
      locals.set(peer, normalise(s.address().address));
      s.close();
    });
  }
  return locals.get(peer);
}

function offloadDriver(fds: { sessions: number; frames: number; lease: number }): BfdOffloadDriver {
  const native = loadNative();
  const window = Math.min(512, native.xdpLayout().bfdWindowMax);
  return new BfdOffloadDriver({
    port: new XdpBfdOffload({ native, fds }),
    now: clock.now,
    window,
    ...(cfg.ports ? { ports: cfg.ports } : {}),
    localFor,
    onError: (message) => post({ type: 'error', message }),
  });
}

function postViews(): void {
  post({ type: 'views', views: engine.views(), stats: engine.stats });
}

/** Buffers cross the thread boundary as Uint8Arrays: make the keys Buffers again. */
function revive(list: BfdSessionConfig[]): BfdSessionConfig[] {
  return list.map((c) => (c.auth ? { ...c, auth: { ...c.auth, key: Buffer.from(c.auth.key) } } : c));
}

function normalise(address: string): string {
  const a = unmapIpv4(address);
  return familyOf(a) ? canonicalIp(a) : a;
}

async function main(): Promise<void> {
  const sockets = await Promise.all(
    cfg.receivers.map((spec) =>
      openReceiver(
        spec,
        (msg, address, srcPort) => engine.receive(msg, { address: normalise(address), port: srcPort, multihop: spec.multihop }),
        (message) => post({ type: 'error', message }),
      ),
    ),
  );
  const viewTimer = setInterval(postViews, cfg.viewEveryMs);
  // what the offload answers with: published on Up (above) and checked here
  const offloadTimer = driver ? setInterval(() => driver.tick(), 250) : undefined;
  driver?.readResume();
  port.on('message', (m: ToBfdWorker) => {
    if (m.type === 'sessions') {
      const list = revive(m.sessions);
      engine.setSessions(list, driver?.takeResume(list));
    }
    else if (m.type === 'admin') engine.setAdminDown(m.key, m.down);
    else if (m.type === 'stop') {
      clearInterval(viewTimer);
      clearInterval(offloadTimer);
      // an orderly stop tells the peers AdminDown: nothing may answer Up for us afterwards
      if (m.adminDown) driver?.clear();
      const end = () => {
        postViews();
        engine.close();
        for (const s of sockets) s.close();
        port.close();
      };
      if (!m.adminDown) return end();
      // AdminDown twice, 20 ms apart (one may be lost), and time for the sends to leave
      engine.adminDownAll();
      setTimeout(() => engine.adminDownAll(), 20);
      setTimeout(end, 60);
    }
  });
  post({ type: 'ready' });
}

main().catch((e: unknown) => {
  post({ type: 'error', message: `bfd receive sockets: ${(e as Error).message}` });
  process.exit(1);
});
