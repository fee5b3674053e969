// The addon's connection-sync part (native/ct_sync.cc), typed: the node's flow reports (ring
// buffer), conntrack walks and the insert path for other nodes' flows, as opaque records of
// SYNC_RECORD_LEN bytes. Reached through the binding's raw exports, checked once.
import { ipToBytes } from '../lib/addr.js';
import { EdgelbError } from '../lib/errors.js';
import type { NativeBinding } from '../native/index.js';
import { SYNC_RECORD_LEN } from './codec.js';

export interface ApplyResult {
  applied: number;
  /** Records that failed validation (embryonic state, bad family, ...). */
  invalid: number;
  /** No service here for the flow's (VIP, port, protocol), or another mode. */
  noService: number;
  /** The flow's backend is not programmed here. */
  noBackend: number;
  /** This node has newer news of the flow (a later packet). */
  stale: number;
  /** The reply key belongs to another live flow here. */
  conflict: number;
  /** The map refused the insert. */
  failed: number;
}

export interface CtSyncHandle {
  /** Flows reported since the last call; beyond max they are dropped and counted. */
  drain(max: number): { records: Buffer; count: number; dropped: number };
  /** Established/closing flows this node carries with a packet after sinceMark (0n: all). */
  walk(sinceMark: bigint, max: number): { records: Buffer; count: number; mark: bigint; truncated: boolean };
  /** The next `visits` entries of a walk that continues across calls; done with the pass's start mark. */
  refreshStep(sinceMark: bigint, visits: number): { records: Buffer; count: number; done: boolean; mark: bigint };
  apply(records: Buffer): ApplyResult;
  /** The data path's flow clock (ns). */
  now(): bigint;
  /** Call onReadable on this thread's event loop whenever flows wait in the ring buffer. */
  watch(onReadable: () => void): void;
  unwatch(): void;
  close(): void;
}

/** A flow record as plain data (addresses as 16-byte buffers, ports in host order). */
export interface SyncRecordFields {
  family: number;
  proto: number;
  mode: number;
  state: number;
  ageMs: number;
  timeoutSec: number;
  client: Buffer;
  cport: number;
  vip: Buffer;
  vport: number;
  backend: Buffer;
  bport: number;
  xsrc: Buffer;
  xport: number;
  fwdFlags: number;
}

export interface SyncNative {
  CtSync: new (opts: { pinDir: string; clockProgFd: number }) => CtSyncHandle;
  syncRecordEncode(r: Partial<SyncRecordFields>): Buffer;
  /** null when the record fails validation. */
  syncRecordDecode(b: Buffer): SyncRecordFields | null;
  syncRecordLen: number;
}

export function syncNativeOf(b: Pick<NativeBinding, 'extra'>): SyncNative {
  const x = b.extra as Partial<SyncNative>;
  if (typeof x.CtSync !== 'function' || typeof x.syncRecordEncode !== 'function' || typeof x.syncRecordDecode !== 'function') {
    throw new EdgelbError('EDGELB_ERR_NATIVE_LOAD', 'the native addon lacks connection sync (rebuild it with `make build`)');
  }
  if (x.syncRecordLen !== SYNC_RECORD_LEN) {
    throw new EdgelbError('EDGELB_ERR_NATIVE_LOAD', `the addon's sync record is ${String(x.syncRecordLen)} bytes, the codec's ${SYNC_RECORD_LEN}`);
  }
  return x as SyncNative;
}

/** A 16-byte address field from an IPv4 or IPv6 literal (IPv4 in the first 4 bytes). */
export function addr16(ip: string): Buffer {
  const b = Buffer.alloc(16);
  b.set(ipToBytes(ip));
  return b;
}
