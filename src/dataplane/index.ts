// The data path's public surface: the Dataplane interface, the XDP implementation, the fake,
// node cleanup, and the Maglev table builder.
export type * from './types.js';
export { XdpDataplane, DEFAULT_OBJECT_PATH, DEFAULT_PIN_BASE, type XdpDataplaneOptions } from './xdp.js';
export { FakeDataplane, type FakeDataplaneCall } from './fake.js';
export { cleanupNode, type CleanupResult } from './cleanup.js';
export { maglevTable, MAGLEV_DEFAULT_SIZE } from './maglev.js';
export type { XdpNative } from './native.js';
