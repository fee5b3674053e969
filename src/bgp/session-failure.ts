// Why a BGP session failed, as its lastError records it (the NOTIFICATION sent, else the one
// received, else the socket error), and the error count that sets the idle-hold back-off.
import { errorName } from './wire/index.js';
import type { ErrorClass, Notify, StateReason } from './fsm.js';
import type { LastError } from './session-types.js';

export interface FailureCause {
  /** The NOTIFICATION the session sends, if any. */
  notify?: Notify;
  /** The NOTIFICATION the peer sent, if any. */
  received: { code: number; subcode: number } | null;
  /** The last error of the session's socket, if any. */
  socketError: string | null;
  cls: ErrorClass;
  reason: StateReason;
  message?: string;
}

/** The lastError of a failed session. */
export function failureRecord(f: FailureCause): LastError {
  const err: LastError = { at: new Date().toISOString(), class: f.cls, reason: f.reason, message: f.message ?? f.reason };
  if (f.notify) {
    err.code = f.notify.code;
    err.subcode = f.notify.subcode;
    err.name = errorName(f.notify.code, f.notify.subcode);
    err.message = f.message ?? `sent NOTIFICATION ${err.name}`;
  } else if (f.received) {
    err.code = f.received.code;
    err.subcode = f.received.subcode;
    err.name = errorName(f.received.code, f.received.subcode);
    err.received = true;
    err.message = `received NOTIFICATION ${err.name}`;
  } else if (f.socketError) {
    err.message = f.socketError;
  }
  return err;
}

/** The lastError of an outgoing connection that never connected. */
export function connectFailedRecord(message: string): LastError {
  return { at: new Date().toISOString(), class: 'socket', reason: 'connect-failed', message };
}

/**
 * A NOTIFICATION the peer's operator sent on purpose: Cease / Administrative Shutdown (2), Peer
 * De-configured (3), Administrative Reset (4) or Other Configuration Change (6), RFC 4486. Such a
 * session end is no error of the session: it does not count toward the idle-hold back-off (as in
 * BIRD, which updates its startup delay on no received Cease), and a passive session listens again
 * at once, so the peer's re-enable is not refused for the idle hold.
 */
export function isOperatorCease(n: { code: number; subcode: number } | null): boolean {
  return n !== null && n.code === 6 && (n.subcode === 2 || n.subcode === 3 || n.subcode === 4 || n.subcode === 6);
}

/**
 * The consecutive-error count after one more failure: errors within 5 minutes of the last
 * session double the idle hold; a long-lived session resets it.
 */
export function nextConsecutiveErrors(previous: number, lastEstablishedAt: number, now = Date.now()): number {
  const longLived = lastEstablishedAt > 0 && now - lastEstablishedAt > 300_000;
  return longLived ? 1 : previous + 1;
}
