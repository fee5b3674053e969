// Public API of the BGP wire codec: pure Buffer <-> typed message conversion, no I/O.
export type * from './types.js';
export * from './constants.js';
export { BgpDecodeError, strongerHandling, errorName } from './errors.js';
export { encodeMessage, decodeMessage, describeMessage } from './message.js';
export { Framer } from './framer.js';
export { buildEndOfRib, isEndOfRib } from './eor.js';
export { packUpdates } from './pack.js';
