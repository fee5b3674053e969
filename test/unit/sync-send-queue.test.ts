// The sync thread's coalescing rule (src/sync/send-queue.ts), with a hand-driven clock and timer:
// a lone entry leaves within the window (at once under light load), a full batch leaves at once,
// a burst is packed, the packet budget per tick and the queue bound hold, order is kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SendQueue, type SendQueueOptions } from '../../src/sync/send-queue.js';

const LEN = 4;
const PER = 5;
const WINDOW = 1;

/** Record i: its index in 4 bytes, so order and loss are visible in what was shipped. */
const recs = (from: number, n: number): Buffer => {
  const b = Buffer.alloc(n * LEN);
  for (let i = 0; i < n; i++) b.writeUInt32BE(from + i, i * LEN);
  return b;
};
const ids = (b: Buffer): number[] => Array.from({ length: b.length / LEN }, (_, i) => b.readUInt32BE(i * LEN));

function harness(over: Partial<SendQueueOptions> = {}) {
  const h = {
    t: 0,
    shipped: [] as number[][],
    dropped: 0,
    timers: [] as Array<{ at: number; fn: () => void; live: boolean }>,
    /** Move the clock on and run the timers that are due. */
    advance(ms: number): void {
      const to = h.t + ms;
      for (;;) {
        const due = h.timers.filter((x) => x.live && x.at <= to).sort((x, y) => x.at - y.at)[0];
        if (!due) break;
        h.t = Math.max(h.t, due.at); // each timer runs at its own time
        due.live = false;
        due.fn();
      }
      h.t = to;
    },
    armed(): number {
      return h.timers.filter((x) => x.live).length;
    },
  };
  const q = new SendQueue({
    recordLen: LEN,
    perPacket: PER,
    limit: 1000,
    windowMs: WINDOW,
    packetsPerTick: 64,
    now: () => h.t,
    schedule: (fn, ms) => {
      const tm = { at: h.t + ms, fn, live: true };
      h.timers.push(tm);
      return () => {
        tm.live = false;
      };
    },
    ship: (b) => h.shipped.push(ids(b)),
    onDrop: (n) => {
      h.dropped += n;
    },
    ...over,
  });
  return { q, h };
}

test('a lone entry leaves at once while the tick has packets to spare, without a timer', () => {
  const { q, h } = harness();
  q.add(recs(0, 1));
  assert.deepEqual(h.shipped, [[0]]);
  assert.equal(q.queued, 0);
  assert.equal(h.armed(), 0);
});

test('under load (half the tick spent) an entry waits, and leaves when the window of its first entry ends', () => {
  const { q, h } = harness({ packetsPerTick: 4 });
  q.add(recs(90, 1));
  q.add(recs(0, 1)); // light until here: both sent at once, half the tick is spent
  assert.equal(h.shipped.length, 2);
  h.shipped.shift();
  h.advance(0.125); // binary fractions: the clock adds up exactly
  q.add(recs(1, 1)); // under load: waits
  assert.deepEqual(h.shipped, [[0]]);
  assert.equal(q.queued, 1);
  assert.equal(h.armed(), 1);
  h.advance(0.5);
  q.add(recs(2, 1)); // joins the waiting batch, the same timer
  assert.equal(h.armed(), 1);
  h.advance(WINDOW - 0.5 - 0.0625);
  assert.equal(h.shipped.length, 1, 'not before the window of entry 1 ends');
  h.advance(0.0625);
  assert.deepEqual(h.shipped, [[0], [1, 2]]);
  assert.equal(q.queued, 0);
});

test('a full batch leaves at once, even under load inside the window; the partial rest waits', () => {
  const { q, h } = harness({ packetsPerTick: 4 });
  q.add(recs(90, 1));
  h.shipped.shift();
  q.add(recs(0, 1));
  h.advance(0.1);
  q.add(recs(1, PER + 2)); // not quiet, but a full batch is there
  assert.deepEqual(h.shipped, [[0], [1, 2, 3, 4, 5]]);
  assert.equal(q.queued, 2);
  h.advance(WINDOW);
  assert.deepEqual(h.shipped.at(-1), [6, 7]);
});

test('a burst is packed: one by one under load, or many in one drain; none lost, order kept', () => {
  const { q, h } = harness();
  for (let i = 0; i < 32; i++) q.add(recs(i, 1)); // 32 lone entries, 32 packets: half the tick
  assert.equal(h.shipped.length, 32);
  // 100 entries arriving one by one within the window
  for (let i = 32; i < 132; i++) {
    h.advance(0.005);
    q.add(recs(i, 1));
  }
  h.advance(WINDOW);
  assert.deepEqual(h.shipped.flat(), Array.from({ length: 132 }, (_, i) => i));
  assert.equal(h.shipped.length, 32 + 100 / PER, 'full packets only once under load');
  assert.ok(h.shipped.slice(32).every((b) => b.length === PER));
  // a new tick, light again: a drain of 37 leaves at once in 7 full packets and one of 2
  q.tick();
  q.add(recs(200, 37));
  assert.deepEqual(h.shipped.slice(52).map((b) => b.length), [5, 5, 5, 5, 5, 5, 5, 2]);
  assert.equal(h.armed(), 0);
});

test('the packet budget per tick holds; tick() sends the rest, the timer does not exceed it', () => {
  const { q, h } = harness({ packetsPerTick: 3 });
  q.add(recs(0, 5 * PER + 1));
  assert.equal(h.shipped.length, 3);
  assert.equal(h.armed(), 0, 'no timer while the budget is spent');
  h.advance(5 * WINDOW);
  assert.equal(h.shipped.length, 3);
  q.tick();
  assert.equal(h.shipped.length, 6);
  assert.deepEqual(h.shipped.flat(), Array.from({ length: 5 * PER + 1 }, (_, i) => i));
  assert.equal(q.queued, 0);
});

test('the queue bound drops and counts the excess; clear() forgets and disarms', () => {
  const { q, h } = harness({ limit: 8, packetsPerTick: 1 });
  q.add(recs(0, 12)); // 8 kept, 4 dropped; one packet leaves
  assert.equal(h.dropped, 4);
  assert.deepEqual(h.shipped, [[0, 1, 2, 3, 4]]);
  assert.equal(q.queued, 3);
  q.add(recs(100, 10)); // room for 5
  assert.equal(h.dropped, 9);
  assert.equal(q.queued, 8);
  assert.equal(q.clear(), 8);
  q.tick();
  h.advance(10);
  assert.equal(h.shipped.length, 1);
});

test('a partial record (bytes not a whole record) is not sent; bad options are refused', () => {
  const { q, h } = harness();
  q.add(Buffer.alloc(LEN - 1));
  assert.equal(h.shipped.length, 0);
  assert.equal(q.queued, 0);
  assert.throws(() => harness({ perPacket: 0 }), RangeError);
  assert.throws(() => harness({ packetsPerTick: 0 }), RangeError);
  assert.throws(() => harness({ windowMs: -1 }), RangeError);
});

test('any arrival pattern: every entry leaves once, in order, no packet over-full, none waits past its window', () => {
  fc.assert(
    // up to 100 lone packets first (half the tick: under load from there), then ≤ 88 packets more,
    // so the budget of 200 is never spent and every entry must leave within its window
    fc.property(fc.integer({ min: 0, max: 100 }), fc.array(fc.record({ gap: fc.integer({ min: 0, max: 30 }), n: fc.integer({ min: 0, max: 12 }) }), { maxLength: 20 }), (spent, steps) => {
      const { q, h } = harness({ packetsPerTick: 200 });
      const born: number[] = [];
      const sentAt: number[] = [];
      let next = 0;
      const orig = h.shipped.push.bind(h.shipped);
      h.shipped.push = (...b: number[][]) => {
        for (const x of b.flat()) sentAt[x] = h.t;
        return orig(...b);
      };
      for (; next < spent; next++) {
        born[next] = h.t;
        q.add(recs(next, 1));
      }
      assert.equal(h.shipped.length, spent, 'lone entries leave at once until half the tick is spent');
      for (const s of steps) {
        h.advance(s.gap / 10);
        for (let i = 0; i < s.n; i++) born[next + i] = h.t;
        q.add(recs(next, s.n));
        next += s.n;
      }
      h.advance(WINDOW);
      assert.deepEqual(h.shipped.flat(), Array.from({ length: next }, (_, i) => i));
      assert.ok(h.shipped.every((b) => b.length >= 1 && b.length <= PER));
      for (let i = 0; i < next; i++) assert.ok(sentAt[i]! - born[i]! <= WINDOW + 1e-9, `entry ${i} waited ${sentAt[i]! - born[i]!}`);
    }),
  );
});
