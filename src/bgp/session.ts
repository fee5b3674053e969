// One BGP session to one peer: node:net sockets and timers around the pure FSM (fsm.ts).
// Active and passive; incoming connections handed over by the speaker's listener; collision
// detection; one failure path (fail) that logs, records lastError, sends the NOTIFICATION, closes
// and backs off. Split by concern: session-types.ts (public types, re-exported here),
// session-conn.ts (one TCP connection), session-open.ts (OPEN / capabilities), session-timers.ts
// (FSM timers), session-tx.ts (transmit priority and back-pressure), session-updates.ts (received
// UPDATEs: End-of-RIB, adj-RIB-in, maxPrefixes), session-failure.ts (lastError and back-off count).
import net from 'node:net';
import type { Logger } from '../lib/logger.js';
import { errorMessage } from '../lib/errors.js';
import { familyOf, unmapIpv4 } from '../lib/addr.js';
import type { PeerSpec } from '../model/desired-state.js';
import {
  BgpState,
  FsmEvent,
  StateReason,
  transition,
  resolveCollision,
  type ErrorClass,
  type EventInput,
  type FsmAction,
  type Notify,
  type TimerName,
} from './fsm.js';
import { CeaseSubcode, ErrorCode, MessageType, OpenSubcode, BgpDecodeError, decodeMessage, errorName, messageTypeOf, familyName, type BgpMessage, type OpenMessage, type UpdateMessage } from './wire/index.js';
import { AdjRibOut, type DesiredRoutes } from './adj-rib-out.js';
import type { AdjRibIn } from './adj-rib-in.js';
import { UpdateReceiver } from './session-updates.js';
import { connectFailedRecord, failureRecord, isOperatorCease, nextConsecutiveErrors } from './session-failure.js';

const COLLISION: Notify = { code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_COLLISION_RESOLUTION };
import { Conn, needsNativeSocket, nativeConnectOptions } from './session-conn.js';
import { buildOpen, checkOpen, negotiate } from './session-open.js';
import { SessionTimers, timerDelayMs } from './session-timers.js';
import { Transmitter } from './session-tx.js';
import type { Family, LastError, Negotiated, SessionOptions } from './session-types.js';

export type { Family, LastError, Negotiated, SessionHooks, SessionOptions } from './session-types.js';
export { DEFAULT_KEEP_RECEIVED_BYTES } from './session-updates.js';

export class Session {
  readonly peer: PeerSpec;
  private readonly log: Logger;
  private fsm: BgpState = BgpState.Idle;
  private conn: Conn | null = null;
  /** An incoming connection waiting for its OPEN while `conn` is in OpenSent/OpenConfirm. */
  private spare: Conn | null = null;
  private readonly timers = new SessionTimers();
  private readonly tx: Transmitter;
  private connectAttempts = 0;
  private consecutiveErrors = 0;
  private lastEstablishedAt = 0;
  private stopped = true;
  private pendingUpdate: UpdateMessage | null = null;
  private pendingRefresh: { afi: number; safi: number } | null = null;
  private rxNotification: { code: number; subcode: number; data: Buffer } | null = null;
  /** The last failure was the peer's operator's Cease (no back-off). */
  private operatorEnded = false;
  private firstSessionDone = false;
  readonly ribOut = new AdjRibOut();
  private readonly updates: UpdateReceiver;
  readonly ribIn: AdjRibIn;
  /** Families the peer sent End-of-RIB for on the current session. */
  readonly endOfRibReceived: Set<Family>;
  negotiated: Negotiated | null = null;
  lastError: LastError | null = null;
  establishedAt: number | null = null;
  lastStateChange = { at: Date.now(), reason: StateReason.AdminStop as StateReason };
  /** Local address of the current connection (next-hop self). */
  localAddress: string | null = null;

  constructor(private readonly o: SessionOptions) {
    this.peer = o.peer;
    this.log = o.logger.child({ peer: o.peer.address });
    this.updates = new UpdateReceiver(o.peer, this.log);
    this.ribIn = this.updates.ribIn;
    this.endOfRibReceived = this.updates.endOfRibReceived;
    this.tx = new Transmitter({
      conn: () => this.conn,
      state: () => this.fsm,
      negotiated: () => this.negotiated,
      ribOut: this.ribOut,
      log: this.log,
      sent: (kind) => this.o.hooks.onMessage(this, 'sent', kind),
    });
  }

  get state(): BgpState {
    return this.fsm;
  }

  get ibgp(): boolean {
    return this.peer.asn === this.o.localAsn;
  }

  // ---- control ----

  start(): void {
    this.stopped = false;
    this.feed({ type: this.peer.passive ? FsmEvent.ManualStartPassive : FsmEvent.ManualStart });
  }

  /** Stop: 'shutdown' sends Cease/Administrative Shutdown (or `notify`), 'graceful' closes silently. */
  stop(mode: 'graceful' | 'shutdown', notify?: Notify): Promise<void> {
    this.stopped = true;
    const sock = this.conn?.socket;
    if (notify) this.feed({ type: FsmEvent.ManualStop, notify });
    else this.feed({ type: mode === 'graceful' ? FsmEvent.ManualStopGraceful : FsmEvent.ManualStop });
    this.dropSpare();
    this.clearTimers();
    if (!sock || sock.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        sock.destroy();
        resolve();
      }, 1500);
      sock.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /**
   * BFD declared the peer's path down (RFC 5882 section 4.3): end the session at once with Cease /
   * BFD Down (RFC 9384) instead of waiting for the hold timer; the usual idle hold then applies.
   * Returns false when there was no session to end (Idle).
   */
  bfdDown(): boolean {
    if (this.fsm === BgpState.Idle) return false;
    this.feed({ type: FsmEvent.AutomaticStop, notify: { code: ErrorCode.CEASE, subcode: CeaseSubcode.BFD_DOWN } }, 'rx');
    return true;
  }

  /** Allow End-of-RIB once the adj-RIB-out has drained (after the first full reconcile). */
  allowEndOfRib(): void {
    this.tx.eorAllowed = true;
    this.tx.kick();
  }

  /** New desired routes for this peer (only while Established). */
  setRoutes(routes: DesiredRoutes): void {
    if (this.fsm !== BgpState.Established) return;
    if (this.ribOut.setDesired(routes) > 0) this.tx.kick();
  }

  /** The speaker's listener accepted a connection from this peer's address. */
  acceptIncoming(socket: net.Socket): void {
    const st = this.fsm;
    if (this.stopped || st === BgpState.Idle) {
      this.log.debug({ state: st }, 'refusing incoming connection in Idle');
      socket.destroy();
      return;
    }
    const c = new Conn(socket, 'in');
    c.connected = true;
    if (st === BgpState.Connect || st === BgpState.Active) {
      // our own attempt may still complete: keep it as the collision candidate (both sides may
      // be connecting at once; closing it would make both sides close each other's connection)
      const mine = this.conn;
      this.conn = null;
      if (mine && !mine.closed && !this.spare) this.spare = mine;
      else if (mine) mine.close();
      this.attach(c);
      this.feed({ type: FsmEvent.TcpConnectionConfirmed });
      return;
    }
    if ((st === BgpState.OpenSent || st === BgpState.OpenConfirm) && !this.spare) {
      // collision candidate: send our OPEN on it and decide when its OPEN arrives
      this.spare = c;
      this.wireSocket(c);
      this.tx.writeNow(c, this.buildOpen());
      return;
    }
    // Established (or a second candidate): RFC 4271 §6.8, the new connection is closed
    this.wireSocket(c);
    this.closeWithNotification(c, COLLISION, 'rx', StateReason.Collision, `closing incoming connection: session in ${st}`);
  }

  // ---- FSM plumbing ----

  private feed(e: EventInput, errClassOverride?: ErrorClass): void {
    const from = this.fsm;
    const t = transition({ state: from, passive: this.peer.passive }, e);
    this.fsm = t.next;
    // adopting a collision candidate is a new connection even when the state stays OpenSent
    if (t.next !== from || t.reason === StateReason.Collision) {
      this.lastStateChange = { at: Date.now(), reason: t.reason };
      this.log.info({ from, to: t.next, reason: t.reason, event: e.type }, `bgp ${this.peer.address}: ${from} → ${t.next} (${t.reason})`);
      this.o.hooks.onState(this, from, t.next, t.reason);
    } else if (t.reason !== StateReason.Message && t.reason !== StateReason.Timer) {
      this.log.debug({ state: from, event: e.type, reason: t.reason }, 'bgp event');
    }
    for (const a of t.actions) this.act(a, errClassOverride);
    // Idle holds no connection: a collision candidate goes with the session it competed with
    if (this.fsm === BgpState.Idle && this.spare) this.dropSpare();
  }

  private act(a: FsmAction, errClassOverride?: ErrorClass): void {
    switch (a.type) {
      case 'connect':
        return this.connect();
      case 'drop':
        return this.drop();
      case 'sendOpen':
        if (this.conn) this.tx.enqueue(this.buildOpen());
        return;
      case 'sendKeepalive':
        if (this.conn) this.tx.enqueue({ type: 'keepalive' });
        return;
      case 'sendNotification':
        // orderly (admin stop, collision): the connection is dropped by the FSM's next action
        if (this.conn && this.conn.connected) this.closeWithNotification(this.conn, a.notify, 'admin', this.lastStateChange.reason);
        return;
      case 'startTimer':
        return this.startTimer(a.timer, a.kind);
      case 'stopTimer':
        return this.stopTimer(a.timer);
      case 'fail':
        return this.fail(a.notify, errClassOverride ?? a.errClass, a.reason);
      case 'established':
        return this.onEstablished();
      case 'sessionDown':
        return this.onSessionDown();
      case 'processUpdate':
        if (this.pendingUpdate) this.processUpdate(this.pendingUpdate);
        this.pendingUpdate = null;
        return;
      case 'processRouteRefresh':
        if (this.pendingRefresh) this.processRouteRefresh(this.pendingRefresh);
        this.pendingRefresh = null;
        return;
      case 'adoptCandidate': {
        const c = this.spare;
        this.spare = null;
        if (c) this.conn = c; // already wired (wireSocket) when it became the candidate
        return;
      }
    }
  }

  /**
   * The one failure path: log, record lastError, send the NOTIFICATION (when there is one and a
   * connection to send it on), close, and count the error for the idle-hold back-off.
   */
  private fail(notify: Notify | undefined, cls: ErrorClass, reason: StateReason, message?: string): void {
    const err = failureRecord({ notify, received: this.rxNotification, socketError: this.socketError, cls, reason, message });
    this.operatorEnded = !notify && isOperatorCease(this.rxNotification);
    this.rxNotification = null;
    this.socketError = null;
    this.lastError = err;
    if (!this.operatorEnded) this.consecutiveErrors = nextConsecutiveErrors(this.consecutiveErrors, this.lastEstablishedAt);
    this.log.warn({ class: cls, reason, code: err.code, subcode: err.subcode, error: err.name, errors: this.consecutiveErrors }, `bgp ${this.peer.address}: ${err.message}`);
    if (notify && this.conn && this.conn.connected && !this.conn.closed) this.closeWithNotification(this.conn, notify, cls, reason, undefined, true);
    this.drop();
  }

  /**
   * The one place a NOTIFICATION is written: on the session's connection (from fail() or an orderly
   * FSM stop) or on a collision candidate; logs it (unless the caller already did), counts it, then
   * closes that connection. A candidate's failure never touches the session (its state, lastError,
   * back-off): only fail() does.
   */
  private closeWithNotification(c: Conn, n: Notify, cls: ErrorClass, reason: StateReason | string, message?: string, logged = false): void {
    if (!logged) {
      const which = c === this.conn ? 'session' : 'candidate';
      this.log.info({ conn: which, dir: c.dir, class: cls, reason, code: n.code, subcode: n.subcode, error: errorName(n.code, n.subcode) }, message ?? `bgp ${this.peer.address}: NOTIFICATION on the ${which} connection`);
    }
    this.tx.writeNow(c, { type: 'notification', code: n.code, subcode: n.subcode, data: Buffer.from(n.data ?? []) });
    if (c === this.spare) this.dropSpare();
    else if (c !== this.conn) c.close();
  }

  private socketError: string | null = null;
  private connectSeq = 0;

  // ---- timers ----

  private startTimer(name: TimerName, kind?: 'large' | 'negotiated'): void {
    this.stopTimer(name);
    if (name === 'idleHold' && this.stopped) return;
    // the peer's operator ended the session: a passive session listens again at once (isOperatorCease)
    const operator = name === 'idleHold' && this.operatorEnded;
    if (name === 'idleHold') this.operatorEnded = false;
    const ms = operator && this.peer.passive ? 0 : timerDelayMs(name, kind, this.peer, {
      connectAttempt: name === 'connectRetry' ? this.connectAttempts++ : this.connectAttempts,
      consecutiveErrors: this.consecutiveErrors,
      negotiated: this.negotiated,
    });
    if (ms === null) return;
    this.timers.start(name, ms, (ev) => this.feed({ type: ev }));
  }

  private stopTimer(name: TimerName): void {
    this.timers.stop(name);
  }

  private clearTimers(): void {
    this.timers.clear();
  }

  // ---- connections ----

  private connect(): void {
    if (this.conn) this.drop();
    const p = this.peer;
    const attempt = ++this.connectSeq;
    const connectFailed = (msg: string) => {
      this.socketError = msg;
      this.lastError = connectFailedRecord(msg);
      this.log.debug({ error: msg }, 'connect failed');
      queueMicrotask(() => {
        if (attempt === this.connectSeq) this.feed({ type: FsmEvent.TcpConnectionFails });
      });
    };
    const needsNative = needsNativeSocket(p);
    if (needsNative && this.o.sockets) {
      // the addon sets MD5 / TTL / min TTL before connect(), then node:net takes the descriptor
      this.o.sockets
        .connect(nativeConnectOptions(p, this.ibgp))
        .then(
          (socket) => {
            if (attempt !== this.connectSeq || this.conn || this.fsm !== BgpState.Connect) {
              socket.destroy(); // superseded (retry, incoming connection, stop)
              return;
            }
            const c = new Conn(socket, 'out');
            c.connected = true;
            this.attach(c);
            this.feed({ type: FsmEvent.TcpCRAcked });
          },
          (e: unknown) => {
            const code = (e as { sysCode?: string; code?: string }).sysCode ?? (e as { code?: string }).code;
            const msg = `${code ? code + ': ' : ''}${errorMessage(e)}`;
            if (attempt === this.connectSeq) return connectFailed(msg);
            // superseded by the connect-retry timer: still worth recording why it never connected
            if (this.fsm !== BgpState.Established) this.lastError = connectFailedRecord(msg);
          },
        );
      return;
    }
    if (p.password) return connectFailed('TCP MD5 needs the native addon, which is not loaded'); // never unauthenticated
    if (needsNative) this.log.warn('TTL / GTSM options need the native addon; connecting without them');
    let socket: net.Socket;
    try {
      socket = net.connect({ host: p.address, port: p.port, ...(p.localAddress ? { localAddress: p.localAddress } : {}) });
    } catch (e) {
      return connectFailed(errorMessage(e));
    }
    const c = new Conn(socket, 'out');
    this.attach(c);
    socket.once('connect', () => {
      c.connected = true;
      if (c === this.spare) {
        this.tx.writeNow(c, this.buildOpen());
        return;
      }
      if (this.conn !== c) return;
      this.feed({ type: FsmEvent.TcpCRAcked });
    });
  }

  private attach(c: Conn): void {
    this.conn = c;
    this.wireSocket(c);
  }

  private wireSocket(c: Conn): void {
    const s = c.socket;
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => this.onData(c, chunk));
    s.on('drain', () => {
      if (c === this.conn) this.tx.kick();
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (c === this.conn) this.socketError = `${e.code ?? 'socket error'}: ${e.message}`;
    });
    s.on('close', () => {
      const wasOpen = !c.closed;
      c.closed = true;
      if (c === this.spare) {
        this.spare = null;
        return;
      }
      if (c !== this.conn || !wasOpen) return;
      this.conn = null;
      if (!c.connected) {
        this.lastError = connectFailedRecord(this.socketError ?? 'connection failed');
        this.log.debug({ error: this.socketError }, 'connect failed');
      }
      const cand = this.spare;
      if (cand && cand.connected && !cand.closed && (this.fsm === BgpState.OpenSent || this.fsm === BgpState.OpenConfirm)) {
        // the connection we were opening died while the peer's other connection waits for its
        // OPEN (it has ours): that one carries on (RFC 4271 §6.8, one connection per peer)
        this.log.info({ dir: cand.dir }, 'connection lost during a collision: the other connection carries on');
        this.socketError = null;
        this.feed({ type: FsmEvent.CandidateAdopted });
        return;
      }
      this.feed({ type: FsmEvent.TcpConnectionFails });
    });
  }

  private drop(): void {
    this.connectSeq++; // a native connect still in progress is discarded when it completes
    const c = this.conn;
    this.conn = null;
    this.tx.clear();
    this.localAddress = null;
    if (c) c.close();
  }

  private dropSpare(): void {
    if (this.spare) this.spare.close();
    this.spare = null;
  }

  // ---- receive ----

  private onData(c: Conn, chunk: Buffer): void {
    let msgs: Buffer[];
    try {
      msgs = c.framer.push(chunk);
    } catch (e) {
      return this.onDecodeError(c, e, FsmEvent.BGPHeaderErr);
    }
    for (const raw of msgs) {
      if (c.closed) return;
      let m: BgpMessage;
      try {
        m = decodeMessage(raw, c.ctx);
      } catch (e) {
        const t = messageTypeOf(raw);
        return this.onDecodeError(c, e, t === MessageType.OPEN ? FsmEvent.BGPOpenMsgErr : t === MessageType.UPDATE ? FsmEvent.UpdateMsgErr : FsmEvent.BGPHeaderErr);
      }
      if (c === this.spare) {
        this.onSpareMessage(c, m);
        continue;
      }
      if (c !== this.conn) return;
      this.o.hooks.onMessage(this, 'received', m.type);
      this.onMessage(c, m);
    }
  }

  private onDecodeError(c: Conn, e: unknown, ev: FsmEvent): void {
    if (!(e instanceof BgpDecodeError)) {
      this.log.error({ err: errorMessage(e) }, 'unexpected decoder failure');
      e = new BgpDecodeError(ErrorCode.MESSAGE_HEADER, 0, Buffer.alloc(0), 'session-reset', errorMessage(e));
    }
    const d = e as BgpDecodeError;
    if (c === this.spare) {
      this.closeWithNotification(c, { code: d.bgpCode, subcode: d.subcode, data: d.data }, 'rx', StateReason.MessageError, `collision candidate: ${d.message}`);
      return;
    }
    if (c !== this.conn) return;
    if (d.bgpCode === ErrorCode.MESSAGE_HEADER) ev = FsmEvent.BGPHeaderErr;
    this.feed({ type: ev, notify: { code: d.bgpCode, subcode: d.subcode, data: d.data } });
  }

  private onMessage(c: Conn, m: BgpMessage): void {
    switch (m.type) {
      case 'open': {
        const bad = this.checkOpen(m);
        if (bad) return this.feed({ type: FsmEvent.BGPOpenMsgErr, notify: bad });
        if (this.fsm !== BgpState.OpenSent) return this.feed({ type: FsmEvent.BGPOpen });
        c.open = m;
        this.negotiate(c, m);
        // a waiting incoming connection from the same peer: resolve the collision now
        if (this.spare?.open) return this.resolveCollisionWith(this.spare);
        return this.feed({ type: FsmEvent.BGPOpen });
      }
      case 'keepalive':
        return this.feed({ type: FsmEvent.KeepAliveMsg });
      case 'update':
        this.pendingUpdate = m;
        return this.feed({ type: FsmEvent.UpdateMsg });
      case 'route-refresh':
        this.pendingRefresh = { afi: m.afi, safi: m.safi };
        return this.feed({ type: FsmEvent.RouteRefreshMsg });
      case 'notification':
        this.rxNotification = { code: m.code, subcode: m.subcode, data: m.data };
        return this.feed({ type: m.code === ErrorCode.OPEN_MESSAGE && m.subcode === OpenSubcode.UNSUPPORTED_VERSION ? FsmEvent.NotifMsgVerErr : FsmEvent.NotifMsg });
    }
  }

  private onSpareMessage(c: Conn, m: BgpMessage): void {
    if (m.type !== 'open') {
      // anything before the OPEN on a collision candidate: drop it
      this.dropSpare();
      return;
    }
    const bad = this.checkOpen(m);
    if (bad) {
      this.closeWithNotification(c, bad, 'rx', StateReason.MessageError, 'collision candidate: OPEN refused');
      return;
    }
    c.open = m;
    // primary still waiting for its OPEN: decide once it has one (its remote id is the same router)
    this.resolveCollisionWith(c);
  }

  /** RFC 4271 §6.8 between the current connection and the candidate, once the candidate's OPEN is in. */
  private resolveCollisionWith(spare: Conn): void {
    const primary = this.conn;
    const remoteId = spare.open!.bgpId;
    if (!primary || primary.closed) {
      // no connection to compare with (it failed and the session left OpenSent/OpenConfirm):
      // the candidate went with it
      this.dropSpare();
      return;
    }
    // a collision with an Established session always closes the new connection (§6.8)
    const keep = resolveCollision(this.o.routerId, remoteId);
    const keepSpare =
      this.fsm !== BgpState.Established && primary.dir !== spare.dir && (keep === 'keep-outgoing' ? spare.dir === 'out' : spare.dir === 'in');
    this.log.info({ keep: keepSpare ? spare.dir : primary.dir, remoteId, state: this.fsm }, 'connection collision');
    if (!keepSpare) {
      this.closeWithNotification(spare, COLLISION, 'rx', StateReason.Collision, 'collision: closing the candidate');
      if (primary.open && this.fsm === BgpState.OpenSent) this.feed({ type: FsmEvent.BGPOpen });
      return;
    }
    // the candidate wins: Cease/Collision on the current connection, the candidate resumes in
    // OpenSent (it has sent and received OPEN), then its OPEN moves it on to OpenConfirm
    this.feed({ type: FsmEvent.CandidateAdopted, notify: COLLISION });
    if (this.conn !== spare) return;
    this.negotiate(spare, spare.open!);
    this.feed({ type: FsmEvent.BGPOpen });
  }

  private checkOpen(m: OpenMessage): Notify | null {
    return checkOpen(m, this.peer, this.o.routerId, this.ibgp);
  }

  private negotiate(c: Conn, m: OpenMessage): void {
    const n = negotiate(this.peer, m);
    this.negotiated = n.negotiated;
    c.ctx = n.ctx;
    c.framer.maxLength = c.ctx.maxLength;
    this.localAddress = c.socket.localAddress ? unmapIpv4(c.socket.localAddress) : null;
  }

  private buildOpen(): OpenMessage {
    return buildOpen({
      peer: this.peer,
      localAsn: this.o.localAsn,
      routerId: this.o.routerId,
      restartState: this.o.restarting && !this.firstSessionDone,
      forwardingPreserved: this.o.forwardingPreserved,
    });
  }

  private processUpdate(u: UpdateMessage): void {
    const teardown = this.updates.apply(u);
    if (teardown) this.feed({ type: FsmEvent.AutomaticStop, notify: teardown }, 'rx');
  }

  private processRouteRefresh(r: { afi: number; safi: number }): void {
    this.log.info({ family: familyName(r.afi, r.safi) }, 'route refresh: sending adj-RIB-out again');
    this.ribOut.resendAll();
    this.tx.kick();
  }

  private onEstablished(): void {
    this.establishedAt = Date.now();
    this.lastEstablishedAt = this.establishedAt;
    this.connectAttempts = 0;
    this.tx.eorSent = false;
    this.o.hooks.onEstablished(this);
    this.firstSessionDone = true;
    this.tx.kick();
  }

  private onSessionDown(): void {
    this.establishedAt = null;
    this.ribOut.clear();
    this.updates.clear();
    this.o.hooks.onDown(this);
  }

  // ---- transmit ----

  /** Whether End-of-RIB went out on the current session. */
  get endOfRibSent(): boolean {
    return this.tx.eorSent;
  }

  /** Address family of the session's transport. */
  get transportFamily(): 4 | 6 {
    return familyOf(this.peer.address) === 6 ? 6 : 4;
  }
}
