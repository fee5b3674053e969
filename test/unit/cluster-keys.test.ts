// The cluster key file as a key ring (rotation without an outage): every way a key file is refused
// (empty, blank, short, duplicate, too many, too big, stray carriage return, BOM, spaces), the
// formats it accepts (CRLF, comments, blank lines, a binary key), compatibility with the single-key
// file of before (the MAC keyed with the file's bytes, line end included), and send-primary /
// accept-any for heartbeats and sync batches, by table and by property.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { CLUSTER_KEY_FILE_MAX_BYTES, keyId, matchMac, parseClusterKeys, singleKeyRing, type KeyRing } from '../../src/lib/cluster-keys.js';
import { decodeHeartbeat, encodeHeartbeat } from '../../src/cluster/heartbeat-codec.js';
import { decodeSync, encodeSync, SYNC_RECORD_LEN } from '../../src/sync/codec.js';

const OLD = 'old-cluster-key-0123456789abcdef';
const NEW = 'new-cluster-key-fedcba9876543210';
const ringOf = (text: string | Buffer): KeyRing => {
  const r = parseClusterKeys(Buffer.isBuffer(text) ? text : Buffer.from(text));
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.ring;
};
const hb = { boot: 42n, seq: 7n, echoBoot: 9n, echoSeq: 3n, name: 'edge-1', payload: new Uint8Array([1, 2, 3]) };
const sp = { kind: 'delta' as const, boot: 5n, seq: 1n, echoBoot: 9n, name: 'edge-1', records: Buffer.alloc(SYNC_RECORD_LEN, 7) };

test('key file: every fault is refused whole with a reason that names the line', () => {
  const rows: Array<{ desc: string; text: string | Buffer; want: RegExp }> = [
    { desc: 'empty file', text: '', want: /^the key file is empty$/ },
    { desc: 'only blank lines', text: '\n\n  \n\t\n', want: /holds no key \(only blank lines or comments\)/ },
    { desc: 'only comments', text: '# new key goes here\n', want: /holds no key/ },
    { desc: 'a key too short', text: `${OLD}\nshort-key\n`, want: /^line 2: the key is 9 bytes; at least 16$/ },
    { desc: 'a one-line key too short', text: 'hunter2\n', want: /^line 1: the key is 7 bytes; at least 16$/ },
    { desc: 'a duplicate key', text: `${OLD}\n${NEW}\n\n${OLD}\n`, want: /^line 4: the same key as line 1 \(list each key once\)$/ },
    { desc: 'a duplicate key across CRLF and LF', text: `${OLD}\r\n${OLD}\n`, want: /^line 2: the same key as line 1/ },
    { desc: 'trailing space (invisible, would be part of the key)', text: `${OLD} \n`, want: /^line 1: the key starts or ends with a space or tab/ },
    { desc: 'leading tab', text: `${OLD}\n\t${NEW}\n`, want: /^line 2: the key starts or ends/ },
    { desc: 'a carriage return inside a line (old Mac line ends)', text: `${OLD}\r${NEW}\r`, want: /^line 1: a carriage return inside the line/ },
    { desc: 'a byte order mark', text: `\uFEFF${OLD}\n`, want: /^line 1: starts with a byte order mark/ },
    { desc: 'nine keys', text: Array.from({ length: 9 }, (_, i) => `cluster-key-number-${i}-0123456789`).join('\n'), want: /^line 9: more than 8 keys/ },
    { desc: 'a key over 1024 bytes', text: 'k'.repeat(1025), want: /^line 1: the key is 1025 bytes; at most 1024$/ },
    { desc: 'huge file', text: Buffer.alloc(CLUSTER_KEY_FILE_MAX_BYTES + 1, 'a'), want: /^the key file is 65537 bytes; at most 65536/ },
    { desc: 'a binary key too short', text: Buffer.from([0, 1, 2, 3, 0xff, 0xfe]), want: /^the key \(binary, 6 bytes\) is shorter than 16 bytes$/ },
  ];
  for (const r of rows) {
    const p = parseClusterKeys(Buffer.isBuffer(r.text) ? r.text : Buffer.from(r.text));
    assert.equal(p.ok, false, r.desc);
    if (!p.ok) assert.match(p.error, r.want, r.desc);
    if (!p.ok) assert.ok(!p.error.includes(OLD) && !p.error.includes(NEW), `${r.desc}: the error never shows a key`);
  }
});

test('key file: lists with CRLF, comments and blank lines; the first key signs, every one is accepted', () => {
  const text = `# rotation 2026-12: the new key first once every node lists it\r\n${NEW}\r\n\r\n   \r\n  # the old key, until no member uses it\r\n${OLD}\r\n`;
  const p = parseClusterKeys(Buffer.from(text));
  assert.ok(p.ok);
  assert.equal(p.format, 'list');
  assert.deepEqual(p.keys.map((k) => [Buffer.from(k.bytes).toString(), k.line]), [[NEW, 2], [OLD, 6]]);
  assert.deepEqual(Buffer.from(p.ring.send).toString(), NEW, 'signs with the first key, without its line end');
  assert.deepEqual(p.ring.ids, [keyId(Buffer.from(NEW)), keyId(Buffer.from(OLD))]);
  assert.match(p.ring.ids[0]!, /^[0-9a-f]{8}$/);
  // the same keys written with LF, in another order: the same key set
  const lf = parseClusterKeys(Buffer.from(`${OLD}\n${NEW}`));
  assert.ok(lf.ok);
  assert.deepEqual(new Set(lf.ring.ids), new Set(p.ring.ids));
});

test('key file: the single-key file of before still signs with its bytes, line end included, and is accepted in every spelling', () => {
  for (const file of [`${OLD}\n`, OLD, `${OLD}\r\n`]) {
    const ring = ringOf(file);
    assert.equal(Buffer.from(ring.send).toString(), file, `${JSON.stringify(file.slice(-2))}: the MAC key of before (the file's bytes)`);
    // a node of the version before (key = the file's bytes) and this one understand each other
    const before = encodeHeartbeat(hb, Buffer.from(file));
    assert.ok(decodeHeartbeat(before, ring).ok, 'accepts what the version before sends');
    assert.ok(decodeHeartbeat(encodeHeartbeat(hb, ring), Buffer.from(file)).ok, 'the version before accepts what this one sends');
    // and a list that names the key (written with any line end) accepts it
    for (const list of [`${NEW}\n${OLD}\n`, `${NEW}\r\n${OLD}`]) assert.ok(decodeHeartbeat(encodeHeartbeat(hb, ring), ringOf(list)).ok, `${JSON.stringify(list)} accepts ${JSON.stringify(file)}`);
  }
  // a binary key (random bytes, any value) is one key, used as it is
  const bin = Buffer.from('00ff0a0d1b7f8090a0b0c0d0e0f0112233', 'hex');
  const p = parseClusterKeys(bin);
  assert.ok(p.ok);
  assert.equal(p.format, 'binary');
  assert.deepEqual(Buffer.from(p.ring.send), bin);
  assert.ok(decodeHeartbeat(encodeHeartbeat(hb, bin), p.ring).ok);
});

test('rotation, step by step: every pair of nodes in every step understands the other; old-only and new-only do not', () => {
  const steps = [`${OLD}\n`, `${OLD}\n${NEW}\n`, `${NEW}\n${OLD}\n`, `${NEW}\n`];
  // adjacent steps (the nodes are never more than one step apart during a rotation)
  for (let i = 0; i < steps.length; i++) {
    for (let j = Math.max(0, i - 1); j <= Math.min(steps.length - 1, i + 1); j++) {
      const a = ringOf(steps[i]!);
      const b = ringOf(steps[j]!);
      const d = decodeHeartbeat(encodeHeartbeat(hb, a), b);
      assert.ok(d.ok, `step ${i} → step ${j}`);
      const s = decodeSync(encodeSync(sp, a), b);
      assert.ok(s.ok, `sync step ${i} → step ${j}`);
      const primaryOfA = Buffer.from(a.send).toString().trim();
      const want = Buffer.from(b.send).toString().trim() === primaryOfA ? 0 : 1;
      assert.equal(d.key, want, `step ${i} → step ${j}: accepted with ${want ? 'the secondary' : 'the primary'}`);
      assert.equal(s.key, want);
    }
  }
  assert.deepEqual(decodeHeartbeat(encodeHeartbeat(hb, ringOf(OLD)), ringOf(NEW)), { ok: false, reason: 'unauthenticated' });
  assert.deepEqual(decodeHeartbeat(encodeHeartbeat(hb, ringOf(NEW)), ringOf(OLD)), { ok: false, reason: 'unauthenticated' });
  assert.deepEqual(decodeSync(encodeSync(sp, ringOf(NEW)), ringOf(OLD)), { ok: false, reason: 'unauthenticated' });
});

test('matchMac: the form a sender used last is tried first (one HMAC in the steady state); a wrong hint still finds the key', () => {
  const ring = ringOf(`${NEW}\n${OLD}\n`);
  const data = Buffer.from('some datagram');
  const mac = createHmac('sha256', Buffer.from(OLD)).update(data).digest();
  const form = matchMac(ring, data, mac);
  assert.equal(ring.accept[form]!.key, 1);
  for (const hint of [0, form, 5, 99, -1]) assert.equal(matchMac(ring, data, mac, hint), form, `hint ${hint}`);
  assert.equal(matchMac(ring, data, Buffer.alloc(32)), -1);
  assert.equal(matchMac(ring, data, mac.subarray(0, 31)), -1, 'a short MAC never matches (and never throws)');
  assert.equal(matchMac(singleKeyRing(Buffer.from(NEW)), data, mac), -1);
});

test('property: a datagram signed by ring A is accepted by ring B exactly when A\'s first key is listed in B, and says which', () => {
  const key = fc.stringMatching(/^[A-Za-z0-9+/=_-]{16,40}$/);
  fc.assert(
    fc.property(fc.uniqueArray(key, { minLength: 1, maxLength: 8 }), fc.uniqueArray(key, { minLength: 1, maxLength: 8 }), fc.boolean(), fc.boolean(), (a, b0, share, crlf) => {
      const b = share && !b0.includes(a[0]!) ? [...b0.slice(0, 7), a[0]!] : b0;
      const eol = crlf ? '\r\n' : '\n';
      const ra = ringOf(a.join(eol) + eol);
      const rb = ringOf(b.join('\n'));
      const idx = b.indexOf(a[0]!);
      const d = decodeHeartbeat(encodeHeartbeat(hb, ra), rb);
      const s = decodeSync(encodeSync(sp, ra), rb);
      if (idx < 0) {
        assert.equal(d.ok, false);
        assert.equal(s.ok, false);
      } else {
        assert.ok(d.ok && s.ok);
        assert.equal(d.key, idx);
        assert.equal(s.key, idx);
      }
    }),
    { numRuns: 300 },
  );
});

test('property: parsing never throws, and a refused file always says why', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const p = parseClusterKeys(bytes);
      if (!p.ok) assert.ok(p.error.length > 10);
      else assert.ok(p.keys.length >= 1 && p.keys.length <= 8 && p.ring.send.length >= 16);
    }),
    { numRuns: 500 },
  );
});
