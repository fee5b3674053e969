// SNAT address holders: the owner while alive, else one survivor that every node computes alike;
// a second death moves only what the dead node held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heldSnatAddresses, snatHolder } from '../../src/sync/snat.js';
import { heldSnat } from '../../src/daemon/sync-wiring.js';

const SNAT = { 'edge-1': '10.0.0.31', 'edge-2': '10.0.0.32', 'edge-3': '10.0.0.33', 'edge-4': '10.0.0.34' };
const NODES = Object.keys(SNAT);

test('snat: every live owner holds its own address, nothing else', () => {
  for (const n of NODES) assert.deepEqual(heldSnatAddresses(SNAT, NODES, n), [SNAT[n as keyof typeof SNAT]]);
});

test('snat: a dead node\'s address goes to exactly one survivor, the same whoever computes it', () => {
  const live = ['edge-1', 'edge-3', 'edge-4'];
  const holders = live.filter((n) => heldSnatAddresses(SNAT, live, n).includes('10.0.0.32'));
  assert.equal(holders.length, 1);
  // the order of the live list does not matter
  assert.equal(snatHolder('edge-2', '10.0.0.32', [...live].reverse()), holders[0]);
  assert.equal(snatHolder('edge-2', '10.0.0.32', live), holders[0]);
});

test('snat: a second death moves only the addresses the dead node held', () => {
  const live3 = ['edge-1', 'edge-3', 'edge-4'];
  const h2 = snatHolder('edge-2', '10.0.0.32', live3)!;
  const other = live3.find((n) => n !== h2)!;
  const live2 = live3.filter((n) => n !== other);
  assert.equal(snatHolder('edge-2', '10.0.0.32', live2), h2, 'edge-2\'s address stays where it was');
  const all = live2.flatMap((n) => heldSnatAddresses(SNAT, live2, n)).sort();
  assert.deepEqual(all, Object.values(SNAT).sort(), 'every address held once');
});

test('snat: a returning owner takes its address back; nobody live holds nothing', () => {
  assert.equal(snatHolder('edge-2', '10.0.0.32', NODES), 'edge-2');
  assert.equal(snatHolder('edge-2', '10.0.0.32', []), undefined);
  // self counts as live even when the view does not list it
  assert.deepEqual(heldSnatAddresses(SNAT, ['edge-1'], 'edge-2').includes('10.0.0.32'), true);
});

test('snat: IPv6 addresses are held beside the IPv4 ones; a dead node\'s of both families are adopted, each by one survivor', () => {
  const SNAT6 = { 'edge-1': 'fd00::31', 'edge-2': 'fd00::32', 'edge-3': 'fd00::33', 'edge-4': 'fd00::34' };
  const spec = { snatAddresses: SNAT, snatAddresses6: SNAT6 };
  assert.deepEqual(heldSnat(spec, NODES, 'edge-2'), ['10.0.0.32', 'fd00::32']);
  const live = ['edge-1', 'edge-3', 'edge-4'];
  const all = live.flatMap((n) => heldSnat(spec, live, n)).sort();
  assert.deepEqual(all, [...Object.values(SNAT), ...Object.values(SNAT6)].sort(), 'every address of both families held exactly once');
  // a node with an IPv6 address only
  assert.deepEqual(heldSnat({ snatAddresses: {}, snatAddresses6: { 'edge-1': 'fd00::31' } }, ['edge-1'], 'edge-1'), ['fd00::31']);
  assert.deepEqual(heldSnat({ snatAddresses: SNAT }, ['edge-1'], 'edge-1').includes('fd00::31'), false);
});
