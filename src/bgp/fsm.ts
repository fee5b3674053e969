// The BGP finite state machine of RFC 4271 §8 as a pure function: (state, event) → (next, actions).
// No sockets, no timers: the session (session.ts) turns I/O into events and carries out the actions.
// Every (state, event) pair that the RFC does not expect yields the FSM-error NOTIFICATION with the
// RFC 6608 subcode for the state. Also here, pure: hold-time negotiation, keepalive interval,
// connect-retry and idle-hold back-off, and connection-collision resolution (RFC 4271 §6.8).

import { CeaseSubcode, ErrorCode, FsmSubcode, OpenSubcode } from './wire/constants.js';

export enum BgpState {
  Idle = 'Idle',
  Connect = 'Connect',
  Active = 'Active',
  OpenSent = 'OpenSent',
  OpenConfirm = 'OpenConfirm',
  Established = 'Established',
}

/** Events (RFC 4271 §8.1 numbers in comments; the optional ones we do not use are left out). */
export enum FsmEvent {
  ManualStart = 'ManualStart', // 1
  ManualStop = 'ManualStop', // 2: Cease / Administrative Shutdown (or the notify it carries)
  /** Close without a NOTIFICATION (graceful restart: the peer keeps our routes as stale). */
  ManualStopGraceful = 'ManualStopGraceful',
  ManualStartPassive = 'ManualStartPassive', // 4
  /** 8: a local reason to end the session (max prefixes, peer removed...); carries the NOTIFICATION. */
  AutomaticStop = 'AutomaticStop',
  ConnectRetryTimerExpires = 'ConnectRetryTimerExpires', // 9
  HoldTimerExpires = 'HoldTimerExpires', // 10
  KeepaliveTimerExpires = 'KeepaliveTimerExpires', // 11
  /** 13 (IdleHoldTimer_Expires): restart after an error. */
  IdleHoldTimerExpires = 'IdleHoldTimerExpires',
  TcpCRAcked = 'TcpCRAcked', // 16: our outgoing connection completed
  TcpConnectionConfirmed = 'TcpConnectionConfirmed', // 17: an incoming connection was accepted
  TcpConnectionFails = 'TcpConnectionFails', // 18
  BGPOpen = 'BGPOpen', // 19: a valid OPEN (already checked by the session)
  BGPHeaderErr = 'BGPHeaderErr', // 21: carries the NOTIFICATION
  BGPOpenMsgErr = 'BGPOpenMsgErr', // 22: carries the NOTIFICATION
  OpenCollisionDump = 'OpenCollisionDump', // 23
  /**
   * The collision candidate (a second connection that has sent our OPEN) becomes the session's
   * connection: it won the collision (notify: Cease/Collision on the old one) or the old one died.
   * The candidate resumes in OpenSent; the session then feeds BGPOpen when it already holds the OPEN.
   */
  CandidateAdopted = 'CandidateAdopted',
  NotifMsgVerErr = 'NotifMsgVerErr', // 24
  NotifMsg = 'NotifMsg', // 25
  KeepAliveMsg = 'KeepAliveMsg', // 26
  UpdateMsg = 'UpdateMsg', // 27
  UpdateMsgErr = 'UpdateMsgErr', // 28: carries the NOTIFICATION
  RouteRefreshMsg = 'RouteRefreshMsg', // RFC 2918
}

/** Why the state changed (or did not); logged with every transition. */
export enum StateReason {
  AdminStart = 'admin-start',
  AdminStop = 'admin-stop',
  GracefulStop = 'graceful-stop',
  LocalStop = 'local-stop',
  ConnectRetry = 'connect-retry',
  IdleHoldExpired = 'idle-hold-expired',
  TcpConnected = 'tcp-connected',
  TcpFailed = 'tcp-failed',
  OpenReceived = 'open-received',
  KeepaliveReceived = 'keepalive-received',
  HoldTimerExpired = 'hold-timer-expired',
  MessageError = 'message-error',
  NotificationReceived = 'notification-received',
  Collision = 'collision',
  FsmError = 'fsm-error',
  Ignored = 'ignored',
  Timer = 'timer',
  Message = 'message',
}

/** Classes of lastError: where the failure came from. */
export type ErrorClass = 'socket' | 'rx' | 'tx' | 'admin';

export type TimerName = 'connectRetry' | 'hold' | 'keepalive' | 'idleHold';

export interface Notify {
  code: number;
  subcode: number;
  data?: Uint8Array;
}

export type FsmAction =
  | { type: 'connect' } // open an outgoing TCP connection
  | { type: 'drop' } // close the TCP connection (no NOTIFICATION)
  | { type: 'sendOpen' }
  | { type: 'sendKeepalive' }
  /** An orderly NOTIFICATION that is not a failure (admin stop, collision). */
  | { type: 'sendNotification'; notify: Notify }
  /** hold: 'large' is the 4-minute OpenSent hold time, 'negotiated' the agreed one. */
  | { type: 'startTimer'; timer: TimerName; kind?: 'large' | 'negotiated' }
  | { type: 'stopTimer'; timer: TimerName }
  /** The one failure path: log, record lastError, NOTIFICATION (when given), close, back off. */
  | { type: 'fail'; notify?: Notify; errClass: ErrorClass; reason: StateReason }
  | { type: 'established' } // session up: reset back-off, send adj-RIB-out
  | { type: 'sessionDown' } // leaving Established: release adj-RIB-in, count
  | { type: 'processUpdate' }
  | { type: 'processRouteRefresh' }
  /** Make the collision candidate the current connection (after the old one was dropped). */
  | { type: 'adoptCandidate' };

export interface FsmSnapshot {
  state: BgpState;
  /** A passive peer never connects out; it waits for the peer in Active. */
  passive: boolean;
}

export interface EventInput {
  type: FsmEvent;
  /** For AutomaticStop, BGPHeaderErr, BGPOpenMsgErr, UpdateMsgErr: the NOTIFICATION to send. */
  notify?: Notify;
}

export interface Transition {
  next: BgpState;
  actions: FsmAction[];
  reason: StateReason;
}

/** RFC 6608: the FSM-error subcode for an unexpected event in `state`. */
export function fsmErrorSubcode(state: BgpState): number {
  switch (state) {
    case BgpState.OpenSent:
      return FsmSubcode.UNEXPECTED_IN_OPENSENT;
    case BgpState.OpenConfirm:
      return FsmSubcode.UNEXPECTED_IN_OPENCONFIRM;
    case BgpState.Established:
      return FsmSubcode.UNEXPECTED_IN_ESTABLISHED;
    default:
      return FsmSubcode.UNSPECIFIED;
  }
}

const ADMIN_SHUTDOWN: Notify = { code: ErrorCode.CEASE, subcode: CeaseSubcode.ADMINISTRATIVE_SHUTDOWN };
const COLLISION: Notify = { code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_COLLISION_RESOLUTION };
const HOLD_EXPIRED: Notify = { code: ErrorCode.HOLD_TIMER_EXPIRED, subcode: 0 };

const stopAll: FsmAction[] = [
  { type: 'stopTimer', timer: 'connectRetry' },
  { type: 'stopTimer', timer: 'hold' },
  { type: 'stopTimer', timer: 'keepalive' },
];

function to(next: BgpState, reason: StateReason, ...actions: FsmAction[]): Transition {
  return { next, actions, reason };
}

/** Leave for Idle through the failure path (which arms the idle-hold timer). */
function failTo(
  from: BgpState,
  reason: StateReason,
  errClass: ErrorClass,
  notify: Notify | undefined,
): Transition {
  const actions: FsmAction[] = [...stopAll];
  if (from === BgpState.Established) actions.push({ type: 'sessionDown' });
  actions.push(notify ? { type: 'fail', notify, errClass, reason } : { type: 'fail', errClass, reason });
  actions.push({ type: 'startTimer', timer: 'idleHold' });
  return { next: BgpState.Idle, actions, reason };
}

/** The RFC 6608 FSM error for an event `state` does not expect. */
function fsmError(state: BgpState): Transition {
  return failTo(state, StateReason.FsmError, 'rx', { code: ErrorCode.FSM, subcode: fsmErrorSubcode(state) });
}

/** Stop on request: orderly, no back-off; `notify` replaces Cease/Administrative Shutdown. */
function stopTo(from: BgpState, graceful: boolean, notify?: Notify): Transition {
  const actions: FsmAction[] = [...stopAll, { type: 'stopTimer', timer: 'idleHold' }];
  if (from === BgpState.Established) actions.push({ type: 'sessionDown' });
  const connected = from === BgpState.OpenSent || from === BgpState.OpenConfirm || from === BgpState.Established;
  if (connected && !graceful) actions.push({ type: 'sendNotification', notify: notify ?? ADMIN_SHUTDOWN });
  actions.push({ type: 'drop' });
  return to(BgpState.Idle, graceful ? StateReason.GracefulStop : StateReason.AdminStop, ...actions);
}

function start(passive: boolean, reason: StateReason): Transition {
  if (passive) return to(BgpState.Active, reason, { type: 'stopTimer', timer: 'idleHold' });
  return to(
    BgpState.Connect,
    reason,
    { type: 'stopTimer', timer: 'idleHold' },
    { type: 'startTimer', timer: 'connectRetry' },
    { type: 'connect' },
  );
}

/** Accept a TCP connection (ours completed or theirs confirmed): send OPEN, wait with the large hold time. */
function connected(): Transition {
  return to(
    BgpState.OpenSent,
    StateReason.TcpConnected,
    { type: 'stopTimer', timer: 'connectRetry' },
    { type: 'sendOpen' },
    { type: 'startTimer', timer: 'hold', kind: 'large' },
  );
}

/** The collision candidate replaces the current connection and waits for (or holds) the peer's OPEN. */
function adoptCandidate(notify: Notify | undefined): Transition {
  const actions: FsmAction[] = [...stopAll];
  if (notify) actions.push({ type: 'sendNotification', notify });
  actions.push({ type: 'drop' }, { type: 'adoptCandidate' }, { type: 'startTimer', timer: 'hold', kind: 'large' });
  return to(BgpState.OpenSent, StateReason.Collision, ...actions);
}

/**
 * The transition function. Pure: the same snapshot and event always give the same result.
 */
export function transition(s: FsmSnapshot, e: EventInput): Transition {
  const { state } = s;
  const ev = e.type;
  // stops are the same everywhere
  if (ev === FsmEvent.ManualStop) return stopTo(state, false, e.notify);
  if (ev === FsmEvent.ManualStopGraceful) return stopTo(state, true);

  switch (state) {
    case BgpState.Idle:
      switch (ev) {
        case FsmEvent.ManualStart:
          return start(false, StateReason.AdminStart);
        case FsmEvent.ManualStartPassive:
          return start(true, StateReason.AdminStart);
        case FsmEvent.IdleHoldTimerExpires:
          return start(s.passive, StateReason.IdleHoldExpired);
        case FsmEvent.TcpConnectionConfirmed:
        case FsmEvent.TcpCRAcked:
          // RFC 4271: Idle refuses connections
          return to(BgpState.Idle, StateReason.Ignored, { type: 'drop' });
        default:
          // "any other event is ignored in Idle": there is no connection to send an error on
          return to(BgpState.Idle, StateReason.Ignored);
      }

    case BgpState.Connect:
    case BgpState.Active:
      switch (ev) {
        case FsmEvent.ManualStart:
        case FsmEvent.ManualStartPassive:
          return to(state, StateReason.Ignored);
        case FsmEvent.ConnectRetryTimerExpires:
          if (s.passive) return to(BgpState.Active, StateReason.ConnectRetry);
          return to(
            BgpState.Connect,
            StateReason.ConnectRetry,
            { type: 'drop' },
            { type: 'startTimer', timer: 'connectRetry' },
            { type: 'connect' },
          );
        case FsmEvent.TcpCRAcked:
        case FsmEvent.TcpConnectionConfirmed:
          return connected();
        case FsmEvent.TcpConnectionFails:
          // wait for the (backed-off) connect-retry timer, accepting incoming connections meanwhile
          return to(
            BgpState.Active,
            StateReason.TcpFailed,
            { type: 'drop' },
            ...(s.passive ? [] : [{ type: 'startTimer', timer: 'connectRetry' } as FsmAction]),
          );
        case FsmEvent.AutomaticStop:
          return failTo(state, StateReason.LocalStop, 'admin', undefined);
        case FsmEvent.IdleHoldTimerExpires:
          return to(state, StateReason.Ignored);
        default:
          return fsmError(state);
      }

    case BgpState.OpenSent:
      switch (ev) {
        case FsmEvent.AutomaticStop:
          return failTo(state, StateReason.LocalStop, 'admin', e.notify ?? { code: ErrorCode.CEASE, subcode: 0 });
        case FsmEvent.HoldTimerExpires:
          return failTo(state, StateReason.HoldTimerExpired, 'rx', HOLD_EXPIRED);
        case FsmEvent.TcpConnectionFails:
          return failTo(state, StateReason.TcpFailed, 'socket', undefined);
        case FsmEvent.BGPOpen:
          return to(
            BgpState.OpenConfirm,
            StateReason.OpenReceived,
            { type: 'stopTimer', timer: 'connectRetry' },
            { type: 'sendKeepalive' },
            { type: 'startTimer', timer: 'keepalive' },
            { type: 'startTimer', timer: 'hold', kind: 'negotiated' },
          );
        case FsmEvent.BGPHeaderErr:
        case FsmEvent.BGPOpenMsgErr:
          return failTo(state, StateReason.MessageError, 'rx', e.notify);
        case FsmEvent.OpenCollisionDump:
          return to(BgpState.Idle, StateReason.Collision, ...stopAll, { type: 'sendNotification', notify: COLLISION }, { type: 'drop' });
        case FsmEvent.CandidateAdopted:
          return adoptCandidate(e.notify);
        case FsmEvent.NotifMsgVerErr:
          return to(BgpState.Idle, StateReason.NotificationReceived, ...stopAll, { type: 'drop' }, { type: 'startTimer', timer: 'idleHold' });
        case FsmEvent.NotifMsg:
          return failTo(state, StateReason.NotificationReceived, 'rx', undefined);
        case FsmEvent.ManualStart:
        case FsmEvent.ManualStartPassive:
        case FsmEvent.IdleHoldTimerExpires:
        case FsmEvent.ConnectRetryTimerExpires:
          return to(state, StateReason.Ignored);
        default:
          return fsmError(state);
      }

    case BgpState.OpenConfirm:
      switch (ev) {
        case FsmEvent.AutomaticStop:
          return failTo(state, StateReason.LocalStop, 'admin', e.notify ?? { code: ErrorCode.CEASE, subcode: 0 });
        case FsmEvent.HoldTimerExpires:
          return failTo(state, StateReason.HoldTimerExpired, 'rx', HOLD_EXPIRED);
        case FsmEvent.KeepaliveTimerExpires:
          return to(state, StateReason.Timer, { type: 'sendKeepalive' }, { type: 'startTimer', timer: 'keepalive' });
        case FsmEvent.TcpConnectionFails:
          return failTo(state, StateReason.TcpFailed, 'socket', undefined);
        case FsmEvent.NotifMsgVerErr:
        case FsmEvent.NotifMsg:
          return failTo(state, StateReason.NotificationReceived, 'rx', undefined);
        case FsmEvent.OpenCollisionDump:
          return to(BgpState.Idle, StateReason.Collision, ...stopAll, { type: 'sendNotification', notify: COLLISION }, { type: 'drop' });
        case FsmEvent.CandidateAdopted:
          return adoptCandidate(e.notify);
        case FsmEvent.BGPHeaderErr:
        case FsmEvent.BGPOpenMsgErr:
          return failTo(state, StateReason.MessageError, 'rx', e.notify);
        case FsmEvent.KeepAliveMsg:
          return to(
            BgpState.Established,
            StateReason.KeepaliveReceived,
            { type: 'startTimer', timer: 'hold', kind: 'negotiated' },
            { type: 'established' },
          );
        case FsmEvent.ManualStart:
        case FsmEvent.ManualStartPassive:
        case FsmEvent.IdleHoldTimerExpires:
        case FsmEvent.ConnectRetryTimerExpires:
          return to(state, StateReason.Ignored);
        default:
          return fsmError(state);
      }

    case BgpState.Established:
      switch (ev) {
        case FsmEvent.AutomaticStop:
          return failTo(state, StateReason.LocalStop, 'admin', e.notify ?? { code: ErrorCode.CEASE, subcode: 0 });
        case FsmEvent.HoldTimerExpires:
          return failTo(state, StateReason.HoldTimerExpired, 'rx', HOLD_EXPIRED);
        case FsmEvent.KeepaliveTimerExpires:
          return to(state, StateReason.Timer, { type: 'sendKeepalive' }, { type: 'startTimer', timer: 'keepalive' });
        case FsmEvent.TcpConnectionFails:
          return failTo(state, StateReason.TcpFailed, 'socket', undefined);
        case FsmEvent.KeepAliveMsg:
          return to(state, StateReason.Message, { type: 'startTimer', timer: 'hold', kind: 'negotiated' });
        case FsmEvent.UpdateMsg:
          return to(state, StateReason.Message, { type: 'startTimer', timer: 'hold', kind: 'negotiated' }, { type: 'processUpdate' });
        case FsmEvent.RouteRefreshMsg:
          return to(state, StateReason.Message, { type: 'startTimer', timer: 'hold', kind: 'negotiated' }, { type: 'processRouteRefresh' });
        case FsmEvent.UpdateMsgErr:
        case FsmEvent.BGPHeaderErr:
          return failTo(state, StateReason.MessageError, 'rx', e.notify);
        case FsmEvent.NotifMsgVerErr:
        case FsmEvent.NotifMsg:
          return failTo(state, StateReason.NotificationReceived, 'rx', undefined);
        case FsmEvent.OpenCollisionDump:
          return to(BgpState.Idle, StateReason.Collision, ...stopAll, { type: 'sessionDown' }, { type: 'sendNotification', notify: COLLISION }, { type: 'drop' });
        case FsmEvent.ManualStart:
        case FsmEvent.ManualStartPassive:
        case FsmEvent.IdleHoldTimerExpires:
        case FsmEvent.ConnectRetryTimerExpires:
          return to(state, StateReason.Ignored);
        default:
          return fsmError(state);
      }
  }
}

// ---- timers and negotiation (pure) ----

/** The 4-minute hold time used in OpenSent (RFC 4271 §8.2.2). */
export const LARGE_HOLD_TIME_S = 240;
/** Ceiling of connect-retry and idle-hold back-off. */
export const MAX_BACKOFF_S = 60;

export type HoldNegotiation = { ok: true; holdTime: number; keepalive: number } | { ok: false; notify: Notify };

/**
 * RFC 4271 §4.2: the hold time is the smaller of ours and theirs; a peer proposing 1 or 2 s is
 * refused (OPEN error / Unacceptable Hold Time). 0 means no keepalives and no hold timer.
 * The keepalive is a third of the hold time, or the configured one when smaller.
 */
export function negotiateHoldTime(local: number, remote: number, keepalive?: number): HoldNegotiation {
  if (remote === 1 || remote === 2 || remote < 0 || remote > 65535 || !Number.isInteger(remote)) {
    return { ok: false, notify: { code: ErrorCode.OPEN_MESSAGE, subcode: OpenSubcode.UNACCEPTABLE_HOLD_TIME } };
  }
  const holdTime = Math.min(local, remote);
  if (holdTime === 0) return { ok: true, holdTime: 0, keepalive: 0 };
  const third = Math.max(1, Math.floor(holdTime / 3));
  const ka = keepalive !== undefined && keepalive > 0 ? Math.min(keepalive, third) : third;
  return { ok: true, holdTime, keepalive: ka };
}

/** Whether a configured hold time is valid: 0 or 3..65535. */
export function validHoldTime(h: number): boolean {
  return Number.isInteger(h) && (h === 0 || (h >= 3 && h <= 65535));
}

/** Connect-retry delay before attempt n (0-based): base, doubling, at most 60 s (ms). */
export function connectRetryDelayMs(baseS: number, attempt: number): number {
  return Math.min(baseS * 2 ** Math.min(attempt, 16), Math.max(baseS, MAX_BACKOFF_S)) * 1000;
}

/** Idle-hold after the n-th consecutive error (1-based): base, doubling, at most 60 s (ms). */
export function idleHoldDelayMs(baseS: number, errors: number): number {
  if (errors <= 0) return 0;
  return Math.min(baseS * 2 ** Math.min(errors - 1, 16), Math.max(baseS, MAX_BACKOFF_S)) * 1000;
}

/** BGP Identifier (dotted quad) as an unsigned 32-bit number, for comparisons. */
export function routerIdToNumber(id: string): number {
  const p = id.split('.').map(Number);
  return ((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!;
}

/**
 * RFC 4271 §6.8: of two connections to one peer, keep the one initiated by the speaker with the
 * higher BGP Identifier. Returns which connection to keep, seen from the local speaker.
 */
export function resolveCollision(localId: string, remoteId: string): 'keep-outgoing' | 'keep-incoming' {
  return routerIdToNumber(localId) > routerIdToNumber(remoteId) ? 'keep-outgoing' : 'keep-incoming';
}
