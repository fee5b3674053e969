// The BFD engine: every session of this node, the demultiplexing of received control packets
// (RFC 5880 6.8.6: by Your Discriminator, else by source address), the per-session timers and the
// drop counters. I/O goes through BfdTransport and time through BfdClock, so the tests run two
// engines against each other on a fake clock; worker.ts binds them to UDP sockets and real timers
// on a worker thread.
import { randomInt } from 'node:crypto';
import { BfdSession, type BfdSessionConfig, type BfdSessionView, type BfdStateChange } from './session.js';
import { BfdState, decodeControl, type BfdDrop } from './packet.js';
import type { BfdResume } from './offload.js';

/** A path to send one session's packets (RFC 5881/5883: its own source port, TTL 255). */
export interface BfdSender {
  send(buf: Buffer): void;
  close(): void;
  /** The UDP source port, once bound (the offload answers from it). */
  readonly srcPort?: number;
}

export interface BfdTransport {
  /** Open the sending side of a session. srcPort: the port a resumed session had (RFC 5881
   *  section 4: every packet of a session from the same source port), used when it is free. */
  openSender(cfg: BfdSessionConfig, opts?: { srcPort?: number }): BfdSender;
}

export interface BfdClock {
  now(): number;
  /** Call fn at (or soon after) `at` (ms, the clock's own time); returns a cancel function. */
  at(at: number, fn: () => void): () => void;
}

/** Where a datagram came from. ttl: its TTL / hop limit when the transport reports it. */
export interface BfdSource {
  address: string;
  port: number;
  multihop: boolean;
  ttl?: number;
}

export interface BfdEngineStats {
  received: number;
  sent: number;
  dropped: Partial<Record<BfdDrop, number>>;
}

interface Entry {
  session: BfdSession;
  sender: BfdSender;
  cancel?: () => void;
  wakeAt: number;
}

/** Key of the source-address demultiplexing table. */
function peerKey(address: string, multihop: boolean): string {
  return `${multihop ? 'm' : 's'}|${address}`;
}

export class BfdEngine {
  private readonly sessions = new Map<string, Entry>();
  private readonly byDiscr = new Map<number, Entry>();
  private readonly byPeer = new Map<string, Entry>();
  readonly stats: BfdEngineStats = { received: 0, sent: 0, dropped: {} };

  constructor(
    private readonly transport: BfdTransport,
    private readonly clock: BfdClock,
    private readonly onChange: (c: BfdStateChange) => void,
    private readonly random: () => number = Math.random,
  ) {}

  /** Make the sessions exactly `list` (by key): new ones start Down, changed ones are reconfigured
   *  (a poll sequence when intervals change), removed ones send AdminDown once and go. A new
   *  session with an entry in `resume` starts Up where the offload left it (offload.ts). */
  setSessions(list: readonly BfdSessionConfig[], resume: ReadonlyMap<string, BfdResume> = new Map()): void {
    const want = new Map(list.map((c) => [c.key, c]));
    for (const [key, e] of this.sessions) {
      const c = want.get(key);
      if (!c || c.peer !== e.session.cfg.peer || c.multihop !== e.session.cfg.multihop || c.local !== e.session.cfg.local) this.remove(key);
    }
    for (const c of list) {
      const e = this.sessions.get(c.key);
      if (e) {
        e.session.reconfigure(c);
        this.run(e);
      } else this.add(c, resume.get(c.key));
    }
  }

  /** Take a session administratively down (AdminDown is sent) or back up. */
  setAdminDown(key: string, down: boolean): void {
    const e = this.sessions.get(key);
    if (!e) return;
    e.session.setAdminDown(down, this.clock.now());
    this.run(e);
  }

  /** One received datagram (the UDP payload). Never throws; a discarded packet is counted. */
  receive(raw: Buffer, from: BfdSource): BfdDrop | null {
    this.stats.received++;
    const why = this.receiveInner(raw, from);
    if (why) this.stats.dropped[why] = (this.stats.dropped[why] ?? 0) + 1;
    return why;
  }

  views(): BfdSessionView[] {
    const now = this.clock.now();
    return [...this.sessions.values()].map((e) => e.session.view(now));
  }

  session(key: string): BfdSession | undefined {
    return this.sessions.get(key)?.session;
  }

  /**
   * Send AdminDown (diag 7) on every session now: before an orderly stop, so the peers know it is
   * administrative and, per RFC 5882 section 3.2, do not tell BGP the path failed.
   */
  adminDownAll(): void {
    for (const e of this.sessions.values()) {
      if (e.session.state !== BfdState.AdminDown) e.session.setAdminDown(true, this.clock.now());
      e.session.resend();
    }
  }

  /** Stop every session without a word (what a crash looks like to the peers). */
  close(): void {
    for (const e of this.sessions.values()) {
      e.cancel?.();
      e.sender.close();
    }
    this.sessions.clear();
    this.byDiscr.clear();
    this.byPeer.clear();
  }

  private receiveInner(raw: Buffer, from: BfdSource): BfdDrop | null {
    const d = decodeControl(raw);
    if (!d.ok) return d.drop;
    const p = d.packet;
    let e: Entry | undefined;
    if (p.yourDiscr !== 0) {
      e = this.byDiscr.get(p.yourDiscr);
      if (e && (e.session.cfg.peer !== from.address || e.session.cfg.multihop !== from.multihop)) return 'source';
    } else e = this.byPeer.get(peerKey(from.address, from.multihop));
    if (!e) return 'unknown-session';
    // RFC 5881 section 5: single hop packets must arrive with TTL 255 (when the transport tells us)
    if (!from.multihop && from.ttl !== undefined && from.ttl !== 255) return 'ttl';
    const why = e.session.receive(raw, p, this.clock.now());
    this.run(e);
    return why;
  }

  /** The sending side of a session (its source port, for the offload). */
  sender(key: string): BfdSender | undefined {
    return this.sessions.get(key)?.sender;
  }

  private add(c: BfdSessionConfig, resume?: BfdResume): void {
    let discr = resume && !this.byDiscr.has(resume.localDiscr) ? resume.localDiscr : 0;
    while (discr === 0 || this.byDiscr.has(discr)) discr = randomInt(1, 0xffff_ffff);
    const resumed = resume && resume.localDiscr === discr ? resume : undefined;
    const sender = this.transport.openSender(c, resumed?.srcPort !== undefined ? { srcPort: resumed.srcPort } : undefined);
    const entry: Entry = { sender, wakeAt: Infinity } as Entry;
    entry.session = new BfdSession(
      c,
      discr,
      {
        send: (buf) => {
          this.stats.sent++;
          sender.send(buf);
        },
        stateChanged: (ch) => this.onChange(ch),
      },
      this.clock.now(),
      this.random,
      resumed,
    );
    this.sessions.set(c.key, entry);
    this.byDiscr.set(discr, entry);
    this.byPeer.set(peerKey(c.peer, c.multihop), entry);
    this.run(entry);
  }

  private remove(key: string): void {
    const e = this.sessions.get(key);
    if (!e) return;
    e.cancel?.();
    if (e.session.state !== BfdState.AdminDown) {
      // 6.8.16: tell the peer this is administrative, not a failure
      e.session.setAdminDown(true, this.clock.now());
      e.session.tick(this.clock.now());
    }
    e.sender.close();
    this.sessions.delete(key);
    this.byDiscr.delete(e.session.localDiscr);
    const pk = peerKey(e.session.cfg.peer, e.session.cfg.multihop);
    if (this.byPeer.get(pk) === e) this.byPeer.delete(pk);
  }

  /** Run the session's due work and arm its timer for the next deadline. */
  private run(e: Entry): void {
    if (this.sessions.get(e.session.cfg.key) !== e) return;
    const next = e.session.tick(this.clock.now());
    if (next === e.wakeAt && e.cancel) return;
    e.cancel?.();
    e.cancel = undefined;
    e.wakeAt = next;
    if (next !== Infinity) e.cancel = this.clock.at(next, () => {
      e.cancel = undefined;
      e.wakeAt = Infinity;
      this.run(e);
    });
  }
}
