// One BFD session in asynchronous mode (RFC 5880 section 6): the state variables of 6.8.1, the
// reception procedure of 6.8.6 (after the packet-only checks of packet.ts), the timer rules of
// 6.8.2-6.8.4 (negotiated intervals, detection time, 1 s while not Up), poll/final sequences for
// interval changes (6.5, 6.8.3), jittered transmission (6.8.7) and authentication sequence
// numbers (6.7). Time is passed in (milliseconds, monotonic): the engine drives it with real
// timers, the tests with a fake clock.
import { checkAuth, encodeSigned, isMeticulous, type AuthRxState, type BfdAuthConfig } from './auth.js';
import { transition, type BfdEvent } from './fsm.js';
import { BFD_VERSION, BfdDiag, BfdState, type BfdControlPacket, type BfdDrop } from './packet.js';

/** RFC 5880 6.8.3: while not Up, bfd.DesiredMinTxInterval is at least one second. */
export const SLOW_TX_US = 1_000_000;

export interface BfdSessionConfig {
  /** Stable name of the session (the BGP peer's address). */
  key: string;
  peer: string;
  /** Our address (source of what we send); undefined: the kernel chooses. */
  local?: string;
  multihop: boolean;
  /** Microseconds. */
  minTxUs: number;
  minRxUs: number;
  multiplier: number;
  auth?: BfdAuthConfig;
}

export interface BfdStateChange {
  key: string;
  from: BfdState;
  to: BfdState;
  diag: BfdDiag;
  /** The peer's state as last heard (AdminDown: an administrative stop, not a failure, RFC 5882 3.2). */
  remoteState: BfdState;
  /** For a timeout: the detection time that expired (ms). */
  detectMs?: number;
}

/** What the session tells its owner: packets to send and state changes. */
export interface BfdSessionOutput {
  send(buf: Buffer): void;
  stateChanged(c: BfdStateChange): void;
}

/** The view of a session for the API, metrics and the XDP offload port. */
export interface BfdSessionView {
  key: string;
  peer: string;
  local?: string;
  multihop: boolean;
  state: BfdState;
  remoteState: BfdState;
  localDiag: BfdDiag;
  remoteDiag: BfdDiag;
  localDiscr: number;
  remoteDiscr: number;
  /** What we advertise (us). */
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  detectMult: number;
  remoteDetectMult: number;
  remoteMinRxUs: number;
  remoteDesiredMinTxUs: number;
  /** Negotiated: our transmit interval and the detection time (0 while unknown). */
  txIntervalUs: number;
  detectTimeUs: number;
  pollActive: boolean;
  authType: number;
  authKeyId: number;
  xmitAuthSeq: number;
  upSinceMs?: number;
  /** How long it has been Up when the view was taken (clocks differ between threads). */
  upForMs?: number;
  flaps: number;
  lastDown?: { atMs: number; diag: BfdDiag };
}

export class BfdSession {
  state = BfdState.Down;
  remoteState = BfdState.Down;
  localDiag = BfdDiag.None;
  remoteDiag = BfdDiag.None;
  remoteDiscr = 0;
  /** bfd.RemoteMinRxInterval: initialised to 1 us (6.8.1). */
  remoteMinRxUs = 1;
  remoteDesiredMinTxUs = 0;
  remoteDetectMult = 0;
  remoteDemand = false;
  /** Values in use (the advertised ones differ only during a poll sequence). */
  private txUs: number;
  private rxDetectUs: number;
  private advTxUs: number;
  private advRxUs: number;
  private poll = false;
  private sendFinal = false;
  private sendNow = false;
  private nextTxAt = 0;
  private detectAt = Infinity;
  private lastRxAt = -Infinity;
  private readonly authRx: AuthRxState = { known: false, seq: 0 };
  xmitAuthSeq: number;
  flaps = 0;
  upSinceMs?: number;
  lastDown?: { atMs: number; diag: BfdDiag };

  constructor(
    public cfg: BfdSessionConfig,
    readonly localDiscr: number,
    private readonly out: BfdSessionOutput,
    now: number,
    private readonly random: () => number = Math.random,
  ) {
    this.advTxUs = this.txUs = Math.max(cfg.minTxUs, SLOW_TX_US);
    this.advRxUs = this.rxDetectUs = cfg.minRxUs;
    this.xmitAuthSeq = Math.floor(random() * 0x1_0000_0000) >>> 0;
    this.nextTxAt = now; // the active role sends at once (6.1)
  }

  /** The transmit interval: max(DesiredMinTx, RemoteMinRx) (6.8.7); 0 = do not send periodically. */
  txIntervalUs(): number {
    if (this.remoteMinRxUs === 0) return 0;
    return Math.max(this.txUs, this.remoteMinRxUs);
  }

  /** Detection time (6.8.4): remote Detect Mult x max(our RequiredMinRx, remote DesiredMinTx). */
  detectTimeUs(): number {
    if (this.remoteDetectMult === 0) return 0;
    return this.remoteDetectMult * Math.max(this.rxDetectUs, this.remoteDesiredMinTxUs);
  }

  /**
   * A packet that passed decodeControl and was demultiplexed to this session: authentication and
   * the rest of 6.8.6. Returns why it was discarded, or null.
   */
  receive(raw: Buffer, p: BfdControlPacket, now: number): BfdDrop | null {
    const why = checkAuth(raw, p, this.cfg.auth, this.authRx);
    if (why) return why;
    this.remoteDiscr = p.myDiscr;
    this.remoteState = p.state;
    this.remoteDiag = p.diag;
    this.remoteDemand = p.demand;
    this.remoteMinRxUs = p.requiredMinRx;
    this.remoteDesiredMinTxUs = p.desiredMinTx;
    this.remoteDetectMult = p.detectMult;
    this.lastRxAt = now;
    if (this.poll && p.final) this.finishPoll();
    if (this.state !== BfdState.AdminDown) this.apply({ kind: 'recv', remoteState: p.state }, now);
    if (this.state === BfdState.Init || this.state === BfdState.Up) this.detectAt = now + this.detectTimeUs() / 1000;
    if (p.poll) this.sendFinal = true;
    // a smaller RemoteMinRx may bring our next transmission forward
    const iv = this.txIntervalUs();
    if (iv > 0 && this.nextTxAt > now + iv / 1000) this.nextTxAt = now + this.jittered(iv) / 1000;
    return null;
  }

  /** Run due timers and send what is due; returns when to call again (ms, Infinity: nothing due). */
  tick(now: number): number {
    if (now >= this.detectAt) {
      const detectMs = this.detectTimeUs() / 1000;
      this.detectAt = Infinity;
      this.remoteDiscr = 0; // 6.8.1: reset when a Detection Time passes without a packet
      this.remoteState = BfdState.Down;
      this.apply({ kind: 'detect-timeout' }, now, detectMs);
    }
    // 6.7.3: forget the sequence number after twice the detection time without a packet
    if (this.authRx.known && now - this.lastRxAt > (2 * Math.max(this.detectTimeUs(), SLOW_TX_US)) / 1000) this.authRx.known = false;
    if (this.sendFinal) {
      this.sendFinal = false;
      this.transmit(false, true);
    }
    const iv = this.txIntervalUs();
    if (this.sendNow || (iv > 0 && now >= this.nextTxAt)) {
      this.sendNow = false;
      this.transmit(this.poll, false);
      this.nextTxAt = now + (iv > 0 ? this.jittered(iv) / 1000 : SLOW_TX_US / 1000);
    }
    return Math.min(this.detectAt, iv > 0 ? this.nextTxAt : Infinity);
  }

  /** Send the current state once more, now (AdminDown before a stop, in case one is lost). */
  resend(): void {
    this.transmit(false, false);
  }

  /** Administrative control (6.8.16). */
  setAdminDown(down: boolean, now: number): void {
    this.apply({ kind: down ? 'admin-down' : 'admin-up' }, now);
  }

  /** New intervals, multiplier or key: a change of intervals starts a poll sequence (6.8.3). */
  reconfigure(cfg: BfdSessionConfig): void {
    const old = this.cfg;
    this.cfg = cfg;
    if (old.auth?.type !== cfg.auth?.type || old.auth?.keyId !== cfg.auth?.keyId || !old.auth?.key.equals(cfg.auth?.key ?? Buffer.alloc(0))) {
      this.authRx.known = false;
    }
    this.retime();
  }

  view(now?: number): BfdSessionView {
    return {
      ...(now !== undefined && this.upSinceMs !== undefined ? { upForMs: now - this.upSinceMs } : {}),
      key: this.cfg.key,
      peer: this.cfg.peer,
      ...(this.cfg.local ? { local: this.cfg.local } : {}),
      multihop: this.cfg.multihop,
      state: this.state,
      remoteState: this.remoteState,
      localDiag: this.localDiag,
      remoteDiag: this.remoteDiag,
      localDiscr: this.localDiscr,
      remoteDiscr: this.remoteDiscr,
      desiredMinTxUs: this.advTxUs,
      requiredMinRxUs: this.advRxUs,
      detectMult: this.cfg.multiplier,
      remoteDetectMult: this.remoteDetectMult,
      remoteMinRxUs: this.remoteMinRxUs,
      remoteDesiredMinTxUs: this.remoteDesiredMinTxUs,
      txIntervalUs: this.txIntervalUs(),
      detectTimeUs: this.detectTimeUs(),
      pollActive: this.poll,
      authType: this.cfg.auth?.type ?? 0,
      authKeyId: this.cfg.auth?.keyId ?? 0,
      xmitAuthSeq: this.xmitAuthSeq,
      ...(this.upSinceMs !== undefined ? { upSinceMs: this.upSinceMs } : {}),
      flaps: this.flaps,
      ...(this.lastDown ? { lastDown: this.lastDown } : {}),
    };
  }

  /** The control packet we would send now (unsigned): the offload port pre-signs copies of it. */
  controlPacket(poll: boolean, final: boolean): BfdControlPacket {
    return {
      version: BFD_VERSION,
      diag: this.localDiag,
      state: this.state,
      poll,
      final,
      cpi: false,
      demand: false,
      multipoint: false,
      detectMult: this.cfg.multiplier,
      myDiscr: this.localDiscr,
      yourDiscr: this.remoteDiscr,
      desiredMinTx: this.advTxUs,
      requiredMinRx: this.advRxUs,
      requiredMinEchoRx: 0,
    };
  }

  /** Encode and sign p with the next sequence number (meticulous: every packet; keyed: too, which 6.7.3 allows). */
  sign(p: BfdControlPacket): Buffer {
    if (this.cfg.auth && this.cfg.auth.type !== 1) this.xmitAuthSeq = (this.xmitAuthSeq + 1) >>> 0;
    return encodeSigned(p, this.cfg.auth, this.xmitAuthSeq);
  }

  get meticulous(): boolean {
    return this.cfg.auth ? isMeticulous(this.cfg.auth.type) : false;
  }

  private transmit(poll: boolean, final: boolean): void {
    this.out.send(this.sign(this.controlPacket(poll, final)));
  }

  /** 6.8.7: 75-100 % of the interval, at most 90 % when Detect Mult is 1. */
  private jittered(us: number): number {
    const max = this.cfg.multiplier === 1 ? 0.9 : 1;
    return us * (0.75 + this.random() * (max - 0.75));
  }

  private apply(ev: BfdEvent, now: number, detectMs?: number): void {
    const t = transition(this.state, ev);
    if (t.ignored) return;
    if (t.diag !== undefined) this.localDiag = t.diag;
    if (t.next === this.state) return;
    const from = this.state;
    this.state = t.next;
    if (t.next === BfdState.Up) {
      this.upSinceMs = now;
      this.localDiag = BfdDiag.None;
    }
    if (from === BfdState.Up) {
      this.flaps++;
      this.upSinceMs = undefined;
      this.lastDown = { atMs: now, diag: this.localDiag };
    }
    if (t.next !== BfdState.Init && t.next !== BfdState.Up) this.detectAt = Infinity;
    this.retime();
    this.sendNow = true; // tell the peer at once
    this.out.stateChanged({ key: this.cfg.key, from, to: t.next, diag: this.localDiag, remoteState: this.remoteState, ...(detectMs !== undefined ? { detectMs } : {}) });
  }

  /** Recompute the intervals we want; start a poll sequence when they change (6.8.3). */
  private retime(): void {
    const wantTx = this.state === BfdState.Up ? this.cfg.minTxUs : Math.max(this.cfg.minTxUs, SLOW_TX_US);
    const wantRx = this.cfg.minRxUs;
    if (wantTx === this.advTxUs && wantRx === this.advRxUs) return;
    this.advTxUs = wantTx;
    this.advRxUs = wantRx;
    // a faster transmit rate and a longer detection time are safe at once; the others wait for the Final
    if (wantTx < this.txUs || this.state !== BfdState.Up) this.txUs = wantTx;
    if (wantRx > this.rxDetectUs) this.rxDetectUs = wantRx;
    if (this.state === BfdState.Up || this.state === BfdState.Init) {
      this.poll = true;
      this.sendNow = true;
    } else {
      this.finishPoll();
    }
  }

  private finishPoll(): void {
    this.poll = false;
    this.txUs = this.advTxUs;
    this.rxDetectUs = this.advRxUs;
  }
}
