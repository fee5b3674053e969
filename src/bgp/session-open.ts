// Capabilities and the OPEN message of a BGP session: building our OPEN, checking the peer's, negotiating.
import type { PeerSpec } from '../model/desired-state.js';
import { negotiateHoldTime, type Notify } from './fsm.js';
import {
  ErrorCode,
  OpenSubcode,
  AS_TRANS,
  Afi,
  Safi,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  type Capability,
  type CodecContext,
  type GracefulRestartCapability,
  type OpenMessage,
} from './wire/index.js';
import type { Family, Negotiated } from './session-types.js';

export function famOf(afi: number, safi: number): Family | null {
  if (safi !== Safi.UNICAST) return null;
  return afi === Afi.IPV4 ? 'ipv4' : afi === Afi.IPV6 ? 'ipv6' : null;
}

/** Our OPEN: one MP capability per family, route refresh, 4-byte AS, extended message, graceful restart. */
export function buildOpen(o: {
  peer: PeerSpec;
  localAsn: number;
  routerId: string;
  /** R bit: set on the first session after a process restart. */
  restartState: boolean;
  forwardingPreserved: boolean;
}): OpenMessage {
  const peer = o.peer;
  const caps: Capability[] = [];
  for (const f of peer.families) caps.push({ type: 'mp', afi: f === 'ipv4' ? Afi.IPV4 : Afi.IPV6, safi: Safi.UNICAST });
  caps.push({ type: 'route-refresh' });
  caps.push({ type: 'as4', asn: o.localAsn });
  // Extended messages (RFC 8654) stay offered: they let us pack far more VIPs per UPDATE, and what
  // a peer sends us is bounded anyway: the framer caps a message at 65535 bytes, decoding is linear,
  // and the adj-RIB-in keeps no attributes unless keepReceived (with a byte budget). A 64 KB UPDATE
  // costs no more per byte than sixteen 4 KB ones, which any peer may send without the capability.
  caps.push({ type: 'extended-message' });
  if (peer.gracefulRestart) {
    // R bit only on the first session after a process restart; F bit only when the data path
    // was taken over intact; never the N bit (a hard failure must flush our routes)
    caps.push({
      type: 'graceful-restart',
      restartTime: Math.min(4095, peer.restartTime),
      restartState: o.restartState,
      families: peer.families.map((f) => ({ afi: f === 'ipv4' ? Afi.IPV4 : Afi.IPV6, safi: Safi.UNICAST, forwarding: o.forwardingPreserved })),
    });
  }
  return {
    type: 'open',
    version: 4,
    myAsn: o.localAsn > 0xffff ? AS_TRANS : o.localAsn,
    holdTime: peer.holdTime,
    bgpId: o.routerId,
    capabilities: caps,
  };
}

/** The NOTIFICATION a received OPEN deserves (version, peer AS, BGP identifier, hold time), or null. */
export function checkOpen(m: OpenMessage, peer: PeerSpec, routerId: string, ibgp: boolean): Notify | null {
  if (m.version !== 4) return { code: ErrorCode.OPEN_MESSAGE, subcode: OpenSubcode.UNSUPPORTED_VERSION, data: Uint8Array.of(0, 4) };
  const as4 = m.capabilities.find((c) => c.type === 'as4');
  const asn = as4 && as4.type === 'as4' ? as4.asn : m.myAsn;
  if (asn !== peer.asn || (as4 && peer.asn > 0xffff && m.myAsn !== AS_TRANS)) {
    return { code: ErrorCode.OPEN_MESSAGE, subcode: OpenSubcode.BAD_PEER_AS };
  }
  if (m.bgpId === '0.0.0.0' || (ibgp && m.bgpId === routerId)) return { code: ErrorCode.OPEN_MESSAGE, subcode: OpenSubcode.BAD_BGP_IDENTIFIER };
  const h = negotiateHoldTime(peer.holdTime, m.holdTime, peer.keepalive);
  if (!h.ok) return h.notify;
  return null;
}

/** The session parameters and codec context that follow from our configuration and the peer's OPEN. */
export function negotiate(peer: PeerSpec, m: OpenMessage): { negotiated: Negotiated; ctx: CodecContext } {
  const caps = m.capabilities;
  const theirMp = caps.filter((x) => x.type === 'mp').map((x) => (x.type === 'mp' ? famOf(x.afi, x.safi) : null));
  const theirFamilies = theirMp.length > 0 ? theirMp : ['ipv4'];
  const families = peer.families.filter((f) => theirFamilies.includes(f));
  const as4 = caps.some((x) => x.type === 'as4');
  const extendedMessage = caps.some((x) => x.type === 'extended-message');
  const gr = caps.find((x) => x.type === 'graceful-restart') as GracefulRestartCapability | undefined;
  const h = negotiateHoldTime(peer.holdTime, m.holdTime, peer.keepalive);
  const negotiated: Negotiated = {
    families,
    as4,
    routeRefresh: caps.some((x) => x.type === 'route-refresh' || x.type === 'enhanced-route-refresh'),
    extendedMessage,
    holdTime: h.ok ? h.holdTime : 0,
    keepalive: h.ok ? h.keepalive : 0,
    gracefulRestart: peer.gracefulRestart,
    remoteId: m.bgpId,
    ...(gr
      ? {
          peerGracefulRestart: {
            restartTime: gr.restartTime,
            restarting: gr.restartState,
            families: gr.families.map((f) => famOf(f.afi, f.safi)).filter((f): f is Family => f !== null),
          },
        }
      : {}),
  };
  const ctx: CodecContext = {
    as4,
    extendedMessage,
    maxLength: extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH,
    // we do not offer RFC 8950: an IPv6 next hop for IPv4 NLRI is treated as withdraw
    extendedNextHop: false,
    // MP attributes of families not negotiated are discarded (the session is kept)
    families: families.map((f) => ({ afi: f === 'ipv4' ? Afi.IPV4 : Afi.IPV6, safi: Safi.UNICAST })),
  };
  return { negotiated, ctx };
}
