// Restoring missing managed neighbour entries (src/dataplane/neighbours.ts) over a fake netlink:
// only when the unresolved-backend counter rose, only the missing ones, one restore at a time,
// a failing netlink call never escapes the timer. (The lab test deletes real entries:
// test/lab/dataplane-edge.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restoreManaged, watchUnresolved } from '../../src/dataplane/neighbours.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { NeighbourEntry, NeighbourUpdateResult } from '../../src/native/index.js';

function fakeNetlink(entries: NeighbourEntry[], opts: { failList?: boolean } = {}) {
  const calls: Array<{ add: string[]; del: string[] }> = [];
  return {
    calls,
    n: {
      async neighList(): Promise<NeighbourEntry[]> {
        if (opts.failList) throw new Error('netlink RTM_GETNEIGH: EPERM');
        return entries;
      },
      async neighUpdate(_ifindex: number, add: readonly string[], del: readonly string[]): Promise<NeighbourUpdateResult> {
        calls.push({ add: [...add], del: [...del] });
        for (const a of add) entries.push({ address: a, family: a.includes(':') ? 6 : 4, state: 0, managed: true });
        return { applied: add.length + del.length, errors: [] };
      },
    },
  };
}
const entry = (address: string, managed: boolean): NeighbourEntry => ({ address, family: address.includes(':') ? 6 : 4, state: 2, managed });

test('restoreManaged re-adds only the wanted entries that are not managed now (case-insensitive IPv6)', async () => {
  const f = fakeNetlink([entry('10.0.0.101', true), entry('10.0.0.102', false), entry('2001:DB8::5', true)]);
  assert.deepEqual(await restoreManaged(f.n, 3, ['10.0.0.101', '10.0.0.102', '10.0.0.103', '2001:db8::5'], silentLogger()), ['10.0.0.102', '10.0.0.103']);
  assert.deepEqual(f.calls, [{ add: ['10.0.0.102', '10.0.0.103'], del: [] }]);
  assert.deepEqual(await restoreManaged(f.n, 3, ['10.0.0.101', '10.0.0.102', '10.0.0.103'], silentLogger()), [], 'nothing missing: no update');
  assert.deepEqual(await restoreManaged(f.n, 3, [], silentLogger()), []);
  assert.equal(f.calls.length, 1);
});

test('watchUnresolved restores when the counter rises, not while it stays; a netlink failure stays inside', async () => {
  const f = fakeNetlink([]);
  let dropped = 5;
  const t = watchUnresolved(f.n, 3, 20, { dropped: () => dropped, wanted: () => ['10.0.0.101'] }, silentLogger());
  try {
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(f.calls.length, 0, 'the counter did not move');
    dropped = 7;
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(f.calls, [{ add: ['10.0.0.101'], del: [] }]);
    dropped = 9; // risen again, but nothing is missing now
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(f.calls.length, 1);
  } finally {
    clearInterval(t);
  }
  const bad = fakeNetlink([], { failList: true });
  let d = 0;
  const t2 = watchUnresolved(bad.n, 3, 10, { dropped: () => ++d, wanted: () => ['10.0.0.101'] }, silentLogger());
  await new Promise((r) => setTimeout(r, 60));
  clearInterval(t2);
  assert.equal(bad.calls.length, 0);
  assert.equal(watchUnresolved(f.n, 3, 0, { dropped: () => 0, wanted: () => [] }, silentLogger()), undefined, '0 ms: never');
});
