// The part of the native addon the XDP data path uses (src/native's NativeBinding provides these
// functions; tests may inject another object of this shape). Struct layouts stay in the addon:
// xdpEncode/xdpDecode turn plain objects into native/bpf/edgelb_shared.h structs and back.
import { endianness } from 'node:os';
import { EdgelbError } from '../lib/errors.js';
import type { NativeBinding } from '../native/index.js';

export interface XdpLayout {
  version: number;
  program: string;
  maps: Record<'cfg' | 'svc' | 'vips' | 'backends' | 'svcList' | 'maglev' | 'ct' | 'counters' | 'svcStats' | 'backendStats' | 'rr' | 'addrf' | 'snatClients' | 'echo' | 'frags' | 'scratch' | 'backendNextHop', string>;
  sizes: Record<string, number>;
  modes: Record<'dnat' | 'onearm' | 'fullnat' | 'dsr', number>;
  selections: Record<'maglev' | 'hash' | 'rr' | 'persist', number>;
  counters: Record<string, number>;
  counterSlots: number;
  svcListMax: number;
  maglevEmpty: number;
  /** u32 words per half of the address filter (VIPs, backends). */
  addrfWords: number;
  /** SNAT port ranges edgelb_cfg holds. */
  portRanges: number;
  /** Conntrack entry states (EDGELB_CT_ST_*). */
  ctStates: Record<'established' | 'syn' | 'synReply' | 'fin' | 'rst', number>;
  defaults: { maxServices: number; maxBackends: number; maglevSize: number; conntrackSize: number };
}

export interface XdpLoadResult {
  progFd: number;
  maps: Record<string, { fd: number; reused: boolean; replaced?: string; maxEntries: number }>;
}

export interface XdpQueryResult {
  mode: 'none' | 'native' | 'generic' | 'offload' | 'multi';
  progId: number;
  nativeProgId: number;
  genericProgId: number;
}

export interface XdpNative {
  xdpLayout(): XdpLayout;
  xdpEncode(kind: string, obj: object): Buffer;
  xdpDecode(kind: string, buf: Buffer, family?: number): Record<string, unknown>;
  xdpLoad(path: string, opts: { pinDir?: string; maxEntries?: Record<string, number>; program?: string }): XdpLoadResult;
  xdpArrayWrite(fd: number, start: number, values: Buffer): void;
  xdpCountEntries(fd: number): number;
  xdpSetNetns(path: string | null): void;
  objGet(path: string): number;
  closeFd(fd: number): void;
  mapLookup(fd: number, key: Buffer): Buffer | null;
  mapLookupPerCpu(fd: number, key: Buffer): Buffer[] | null;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags?: number): void;
  mapDelete(fd: number, key: Buffer): boolean;
  mapGetNextKey(fd: number, key: Buffer | null): Buffer | null;
  ifNameToIndex(name: string): number;
  interfaceAddresses(): Array<{ name: string; ifindex: number; family: 4 | 6; address: string; prefixLen: number; up: boolean; scopeId?: number }>;
  xdpAttach(ifindex: number, progFd: number, opts?: { mode?: 'native' | 'generic'; replaceFd?: number; noReplace?: boolean }): void;
  xdpDetach(ifindex: number, opts?: { mode?: 'native' | 'generic'; expectedFd?: number }): void;
  xdpQuery(ifindex: number): XdpQueryResult;
  progFdById(id: number): number;
  progInfo(fd: number): { id: number; name: string; type: string; tag: string; mapIds: number[] };
  progTestRun(progFd: number, packet: Buffer, repeat?: number, opts?: { ctx?: Buffer; dataOutSize?: number }): { retval: number; data: Buffer; durationNs: number; ctx?: Buffer };
}

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

const XDP_FUNCTIONS = ['xdpLayout', 'xdpEncode', 'xdpDecode', 'xdpLoad', 'xdpArrayWrite', 'xdpCountEntries', 'xdpSetNetns'] as const;

/** The addon as XdpNative: checks that the data path's own functions were built into it. */
export function xdpNativeFrom(b: NativeBinding | XdpNative): XdpNative {
  const x = b as unknown as Record<string, unknown>;
  for (const f of XDP_FUNCTIONS) {
    if (typeof x[f] !== 'function') {
      throw new EdgelbError('EDGELB_ERR_NATIVE_LOAD', `the native addon lacks ${f} (rebuild it with \`make build\`)`);
    }
  }
  return b as unknown as XdpNative;
}
