// Shard-claims codec: round trips, the size bound for every allowed shard count (the heartbeat
// payload limit once killed the heartbeat thread at ~460 claims), and malformed bytes that must
// never throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CLAIMS_MAX_BYTES, MAX_SHARDS, decodeClaims, encodeClaims } from '../../src/cluster/claims-codec.js';
import { HB_MAX_PAYLOAD } from '../../src/cluster/heartbeat-codec.js';

test('claims: round trip; the worst case (4096 shards held, 32-bit epochs) fits the heartbeat payload', () => {
  const rows = [
    { e: false, c: [] as Array<[number, number]>, shards: 1 },
    { e: true, c: [[0, 1]] as Array<[number, number]>, shards: 1 },
    { e: true, c: [[3, 0], [7, 127], [8, 128], [600, 16384]] as Array<[number, number]>, shards: 601 },
    { e: true, c: Array.from({ length: MAX_SHARDS }, (_, s) => [s, 0xffffffff] as [number, number]), shards: MAX_SHARDS },
  ];
  for (const r of rows) {
    const b = encodeClaims(r, r.shards);
    assert.ok(b.length <= CLAIMS_MAX_BYTES && b.length <= HB_MAX_PAYLOAD, `${b.length} bytes`);
    assert.deepEqual(decodeClaims(b), { e: r.e, c: r.c });
  }
  // 600 shards held by one node with small epochs: under one Ethernet MTU
  const b600 = encodeClaims({ e: true, c: Array.from({ length: 600 }, (_, s) => [s, 3] as [number, number]) }, 600);
  assert.ok(b600.length < 1400, `${b600.length} bytes`);
  // shards outside the count and duplicates are not encoded
  assert.deepEqual(decodeClaims(encodeClaims({ e: true, c: [[2, 1], [2, 5], [9, 1], [-1, 1]] }, 4)), { e: true, c: [[2, 1]] });
  assert.throws(() => encodeClaims({ e: true, c: [] }, MAX_SHARDS + 1), RangeError);
});

test('claims: malformed bytes decode to undefined and never throw', () => {
  const good = encodeClaims({ e: true, c: [[1, 300], [5, 2]] }, 8);
  const bad: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['wrong version', Uint8Array.from([2, ...good.subarray(1)])],
    ['unknown flag bits', Uint8Array.from([1, 3, ...good.subarray(2)])],
    ['zero shards', Uint8Array.from([1, 1, 0, 0])],
    ['too many shards', Uint8Array.from([1, 1, 0x10, 0x01])],
    ['bitmap cut short', good.subarray(0, 4)],
    ['epoch cut short', good.subarray(0, good.length - 1)],
    ['trailing byte', Uint8Array.from([...good, 0])],
    ['bit past the shard count', Uint8Array.from([1, 1, 0, 3, 0b00010000, 1])],
    ['epoch varint longer than 5 bytes', Uint8Array.from([1, 1, 0, 1, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
    ['epoch above 2^32-1', Uint8Array.from([1, 1, 0, 1, 0x80, 0xff, 0xff, 0xff, 0xff, 0x7f])],
  ];
  for (const [desc, b] of bad) assert.equal(decodeClaims(b), undefined, desc);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
      const d = decodeClaims(b);
      if (d) assert.deepEqual(decodeClaims(encodeClaims(d, (b[2]! << 8) | b[3]!)), d);
    }),
    { numRuns: 2000 },
  );
});
