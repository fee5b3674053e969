// BGP wire codec property tests: decode(encode(x)) = x for generated messages, and decoding random or
// mutated bytes never throws anything but BgpDecodeError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bytesToIp } from '../../src/lib/addr.js';
import { EdgelbError } from '../../src/lib/errors.js';
import {
  ATTRIBUTE_TABLE,
  BgpDecodeError,
  Framer,
  decodeMessage,
  describeMessage,
  encodeMessage,
  type AsPathSegment,
  type BgpMessage,
  type Capability,
  type CodecContext,
  type PathAttributes,
  type UpdateMessage,
} from '../../src/bgp/wire/index.js';

/** fc.record with plain objects (the codec returns ordinary objects; deepEqual checks prototypes). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const rec: typeof fc.record = ((model: any, opts?: any) => fc.record(model, { ...(opts ?? {}), noNullPrototype: true })) as typeof fc.record;

const RUNS = Number(process.env.BGW_FC_RUNS ?? 300);

const CTXS: CodecContext[] = [
  { as4: true, extendedMessage: false, maxLength: 4096 },
  { as4: false, extendedMessage: false, maxLength: 4096 },
  { as4: true, extendedMessage: true, maxLength: 65535 },
];
const ctxArb = fc.constantFrom(...CTXS);

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 0xff });
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

function v4String(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}
const v4Prefix = fc.tuple(u32, fc.integer({ min: 0, max: 32 })).map(([a, len]) => {
  const masked = len === 0 ? 0 : (a & (0xffffffff << (32 - len))) >>> 0;
  return `${v4String(masked)}/${len}`;
});
const v6Prefix = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 })).map(([a, len]) => {
  for (let bit = len; bit < 128; bit++) a[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return `${bytesToIp(a)}/${len}`;
});
const v6Addr = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => bytesToIp(a));
/** A usable IPv4 next hop: not 0.0.0.0, not class D/E. */
const v4NextHop = fc.integer({ min: 1, max: 0xdfffffff }).map(v4String);
const asn = fc.integer({ min: 1, max: 0xffffffff });
const asn2 = fc.integer({ min: 1, max: 0xffff });

const segment = (a: fc.Arbitrary<number>, types: AsPathSegment['type'][]) =>
  rec({ type: fc.constantFrom(...types), asns: fc.array(a, { minLength: 1, maxLength: 6 }) });
/** Confederation segments only lead the path and hold 2-byte ASNs (they never travel in AS4_PATH). */
const asPath = fc
  .tuple(fc.array(segment(asn2, ['confed-sequence', 'confed-set']), { maxLength: 1 }), fc.array(segment(asn, ['sequence', 'set']), { maxLength: 4 }))
  .map(([c, s]) => [...c, ...s]);

const KNOWN_ATTRS = new Set(ATTRIBUTE_TABLE.map((r) => r.code));
const unknownAttrs = fc
  .uniqueArray(
    rec({
      flags: fc.constant(0xe0), // optional transitive, Partial set (as passed on)
      typeCode: u8.filter((c) => !KNOWN_ATTRS.has(c)),
      value: bytes(300),
    }),
    { selector: (a) => a.typeCode, minLength: 1, maxLength: 3 },
  )
  .map((xs) => xs.sort((a, b) => a.typeCode - b.typeCode));

const commonAttrs = {
  med: u32,
  localPref: u32,
  atomicAggregate: fc.constant(true as const),
  aggregator: rec({ asn, address: u32.map(v4String) }),
  communities: fc.array(u32.map((v) => `${v >>> 16}:${v & 0xffff}`), { minLength: 1, maxLength: 8 }),
  extendedCommunities: fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }).map((a) => Buffer.from(a)), { minLength: 1, maxLength: 4 }),
  largeCommunities: fc.array(fc.tuple(u32, u32, u32).map((t) => t.join(':')), { minLength: 1, maxLength: 4 }),
  unknown: unknownAttrs,
};

const mpReach = fc.oneof(
  rec({ afi: fc.constant(2), safi: fc.constant(1), nextHops: fc.array(v6Addr, { minLength: 1, maxLength: 2 }), nlri: fc.array(v6Prefix, { minLength: 1, maxLength: 10 }) }),
  rec({ afi: fc.constant(1), safi: fc.constant(1), nextHops: v4NextHop.map((x) => [x]), nlri: fc.array(v4Prefix, { minLength: 1, maxLength: 10 }) }),
);
const mpUnreach = fc.oneof(
  rec({ afi: fc.constant(2), safi: fc.constant(1), withdrawn: fc.array(v6Prefix, { maxLength: 10 }) }),
  rec({ afi: fc.constant(1), safi: fc.constant(1), withdrawn: fc.array(v4Prefix, { maxLength: 10 }) }),
);

/** UPDATEs that satisfy RFC 4271's mandatory attribute rules (so nothing is treat-as-withdraw). */
const update: fc.Arbitrary<UpdateMessage> = fc
  .record({
    withdrawn: fc.array(v4Prefix, { maxLength: 10 }),
    nlri: fc.array(v4Prefix, { maxLength: 10 }),
    extra: rec(commonAttrs, { requiredKeys: [] }),
    mp: rec({ mpReach, mpUnreach }, { requiredKeys: [] }),
    origin: fc.constantFrom('igp' as const, 'egp' as const, 'incomplete' as const),
    asPath,
    nextHop: v4NextHop,
    withPath: fc.boolean(),
  })
  .map((g) => {
    const attributes: PathAttributes = { ...g.extra, ...g.mp };
    const reaches = g.nlri.length > 0 || (attributes.mpReach?.nlri.length ?? 0) > 0;
    if (reaches || g.withPath) {
      attributes.origin = g.origin;
      attributes.asPath = g.asPath;
    }
    if (g.nlri.length > 0) attributes.nextHop = g.nextHop;
    return { type: 'update', withdrawn: g.withdrawn, attributes, nlri: g.nlri };
  });

const capability: fc.Arbitrary<Capability> = fc.oneof(
  rec({ type: fc.constant('mp' as const), afi: u16, safi: u8 }),
  fc.constant({ type: 'route-refresh' as const }),
  rec({ type: fc.constant('as4' as const), asn }),
  rec(
    {
      type: fc.constant('graceful-restart' as const),
      restartTime: fc.integer({ min: 0, max: 4095 }),
      restartState: fc.boolean(),
      notification: fc.constant(true as const),
      families: fc.array(rec({ afi: u16, safi: u8, forwarding: fc.boolean() }), { maxLength: 4 }),
    },
    { requiredKeys: ['type', 'restartTime', 'restartState', 'families'] },
  ),
  fc.constant({ type: 'extended-message' as const }),
  fc.constant({ type: 'enhanced-route-refresh' as const }),
  rec({ type: fc.constant('unknown' as const), code: u8.filter((c) => ![1, 2, 6, 64, 65, 70].includes(c)), value: bytes(20) }),
);

const open = rec({
  type: fc.constant('open' as const),
  version: fc.constant(4),
  myAsn: asn2,
  holdTime: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 0xffff })),
  bgpId: fc.integer({ min: 1, max: 0xffffffff }).map(v4String),
  capabilities: fc.array(capability, { maxLength: 8 }),
});

const message: fc.Arbitrary<BgpMessage> = fc.oneof(
  open,
  update,
  rec({ type: fc.constant('notification' as const), code: fc.integer({ min: 1, max: 7 }), subcode: u8, data: bytes(100) }),
  fc.constant({ type: 'keepalive' as const }),
  rec({ type: fc.constant('route-refresh' as const), afi: u16, safi: u8, subtype: u8 }),
);

test('decode(encode(x)) = x for generated messages in every context', () => {
  fc.assert(
    fc.property(message, ctxArb, (m, ctx) => {
      const wire = encodeMessage(m, ctx);
      assert.equal(wire.readUInt16BE(16), wire.length);
      const back = decodeMessage(wire, ctx);
      assert.deepEqual(back, m, describeMessage(m));
      // and the bytes are stable: encoding the decoded message gives the same bytes
      assert.deepEqual(encodeMessage(back, ctx), wire);
    }),
    { numRuns: RUNS },
  );
});

function decodesOrBgpError(buf: Buffer, ctx: CodecContext): void {
  try {
    const m = decodeMessage(buf, ctx);
    describeMessage(m); // describing whatever decoded must not throw either
    // and re-encoding it either works or is refused with EDGELB_ERR_INVALID_ARGUMENT (e.g. too long)
    try {
      encodeMessage(m, ctx);
    } catch (e) {
      assert.ok(e instanceof EdgelbError && e.code === 'EDGELB_ERR_INVALID_ARGUMENT', String(e));
    }
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    if (!(e instanceof BgpDecodeError)) throw e;
    assert.ok(e.bgpCode >= 1 && e.bgpCode <= 7, `code ${e.bgpCode}`);
    assert.equal(e.code, 'EDGELB_ERR_BGP_DECODE');
    assert.equal(e.handling, 'session-reset');
  }
}

test('mutated messages decode or throw BgpDecodeError only', () => {
  const mutation = fc.oneof(
    rec({ kind: fc.constant('flip' as const), at: fc.nat(), value: u8 }),
    rec({ kind: fc.constant('cut' as const), at: fc.nat() }),
    rec({ kind: fc.constant('insert' as const), at: fc.nat(), value: bytes(8) }),
  );
  fc.assert(
    fc.property(message, ctxArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, ctx, muts) => {
      let b = encodeMessage(m, ctx);
      for (const mu of muts) {
        const at = b.length === 0 ? 0 : mu.at % b.length;
        if (mu.kind === 'flip') {
          b = Buffer.from(b);
          b[at] = mu.value;
        } else if (mu.kind === 'cut') b = b.subarray(0, at);
        else b = Buffer.concat([b.subarray(0, at), mu.value, b.subarray(at)]);
      }
      // fix the header length so that the body parsers (not just the header check) see the damage
      if (b.length >= 19 && b.length <= 0xffff) {
        b = Buffer.from(b);
        b.writeUInt16BE(b.length, 16);
      }
      decodesOrBgpError(b, ctx);
    }),
    { numRuns: RUNS * 3 },
  );
});

test('random bodies behind a valid header decode or throw BgpDecodeError only', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), bytes(200), ctxArb, (type, body, ctx) => {
      const b = Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 0, type]), body]);
      b.writeUInt16BE(b.length, 16);
      decodesOrBgpError(b, ctx);
    }),
    { numRuns: RUNS * 3 },
  );
});

test('random byte strings decode or throw BgpDecodeError only', () => {
  fc.assert(
    fc.property(bytes(100), ctxArb, (b, ctx) => decodesOrBgpError(b, ctx)),
    { numRuns: RUNS },
  );
});

test('framer: any split of a stream of generated messages gives back the same messages', () => {
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 6 }), (msgs, cuts) => {
      const ctx = CTXS[2]!;
      const wires = msgs.map((m) => encodeMessage(m, ctx));
      const stream = Buffer.concat(wires);
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const framer = new Framer(ctx.maxLength);
      const got: Buffer[] = [];
      let prev = 0;
      for (const p of [...points, stream.length]) {
        got.push(...framer.push(stream.subarray(prev, p)));
        prev = p;
      }
      assert.deepEqual(got, wires);
      assert.equal(framer.buffered, 0);
    }),
    { numRuns: RUNS },
  );
});
