// BGP session timers: how long each FSM timer runs, the event it fires, and the handles of the running ones.
import type { PeerSpec } from '../model/desired-state.js';
import { FsmEvent, connectRetryDelayMs, idleHoldDelayMs, LARGE_HOLD_TIME_S, type TimerName } from './fsm.js';
import type { Negotiated } from './session-types.js';

/** The FSM event each timer fires when it expires. */
export const TIMER_EVENT: Record<TimerName, FsmEvent> = {
  connectRetry: FsmEvent.ConnectRetryTimerExpires,
  idleHold: FsmEvent.IdleHoldTimerExpires,
  hold: FsmEvent.HoldTimerExpires,
  keepalive: FsmEvent.KeepaliveTimerExpires,
};

/**
 * How long a timer runs, in ms, or null when it does not run (a hold time or keepalive of 0).
 * `connectAttempt` is the number of connect attempts before this one, `consecutiveErrors` drives
 * the idle-hold back-off.
 */
export function timerDelayMs(
  name: TimerName,
  kind: 'large' | 'negotiated' | undefined,
  peer: PeerSpec,
  st: { connectAttempt: number; consecutiveErrors: number; negotiated: Negotiated | null },
): number | null {
  switch (name) {
    case 'connectRetry':
      return connectRetryDelayMs(peer.connectRetry, st.connectAttempt);
    case 'idleHold':
      return idleHoldDelayMs(peer.idleHold, Math.max(1, st.consecutiveErrors));
    case 'hold': {
      const s = kind === 'large' ? LARGE_HOLD_TIME_S : (st.negotiated?.holdTime ?? 0);
      if (s === 0) return null;
      return s * 1000;
    }
    case 'keepalive': {
      const s = st.negotiated?.keepalive ?? 0;
      if (s === 0) return null;
      return s * 1000;
    }
  }
}

/** The running timers of one session, at most one per name. */
export class SessionTimers {
  private timers: Partial<Record<TimerName, NodeJS.Timeout>> = {};

  /** Run `name` for `ms`, then call `fire` with its event. */
  start(name: TimerName, ms: number, fire: (ev: FsmEvent) => void): void {
    this.timers[name] = setTimeout(() => {
      delete this.timers[name];
      fire(TIMER_EVENT[name]);
    }, ms);
  }

  stop(name: TimerName): void {
    const t = this.timers[name];
    if (t) clearTimeout(t);
    delete this.timers[name];
  }

  clear(): void {
    for (const n of Object.keys(this.timers) as TimerName[]) this.stop(n);
  }
}
