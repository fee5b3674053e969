// Public types of a BGP session: options, hooks, the negotiated parameters and the last error.
import type { Logger } from '../lib/logger.js';
import type { PeerSpec } from '../model/desired-state.js';
import type { BgpState, ErrorClass, StateReason } from './fsm.js';
import type { BgpMessage } from './wire/index.js';
import type { BgpSocketFactory } from './sockets.js';
import type { Session } from './session.js';

export type Family = 'ipv4' | 'ipv6';

export interface LastError {
  at: string; // ISO time
  class: ErrorClass;
  reason: StateReason | 'connect-failed' | 'config-refused';
  /** NOTIFICATION sent or received, when there was one. */
  code?: number;
  subcode?: number;
  /** "hold-timer-expired/subcode0", "cease/administrative-shutdown"... */
  name?: string;
  /** whether the NOTIFICATION came from the peer */
  received?: boolean;
  message: string;
}

export interface Negotiated {
  families: Family[];
  as4: boolean;
  routeRefresh: boolean;
  extendedMessage: boolean;
  holdTime: number;
  keepalive: number;
  /** The peer's graceful-restart capability, when it sent one. */
  peerGracefulRestart?: { restartTime: number; restarting: boolean; families: Family[] };
  /** Whether we advertised graceful restart on this session. */
  gracefulRestart: boolean;
  remoteId: string;
}

export interface SessionHooks {
  onState(s: Session, from: BgpState, to: BgpState, reason: StateReason): void;
  /** Entered Established: the speaker fills the adj-RIB-out. */
  onEstablished(s: Session): void;
  /** Left Established. */
  onDown(s: Session): void;
  onMessage(s: Session, dir: 'sent' | 'received', kind: BgpMessage['type'] | 'eor'): void;
}

export interface SessionOptions {
  peer: PeerSpec;
  localAsn: number;
  routerId: string;
  logger: Logger;
  hooks: SessionHooks;
  sockets?: BgpSocketFactory;
  /** Graceful restart: R bit (we restarted) and F bit (forwarding state preserved). */
  restarting: boolean;
  forwardingPreserved: boolean;
}
