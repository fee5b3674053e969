// BGP wire types: the typed messages, capabilities and path attributes the codec turns into bytes and back.
import type { BgpDecodeError } from './errors.js';

/** How a malformed UPDATE is handled (RFC 7606), weakest first; the order is the severity order. */
export type Handling = 'attribute-discard' | 'treat-as-withdraw' | 'session-reset';

/** What a session negotiated; every encode/decode call takes it. */
export interface CodecContext {
  /** Both sides sent the 4-octet AS capability (RFC 6793): AS numbers are 4 bytes in AS_PATH/AGGREGATOR. */
  as4: boolean;
  /** Both sides sent the extended message capability (RFC 8654). */
  extendedMessage: boolean;
  /** Largest message accepted and sent: 4096, or 65535 with extended messages. */
  maxLength: number;
  /** RFC 8950 extended next hop negotiated: IPv4 NLRI may carry an IPv6 next hop (never, today). */
  extendedNextHop?: boolean;
  /**
   * The families negotiated on the session; when set, an MP_REACH/MP_UNREACH of any other family is
   * discarded (RFC 4760 §7 lets a speaker treat it as an error; we drop the attribute, noted as an
   * Optional Attribute Error with attribute-discard handling, and keep the session).
   */
  families?: ReadonlyArray<AfiSafi>;
  /** ADD-PATH (RFC 7911) is not supported: never negotiated. */
  addPath?: never;
}

export interface AfiSafi {
  afi: number;
  safi: number;
}

// ---- capabilities (RFC 5492), carried in OPEN optional parameter 2 ----

export interface MpCapability extends AfiSafi {
  type: 'mp';
}
export interface RouteRefreshCapability {
  type: 'route-refresh';
}
export interface As4Capability {
  type: 'as4';
  asn: number;
}
export interface GracefulRestartFamily extends AfiSafi {
  /** F-bit: forwarding state for this family was preserved across the restart. */
  forwarding: boolean;
}
export interface GracefulRestartCapability {
  type: 'graceful-restart';
  /** Seconds, 0..4095. */
  restartTime: number;
  /** R-bit: the sender has restarted. */
  restartState: boolean;
  /** N-bit (RFC 8538); edgelb never sets it, decoded only when the peer does. */
  notification?: boolean;
  families: GracefulRestartFamily[];
}
export interface ExtendedMessageCapability {
  type: 'extended-message';
}
export interface EnhancedRouteRefreshCapability {
  type: 'enhanced-route-refresh';
}
export interface UnknownCapability {
  type: 'unknown';
  code: number;
  value: Buffer;
}
export type Capability =
  | MpCapability
  | RouteRefreshCapability
  | As4Capability
  | GracefulRestartCapability
  | ExtendedMessageCapability
  | EnhancedRouteRefreshCapability
  | UnknownCapability;

// ---- path attributes ----

export type Origin = 'igp' | 'egp' | 'incomplete';

export type AsPathSegmentType = 'set' | 'sequence' | 'confed-sequence' | 'confed-set';
export interface AsPathSegment {
  type: AsPathSegmentType;
  asns: number[];
}

export interface Aggregator {
  asn: number;
  /** IPv4 address of the aggregating speaker. */
  address: string;
}

export interface MpReach extends AfiSafi {
  /** One global next hop, or for IPv6 a global and a link-local (32-byte field). */
  nextHops: string[];
  nlri: string[];
}
export interface MpUnreach extends AfiSafi {
  withdrawn: string[];
}

/** An attribute kept as bytes: unrecognised optional ones (passed on with the Partial bit if transitive). */
export interface RawAttribute {
  /** Flag bits as received, without the Extended Length bit (the encoder chooses it). */
  flags: number;
  typeCode: number;
  value: Buffer;
}

export interface PathAttributes {
  origin?: Origin;
  asPath?: AsPathSegment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: Aggregator;
  /** RFC 1997 communities as "asn:value" ("65000:1"; NO_EXPORT is "65535:65281"). */
  communities?: string[];
  /** RFC 4360 extended communities, 8 bytes each (see describeExtendedCommunity). */
  extendedCommunities?: Buffer[];
  /** RFC 8092 large communities as "global:local1:local2". */
  largeCommunities?: string[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /**
   * AS4_PATH / AS4_AGGREGATOR (RFC 6793). The codec handles them itself: encodeMessage derives them
   * from asPath/aggregator toward a peer without as4 (these fields are ignored), and decodeMessage
   * merges them into asPath/aggregator, so decoded messages never carry them.
   */
  as4Path?: AsPathSegment[];
  as4Aggregator?: Aggregator;
  unknown?: RawAttribute[];
}

// ---- messages ----

export interface OpenMessage {
  type: 'open';
  version: number;
  /** The 2-byte "My Autonomous System" field (AS_TRANS 23456 when the real ASN needs 4 bytes). */
  myAsn: number;
  /** Seconds: 0 or >= 3. */
  holdTime: number;
  /** Dotted quad. */
  bgpId: string;
  capabilities: Capability[];
}

export interface UpdateMessage {
  type: 'update';
  /** IPv4 prefixes withdrawn in the classic field ("a.b.c.d/n"). */
  withdrawn: string[];
  attributes: PathAttributes;
  /** IPv4 prefixes announced in the classic field. */
  nlri: string[];
  /**
   * Set by decodeMessage when RFC 7606 treat-as-withdraw applies: every prefix the UPDATE carried is
   * then in `withdrawn` / `attributes.mpUnreach`, `nlri` is empty and no other attribute is kept.
   */
  treatAsWithdraw?: boolean;
  /** Errors that decoding recovered from (attribute-discard or treat-as-withdraw), in order met. */
  errors?: BgpDecodeError[];
}

export interface NotificationMessage {
  type: 'notification';
  code: number;
  subcode: number;
  data: Buffer;
}

export interface KeepaliveMessage {
  type: 'keepalive';
}

export interface RouteRefreshMessage extends AfiSafi {
  type: 'route-refresh';
  /** 0 normal request, 1 BoRR, 2 EoRR (RFC 7313). */
  subtype: number;
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;
export type BgpMessageKind = BgpMessage['type'];
