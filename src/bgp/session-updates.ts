// What a BGP session does with a received UPDATE: End-of-RIB per family, the adj-RIB-in, and the
// maxPrefixes action (warn once and drop the excess, or a Cease/Maximum Prefixes to tear down).
import type { Logger } from '../lib/logger.js';
import type { PeerSpec } from '../model/desired-state.js';
import type { Notify } from './fsm.js';
import { Afi, Safi, CeaseSubcode, ErrorCode, isEndOfRib, type UpdateMessage } from './wire/index.js';
import { AdjRibIn } from './adj-rib-in.js';
import { famOf } from './session-open.js';
import type { Family } from './session-types.js';

/** Default byte budget of keepReceived. */
export const DEFAULT_KEEP_RECEIVED_BYTES = 1 << 20;

export class UpdateReceiver {
  readonly ribIn: AdjRibIn;
  /** Families the peer sent End-of-RIB for on the current session. */
  readonly endOfRibReceived = new Set<Family>();
  /** Over maxPrefixes already warned about on this session. */
  private maxPrefixesWarned = false;

  constructor(
    private readonly peer: PeerSpec,
    private readonly log: Logger,
  ) {
    this.ribIn = new AdjRibIn({
      maxPrefixes: peer.maxPrefixes,
      keep: peer.keepReceived ?? false,
      keepBytes: peer.keepReceivedBytes ?? DEFAULT_KEEP_RECEIVED_BYTES,
    });
  }

  /** Apply one UPDATE; the NOTIFICATION to end the session with (maxPrefixesAction 'teardown'), else null. */
  apply(u: UpdateMessage): Notify | null {
    const eor = isEndOfRib(u);
    if (eor) {
      const f = famOf(eor.afi, eor.safi);
      if (f) this.endOfRibReceived.add(f);
      return null;
    }
    const r = this.ribIn.apply(u);
    if (u.errors?.length) this.log.warn({ errors: u.errors.map((e) => e.message) }, 'UPDATE errors recovered (RFC 7606)');
    if (r.dropped === 0) return null;
    if (this.peer.maxPrefixesAction === 'teardown') {
      const data = Buffer.alloc(7);
      data.writeUInt16BE(Afi.IPV4, 0);
      data.writeUInt8(Safi.UNICAST, 2);
      data.writeUInt32BE(Math.min(this.peer.maxPrefixes, 0xffffffff), 3);
      return { code: ErrorCode.CEASE, subcode: CeaseSubcode.MAX_PREFIXES_REACHED, data };
    }
    // warn (default): the session carries our VIPs, so it stays; the excess is dropped and counted
    if (!this.maxPrefixesWarned) {
      this.maxPrefixesWarned = true;
      this.log.warn({ maxPrefixes: this.peer.maxPrefixes }, `bgp ${this.peer.address}: more than maxPrefixes (${this.peer.maxPrefixes}) received: dropping the excess, keeping the session`);
    }
    return null;
  }

  /** The session went down: forget what it received. */
  clear(): void {
    this.ribIn.clear();
    this.maxPrefixesWarned = false;
    this.endOfRibReceived.clear();
  }
}
