// The part of the native addon the XDP data path uses: a Pick of src/native's NativeBinding (its
// types are declared once, in src/native/binding.ts). Struct layouts stay in the addon:
// xdpEncode/xdpDecode turn plain objects into native/bpf/edgelb_shared.h structs and back.
import { endianness } from 'node:os';
import { EdgelbError } from '../lib/errors.js';
import type { NativeBinding } from '../native/index.js';

export type { XdpLayout, XdpLoadResult, XdpQueryResult } from '../native/index.js';

/** The part of the binding the data path calls (a Pick of src/native's types, never a copy). */
export type XdpNative = Pick<
  NativeBinding,
  | 'xdpLayout'
  | 'xdpEncode'
  | 'xdpDecode'
  | 'xdpLoad'
  | 'xdpArrayWrite'
  | 'xdpCountEntries'
  | 'xdpSetNetns'
  | 'objGet'
  | 'objPin'
  | 'unpin'
  | 'closeFd'
  | 'mapLookup'
  | 'mapLookupPerCpu'
  | 'mapUpdate'
  | 'mapDelete'
  | 'mapGetNextKey'
  | 'ifNameToIndex'
  | 'interfaceAddresses'
  | 'xdpAttach'
  | 'xdpDetach'
  | 'xdpQuery'
  | 'progFdById'
  | 'progInfo'
  | 'progTestRun'
  | 'neighUpdate'
  | 'neighList'
  | 'linkKind'
  | 'routeUpdate'
  | 'routeList'
  | 'ruleUpdate'
  | 'openNetlinkWatch'
>;

const LE = endianness() === 'LE';

/** u32 key/value of an array map, in host byte order. */
export function u32Key(n: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(n >>> 0);
  else b.writeUInt32BE(n >>> 0);
  return b;
}

/** A u32 array in host byte order (e.g. a Maglev table for xdpArrayWrite). */
export function u32Array(values: ArrayLike<number>): Buffer {
  const b = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) {
    if (LE) b.writeUInt32LE(values[i]! >>> 0, i * 4);
    else b.writeUInt32BE(values[i]! >>> 0, i * 4);
  }
  return b;
}

/** A u64 per-CPU counter value in host byte order. */
export function readU64(b: Buffer): number {
  return Number(LE ? b.readBigUInt64LE(0) : b.readBigUInt64BE(0));
}

export const XDP_ACTION = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;

const XDP_FUNCTIONS = ['xdpLayout', 'xdpEncode', 'xdpDecode', 'xdpLoad', 'xdpArrayWrite', 'xdpCountEntries', 'xdpSetNetns', 'neighUpdate', 'neighList', 'linkKind'] as const;

/** The addon as XdpNative: checks that the data path's own functions were built into it. */
export function xdpNativeFrom(b: XdpNative): XdpNative {
  const x = b as unknown as Record<string, unknown>;
  for (const f of XDP_FUNCTIONS) {
    if (typeof x[f] !== 'function') {
      throw new EdgelbError('EDGELB_ERR_NATIVE_LOAD', `the native addon lacks ${f} (rebuild it with \`make build\`)`);
    }
  }
  return b;
}
