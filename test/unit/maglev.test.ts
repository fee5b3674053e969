// Maglev table: deterministic, order-independent, balanced, and minimal disruption on change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPrime, maglevTable, murmur3, slotCounts, MAGLEV_DEFAULT_SIZE } from '../../src/dataplane/maglev.js';

const backends = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `10.${(i + from) >> 16}.${((i + from) >> 8) & 255}.${(i + from) & 255}:8080`);

/** Fraction of slots whose backend key changed between two tables. */
function remapped(a: Int32Array, an: readonly string[], b: Int32Array, bn: readonly string[]): number {
  let moved = 0;
  for (let i = 0; i < a.length; i++) if (an[a[i]!] !== bn[b[i]!]) moved++;
  return moved / a.length;
}

test('murmur3 matches the reference vectors', () => {
  // reference values of MurmurHash3_x86_32
  assert.equal(murmur3('', 0), 0);
  assert.equal(murmur3('', 1), 0x514e28b7);
  assert.equal(murmur3('hello', 0), 0x248bfa47);
  assert.equal(murmur3('Hello, world!', 1234), 0xfaf6cdb3);
  assert.equal(murmur3('The quick brown fox jumps over the lazy dog', 0x9747b28c), 0x2fa826cd);
});

test('isPrime', () => {
  const rows: Array<[number, boolean]> = [[1, false], [2, true], [4, false], [251, true], [65537, true], [65535, false], [655373, true], [0, false], [2.5, false]];
  for (const [n, want] of rows) assert.equal(isPrime(n), want, String(n));
});

test('the table size must be a prime', () => {
  assert.throws(() => maglevTable(['a'], 65536), RangeError);
});

test('an empty backend list gives an all-empty table', () => {
  const t = maglevTable([], 251);
  assert.equal(t.length, 251);
  assert.ok(t.every((x) => x === -1));
});

test('same backends give the same table on every run and in any order', () => {
  const bs = backends(37);
  const a = maglevTable(bs, 4099);
  const b = maglevTable(bs, 4099);
  assert.deepEqual(a, b);
  const shuffled = [...bs].reverse();
  const c = maglevTable(shuffled, 4099);
  for (let i = 0; i < a.length; i++) assert.equal(shuffled[c[i]!], bs[a[i]!]);
  // every slot is filled with a real backend index
  assert.ok(a.every((x) => x >= 0 && x < bs.length));
});

test('duplicate keys count as one backend', () => {
  const t = maglevTable(['a:1', 'b:1', 'a:1'], 251);
  const c = slotCounts(t, 3);
  assert.equal(c[2], 0);
  assert.ok(Math.abs(c[0]! - c[1]!) <= 1);
});

test('100 backends, default table: busiest gets at most 1.1x the average share', (t) => {
  const bs = backends(100);
  const table = maglevTable(bs);
  assert.equal(table.length, MAGLEV_DEFAULT_SIZE);
  const counts = slotCounts(table, bs.length);
  const avg = MAGLEV_DEFAULT_SIZE / bs.length;
  const ratio = Math.max(...counts) / avg;
  t.diagnostic(`busiest/average = ${ratio.toFixed(4)}, least/average = ${(Math.min(...counts) / avg).toFixed(4)}`);
  assert.ok(ratio <= 1.1, `busiest/average ${ratio}`);
});

for (const size of [MAGLEV_DEFAULT_SIZE, 655373]) {
  test(`removing one of 100 backends remaps at most 1.6x the ideal share (table ${size})`, (t) => {
    const bs = backends(100);
    const before = maglevTable(bs, size);
    let worst = 0;
    let sum = 0;
    const trials = [0, 17, 42, 63, 99];
    for (const victim of trials) {
      const after = bs.filter((_, i) => i !== victim);
      const moved = remapped(before, bs, maglevTable(after, size), after);
      const ratio = moved / (1 / bs.length);
      worst = Math.max(worst, ratio);
      sum += ratio;
    }
    t.diagnostic(`table ${size}: remapped/ideal worst ${worst.toFixed(3)}, mean ${(sum / trials.length).toFixed(3)}`);
    assert.ok(worst <= 1.6, `remapped ${worst}x the ideal share`);
  });
}

test('adding a backend only moves slots to the new backend (mostly)', () => {
  const bs = backends(10);
  const grown = [...bs, '10.9.9.9:8080'];
  const a = maglevTable(bs, 4099);
  const b = maglevTable(grown, 4099);
  let toNew = 0;
  let other = 0;
  for (let i = 0; i < a.length; i++) {
    if (bs[a[i]!] === grown[b[i]!]) continue;
    if (b[i] === 10) toNew++;
    else other++;
  }
  assert.ok(toNew > 0);
  assert.ok(other < toNew, `moved elsewhere ${other} vs to the new backend ${toNew}`);
});
