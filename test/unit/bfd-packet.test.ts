// BFD control packet codec and authentication (RFC 5880 sections 4, 6.7, 6.8.6): byte vectors
// with a comment per field, one negative case per checked field, the digests checked against
// values computed outside edgelb (Python hashlib), the sequence-number window, and a property
// test that no input makes the decoder throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkAuth, encodeSigned, seqInWindow, type BfdAuthConfig } from '../../src/bfd/auth.js';
import { BfdAuthType, BfdDiag, BfdState, controlPacket, controlToString, decodeControl, encodeControl, type BfdControlPacket } from '../../src/bfd/packet.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+|\/\/[^\n]*/g, ''), 'hex');

// A plain Up packet, 24 bytes.
const UP = hex(`
  20        // version 1, diag 0
  c0        // state Up (3), no flags
  03        // detect mult 3
  18        // length 24
  11223344  // my discriminator
  55667788  // your discriminator
  000186a0  // desired min tx 100000 us
  000186a0  // required min rx 100000 us
  00000000  // required min echo rx 0
`);

// Meticulous keyed SHA-1 (type 5), key ID 7, sequence 0x01020304, key "secret": 52 bytes; the
// digest was computed with Python's hashlib.sha1 over the packet with the padded key in place.
const SHA1 = hex(`
  20 c4 03 34                 // version 1 diag 0; state Up + A flag; mult 3; length 52
  11223344 55667788           // discriminators
  000186a0 000186a0 00000000  // intervals
  05 1c 07 00                 // auth type 5, auth len 28, key id 7, reserved
  01020304                    // sequence number
  95f45059d4244d53b8c4243ced2320da3657240d  // SHA-1 digest
`);

// Keyed MD5 (type 2), key ID 1, sequence 9, key "secret": 48 bytes (hashlib.md5).
const MD5 = hex(`
  20 c4 03 30  11223344 55667788  000186a0 000186a0 00000000
  02 18 01 00  00000009  76fc11911d4582b3d3a575db86c13d89
`);

const sha1Cfg: BfdAuthConfig = { type: BfdAuthType.MeticulousKeyedSha1, keyId: 7, key: Buffer.from('secret') };

function decoded(buf: Buffer): BfdControlPacket {
  const d = decodeControl(buf);
  assert.ok(d.ok, `decode failed: ${d.ok ? '' : d.drop}`);
  return d.packet;
}

test('decode: every field of a plain control packet', () => {
  const p = decoded(UP);
  assert.deepEqual(p, {
    version: 1, diag: BfdDiag.None, state: BfdState.Up, poll: false, final: false, cpi: false, demand: false, multipoint: false,
    detectMult: 3, myDiscr: 0x11223344, yourDiscr: 0x55667788, desiredMinTx: 100000, requiredMinRx: 100000, requiredMinEchoRx: 0,
  });
  assert.deepEqual(encodeControl(p), UP);
});

test('decode: each flag bit and the diag field land in their own field', () => {
  const rows: Array<[number, keyof BfdControlPacket]> = [[0x20, 'poll'], [0x10, 'final'], [0x08, 'cpi'], [0x02, 'demand']];
  for (const [bit, field] of rows) {
    const b = Buffer.from(UP);
    b[1] = 0xc0 | bit;
    const p = decoded(b);
    for (const f of ['poll', 'final', 'cpi', 'demand'] as const) assert.equal(p[f], f === field, `${field}: ${f}`);
    assert.deepEqual(encodeControl(p), b);
  }
  for (let diag = 0; diag < 32; diag++) {
    const b = Buffer.from(UP);
    b[0] = 0x20 | diag;
    assert.equal(decoded(b).diag, diag);
  }
  for (const st of [BfdState.AdminDown, BfdState.Down, BfdState.Init, BfdState.Up]) {
    const b = Buffer.from(UP);
    b[1] = st << 6;
    assert.equal(decoded(b).state, st);
  }
  const b = Buffer.from(UP);
  b.writeUInt32BE(0xffffffff, 12); // intervals are unsigned 32-bit
  assert.equal(decoded(b).desiredMinTx, 0xffffffff);
  b.writeUInt32BE(1234, 20);
  assert.equal(decoded(b).requiredMinEchoRx, 1234);
});

test('decode: malformed packets are dropped with the 6.8.6 reason, never thrown', () => {
  const mod = (f: (b: Buffer) => Buffer | void) => {
    const b = Buffer.from(UP);
    return f(b) ?? b;
  };
  const rows: Array<{ desc: string; buf: Buffer; drop: string }> = [
    { desc: 'empty', buf: Buffer.alloc(0), drop: 'short' },
    { desc: '23 bytes', buf: UP.subarray(0, 23), drop: 'short' },
    { desc: 'version 0', buf: mod((b) => void (b[0] = 0x00)), drop: 'version' },
    { desc: 'version 2', buf: mod((b) => void (b[0] = 0x40)), drop: 'version' },
    { desc: 'version 7', buf: mod((b) => void (b[0] = 0xe0)), drop: 'version' },
    { desc: 'Length 23', buf: mod((b) => void (b[3] = 23)), drop: 'length' },
    { desc: 'Length 0', buf: mod((b) => void (b[3] = 0)), drop: 'length' },
    { desc: 'Length beyond the datagram', buf: mod((b) => void (b[3] = 25)), drop: 'length' },
    { desc: 'A bit with Length 24', buf: mod((b) => void (b[1] = b[1]! | 0x04)), drop: 'length' },
    { desc: 'A bit with Length 25', buf: mod((b) => Buffer.concat([(b[1] = b[1]! | 0x04, b[3] = 25, b), Buffer.alloc(1)])), drop: 'length' },
    { desc: 'detect mult 0', buf: mod((b) => void (b[2] = 0)), drop: 'detect-mult-zero' },
    { desc: 'multipoint bit', buf: mod((b) => void (b[1] = b[1]! | 0x01)), drop: 'multipoint' },
    { desc: 'my discriminator 0', buf: mod((b) => void b.writeUInt32BE(0, 4)), drop: 'my-discr-zero' },
    { desc: 'your discriminator 0 in Up', buf: mod((b) => void b.writeUInt32BE(0, 8)), drop: 'your-discr-zero-state' },
    { desc: 'your discriminator 0 in Init', buf: mod((b) => void (b.writeUInt32BE(0, 8), (b[1] = 0x80))), drop: 'your-discr-zero-state' },
    { desc: 'auth len past Length', buf: (() => { const b = Buffer.from(SHA1); b[25] = 40; return b; })(), drop: 'auth-malformed' },
    { desc: 'SHA-1 auth len 24', buf: (() => { const b = Buffer.from(SHA1); b[25] = 24; return b; })(), drop: 'auth-malformed' },
    { desc: 'MD5 auth len 28', buf: (() => { const b = Buffer.from(MD5); b[25] = 28; return b; })(), drop: 'auth-malformed' },
    { desc: 'unknown auth type 9', buf: (() => { const b = Buffer.from(SHA1); b[24] = 9; return b; })(), drop: 'auth-malformed' },
    { desc: 'simple password of 0 bytes (auth len 3)', buf: hex('20c4031b 11223344 55667788 000186a0 000186a0 00000000 010301'), drop: 'auth-malformed' },
  ];
  for (const r of rows) {
    const d = decodeControl(r.buf);
    assert.equal(d.ok, false, r.desc);
    if (!d.ok) assert.equal(d.drop, r.drop, r.desc);
  }
  // your discriminator 0 is fine in Down and AdminDown
  for (const st of [0x40, 0x00]) assert.ok(decodeControl(mod((b) => void (b.writeUInt32BE(0, 8), (b[1] = st)))).ok);
  // trailing bytes after Length are ignored (UDP may pad)
  assert.ok(decodeControl(Buffer.concat([UP, Buffer.alloc(4)])).ok);
});

test('auth: meticulous keyed SHA-1 and keyed MD5 digests match hashlib', () => {
  const p = decoded(SHA1);
  assert.deepEqual(p.auth, { type: 5, keyId: 7, seq: 0x01020304, digest: SHA1.subarray(32) });
  assert.deepEqual(encodeSigned({ ...p, auth: undefined }, sha1Cfg, 0x01020304), SHA1);
  const md5Cfg: BfdAuthConfig = { type: BfdAuthType.KeyedMd5, keyId: 1, key: Buffer.from('secret') };
  assert.deepEqual(encodeSigned({ ...decoded(MD5), auth: undefined }, md5Cfg, 9), MD5);
  assert.equal(checkAuth(SHA1, p, sha1Cfg, { known: false, seq: 0 }), null);
  assert.equal(checkAuth(MD5, decoded(MD5), md5Cfg, { known: false, seq: 0 }), null);
  assert.match(controlToString(p), /auth=MeticulousKeyedSha1\/7#16909060/);
  assert.doesNotMatch(controlToString(p), /secret|95f4/);
});

test('auth: bad digest, wrong key, wrong key id, wrong type, missing and unexpected sections', () => {
  const p = decoded(SHA1);
  const bad = Buffer.from(SHA1);
  bad[51]! ^= 1;
  const rx = () => ({ known: false, seq: 0 });
  assert.equal(checkAuth(bad, decoded(bad), sha1Cfg, rx()), 'auth-digest');
  assert.equal(checkAuth(SHA1, p, { ...sha1Cfg, key: Buffer.from('secreT') }, rx()), 'auth-digest');
  assert.equal(checkAuth(SHA1, p, { ...sha1Cfg, keyId: 8 }, rx()), 'auth-key-id');
  assert.equal(checkAuth(SHA1, p, { ...sha1Cfg, type: BfdAuthType.KeyedSha1 }, rx()), 'auth-type');
  assert.equal(checkAuth(UP, decoded(UP), sha1Cfg, rx()), 'auth-missing');
  assert.equal(checkAuth(SHA1, p, undefined, rx()), 'auth-unexpected');
  assert.equal(checkAuth(UP, decoded(UP), undefined, rx()), null);
  // a digest changed in a header field (tampering) fails too
  const tampered = Buffer.from(SHA1);
  tampered[19] = 0x01; // required min rx
  assert.equal(checkAuth(tampered, decoded(tampered), sha1Cfg, rx()), 'auth-digest');
});

test('auth: simple password', () => {
  const cfg: BfdAuthConfig = { type: BfdAuthType.SimplePassword, keyId: 2, key: Buffer.from('pw') };
  const base = controlPacket({ state: BfdState.Down, myDiscr: 1, yourDiscr: 0, detectMult: 3, desiredMinTx: 1e6, requiredMinRx: 1e6 });
  const buf = encodeSigned(base, cfg, 0);
  assert.deepEqual(buf.subarray(24), hex('01 05 02 7077')); // type 1, len 5, key id 2, "pw"
  assert.equal(buf[3], 29);
  assert.equal(checkAuth(buf, decoded(buf), cfg, { known: false, seq: 0 }), null);
  assert.equal(checkAuth(buf, decoded(buf), { ...cfg, key: Buffer.from('px') }, { known: false, seq: 0 }), 'auth-digest');
  assert.equal(checkAuth(buf, decoded(buf), { ...cfg, key: Buffer.from('pww') }, { known: false, seq: 0 }), 'auth-digest');
});

test('auth: sequence window — replayed and old packets are dropped (meticulous), repeats pass (keyed)', () => {
  const base = controlPacket({ state: BfdState.Up, myDiscr: 1, yourDiscr: 2, detectMult: 3, desiredMinTx: 1e5, requiredMinRx: 1e5 });
  const signed = (cfg: BfdAuthConfig, seq: number) => {
    const b = encodeSigned(base, cfg, seq);
    return [b, decoded(b)] as const;
  };
  const check = (cfg: BfdAuthConfig, rx: { known: boolean; seq: number }, seq: number) => checkAuth(...signed(cfg, seq), cfg, rx);
  // meticulous: [seq+1, seq+3*mult]
  const rx = { known: true, seq: 100 };
  assert.equal(check(sha1Cfg, rx, 100), 'auth-seq', 'replay of the last one');
  assert.equal(check(sha1Cfg, rx, 99), 'auth-seq', 'older');
  assert.equal(check(sha1Cfg, rx, 110), 'auth-seq', 'beyond 3 x detect mult');
  assert.deepEqual(rx, { known: true, seq: 100 }, 'a dropped packet does not move the window');
  assert.equal(check(sha1Cfg, rx, 109), null);
  assert.equal(rx.seq, 109);
  // keyed: [seq, seq+3*mult]: the same number again is accepted
  const keyed: BfdAuthConfig = { ...sha1Cfg, type: BfdAuthType.KeyedSha1 };
  const krx = { known: true, seq: 5 };
  assert.equal(check(keyed, krx, 5), null);
  assert.equal(check(keyed, krx, 4), 'auth-seq');
  assert.equal(check(keyed, krx, 15), 'auth-seq', 'beyond 5 + 3 x 3');
  assert.equal(check(keyed, krx, 14), null);
  // the window wraps around 2^32
  const wrap = { known: true, seq: 0xffff_fffe };
  assert.equal(check(sha1Cfg, wrap, 3), null);
  assert.ok(seqInWindow(2, 0xffff_ffff, 9) && !seqInWindow(0xffff_fff0, 0xffff_ffff, 9));
  // before the first packet any sequence number is taken
  const fresh = { known: false, seq: 0 };
  assert.equal(check(sha1Cfg, fresh, 0x8000_0000), null);
  assert.deepEqual(fresh, { known: true, seq: 0x8000_0000 });
});

test('property: decode never throws; every packet that decodes re-encodes to its first Length bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.boolean(), (bytes, plausible) => {
      const b = Buffer.from(bytes);
      if (plausible && b.length >= 24) {
        b[0] = 0x20 | (b[0]! & 0x1f);
        b[3] = Math.min(b.length, Math.max(24, b[3]!));
      }
      const d = decodeControl(b);
      if (d.ok) assert.deepEqual(encodeControl(d.packet), b.subarray(0, b[3]));
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 255 }), fc.nat(), fc.integer({ min: 1, max: 0xffffffff }), fc.integer({ min: 1, max: 0xffffffff }), fc.constantFrom(1, 2, 3), (mult, seq, my, your, st) => {
      const p = controlPacket({ state: st, myDiscr: my, yourDiscr: your, detectMult: mult, desiredMinTx: seq, requiredMinRx: 7 });
      const b = encodeSigned(p, sha1Cfg, seq);
      assert.equal(checkAuth(b, decoded(b), sha1Cfg, { known: false, seq: 0 }), null);
    }),
    { numRuns: 300 },
  );
});
