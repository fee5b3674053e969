// The native addon's public face: the typed binding, its loader, constants and errors.
export type * from './binding.js';
export { loadNative, setNativeBinding, nativeAvailable, nativeAddonPath, packageRoot, adaptRawAddon } from './load.js';
export { NativeSyscallError, wrapNativeError, isErrno } from './errors.js';
export * from './constants.js';
