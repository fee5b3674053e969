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
 * The consecutive-error count after one more failure: errors within 5 minutes of the last
 * session double the idle hold; a long-lived session resets it.
 */
export function nextConsecutiveErrors(previous: number, lastEstablishedAt: number, now = Date.now()): number {
  const longLived = lastEstablishedAt > 0 && now - lastEstablishedAt > 300_000;
  return longLived ? 1 : previous + 1;
}
