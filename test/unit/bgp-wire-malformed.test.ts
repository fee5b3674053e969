// BGP wire codec against the checked-in corpus of malformed messages (fixtures/bgp/malformed.json):
// each must give its NOTIFICATION (code, subcode, data) or its RFC 7606 outcome, from decodeMessage and the framer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BgpDecodeError, Framer, decodeMessage, type CodecContext, type UpdateMessage } from '../../src/bgp/wire/index.js';

interface Expected {
  notification?: { code: number; subcode: number; data: string };
  handling?: 'attribute-discard' | 'treat-as-withdraw';
  errors?: { code: number; subcode: number; data: string }[];
  update?: UpdateMessage;
}
interface Entry {
  name: string;
  why: string;
  ctx: 'as4' | 'as2' | 'as4-ext';
  truncated?: boolean;
  bytes: string[];
  expect: Expected;
}

const CTX: Record<Entry['ctx'], CodecContext> = {
  as4: { as4: true, extendedMessage: false, maxLength: 4096 },
  as2: { as4: false, extendedMessage: false, maxLength: 4096 },
  'as4-ext': { as4: true, extendedMessage: true, maxLength: 65535 },
};

const corpus = JSON.parse(readFileSync(new URL('./fixtures/bgp/malformed.json', import.meta.url), 'utf8')) as { entries: Entry[] };
const bytesOf = (e: Entry) => Buffer.from(e.bytes.map((l) => l.split(/\s+/)[0]).join(''), 'hex');

test('corpus is well formed: unique names, hex fields, header length matches unless truncated', () => {
  assert.ok(corpus.entries.length >= 50, `${corpus.entries.length} entries`);
  assert.equal(new Set(corpus.entries.map((e) => e.name)).size, corpus.entries.length);
  for (const e of corpus.entries) {
    for (const l of e.bytes) assert.match(l, /^([0-9a-f]{2})*\s+\S/, `${e.name}: ${l}`);
    const b = bytesOf(e);
    if (!e.truncated) assert.equal(b.readUInt16BE(16), b.length, `${e.name}: header length`);
    assert.ok(e.expect.notification || e.expect.handling, e.name);
  }
});

for (const e of corpus.entries) {
  test(`malformed: ${e.name} — ${e.why}`, () => {
    const b = bytesOf(e);
    const ctx = CTX[e.ctx];
    const n = e.expect.notification;
    if (n) {
      assert.throws(
        () => decodeMessage(b, ctx),
        (err: unknown) => {
          assert.ok(err instanceof BgpDecodeError, String(err));
          assert.deepEqual([err.bgpCode, err.subcode, err.data.toString('hex'), err.handling], [n.code, n.subcode, n.data, 'session-reset'], err.message);
          assert.deepEqual(err.toNotification(), { type: 'notification', code: n.code, subcode: n.subcode, data: Buffer.from(n.data, 'hex') });
          return true;
        },
      );
      // header errors (the header-* entries) come from the framer too, as soon as the 19 header bytes
      // are in; errors found in the body pass the framer and come from decodeMessage only
      const framer = new Framer(ctx.maxLength);
      if (e.name.startsWith('header-')) {
        assert.equal(n.code, 1);
        assert.throws(() => framer.push(b.subarray(0, 19)), (err: unknown) => err instanceof BgpDecodeError && err.bgpCode === 1 && err.subcode === n.subcode);
        assert.throws(() => framer.push(Buffer.from([0])), BgpDecodeError, 'a failed framer stays failed');
      } else {
        assert.deepEqual(framer.push(b), [b], 'a body error passes the framer');
      }
      return;
    }
    const got = decodeMessage(b, ctx) as UpdateMessage;
    assert.equal(got.type, 'update');
    const errors = got.errors ?? [];
    assert.deepEqual(
      errors.map((x) => ({ code: x.bgpCode, subcode: x.subcode, data: x.data.toString('hex') })),
      e.expect.errors,
    );
    for (const x of errors) assert.equal(x.handling, e.expect.handling);
    const { errors: _drop, ...rest } = got;
    void _drop;
    assert.deepEqual(rest, e.expect.update);
  });
}
