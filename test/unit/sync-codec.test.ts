// Connection-sync packets: byte layout, round trips, and every way a datagram is refused
// (truncated batch, oversize, bad MAC, wrong key, replay within and across boots, stale echo).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeSync,
  encodeSync,
  recordsPerPacket,
  ReplayGuard,
  REPLAY_WINDOW,
  SYNC_MAX_PACKET,
  SYNC_MIN_PACKET,
  SYNC_RECORD_LEN,
  type SyncPacket,
} from '../../src/sync/codec.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const records = (n: number, fill = 0xab) => Buffer.alloc(n * SYNC_RECORD_LEN, fill);
const pkt = (over: Partial<SyncPacket> = {}): SyncPacket => ({ kind: 'delta', boot: 0x1122334455667788n, seq: 5n, echoBoot: 0x99n, name: 'edge-1', records: records(2), ...over });

test('sync codec: byte layout of a delta with two records', () => {
  const b = encodeSync(pkt(), KEY);
  assert.equal(b.length, 33 + 6 + 2 * SYNC_RECORD_LEN + 32);
  assert.equal(b.toString('latin1', 0, 4), 'ECS1'); // magic
  assert.equal(b[4], 2); // kind: delta
  assert.equal(b[5], 0); // reserved
  assert.equal(b.readUInt16BE(6), 2); // record count
  assert.equal(b.readBigUInt64BE(8), 0x1122334455667788n); // sender boot
  assert.equal(b.readBigUInt64BE(16), 5n); // sequence number
  assert.equal(b.readBigUInt64BE(24), 0x99n); // echo of the receiver's boot
  assert.equal(b[32], 6); // name length
  assert.equal(b.toString('utf8', 33, 39), 'edge-1');
  assert.equal(b[39], 0xab); // first record byte
});

test('sync codec: round trip of every kind', () => {
  for (const kind of ['hello', 'delta', 'bulk'] as const) {
    const p = pkt({ kind, records: kind === 'hello' ? records(0) : records(3, 7) });
    const d = decodeSync(encodeSync(p, KEY), KEY);
    assert.ok(d.ok, kind);
    assert.deepEqual({ ...d.packet, records: Buffer.from(d.packet.records) }, { ...p, records: Buffer.from(p.records) });
  }
});

test('sync codec: property — decode(encode(x)) = x', () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).filter((b) => b > 0n),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.string({ minLength: 1, maxLength: 20 }),
      fc.nat({ max: 15 }),
      (boot, seq, echoBoot, name, n) => {
        const p = pkt({ boot, seq, echoBoot, name, records: Buffer.alloc(n * SYNC_RECORD_LEN, n) });
        if (n > recordsPerPacket(name)) return;
        const d = decodeSync(encodeSync(p, KEY), KEY);
        assert.ok(d.ok);
        assert.equal(d.packet.seq, seq);
        assert.equal(d.packet.name, name);
        assert.equal(d.packet.records.length, n * SYNC_RECORD_LEN);
      },
    ),
  );
});

test('sync codec: a full packet fits one Ethernet frame; one more record is refused by the encoder', () => {
  const n = recordsPerPacket('edge-1');
  assert.ok(n >= 15, `${n} records per packet`);
  assert.ok(encodeSync(pkt({ records: records(n) }), KEY).length <= SYNC_MAX_PACKET);
  assert.throws(() => encodeSync(pkt({ records: records(n + 1) }), KEY), RangeError);
  assert.throws(() => encodeSync(pkt({ records: Buffer.alloc(SYNC_RECORD_LEN + 1) }), KEY), RangeError);
  assert.throws(() => encodeSync(pkt({ boot: 0n }), KEY), RangeError);
});

const refusals: Array<{ desc: string; bytes: () => Uint8Array; reason: string }> = [
  { desc: 'empty datagram', bytes: () => Buffer.alloc(0), reason: 'malformed' },
  { desc: 'shorter than a header and a MAC', bytes: () => Buffer.alloc(SYNC_MIN_PACKET - 1), reason: 'malformed' },
  { desc: 'datagram over one frame', bytes: () => Buffer.alloc(SYNC_MAX_PACKET + 1), reason: 'oversize' },
  {
    desc: 'wrong magic',
    bytes: () => {
      const b = encodeSync(pkt(), KEY);
      b[0] = 0x58;
      return b;
    },
    reason: 'malformed',
  },
  {
    desc: 'unknown kind',
    bytes: () => {
      const b = encodeSync(pkt(), KEY);
      b[4] = 9;
      return b;
    },
    reason: 'malformed',
  },
  {
    desc: 'reserved byte set',
    bytes: () => {
      const b = encodeSync(pkt(), KEY);
      b[5] = 1;
      return b;
    },
    reason: 'malformed',
  },
  { desc: 'truncated batch (last record and MAC cut)', bytes: () => encodeSync(pkt({ records: records(4) }), KEY).subarray(0, 33 + 6 + 3 * SYNC_RECORD_LEN + 10), reason: 'truncated' },
  { desc: 'truncated by one byte', bytes: () => encodeSync(pkt(), KEY).subarray(0, -1), reason: 'truncated' },
  {
    desc: 'count larger than a frame can hold',
    bytes: () => {
      const b = encodeSync(pkt(), KEY);
      b.writeUInt16BE(0xffff, 6);
      return b;
    },
    reason: 'oversize',
  },
  { desc: 'trailing bytes after the MAC', bytes: () => Buffer.concat([encodeSync(pkt(), KEY), Buffer.alloc(1)]), reason: 'malformed' },
  {
    desc: 'a hello that carries records',
    bytes: () => {
      const b = encodeSync(pkt({ kind: 'delta', records: records(1) }), KEY);
      b[4] = 1;
      return b;
    },
    reason: 'malformed',
  },
  {
    desc: 'one record byte flipped (MAC fails)',
    bytes: () => {
      const b = encodeSync(pkt(), KEY);
      b[45] = (b[45] ?? 0) ^ 1;
      return b;
    },
    reason: 'unauthenticated',
  },
  {
    desc: 'sequence number changed (MAC fails)',
    bytes: () => {
      const b = encodeSync(pkt(), KEY);
      b.writeBigUInt64BE(6n, 16);
      return b;
    },
    reason: 'unauthenticated',
  },
  { desc: 'signed with another key', bytes: () => encodeSync(pkt(), Buffer.from('another key, same length, 32 byt')), reason: 'unauthenticated' },
];

for (const r of refusals) {
  test(`sync codec: refuses ${r.desc} (${r.reason})`, () => {
    const d = decodeSync(r.bytes(), KEY);
    assert.deepEqual(d, { ok: false, reason: r.reason });
  });
}

test('sync codec: never throws on random bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1600 }), (b) => {
      const d = decodeSync(b, KEY);
      assert.equal(d.ok, false);
    }),
  );
});

const SELF = 0xaaaan;
const msg = (boot: bigint, seq: bigint, kind: SyncPacket['kind'] = 'delta', echoBoot = SELF) => ({ kind, boot, seq, echoBoot });

test('replay guard: a sequence number is accepted once; reordering within the window is accepted', () => {
  const g = new ReplayGuard(SELF);
  assert.deepEqual(g.check(msg(1n, 10n)), { ok: true, newBoot: true });
  assert.deepEqual(g.check(msg(1n, 10n)), { ok: false, reason: 'replayed' });
  assert.deepEqual(g.check(msg(1n, 12n)), { ok: true, newBoot: false });
  assert.deepEqual(g.check(msg(1n, 11n)), { ok: true, newBoot: false }); // late, inside the window
  assert.deepEqual(g.check(msg(1n, 11n)), { ok: false, reason: 'replayed' });
  assert.deepEqual(g.check(msg(1n, 12n + BigInt(REPLAY_WINDOW))), { ok: true, newBoot: false });
  assert.deepEqual(g.check(msg(1n, 12n)), { ok: false, reason: 'replayed' }); // below the window now
  assert.deepEqual(g.check(msg(1n, 0n)), { ok: false, reason: 'replayed' });
});

test('replay guard: records need the echo of this receiver\'s boot (a recording from before it started is stale)', () => {
  const g = new ReplayGuard(SELF);
  assert.deepEqual(g.check(msg(1n, 1n, 'delta', 0n)), { ok: false, reason: 'stale' });
  assert.deepEqual(g.check(msg(1n, 1n, 'bulk', 0x1234n)), { ok: false, reason: 'stale' });
  assert.deepEqual(g.check(msg(1n, 1n, 'hello', 0n)), { ok: true, newBoot: true }); // first contact
  assert.deepEqual(g.check(msg(1n, 2n, 'delta')), { ok: true, newBoot: false });
});

test('replay guard: a restarted sender is accepted once it echoes us; its old boot never comes back', () => {
  const g = new ReplayGuard(SELF);
  assert.ok(g.check(msg(1n, 100n)).ok);
  // the restarted sender's first hello has not heard us yet: it cannot replace the known boot
  assert.deepEqual(g.check(msg(2n, 1n, 'hello', 0n)), { ok: false, reason: 'stale' });
  assert.deepEqual(g.check(msg(2n, 2n, 'hello', SELF)), { ok: true, newBoot: true });
  assert.equal(g.boot, 2n);
  // a recording of the first boot (even with a fresh-looking sequence number) is refused
  assert.deepEqual(g.check(msg(1n, 101n)), { ok: false, reason: 'replayed' });
  assert.deepEqual(g.check(msg(2n, 3n)), { ok: true, newBoot: false });
});
