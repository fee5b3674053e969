// DeathClock: when the heartbeat thread declares a peer dead. A peer is dead deadAfterMs after its
// last accepted heartbeat, never earlier, and is declared as soon after that as the thread can:
// one timer armed for the earliest deadline of all live peers (not a periodic check on a grid,
// which added up to a grid step, 2-10 ms, to every detection), woken about a millisecond early and
// finished with a precise sleep (event-loop timers have 1 ms resolution), then decided after the
// socket was read (`defer`: setImmediate runs after the poll phase), so a heartbeat that arrived
// in time is never missed. A timer that fires much later than planned means this thread itself
// was not scheduled: no one is declared dead then, the decision waits one more step (`stallStepMs`)
// so that the heartbeats queued meanwhile are read first. The clock, timers and sleep are injected:
// the heartbeat worker passes performance.now, setTimeout, setImmediate and Atomics.wait; the unit
// tests a fake clock.

export interface ClockDeps {
  /** Monotonic time in ms (fractional). */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(t: unknown): void;
  /** Run fn after pending socket input has been read (setImmediate in the worker). */
  defer(fn: () => void): void;
  /** Block this thread for ms (at most MAX_SLEEP_MS + 0.02; a precise sleep, Atomics.wait in the worker). */
  sleep(ms: number): void;
}

export interface DeathClockOptions {
  deadAfterMs: number;
  /** A timer this much later than planned = this thread stalled (skip that decision). */
  stallAfterMs: number;
  /** After a stall, decide this much later (the grid step the periodic check used). */
  stallStepMs: number;
  /** Peers declared dead now (their deadline passed, no heartbeat since). */
  onDead(keys: string[]): void;
  /** A decision skipped because the thread stalled. */
  onStall(): void;
}

/** How early the timer is armed before a deadline, to finish with a precise sleep (ms). */
export const EARLY_WAKE_MS = 1;
/** The longest precise sleep (ms): the heartbeat thread neither reads nor sends meanwhile. */
export const MAX_SLEEP_MS = 1.5;
/** Sleep this much past the deadline: "dead" is strictly more than deadAfterMs of silence. */
const SLEEP_PAST_MS = 0.02;

export class DeathClock {
  private readonly last = new Map<string, number>();
  private timer: unknown;
  /** A wake-up is pending (timer armed, or the decision deferred). */
  private pending = false;
  /** When the armed wake-up was meant to come (ms, monotonic). */
  private plannedAt = 0;
  private stopped = false;

  constructor(
    private readonly opts: DeathClockOptions,
    private readonly deps: ClockDeps,
  ) {
    if (!(opts.deadAfterMs > 0)) throw new RangeError('deadAfterMs must be > 0');
  }

  /** A heartbeat of `key` was accepted (now): its deadline moves to then + deadAfterMs. */
  heard(key: string, at = this.deps.now()): void {
    const first = !this.last.has(key);
    this.last.set(key, at);
    // a later deadline needs no earlier wake-up (the pending one re-arms itself when it comes);
    // only a new peer can bring the earliest deadline forward
    if (first || !this.pending) this.arm();
  }

  /** Stop tracking `key` (declared dead, or no longer a member). */
  forget(key: string): void {
    this.last.delete(key);
  }

  /** When `key` is due to be declared dead (ms, monotonic), undefined when not tracked. */
  deadlineOf(key: string): number | undefined {
    const t = this.last.get(key);
    return t === undefined ? undefined : t + this.opts.deadAfterMs;
  }

  /** The earliest deadline of all tracked peers. */
  next(): number | undefined {
    let min: number | undefined;
    for (const t of this.last.values()) if (min === undefined || t < min) min = t;
    return min === undefined ? undefined : min + this.opts.deadAfterMs;
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private cancel(): void {
    if (this.timer !== undefined) this.deps.clearTimer(this.timer);
    this.timer = undefined;
    this.pending = false;
  }

  /** Arm the wake-up for the earliest deadline (or `at`, after a stall). */
  private arm(at?: number): void {
    this.cancel();
    if (this.stopped) return;
    const target = at ?? this.next();
    if (target === undefined) return;
    const now = this.deps.now();
    // wake up to EARLY_WAKE_MS early (timers have 1 ms resolution and fire late, never early by
    // more than that), finish with a precise sleep; a deadline that near goes straight to fire()
    const delay = Math.ceil(target - now) - (at === undefined ? EARLY_WAKE_MS : 0);
    this.plannedAt = now + Math.max(0, delay);
    this.pending = true;
    if (delay <= 0) this.deps.defer(() => this.fire());
    else this.timer = this.deps.setTimer(() => this.fire(), delay);
  }

  private fire(): void {
    this.timer = undefined;
    if (this.stopped || !this.pending) return;
    const now = this.deps.now();
    if (now - this.plannedAt > this.opts.stallAfterMs) {
      this.opts.onStall();
      this.arm(now + this.opts.stallStepMs);
      return;
    }
    // the last sub-millisecond, precisely, toward the earliest deadline as it stands now (a
    // heartbeat since arming moved it on: then no sleep, the decision just re-arms)
    const rest = (this.next() ?? Infinity) - now;
    if (rest > 0 && rest <= MAX_SLEEP_MS) this.deps.sleep(rest + SLEEP_PAST_MS);
    this.deps.defer(() => this.decide());
  }

  private decide(): void {
    if (this.stopped || !this.pending) return;
    this.pending = false;
    const now = this.deps.now();
    const died: string[] = [];
    for (const [k, t] of this.last) if (now - t > this.opts.deadAfterMs) died.push(k);
    for (const k of died) this.last.delete(k);
    this.arm();
    if (died.length) this.opts.onDead(died);
  }
}
