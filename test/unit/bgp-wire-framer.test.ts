// BGP framer: every captured router stream split at every byte offset gives back the same messages;
// header errors are raised from the 19 header bytes alone, before any body is buffered.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { BgpDecodeError, Framer, encodeMessage, type CodecContext } from '../../src/bgp/wire/index.js';
import { routerFixtures } from './fixtures/bgp/fixtures.js';

const fixtures = routerFixtures();
const EXT: CodecContext = { as4: true, extendedMessage: true, maxLength: 65535 };

function header(length: number, type: number, marker = 0xff): Buffer {
  const b = Buffer.alloc(19, marker);
  b.writeUInt16BE(length, 16);
  b[18] = type;
  return b;
}

for (const fx of fixtures) {
  test(`framer: ${fx.file} split in two at every byte offset`, () => {
    const stream = Buffer.concat(fx.messages);
    for (let at = 0; at <= stream.length; at++) {
      const f = new Framer(65535);
      const got = [...f.push(stream.subarray(0, at)), ...f.push(stream.subarray(at))];
      assert.deepEqual(got, fx.messages, `split at ${at}`);
      assert.equal(f.buffered, 0);
    }
  });

  test(`framer: ${fx.file} each message split at every offset, and byte by byte`, () => {
    for (const m of fx.messages) {
      for (let at = 0; at <= m.length; at++) {
        const f = new Framer(65535);
        const first = f.push(m.subarray(0, at));
        assert.deepEqual(first, at === m.length ? [m] : []);
        assert.equal(f.buffered, at === m.length ? 0 : at);
        assert.deepEqual(f.push(m.subarray(at)), at === m.length ? [] : [m]);
      }
    }
    const f = new Framer(65535);
    const got: Buffer[] = [];
    for (const m of fx.messages) for (let i = 0; i < m.length; i++) got.push(...f.push(m.subarray(i, i + 1)));
    assert.deepEqual(got, fx.messages);
  });
}

test('framer: a bad header throws as soon as its 19th byte arrives, not after the body', () => {
  const rows: Array<{ desc: string; max: number; head: Buffer; subcode: number; data: string }> = [
    { desc: 'marker not all ones', max: 4096, head: header(100, 2, 0xfe), subcode: 1, data: '' },
    { desc: 'UPDATE of 5000 bytes without extended messages', max: 4096, head: header(5000, 2), subcode: 2, data: '1388' },
    { desc: 'OPEN of 5000 bytes even with extended messages', max: 65535, head: header(5000, 1), subcode: 2, data: '1388' },
    { desc: 'KEEPALIVE of 20 bytes', max: 4096, head: header(20, 4), subcode: 2, data: '0014' },
    { desc: 'length 18', max: 4096, head: header(18, 4), subcode: 2, data: '0012' },
    { desc: 'type 9', max: 4096, head: header(100, 9), subcode: 3, data: '09' },
  ];
  for (const r of rows) {
    const f = new Framer(r.max);
    assert.deepEqual(f.push(r.head.subarray(0, 18)), [], `${r.desc}: 18 bytes are not a header yet`);
    assert.throws(
      () => f.push(r.head.subarray(18)),
      (e: unknown) => e instanceof BgpDecodeError && e.bgpCode === 1 && e.subcode === r.subcode && e.data.toString('hex') === r.data,
      r.desc,
    );
    assert.equal(f.buffered, 0, `${r.desc}: nothing kept`);
    assert.throws(() => f.push(Buffer.alloc(1)), BgpDecodeError, `${r.desc}: stays failed`);
  }
});

test('framer: maxLength can be raised after extended messages are negotiated', () => {
  const f = new Framer();
  assert.equal(f.maxLength, 4096);
  f.maxLength = 65535;
  const prefixes = Array.from({ length: 2000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  const big = encodeMessage({ type: 'update', withdrawn: prefixes, attributes: {}, nlri: [] }, EXT);
  assert.ok(big.length > 4096);
  assert.deepEqual(f.push(big.subarray(0, 19)), []);
  assert.equal(f.buffered, 19);
  assert.deepEqual(f.push(big.subarray(19)), [big]);
});

test('framer: several messages in one chunk, with a partial one left over', () => {
  const ka = encodeMessage({ type: 'keepalive' }, EXT);
  const f = new Framer();
  assert.deepEqual(f.push(Buffer.concat([ka, ka, ka.subarray(0, 5)])), [ka, ka]);
  assert.equal(f.buffered, 5);
  assert.deepEqual(f.push(Buffer.alloc(0)), []);
  assert.deepEqual(f.push(ka.subarray(5)), [ka]);
});

test('framer: every malformed corpus entry split at every offset (body errors pass, header errors throw at byte 19)', () => {
  const corpus = JSON.parse(readFileSync(new URL('./fixtures/bgp/malformed.json', import.meta.url), 'utf8')) as {
    entries: { name: string; ctx: string; bytes: string[] }[];
  };
  for (const e of corpus.entries) {
    const b = Buffer.from(e.bytes.map((l) => l.split(/\s+/)[0]).join(''), 'hex');
    const max = e.ctx === 'as4-ext' ? 65535 : 4096;
    for (let at = 0; at <= b.length; at++) {
      const f = new Framer(max);
      if (e.name.startsWith('header-')) {
        // the error comes with whichever push completes the header
        const firstHasHeader = at >= 19;
        if (firstHasHeader) assert.throws(() => f.push(b.subarray(0, at)), BgpDecodeError, `${e.name} at ${at}`);
        else {
          assert.deepEqual(f.push(b.subarray(0, at)), []);
          assert.throws(() => f.push(b.subarray(at)), BgpDecodeError, `${e.name} at ${at}`);
        }
      } else {
        assert.deepEqual([...f.push(b.subarray(0, at)), ...f.push(b.subarray(at))], [b], `${e.name} at ${at}`);
      }
    }
  }
});
