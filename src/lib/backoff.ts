// Timers and back-off: exponential back-off with a ceiling, and a cancellable sleep.

/** Doubling back-off: first `base`, then twice the last, at most `max` (all in ms). */
export class Backoff {
  private current: number;
  constructor(
    private readonly base: number,
    private readonly max: number,
  ) {
    this.current = 0;
  }
  /** The next delay in ms; each call doubles the one before, up to max. */
  next(): number {
    this.current = this.current === 0 ? this.base : Math.min(this.current * 2, this.max);
    return this.current;
  }
  /** The delay next() last returned (0 before the first call or after reset). */
  peek(): number {
    return this.current;
  }
  reset(): void {
    this.current = 0;
  }
}

/** Resolve after `ms`; an aborted signal rejects with its reason. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Poll `fn` every `intervalMs` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  opts: { timeoutMs: number; intervalMs?: number; what?: string },
): Promise<NonNullable<T>> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: last error ${last.message}` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what ?? 'condition'}${why}`);
    }
    await sleep(opts.intervalMs ?? 100);
  }
}

/** Parse a duration: a number is seconds; strings like "150ms", "1s", "2m". Returns ms. */
export function parseDuration(v: number | string): number {
  if (typeof v === 'number') return v * 1000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new TypeError(`not a duration: ${v}`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
}
