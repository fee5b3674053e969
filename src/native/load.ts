// Loads the native addon (build/Release/edgelb.node under the package root, or $EDGELB_NATIVE_PATH)
// and adapts it to the typed NativeBinding, converting native errors to NativeSyscallError.
// setNativeBinding() injects a fake for tests.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgelbError, errorMessage } from '../lib/errors.js';
import type {
  BpfMapHandle,
  BpfObjectHandle,
  BpfObjectOptions,
  IcmpSocketHandle,
  NativeBinding,
  NetlinkGroup,
  NetlinkWatchHandle,
  PacketSocketHandle,
  PacketSocketOptions,
} from './binding.js';
import { wrapNativeError } from './errors.js';

type RawFn = (...args: unknown[]) => unknown;
type RawCtor = new (...args: unknown[]) => Record<string, unknown>;
type RawAddon = Record<string, unknown>;

let injected: NativeBinding | undefined;
let loaded: NativeBinding | undefined;

/** Use `binding` instead of the real addon (tests); undefined restores the real one. */
export function setNativeBinding(binding: NativeBinding | undefined): void {
  injected = binding;
}

/** The package root: the nearest folder above this module that holds edgelb's package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && /"name"\s*:\s*"edgelb"/.test(readText(pj))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new EdgelbError('EDGELB_ERR_NATIVE_LOAD', 'cannot find the edgelb package root');
    dir = up;
  }
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Where the addon is loaded from. */
export function nativeAddonPath(): string {
  return process.env.EDGELB_NATIVE_PATH ?? join(packageRoot(), 'build', 'Release', 'edgelb.node');
}

/** The native binding: the injected one if any, else the addon (loaded once). */
export function loadNative(): NativeBinding {
  if (injected) return injected;
  if (loaded) return loaded;
  const path = nativeAddonPath();
  let raw: RawAddon;
  try {
    raw = createRequire(import.meta.url)(path) as RawAddon;
  } catch (e) {
    throw new EdgelbError(
      'EDGELB_ERR_NATIVE_LOAD',
      `cannot load the native addon ${path}: ${errorMessage(e)} (build it with \`make build\`)`,
      { cause: e },
    );
  }
  loaded = adaptRawAddon(raw);
  return loaded;
}

/** true if the real addon can be loaded (tests decide whether kernel-backed checks can run). */
export function nativeAvailable(): boolean {
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
}

function wrapFn(fn: RawFn, self?: unknown): RawFn {
  return (...args: unknown[]) => {
    let out: unknown;
    try {
      out = fn.apply(self, args);
    } catch (e) {
      throw wrapNativeError(e);
    }
    if (out instanceof Promise) return out.catch((e: unknown) => Promise.reject(wrapNativeError(e)));
    return out;
  };
}

/** A facade over a native object: its methods with errors wrapped, its getters passed through. */
function wrapHandle<T>(obj: Record<string, unknown>, methods: string[], getters: string[]): T {
  const out: Record<string, unknown> = {};
  for (const m of methods) out[m] = wrapFn(obj[m] as RawFn, obj);
  for (const g of getters) Object.defineProperty(out, g, { get: () => obj[g], enumerable: true });
  return out as T;
}

const BPF_OBJECT_METHODS = ['programs', 'maps', 'progFd', 'mapFd', 'close'];
const MAP_METHODS = ['lookup', 'lookupPerCpu', 'update', 'delete', 'nextKey', 'dump', 'close'];
const PACKET_METHODS = ['send', 'addMembership', 'dropMembership', 'setNdpTargets', 'start', 'stop', 'close'];
const ICMP_METHODS = ['send', 'start', 'stop', 'close'];
const NETLINK_WATCH_METHODS = ['start', 'dumpNeighbours', 'dumpLinks', 'dumpRoutes', 'stop', 'close'];

/** Adapt the raw addon exports to NativeBinding (exported for tests of the adapter). */
export function adaptRawAddon(raw: RawAddon): NativeBinding {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === 'function' && !/^[A-Z]/.test(k)) out[k] = wrapFn(v as RawFn);
  }
  const construct = (name: string, args: unknown[]): Record<string, unknown> => {
    const C = raw[name] as RawCtor;
    try {
      return new C(...args);
    } catch (e) {
      throw wrapNativeError(e);
    }
  };
  out.openBpfObject = (path: string, options?: BpfObjectOptions): BpfObjectHandle =>
    wrapHandle(construct('BpfObject', [path, options ?? {}]), BPF_OBJECT_METHODS, ['closed']);
  out.openMap = (fdOrPinPath: number | string): BpfMapHandle =>
    wrapHandle(construct('BpfMap', [fdOrPinPath]), MAP_METHODS, ['fd', 'info']);
  out.openPacketSocket = (ifname: string, protocol: number, options?: PacketSocketOptions): PacketSocketHandle =>
    wrapHandle(construct('PacketSocket', [ifname, protocol, options ?? {}]), PACKET_METHODS, ['fd', 'ifindex', 'mac', 'delivered']);
  out.openIcmpSocket = (family: 4 | 6, options?: { kind?: 'raw' | 'dgram' }): IcmpSocketHandle =>
    wrapHandle(construct('IcmpSocket', [family, options ?? {}]), ICMP_METHODS, ['fd', 'kind', 'family', 'delivered']);
  out.openNetlinkWatch = (groups?: readonly NetlinkGroup[]): NetlinkWatchHandle =>
    wrapHandle(construct('NetlinkWatch', groups === undefined ? [] : [groups]), NETLINK_WATCH_METHODS, ['fd', 'delivered']);
  out.extra = raw;
  return out as unknown as NativeBinding;
}
