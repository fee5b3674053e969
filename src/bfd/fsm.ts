// The BFD session state machine of RFC 5880 section 6.8.6 (reception) and 6.8.4 (detection
// timeout), as a pure function: (state, event) -> { next, diag }. No timers, no sockets; the
// session (session.ts) applies the result.
import { BfdDiag, BfdState } from './packet.js';

export type BfdEvent =
  | { kind: 'recv'; remoteState: BfdState }
  | { kind: 'detect-timeout' }
  | { kind: 'admin-down' }
  | { kind: 'admin-up' };

export interface BfdTransition {
  next: BfdState;
  /** The diagnostic to set (bfd.LocalDiag), or undefined to keep it. */
  diag?: BfdDiag;
  /** The event does not apply in this state (the packet is ignored, section 6.8.6). */
  ignored?: boolean;
}

/** Section 6.8.6's state table (and the timeout / administrative events of 6.8.4, 6.8.16). */
export function transition(state: BfdState, ev: BfdEvent): BfdTransition {
  switch (ev.kind) {
    case 'admin-down':
      return { next: BfdState.AdminDown, diag: BfdDiag.AdministrativelyDown };
    case 'admin-up':
      return state === BfdState.AdminDown ? { next: BfdState.Down, diag: BfdDiag.None } : { next: state, ignored: true };
    case 'detect-timeout':
      if (state === BfdState.Init || state === BfdState.Up) return { next: BfdState.Down, diag: BfdDiag.ControlDetectionTimeExpired };
      return { next: state, ignored: true };
    case 'recv':
      break;
  }
  // "If bfd.SessionState is AdminDown: Discard the packet"
  if (state === BfdState.AdminDown) return { next: state, ignored: true };
  const r = ev.remoteState;
  if (r === BfdState.AdminDown) {
    if (state !== BfdState.Down) return { next: BfdState.Down, diag: BfdDiag.NeighborSignaledSessionDown };
    return { next: state };
  }
  switch (state) {
    case BfdState.Down:
      if (r === BfdState.Down) return { next: BfdState.Init };
      if (r === BfdState.Init) return { next: BfdState.Up };
      return { next: state }; // remote Up while we are Down: stay Down (it will time out)
    case BfdState.Init:
      if (r === BfdState.Init || r === BfdState.Up) return { next: BfdState.Up };
      return { next: state };
    case BfdState.Up:
      if (r === BfdState.Down) return { next: BfdState.Down, diag: BfdDiag.NeighborSignaledSessionDown };
      return { next: state };
  }
  return { next: state, ignored: true };
}
