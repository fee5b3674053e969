// BGP protocol numbers: message types, error codes and subcodes, attribute and capability codes, AFI/SAFI.
import type { CodecContext } from './types.js';

export const MARKER_LENGTH = 16;
export const HEADER_LENGTH = 19;
/** RFC 4271 maximum; OPEN and KEEPALIVE stay within it even with extended messages. */
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 8654 maximum once extended messages are negotiated. */
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;
export const BGP_VERSION = 4;
/** RFC 6793 placeholder for a 4-byte ASN in a 2-byte field. */
export const AS_TRANS = 23456;

/** Context before (and for) the OPEN exchange: 2-byte AS, 4096-byte messages. */
export const DEFAULT_CONTEXT: Readonly<CodecContext> = Object.freeze({ as4: false, extendedMessage: false, maxLength: MAX_MESSAGE_LENGTH });

export const MessageType = {
  OPEN: 1,
  UPDATE: 2,
  NOTIFICATION: 3,
  KEEPALIVE: 4,
  ROUTE_REFRESH: 5,
} as const;

/** NOTIFICATION error codes. */
export const ErrorCode = {
  MESSAGE_HEADER: 1,
  OPEN_MESSAGE: 2,
  UPDATE_MESSAGE: 3,
  HOLD_TIMER_EXPIRED: 4,
  FSM: 5,
  CEASE: 6,
  ROUTE_REFRESH: 7,
} as const;

export const HeaderSubcode = {
  CONNECTION_NOT_SYNCHRONIZED: 1,
  BAD_MESSAGE_LENGTH: 2,
  BAD_MESSAGE_TYPE: 3,
} as const;

export const OpenSubcode = {
  UNSPECIFIC: 0,
  UNSUPPORTED_VERSION: 1,
  BAD_PEER_AS: 2,
  BAD_BGP_IDENTIFIER: 3,
  UNSUPPORTED_OPTIONAL_PARAMETER: 4,
  UNACCEPTABLE_HOLD_TIME: 6,
  UNSUPPORTED_CAPABILITY: 7,
  ROLE_MISMATCH: 11,
} as const;

export const UpdateSubcode = {
  MALFORMED_ATTRIBUTE_LIST: 1,
  UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: 2,
  MISSING_WELL_KNOWN_ATTRIBUTE: 3,
  ATTRIBUTE_FLAGS_ERROR: 4,
  ATTRIBUTE_LENGTH_ERROR: 5,
  INVALID_ORIGIN_ATTRIBUTE: 6,
  INVALID_NEXT_HOP_ATTRIBUTE: 8,
  OPTIONAL_ATTRIBUTE_ERROR: 9,
  INVALID_NETWORK_FIELD: 10,
  MALFORMED_AS_PATH: 11,
} as const;

/** RFC 6608: the state in which an unexpected message arrived. */
export const FsmSubcode = {
  UNSPECIFIED: 0,
  UNEXPECTED_IN_OPENSENT: 1,
  UNEXPECTED_IN_OPENCONFIRM: 2,
  UNEXPECTED_IN_ESTABLISHED: 3,
} as const;

/** RFC 4486 (and RFC 8538 hard reset, RFC 9384 BFD down). */
export const CeaseSubcode = {
  MAX_PREFIXES_REACHED: 1,
  ADMINISTRATIVE_SHUTDOWN: 2,
  PEER_DECONFIGURED: 3,
  ADMINISTRATIVE_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIGURATION_CHANGE: 6,
  CONNECTION_COLLISION_RESOLUTION: 7,
  OUT_OF_RESOURCES: 8,
  HARD_RESET: 9,
  BFD_DOWN: 10,
} as const;

/** RFC 7313. */
export const RouteRefreshSubcode = {
  INVALID_MESSAGE_LENGTH: 1,
} as const;

export const Afi = { IPV4: 1, IPV6: 2 } as const;
export const Safi = { UNICAST: 1 } as const;

export const OptionalParameterType = { CAPABILITIES: 2 } as const;

export const CapabilityCode = {
  MULTIPROTOCOL: 1,
  ROUTE_REFRESH: 2,
  EXTENDED_MESSAGE: 6,
  GRACEFUL_RESTART: 64,
  AS4: 65,
  ENHANCED_ROUTE_REFRESH: 70,
} as const;

export const AttrType = {
  ORIGIN: 1,
  AS_PATH: 2,
  NEXT_HOP: 3,
  MULTI_EXIT_DISC: 4,
  LOCAL_PREF: 5,
  ATOMIC_AGGREGATE: 6,
  AGGREGATOR: 7,
  COMMUNITIES: 8,
  ORIGINATOR_ID: 9,
  CLUSTER_LIST: 10,
  MP_REACH_NLRI: 14,
  MP_UNREACH_NLRI: 15,
  EXTENDED_COMMUNITIES: 16,
  AS4_PATH: 17,
  AS4_AGGREGATOR: 18,
  LARGE_COMMUNITY: 32,
} as const;

export const AttrFlag = {
  OPTIONAL: 0x80,
  TRANSITIVE: 0x40,
  PARTIAL: 0x20,
  EXTENDED_LENGTH: 0x10,
} as const;

export const AsPathSegmentCode = {
  AS_SET: 1,
  AS_SEQUENCE: 2,
  AS_CONFED_SEQUENCE: 3,
  AS_CONFED_SET: 4,
} as const;

/** RFC 1997 well-known communities, in the "asn:value" text form. */
export const WellKnownCommunity = {
  GRACEFUL_SHUTDOWN: '65535:0',
  NO_EXPORT: '65535:65281',
  NO_ADVERTISE: '65535:65282',
  NO_EXPORT_SUBCONFED: '65535:65283',
  NO_PEER: '65535:65284',
} as const;

const names = (o: Record<string, number>): Map<number, string> =>
  new Map(Object.entries(o).map(([k, v]) => [v, k.toLowerCase().replace(/_/g, '-')]));

export const MESSAGE_TYPE_NAMES = names(MessageType);
export const ERROR_CODE_NAMES = names(ErrorCode);
export const ATTR_TYPE_NAMES = names(AttrType);
export const CAPABILITY_NAMES = names(CapabilityCode);

/** Subcode names per error code, for logs. */
export const SUBCODE_NAMES: ReadonlyMap<number, ReadonlyMap<number, string>> = new Map([
  [ErrorCode.MESSAGE_HEADER, names(HeaderSubcode)],
  [ErrorCode.OPEN_MESSAGE, names(OpenSubcode)],
  [ErrorCode.UPDATE_MESSAGE, names(UpdateSubcode)],
  [ErrorCode.FSM, names(FsmSubcode)],
  [ErrorCode.CEASE, names(CeaseSubcode)],
  [ErrorCode.ROUTE_REFRESH, names(RouteRefreshSubcode)],
]);

/** "ipv4/unicast", "ipv6/unicast", or numbers for others. */
export function familyName(afi: number, safi: number): string {
  const a = afi === Afi.IPV4 ? 'ipv4' : afi === Afi.IPV6 ? 'ipv6' : `afi${afi}`;
  const s = safi === Safi.UNICAST ? 'unicast' : `safi${safi}`;
  return `${a}/${s}`;
}
