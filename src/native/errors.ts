// Errors from the native addon as edgelb errors: a NativeError carrying errno, plus the errno's
// name (sysCode, e.g. "ENOENT") and the failing call (syscall).
import { NativeError } from '../lib/errors.js';

export class NativeSyscallError extends NativeError {
  /** The errno's symbolic name ("EPERM", "ENOENT", ...). */
  readonly sysCode: string;
  /** The call that failed, e.g. "bpf_obj_get(/sys/fs/bpf/x)". */
  readonly syscall: string;
  constructor(message: string, errno: number, sysCode: string, syscall: string, options?: { cause?: unknown }) {
    super(message, errno, options);
    this.name = 'NativeSyscallError';
    this.sysCode = sysCode;
    this.syscall = syscall;
  }
}

interface RawNativeError extends Error {
  errno: number;
  code?: string;
  syscall?: string;
}

function isRawNativeError(e: unknown): e is RawNativeError {
  return e instanceof Error && typeof (e as { errno?: unknown }).errno === 'number';
}

/** Turn an error thrown by the addon into a NativeSyscallError; other errors pass unchanged. */
export function wrapNativeError(e: unknown): unknown {
  if (e instanceof NativeError || !isRawNativeError(e)) return e;
  return new NativeSyscallError(e.message, e.errno, e.code ?? `E${e.errno}`, e.syscall ?? '', { cause: e });
}

/** true if `e` is a native error with this errno name (e.g. isErrno(e, 'ENOENT')). */
export function isErrno(e: unknown, sysCode: string): boolean {
  if (e instanceof NativeSyscallError) return e.sysCode === sysCode;
  return isRawNativeError(e) && e.code === sysCode;
}
