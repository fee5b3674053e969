// The adj-RIB-out against a plain model under random changes (src/bgp/adj-rib-out.ts): whatever
// the order of setDesired, take, resendAll and has(), the UPDATEs it builds bring the peer to
// exactly the desired routes, never announce what the peer has already, never withdraw what it
// lacks, and sentCount/has() say what the peer holds. Covers the initial sweep's compact form
// (what the peer has is the swept table itself) being cut short, asked about, and changed after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdjRibOut, attrKey, type OutRoute } from '../../src/bgp/adj-rib-out.js';
import { decodeMessage, type CodecContext, type PathAttributes } from '../../src/bgp/wire/index.js';

const ctx: CodecContext = { as4: true, extendedMessage: false, maxLength: 4096 };
const route = (med: number): OutRoute => {
  const attrs: PathAttributes = { origin: 'igp', asPath: [{ type: 'sequence', asns: [65000] }], nextHop: '10.0.0.1', med };
  return { family: 4, attrs, key: attrKey(4, attrs) };
};
const ROUTES = [route(0), route(1), route(2)];

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`adj-RIB-out: random changes against a model (seed ${seed})`, () => {
    const rand = rng(seed);
    const rib = new AdjRibOut();
    /** what the peer holds, from the UPDATEs alone: prefix → MED */
    const peer = new Map<string, number>();
    let desired = new Map<string, OutRoute>();
    const apply = (bufs: Buffer[]) => {
      for (const b of bufs) {
        const m = decodeMessage(b, ctx);
        assert.equal(m.type, 'update');
        if (m.type !== 'update') continue;
        for (const p of m.withdrawn) {
          assert.ok(peer.has(p), `withdrew ${p} which the peer lacks`);
          peer.delete(p);
        }
        for (const p of m.nlri) {
          assert.notEqual(peer.get(p), m.attributes.med, `announced ${p} again unchanged`);
          peer.set(p, m.attributes.med!);
        }
      }
    };
    for (let step = 0; step < 60; step++) {
      const op = rand();
      if (op < 0.3) {
        const next = new Map<string, OutRoute>();
        const n = Math.floor(rand() * 3000);
        for (let i = 0; i < n; i++) if (rand() < 0.8) next.set(`10.5.${i >> 8}.${i & 255}/32`, ROUTES[Math.floor(rand() * 3)]!);
        rib.setDesired(next);
        desired = next;
      } else if (op < 0.75) {
        apply(rib.take(ctx, 1 + Math.floor(rand() * 2500)));
      } else if (op < 0.8) {
        rib.resendAll();
        for (const p of desired.keys()) peer.delete(p); // resent prefixes are announced again
      } else if (op < 0.9) {
        for (let k = 0; k < 20; k++) {
          const p = `10.5.${Math.floor(rand() * 12)}.${Math.floor(rand() * 256)}/32`;
          assert.equal(rib.has(p), peer.has(p), `has(${p}) at step ${step}`);
        }
      } else {
        assert.equal(rib.sentCount, peer.size, `sentCount at step ${step}`);
      }
    }
    while (rib.pending > 0) apply(rib.take(ctx, 1 + Math.floor(rand() * 2500)));
    assert.equal(rib.sentCount, peer.size);
    assert.deepEqual(new Map([...peer].sort()), new Map([...desired].map(([p, r]) => [p, r.attrs.med!] as [string, number]).sort()));
    for (const p of desired.keys()) assert.ok(rib.has(p));
    rib.clear();
    assert.equal(rib.sentCount, 0);
    assert.equal(rib.pending, 0);
  });
}
