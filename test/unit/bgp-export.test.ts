// Per-peer export (src/bgp/export.ts): the lazy view a peer without policies reads, against the
// Map a peer with policies gets: the same routes, families without a next hop left out, equal
// attribute sets shared, and the caller's objects copied (a later mutation changes nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { exportRoutes, PLAIN, type AdAttrs, type ExportPeer } from '../../src/bgp/export.js';
import { AdjRibOut } from '../../src/bgp/adj-rib-out.js';
import { BgpSpeaker } from '../../src/bgp/speaker.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { PolicySpec } from '../../src/model/desired-state.js';

const table = (entries: Array<[string, AdAttrs]>) => {
  const ads = new Map(entries);
  const count6 = entries.filter(([p]) => p.includes(':')).length;
  return { ads, count4: ads.size - count6, count6 };
};
const peer = (o: Partial<ExportPeer> = {}): ExportPeer => ({ policies: [], ibgp: false, localAsn: 65000, address: '10.0.0.1', asn: 65001, nextHop: { 4: '10.0.0.2', 6: 'fd00::2' }, ...o });
const acceptAll: PolicySpec = { name: 'all', prefixSets: {}, communitySets: {}, statements: [], defaultResult: 'accept' };

test('export: the view without policies equals the Map an accept-all policy gives, per family and attribute set', () => {
  const t = table([
    ['10.0.0.1/32', PLAIN],
    ['10.0.0.2/32', { med: 5 }],
    ['fd00::1/128', PLAIN],
    ['10.0.0.3/32', PLAIN],
    ['fd00::2/128', { communities: ['65000:1'] }],
  ]);
  for (const p of [peer(), peer({ ibgp: true, asn: 65000 }), peer({ nextHop: { 4: '10.0.0.2', 6: undefined } }), peer({ nextHop: { 4: undefined, 6: 'fd00::2' } }), peer({ nextHop: { 4: undefined, 6: undefined } })]) {
    const view = exportRoutes(t, p);
    const map = exportRoutes(t, { ...p, policies: [acceptAll] });
    assert.ok(map instanceof Map && !(view instanceof Map));
    assert.equal(view.size, map.size);
    assert.deepEqual([...view.keys()], [...map.keys()]);
    assert.deepEqual([...view].map(([k, r]) => [k, r.key]), [...map].map(([k, r]) => [k, r.key]));
    for (const k of t.ads.keys()) assert.equal(view.get(k)?.key, map.get(k)?.key, k);
    assert.equal(view.get('10.9.9.9/32'), undefined);
  }
  const v = exportRoutes(t, peer());
  assert.equal(v.get('10.0.0.1/32'), v.get('10.0.0.3/32'), 'plain prefixes share one route object');
  assert.notEqual(v.get('10.0.0.1/32')!.key, v.get('10.0.0.2/32')!.key);
  assert.equal(v.get('10.0.0.2/32'), v.get('10.0.0.2/32'), 'equal attributes: one object');
  assert.equal(exportRoutes(t, peer({ ibgp: true, asn: 65000 })).get('10.0.0.1/32')!.attrs.localPref, 100);
});

test('export: the speaker copies advertisements; a caller mutating its objects afterwards changes nothing sent', () => {
  const s = new BgpSpeaker({ asn: 65000, routerId: '10.0.0.1', listenPort: 0, logger: silentLogger(), registry: new Registry() });
  const ad: { prefix: string; med?: number; communities?: string[] } = { prefix: '10.1.0.1/32', communities: ['65000:7'] };
  s.setAdvertisements([ad, { prefix: '10.1.0.2/32' }, { prefix: 'FD00::5/128' }]);
  const t = (s as unknown as { ads: { ads: Map<string, AdAttrs>; count4: number; count6: number } }).ads;
  assert.deepEqual([t.count4, t.count6], [2, 1]);
  assert.ok(t.ads.has('fd00::5/128'), 'canonical keys');
  ad.med = 9;
  ad.communities!.push('65000:8');
  ad.prefix = '10.9.9.9/32';
  const r = exportRoutes(t, peer()).get('10.1.0.1/32')!;
  assert.equal(r.attrs.med, undefined);
  assert.deepEqual(r.attrs.communities, ['65000:7']);
  assert.equal(t.ads.get('10.1.0.2/32'), PLAIN);
});

test('export: an adj-RIB-out fed views sends the difference between two advertisement sets only', () => {
  const rib = new AdjRibOut();
  const ctx = { as4: true, extendedMessage: false, maxLength: 4096 };
  const a = table(Array.from({ length: 3000 }, (_, i): [string, AdAttrs] => [`10.2.${i >> 8}.${i & 255}/32`, PLAIN]));
  rib.setDesired(exportRoutes(a, peer()));
  while (rib.pending > 0) rib.take(ctx);
  assert.equal(rib.sentCount, 3000);
  const b = table([...a.ads].filter(([p]) => p !== '10.2.0.0/32').map(([p, x]): [string, AdAttrs] => [p, p === '10.2.0.1/32' ? { med: 1 } : x]));
  assert.equal(rib.setDesired(exportRoutes(b, peer())), 2);
  assert.equal(rib.setDesired(exportRoutes(b, peer())), 0, 'the same set again: nothing');
});
