// DeathClock (src/cluster/death-clock.ts) on a fake clock: a peer is declared dead strictly more
// than deadAfterMs after its last heartbeat (never earlier, whatever the timers do) and within a
// fraction of a millisecond after, not on a periodic grid; a heartbeat queued when the timer fires
// is read first; a stalled thread declares no one dead until one step later; few wake-ups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeathClock, MAX_SLEEP_MS, type DeathClockOptions } from '../../src/cluster/death-clock.js';

/**
 * A deterministic event loop: timers fire `late(ms)` after they are due (may be negative: libuv's
 * millisecond clock fires up to 1 ms early against a fractional monotonic clock), socket events
 * (heartbeats) arrive at given times, and deferred work runs after the socket events due by then.
 */
class FakeLoop {
  t = 0;
  private seq = 0;
  private timers: Array<{ id: number; at: number; fn: () => void }> = [];
  private deferred: Array<() => void> = [];
  private events: Array<{ at: number; fn: () => void }> = [];
  timersSet = 0;
  sleeps: number[] = [];
  constructor(private readonly late: (ms: number) => number = () => 0) {}
  deps = {
    now: () => this.t,
    setTimer: (fn: () => void, ms: number) => {
      this.timersSet++;
      const id = ++this.seq;
      this.timers.push({ id, at: this.t + Math.max(1, ms) + this.late(ms), fn });
      return id;
    },
    clearTimer: (id: unknown) => {
      this.timers = this.timers.filter((x) => x.id !== id);
    },
    defer: (fn: () => void) => void this.deferred.push(fn),
    sleep: (ms: number) => {
      assert.ok(ms > 0 && ms <= MAX_SLEEP_MS + 0.05, `sleep of ${ms} ms`);
      this.sleeps.push(ms);
      this.t += ms;
    },
  };
  at(t: number, fn: () => void): void {
    this.events.push({ at: t, fn });
  }
  /** Run everything due until `end`. */
  run(end: number): void {
    for (;;) {
      this.readSocket();
      if (this.deferred.length) {
        const d = this.deferred;
        this.deferred = [];
        for (const fn of d) fn();
        continue;
      }
      type Timer = (typeof this.timers)[number];
      const nextTimer = this.timers.reduce<Timer | undefined>((m, x) => (!m || x.at < m.at ? x : m), undefined);
      const nextEvent = this.events.reduce<{ at: number } | undefined>((m, x) => (!m || x.at < m.at ? x : m), undefined);
      const next = Math.min(nextTimer?.at ?? Infinity, nextEvent?.at ?? Infinity);
      if (next > end) {
        this.t = Math.max(this.t, end);
        return;
      }
      this.t = Math.max(this.t, next);
      if (nextTimer && nextTimer.at === next) {
        this.timers = this.timers.filter((x) => x !== nextTimer);
        nextTimer.fn();
      }
    }
  }
  /** The poll phase: every socket event that arrived by now, in order. */
  private readSocket(): void {
    const due = this.events.filter((e) => e.at <= this.t).sort((a, b) => a.at - b.at);
    this.events = this.events.filter((e) => e.at > this.t);
    for (const e of due) e.fn();
  }
}

function setup(loop: FakeLoop, o: Partial<DeathClockOptions> = {}) {
  const deaths: Array<{ key: string; t: number }> = [];
  let stalls = 0;
  const clock = new DeathClock(
    {
      deadAfterMs: 30,
      stallAfterMs: 15,
      stallStepMs: 2,
      onDead: (keys) => keys.forEach((key) => deaths.push({ key, t: loop.t })),
      onStall: () => stalls++,
      ...o,
    },
    loop.deps,
  );
  const heard: Record<string, number> = {};
  /** key sends a heartbeat every `every` ms from `from` until `until` (inclusive), arriving at once. */
  const beats = (key: string, from: number, every: number, until: number) => {
    for (let t = from; t <= until + 1e-9; t += every)
      loop.at(t, () => {
        heard[key] = loop.t;
        clock.heard(key, loop.t);
      });
  };
  return { clock, deaths, heard, beats, stalls: () => stalls };
}

test('a silent peer is declared dead just after last heartbeat + deadAfter, not on a grid', () => {
  const loop = new FakeLoop();
  const s = setup(loop);
  s.beats('b', 0, 6, 60.3); // last heartbeat at 60
  loop.run(200);
  assert.equal(s.deaths.length, 1);
  const d = s.deaths[0]!;
  assert.equal(d.key, 'b');
  assert.ok(d.t > 90, `declared at ${d.t}, before the deadline 90`);
  assert.ok(d.t - 90 < 0.1, `declared ${(d.t - 90).toFixed(3)} ms after the deadline`);
  assert.equal(s.clock.deadlineOf('b'), undefined, 'a dead peer is no longer tracked');
});

test('never early, at most ~1 ms late, none missed: random heartbeats, timers late or up to 0.9 ms early', () => {
  let seed = 99;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  let worst = 0;
  for (let round = 0; round < 200; round++) {
    const loop = new FakeLoop(() => rnd() * 1 - 0.9); // timers at most 0.1 ms late here
    const deadAfterMs = 20 + Math.floor(rnd() * 140);
    const history: Record<string, number[]> = { a: [], b: [] };
    const deaths: Array<{ key: string; t: number }> = [];
    const clock = new DeathClock(
      { deadAfterMs, stallAfterMs: 1000, stallStepMs: 2, onDead: (keys) => keys.forEach((key) => deaths.push({ key, t: loop.t })), onStall: () => assert.fail('no stall here') },
      loop.deps,
    );
    for (const key of ['a', 'b']) {
      let t = rnd() * 5;
      while (t < 800) {
        loop.at(t, () => {
          history[key]!.push(loop.t);
          clock.heard(key, loop.t);
        });
        t += rnd() < 0.03 ? deadAfterMs + rnd() * 100 : rnd() * (deadAfterMs / 2);
      }
    }
    loop.run(2000);
    assert.ok(deaths.length >= 2, `round ${round}: ${deaths.length} deaths`);
    for (const d of deaths) {
      const last = Math.max(...history[d.key]!.filter((h) => h <= d.t));
      assert.ok(d.t - last > deadAfterMs, `round ${round}: ${d.key} declared ${(d.t - last).toFixed(3)} ms after its last heartbeat (deadAfter ${deadAfterMs})`);
      worst = Math.max(worst, d.t - last - deadAfterMs);
    }
    // and every silence longer than deadAfter was declared (no death missed)
    for (const key of ['a', 'b']) {
      const h = history[key]!;
      for (let i = 0; i < h.length; i++) {
        const gapEnd = h[i + 1] ?? 2000;
        if (gapEnd - h[i]! > deadAfterMs + 1.5) assert.ok(deaths.some((d) => d.key === key && d.t > h[i]! && d.t < gapEnd), `round ${round}: ${key} silent from ${h[i]} to ${gapEnd} but not declared dead`);
      }
    }
  }
  assert.ok(worst < 1.2, `worst lateness ${worst.toFixed(3)} ms`);
});

test('a heartbeat queued in the socket when the timer fires is read before the decision', () => {
  const loop = new FakeLoop();
  const s = setup(loop);
  s.beats('b', 0, 6, 0); // one heartbeat at 0: deadline 30
  loop.at(29.99, () => s.clock.heard('b', loop.t)); // arrives during the final precise sleep
  loop.run(50);
  assert.equal(s.deaths.length, 0, 'alive: heard within deadAfter');
  loop.run(100);
  assert.equal(s.deaths.length, 1);
  const t = s.deaths[0]!.t;
  assert.ok(t > 59.99 && t < 60.1, `declared at ${t}`);
});

test('a stalled thread declares no one dead at the late wake-up; it decides one step later', () => {
  // the timer meant for ~29 ms fires at ~49 ms (20 ms late: this thread was not scheduled)
  const loop = new FakeLoop((ms) => (ms > 20 ? 20 : 0));
  const s = setup(loop);
  s.beats('b', 0, 6, 0);
  loop.at(49.5, () => s.clock.heard('b', loop.t)); // its heartbeat, queued meanwhile, read late
  loop.run(60);
  assert.equal(s.stalls(), 1);
  assert.equal(s.deaths.length, 0, 'the stalled wake-up killed no one');
  loop.run(200);
  assert.equal(s.deaths.length, 1, 'then silent: dead');
  assert.ok(s.deaths[0]!.t > 79.5, `declared at ${s.deaths[0]!.t}`);

  // the same stall without a queued heartbeat: dead at the next step, not at the stalled wake-up
  const loop2 = new FakeLoop((ms) => (ms > 20 ? 20 : 0));
  const s2 = setup(loop2);
  s2.beats('b', 0, 6, 0);
  loop2.run(200);
  assert.equal(s2.stalls(), 1);
  assert.equal(s2.deaths.length, 1);
  assert.ok(s2.deaths[0]!.t >= 49 + 2 - 1e-9 && s2.deaths[0]!.t < 52, `declared at ${s2.deaths[0]!.t}`);
});

test('forget(): a peer that left the member set is never declared dead', () => {
  const loop = new FakeLoop();
  const s = setup(loop);
  s.beats('b', 0, 6, 12);
  s.beats('c', 0, 6, 300);
  loop.at(20, () => s.clock.forget('b'));
  loop.run(400);
  assert.deepEqual(
    s.deaths.map((d) => d.key),
    ['c'],
  );
  const late = s.deaths[0]!.t - s.heard['c']! - 30;
  assert.ok(late > 0 && late < 0.1, `c declared ${late} ms after its deadline`);
});

test('independent deadlines: each peer dies at its own deadline; a returning peer is tracked again', () => {
  const loop = new FakeLoop();
  const s = setup(loop);
  s.beats('a', 0, 6, 48); // dead at 78
  s.beats('b', 3, 6, 99); // dead at 129
  s.beats('a', 200, 6, 230); // back, then dead at 260
  loop.run(400);
  const got = s.deaths.map((d) => [d.key, Math.floor(d.t)]);
  assert.deepEqual(got, [
    ['a', 78],
    ['b', 129],
    ['a', 260],
  ]);
});

test('few wake-ups: one per deadline window, not one per grid step', () => {
  const loop = new FakeLoop(() => 0.3);
  const s = setup(loop);
  s.beats('a', 0, 6, 1000);
  s.beats('b', 1, 6, 1000);
  loop.run(1000);
  assert.equal(s.deaths.length, 0, 'no death while both are heard');
  // a 2 ms grid is 500 wake-ups a second; a deadline 30 ms after each heartbeat every 6 ms is
  // re-armed lazily: about one wake-up per 24 ms, and no precise sleep while the peers live
  assert.ok(loop.timersSet <= 60, `${loop.timersSet} timers in 1 s`);
  assert.equal(loop.sleeps.length, 0, "no blocking sleep while every peer is heard in time");
  s.clock.stop();
  loop.run(2000);
  assert.equal(s.deaths.length, 0, 'stopped: no decision');
});

test('rejects a deadAfter that is not positive', () => {
  assert.throws(() => new DeathClock({ deadAfterMs: 0, stallAfterMs: 1, stallStepMs: 1, onDead: () => {}, onStall: () => {} }, new FakeLoop().deps), RangeError);
});
