// The main thread's side of BFD: turns the BGP peers' `bfd` settings into sessions, runs the
// engine on a worker thread (worker.ts), opens the receive sockets through the addon (TTL filter),
// re-emits state changes ('down' / 'up' per peer address, which the runtime wires to the BGP
// speaker), keeps the latest session views for the API, and owns the edgelb_bfd_* metrics.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { counterOn, gaugeOn } from '../lib/metrics.js';
import type { PeerSpec } from '../model/desired-state.js';
import type { BfdRow } from '../model/views.js';
import { AUTH_TYPE_BY_NAME } from './auth.js';
import { BFD_PORT_MULTI_HOP, BFD_PORT_SINGLE_HOP, BfdState, STATE_NAMES, type BfdDrop } from './packet.js';
import type { BfdSessionConfig, BfdSessionView, BfdStateChange } from './session.js';
import type { BfdRxSpec } from './udp.js';
import type { BfdEngineStats } from './engine.js';
import type { BfdWorkerConfig, FromBfdWorker, ToBfdWorker } from './worker.js';
import { startWorker } from '../lib/worker.js';

/** The addon function that opens a receive socket with the TTL filter (native/udp_socket.cc). */
export type UdpSocketFn = (o: { family: 4 | 6; bindAddress?: string; bindPort: number; ttl?: number; minTtl?: number; reuseAddr?: boolean }) => number;

export interface BfdManagerOptions {
  logger: Logger;
  registry: Registry;
  /** The addon's udpSocket; without it the receive sockets are bound without the TTL check. */
  udpSocket?: UdpSocketFn;
  /** Tests: receive sockets and destination ports off the well-known ones. */
  receivers?: BfdRxSpec[];
  ports?: { single: number; multi: number };
  viewEveryMs?: number;
  /** The XDP data path's BFD maps: the thread publishes its Up sessions there and resumes from them. */
  offload?: { sessions: number; frames: number; lease: number };
}

/** A peer's BFD session: single hop unless the BGP session is multihop (ebgpMultihop > 1). */
export function sessionConfigs(peers: readonly PeerSpec[]): BfdSessionConfig[] {
  return peers
    .filter((p) => p.bfd)
    .map((p) => {
      const b = p.bfd!;
      return {
        key: p.address,
        peer: p.address,
        ...(p.localAddress ? { local: p.localAddress } : {}),
        multihop: (p.ebgpMultihop ?? 1) > 1,
        minTxUs: b.minTxMs * 1000,
        minRxUs: b.minRxMs * 1000,
        multiplier: b.multiplier,
        ...(b.auth && b.auth.key !== undefined ? { auth: { type: AUTH_TYPE_BY_NAME[b.auth.type], keyId: b.auth.keyId, key: Buffer.from(b.auth.key) } } : {}),
      } as BfdSessionConfig;
    });
}


function metrics(r: Registry) {
  return {
    sessions: gaugeOn(r, { name: 'edgelb_bfd_sessions', help: 'BFD sessions by local state', labelNames: ['state'] }),
    up: gaugeOn(r, { name: 'edgelb_bfd_session_up', help: '1 while the BFD session with the peer is Up', labelNames: ['peer'] }),
    detect: gaugeOn(r, { name: 'edgelb_bfd_detection_time_seconds', help: 'Negotiated detection time of the session (remote multiplier x agreed interval)', labelNames: ['peer'] }),
    flaps: counterOn(r, { name: 'edgelb_bfd_flaps_total', help: 'Up -> Down transitions of the session', labelNames: ['peer', 'diag'] }),
    rx: counterOn(r, { name: 'edgelb_bfd_packets_received_total', help: 'BFD control packets received' }),
    tx: counterOn(r, { name: 'edgelb_bfd_packets_sent_total', help: 'BFD control packets sent' }),
    dropped: counterOn(r, { name: 'edgelb_bfd_packets_dropped_total', help: 'BFD control packets discarded, by reason (RFC 5880 6.8.6 / 6.7 checks, TTL, unknown session)', labelNames: ['reason'] }),
  };
}

export class BfdManager extends EventEmitter {
  private worker: Worker | undefined;
  private latest: BfdSessionView[] = [];
  private sessions: BfdSessionConfig[] = [];
  private stopped = false;
  private starting: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly lastStats: BfdEngineStats = { received: 0, sent: 0, dropped: {} };
  private readonly m: ReturnType<typeof metrics>;
  private viewsAt = performance.now();

  constructor(private readonly o: BfdManagerOptions) {
    super();
    this.log = o.logger.child({ subsystem: 'bfd' });
    this.m = metrics(o.registry);
  }

  /** Open the receive sockets and start the thread. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.spawn(this.receivers());
  }

  /**
   * The sessions the peers ask for (peers without `bfd` have none). The thread and its sockets
   * start with the first session (a node without BFD binds no port); a start that fails is logged
   * and retried at the next call.
   */
  setPeers(peers: readonly PeerSpec[]): void {
    this.sessions = sessionConfigs(peers);
    if (this.worker) this.post({ type: 'sessions', sessions: this.sessions });
    else if (this.sessions.length && !this.starting) {
      this.starting = this.start()
        .catch((e: unknown) => this.log.error({ err: errorMessage(e) }, 'BFD could not start (ports 3784/4784 taken?): these peers are watched by their BGP hold time only'))
        .finally(() => (this.starting = undefined));
    }
  }

  /** Resolves once a start begun by setPeers has ended (tests, shutdown). */
  async started(): Promise<void> {
    await this.starting;
  }

  views(): BfdSessionView[] {
    return this.latest;
  }

  rows(): BfdRow[] {
    const age = performance.now() - this.viewsAt;
    return this.latest.map((v) => ({
      peer: v.peer,
      ...(v.local ? { local: v.local } : {}),
      multihop: v.multihop,
      state: STATE_NAMES[v.state],
      remoteState: STATE_NAMES[v.remoteState],
      diag: v.localDiag,
      localDiscr: v.localDiscr,
      remoteDiscr: v.remoteDiscr,
      txIntervalMs: v.txIntervalUs / 1000,
      detectTimeMs: v.detectTimeUs / 1000,
      multiplier: v.detectMult,
      remoteMultiplier: v.remoteDetectMult,
      auth: v.authType ? `${Object.entries(AUTH_TYPE_BY_NAME).find(([, t]) => t === v.authType)?.[0]}/${v.authKeyId}` : 'none',
      upSeconds: v.upForMs !== undefined ? Math.round((v.upForMs + age) / 1000) : 0,
      flaps: v.flaps,
    }));
  }

  /**
   * Stop the thread. adminDown (the default): every session sends AdminDown first, so the routers
   * do not treat the stop as a path failure (RFC 5882 section 3.2) and BGP graceful restart keeps
   * the routes; false: go silent (tests of what a crash looks like).
   */
  async stop(adminDown = true): Promise<void> {
    this.stopped = true;
    await this.starting;
    const w = this.worker;
    this.worker = undefined;
    if (!w) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void w.terminate().then(() => resolve()), 2000);
      w.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      w.postMessage({ type: 'stop', adminDown } satisfies ToBfdWorker);
    });
  }

  private receivers(): BfdRxSpec[] {
    if (this.o.receivers) return this.o.receivers;
    const out: BfdRxSpec[] = [];
    for (const family of [4, 6] as const) {
      for (const multihop of [false, true]) {
        const spec: BfdRxSpec = { family, multihop };
        if (this.o.udpSocket) {
          try {
            const port = multihop ? BFD_PORT_MULTI_HOP : BFD_PORT_SINGLE_HOP;
            // RFC 5881 section 5: single hop requires TTL 255 on what we receive
            spec.fd = this.o.udpSocket({ family, bindPort: port, ...(multihop ? {} : { minTtl: 255 }) });
          } catch (e) {
            if (family === 6) continue; // no IPv6 on this host
            throw e;
          }
        } else if (!multihop && family === 4) this.log.warn('BFD without the addon: received packets cannot be checked for TTL 255 (RFC 5881)');
        out.push(spec);
      }
    }
    return out;
  }

  private post(m: ToBfdWorker): void {
    this.worker?.postMessage(m);
  }

  private async spawn(receivers: BfdRxSpec[]): Promise<void> {
    const cfg: BfdWorkerConfig = { receivers, viewEveryMs: this.o.viewEveryMs ?? 1000, ...(this.o.ports ? { ports: this.o.ports } : {}), ...(this.o.offload ? { offload: this.o.offload } : {}) };
    const w = startWorker(import.meta.url, 'worker', cfg);
    this.worker = w;
    await new Promise<void>((resolve, reject) => {
      w.on('message', (m: FromBfdWorker) => {
        if (this.worker !== w) return;
        if (m.type === 'ready') {
          this.log.info({ receivers: receivers.map((r) => `${r.family === 6 ? 'udp6' : 'udp4'}/${r.multihop ? 'multihop' : 'single-hop'}${r.fd !== undefined ? '+ttl-filter' : ''}`) }, 'BFD thread started');
          if (this.sessions.length) this.post({ type: 'sessions', sessions: this.sessions });
          resolve();
        } else this.onWorker(m);
      });
      w.once('error', (e) => reject(e));
      w.once('exit', (code) => {
        if (this.worker !== w) return;
        this.worker = undefined;
        reject(new Error(`BFD thread exited (${code})`));
        this.onExit(code);
      });
    });
  }

  /** A dead thread: every session it held is Down for BGP's purposes; start a new one (fds are gone: bind again). */
  private onExit(code: number): void {
    for (const v of this.latest) if (v.state === BfdState.Up) this.emit('down', v.peer, { key: v.key, from: BfdState.Up, to: BfdState.Down, diag: 0, remoteState: v.remoteState } satisfies BfdStateChange);
    this.latest = [];
    if (this.stopped) return;
    this.log.error({ code }, 'BFD thread died: restarting it in 1 s');
    setTimeout(() => {
      if (this.stopped) return;
      this.spawn(this.receivers()).catch((e: unknown) => this.log.error({ err: errorMessage(e) }, 'BFD thread restart failed'));
    }, 1000).unref();
  }

  private onWorker(m: FromBfdWorker): void {
    if (m.type === 'error') this.log.warn({ err: m.message }, 'BFD');
    else if (m.type === 'views') {
      this.latest = m.views;
      this.viewsAt = performance.now();
      this.updateMetrics(m.stats);
    } else if (m.type === 'change') {
      const c = m.change;
      const s = this.sessions.find((x) => x.key === c.key);
      const info = { peer: c.key, from: STATE_NAMES[c.from], to: STATE_NAMES[c.to], diag: c.diag, ...(c.detectMs !== undefined ? { detectMs: c.detectMs } : {}) };
      if (c.to === BfdState.Up) this.log.info(info, `BFD session with ${c.key} is Up`);
      else if (c.from === BfdState.Up) this.log.warn(info, `BFD session with ${c.key} went ${STATE_NAMES[c.to]}`);
      else this.log.debug(info, `BFD session with ${c.key}: ${STATE_NAMES[c.from]} -> ${STATE_NAMES[c.to]}`);
      if (c.from === BfdState.Up && c.to !== BfdState.Up) {
        this.m.flaps.inc({ peer: c.key, diag: String(c.diag) });
        // not a failure of the path (RFC 5882 section 3.2): BFD removed from the peer (our AdminDown),
        // or the peer said AdminDown (an orderly stop or restart of its BFD)
        if (c.to === BfdState.Down && s && c.remoteState !== BfdState.AdminDown) this.emit('down', c.key, c);
      }
      if (c.to === BfdState.Up) this.emit('up', c.key, c);
    }
  }

  private updateMetrics(stats: BfdEngineStats): void {
    const counts = [0, 0, 0, 0];
    this.m.up.reset();
    this.m.detect.reset();
    for (const v of this.latest) {
      counts[v.state]!++;
      this.m.up.set({ peer: v.peer }, v.state === BfdState.Up ? 1 : 0);
      this.m.detect.set({ peer: v.peer }, v.detectTimeUs / 1e6);
    }
    STATE_NAMES.forEach((n, i) => this.m.sessions.set({ state: n }, counts[i]!));
    // the thread's counters are cumulative (a new thread starts from 0)
    const d = (now: number, before: number) => (now >= before ? now - before : now);
    this.m.rx.inc(d(stats.received, this.lastStats.received));
    this.m.tx.inc(d(stats.sent, this.lastStats.sent));
    for (const [reason, n] of Object.entries(stats.dropped) as Array<[BfdDrop, number]>) this.m.dropped.inc({ reason }, d(n, this.lastStats.dropped[reason] ?? 0));
    this.lastStats.received = stats.received;
    this.lastStats.sent = stats.sent;
    this.lastStats.dropped = { ...stats.dropped };
  }
}
