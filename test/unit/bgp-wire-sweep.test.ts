// The initial transfer from a table in wire form (src/bgp/export.ts tableWire, src/bgp/adj-rib-out.ts,
// src/bgp/wire/pack.ts packEncoded): the prefixes encoded before the session go out as byte ranges,
// and every message is byte for byte what the per-prefix path builds from the same table, whatever
// the take sizes, a sweep cut short by a change, a has() in the middle (which switches the sweep to
// recording each prefix) or a route refresh. A table with any advertisement of its own attributes,
// or both families in one view, has no wire form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdjRibOut, type DesiredRoutes, type OutRoute } from '../../src/bgp/adj-rib-out.js';
import { encodeTable, exportRoutes, PLAIN, tableWire, type AdAttrs, type AdTable, type ExportPeer } from '../../src/bgp/export.js';
import { decodeMessage, packEncoded, packUpdates, type CodecContext } from '../../src/bgp/wire/index.js';
import { encodePrefixList } from '../../src/bgp/wire/prefix.js';

const ctx: CodecContext = { as4: true, extendedMessage: false, maxLength: 4096 };
const peer: ExportPeer = { policies: [], ibgp: false, localAsn: 65000, address: '10.0.0.1', asn: 65001, nextHop: { 4: '10.0.0.2', 6: 'fd00::2' } };
const v4 = (i: number) => `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;
const v6 = (i: number) => `2001:db8:64::${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}/128`;

function table(entries: Array<[string, AdAttrs]>): AdTable {
  const ads = new Map(entries);
  const count6 = [...ads.keys()].filter((p) => p.includes(':')).length;
  return { ads, count4: ads.size - count6, count6 };
}

/** The same routes without a wire form: a plain Map in the view's order. */
const asMap = (d: DesiredRoutes): Map<string, OutRoute> => new Map(d);

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('packEncoded: any range of an encoded list packs to the bytes packUpdates gives for those prefixes', () => {
  for (const [family, make] of [[4, v4], [6, v6]] as const) {
    const list = Array.from({ length: 3000 }, (_, i) => make(i));
    const enc = encodePrefixList(list, family);
    const attrs = family === 4 ? { origin: 'igp' as const, asPath: [], nextHop: '10.0.0.2' } : { origin: 'igp' as const, asPath: [], mpReach: { afi: 2, safi: 1, nextHops: ['fd00::2'], nlri: [] } };
    for (const [a, b] of [[0, 3000], [0, 1], [1, 2], [17, 1234], [2999, 3000], [809, 1621], [500, 500]] as const) {
      const want = b > a ? packUpdates(attrs, list.slice(a, b), [], ctx, family) : [];
      assert.deepEqual(packEncoded(attrs, enc, a, b, ctx, family), want, `IPv${family} [${a}, ${b})`);
    }
    assert.throws(() => packEncoded(attrs, enc, 10, 3001, ctx, family), /outside/);
    assert.throws(() => packEncoded(attrs, enc, -1, 3, ctx, family), /outside/);
    assert.throws(() => packEncoded(attrs, enc, 5, 4, ctx, family), /outside/);
  }
});

test('tableWire: only a family whose advertisements are all PLAIN, in table order; a view of both families has none', () => {
  const t = table([
    [v4(1), PLAIN],
    ['fd00::1/128', PLAIN],
    [v4(2), PLAIN],
    ['fd00::2/128', { med: 5 }],
  ]);
  encodeTable(t);
  const w4 = tableWire(t, 4)!;
  assert.equal(w4.first, v4(1));
  assert.deepEqual(w4.nlri.bytes, encodePrefixList([v4(1), v4(2)], 4).bytes);
  assert.equal(tableWire(t, 6), null, 'an IPv6 advertisement has a MED of its own');
  assert.equal(exportRoutes(t, peer).wire?.(), undefined, 'both families exported: the view interleaves them');
  const only4 = exportRoutes(t, { ...peer, nextHop: { 4: '10.0.0.2', 6: undefined } });
  const w = only4.wire!()!;
  assert.equal(w.route, only4.get(v4(1)), 'the shared plain route');
  assert.equal(w.nlri, w4.nlri);
  assert.equal(exportRoutes(t, { ...peer, nextHop: { 4: undefined, 6: 'fd00::2' } }).wire?.(), undefined);
  assert.equal(exportRoutes(t, { ...peer, policies: [{ name: 'all', prefixSets: {}, communitySets: {}, statements: [], defaultResult: 'accept' }] }).wire, undefined, 'a policy Map has no wire form');
  const six = table([['fd00::1/128', PLAIN], ['fd00::3/128', PLAIN]]);
  assert.deepEqual(exportRoutes(six, peer).wire!()!.nlri.bytes, encodePrefixList(['fd00::1/128', 'fd00::3/128'], 6).bytes, 'one family in the table: its wire form even when both are exported');
  assert.equal(exportRoutes(table([]), peer).wire?.(), undefined);
});

for (const seed of [1, 2, 3, 4, 5, 6]) {
  test(`adj-RIB-out: a sweep of a table in wire form sends the bytes of the per-prefix sweep (seed ${seed})`, () => {
    const rand = rng(seed);
    const family = seed % 2 ? 4 : 6;
    const make = family === 4 ? v4 : v6;
    const n = 500 + Math.floor(rand() * 9000);
    const t = table(Array.from({ length: n }, (_, i) => [make(i), PLAIN] as [string, AdAttrs]));
    const view = exportRoutes(t, peer);
    assert.ok(view.wire?.(), 'the view has a wire form');
    const fast = new AdjRibOut();
    const slow = new AdjRibOut();
    fast.setDesired(view);
    slow.setDesired(asMap(view));
    let steps = 0;
    while (fast.pending > 0 || slow.pending > 0) {
      const op = rand();
      if (op < 0.1) {
        const p = make(Math.floor(rand() * n));
        assert.equal(fast.has(p), slow.has(p), `has(${p})`);
      } else if (op < 0.13) {
        // a change mid-sweep: the rest of the sweep becomes dirty prefixes
        const next = table([...t.ads].filter(() => rand() < 0.9));
        const v = exportRoutes(next, peer);
        assert.equal(fast.setDesired(v), slow.setDesired(asMap(v)));
      } else if (op < 0.15) {
        fast.resendAll();
        slow.resendAll();
      } else {
        const k = 1 + Math.floor(rand() * 5000);
        assert.deepEqual(fast.take(ctx, k), slow.take(ctx, k), `take(${k}) at step ${steps}`);
      }
      assert.equal(fast.sentCount, slow.sentCount);
      assert.equal(fast.pending, slow.pending);
      steps++;
    }
    for (let i = 0; i < n; i += 97) assert.equal(fast.has(make(i)), slow.has(make(i)));
  });
}

test('adj-RIB-out: an untouched sweep in wire form announces every prefix once, in table order, in full messages', () => {
  const n = 10_000;
  const t = table(Array.from({ length: n }, (_, i) => [v4(i), PLAIN] as [string, AdAttrs]));
  const rib = new AdjRibOut();
  rib.setDesired(exportRoutes(t, peer));
  const got: string[] = [];
  let msgs = 0;
  while (rib.pending > 0) {
    for (const b of rib.take(ctx)) {
      const m = decodeMessage(b, ctx);
      assert.equal(m.type, 'update');
      if (m.type === 'update') got.push(...m.nlri);
      msgs++;
    }
  }
  assert.deepEqual(got, [...t.ads.keys()]);
  assert.equal(rib.sentCount, n);
  assert.ok(msgs <= Math.ceil(n / 800) + 3, `${msgs} messages for ${n} /32s`);
  assert.ok(rib.has(v4(0)) && rib.has(v4(n - 1)) && !rib.has(v4(n)));
});
