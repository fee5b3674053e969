// Lab: poll until a condition holds, with a timeout that says what was awaited and what was last seen.
export interface WaitOptions {
  /** give up after this many ms (default 30000) */
  timeoutMs?: number;
  /** poll interval in ms (default 200) */
  intervalMs?: number;
  /** what is awaited, for the error message */
  what?: string;
}

export class LabTimeoutError extends Error {
  constructor(
    message: string,
    readonly lastValue: unknown,
  ) {
    super(message);
    this.name = 'LabTimeoutError';
  }
}

function show(v: unknown): string {
  try {
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 2000 ? s.slice(0, 2000) + '…' : s;
  } catch {
    return String(v);
  }
}

/** Thrown by a probe to stop waiting at once (e.g. the daemon being waited for has exited). */
export class LabFatalError extends Error {
  override name = 'LabFatalError';
}

/**
 * Call `probe` until `accept(value)` is true (default: value is truthy); resolve with that value.
 * Errors thrown by `probe` count as "not yet" (except LabFatalError, which ends the wait);
 * the last value or error is in the timeout message. Also callable as waitUntil(probe, opts).
 */
export async function waitUntil<T>(probe: () => T | Promise<T>, opts?: WaitOptions): Promise<T>;
export async function waitUntil<T>(probe: () => T | Promise<T>, accept?: (v: T) => boolean, opts?: WaitOptions): Promise<T>;
export async function waitUntil<T>(
  probe: () => T | Promise<T>,
  acceptOrOpts?: ((v: T) => boolean) | WaitOptions,
  maybeOpts?: WaitOptions,
): Promise<T> {
  const accept = typeof acceptOrOpts === 'function' ? acceptOrOpts : (v: T) => Boolean(v);
  const opts = (typeof acceptOrOpts === 'function' ? maybeOpts : acceptOrOpts) ?? {};
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  let lastErr: unknown = undefined;
  for (;;) {
    try {
      const v = await probe();
      last = v;
      lastErr = undefined;
      if (accept(v)) return v;
    } catch (e) {
      if (e instanceof LabFatalError) throw e;
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      const seen = lastErr instanceof Error ? `last error: ${lastErr.message}` : `last value: ${show(last)}`;
      throw new LabTimeoutError(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}; ${seen}`, last);
    }
    await new Promise((r) => setTimeout(r, Math.min(opts.intervalMs ?? 200, Math.max(1, deadline - Date.now()))));
  }
}
