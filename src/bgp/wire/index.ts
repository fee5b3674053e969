// Public API of the BGP wire codec: pure Buffer <-> typed message conversion, no I/O.
export type * from './types.js';
export * from './constants.js';
export { BgpDecodeError, strongerHandling, errorName } from './errors.js';
export { encodeMessage, decodeMessage, describeMessage } from './message.js';
export { Framer } from './framer.js';
export { checkHeader, messageTypeOf, type Header } from './header.js';
export { buildEndOfRib, isEndOfRib } from './eor.js';
export { packUpdates, packEncoded, type EncodedPrefixes } from './pack.js';
export {
  openMessage,
  peerAsn,
  findCapability,
  openFamilies,
  type OpenOptions,
} from './open.js';
export { mpCapability, as4Capability, gracefulRestartCapability, describeCapability } from './capabilities.js';
export { updateMessage } from './update.js';
export { describeAttributes, ATTRIBUTE_TABLE } from './attributes.js';
export { asSequence, asSet, asPathLength, describeAsPath, mergeAs4Path } from './attr-aspath.js';
export { communityValue, communityString, largeCommunityValues, twoOctetAsExtendedCommunity, describeExtendedCommunity } from './attr-communities.js';
export {
  notificationMessage,
  shutdownNotification,
  parseShutdownCommunication,
  keepaliveMessage,
  routeRefreshMessage,
} from './notification.js';
export { prefixBytes } from './prefix.js';
