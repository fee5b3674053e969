// Shard ownership (pure): determinism, balance, minimal movement on leave and join, quorum rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assignShards, hasQuorum, loads, planShards } from '../../src/cluster/ownership.js';

const nodesArb = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), { minLength: 1, maxLength: 9 });
const moved = (a: string[], b: string[]) => a.filter((o, s) => o !== b[s]).length;

function assertBalanced(owners: string[], nodes: string[], S: number) {
  assert.equal(owners.length, S);
  assert.ok(owners.every((o) => nodes.includes(o)), 'every shard has an eligible master');
  const l = loads(owners);
  const lo = Math.floor(S / nodes.length);
  const hi = Math.ceil(S / nodes.length);
  for (const n of nodes) {
    const c = l.get(n) ?? 0;
    assert.ok(c === lo || c === hi, `${n} masters ${c}, want ${lo} or ${hi}`);
  }
}

test('table: owners for small clusters are balanced and stable across calls', () => {
  const rows = [
    { S: 3, nodes: ['edge-1', 'edge-2', 'edge-3'] },
    { S: 1, nodes: ['edge-1', 'edge-2', 'edge-3'] },
    { S: 4, nodes: ['a', 'b', 'c'] },
    { S: 7, nodes: ['a', 'b'] },
    { S: 16, nodes: ['n1', 'n2', 'n3', 'n4', 'n5'] },
    { S: 2, nodes: ['solo'] },
  ];
  for (const r of rows) {
    const o = assignShards(r.S, r.nodes);
    assertBalanced(o, r.nodes, r.S);
    assert.deepEqual(assignShards(r.S, [...r.nodes].reverse()), o, 'order of nodes does not matter');
  }
  assert.deepEqual(assignShards(3, []), ['', '', '']);
  assert.deepEqual(assignShards(0, ['a']), []);
});

test('property: every node computes the same owners from the same live set and claims', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), nodesArb, fc.array(fc.nat(20)), (S, nodes, seedClaims) => {
      const current = seedClaims.slice(0, S).map((i) => (i < nodes.length ? nodes[i]! : ''));
      const a = planShards(S, nodes, current);
      const b = planShards(S, [...nodes].reverse().concat(nodes[0]!), current);
      assert.deepEqual(a, b);
      assertBalanced(a, nodes, S);
    }),
  );
});

test('property: a balanced assignment is a fixed point (no churn without a membership change)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), nodesArb, (S, nodes) => {
      const a = assignShards(S, nodes);
      assert.deepEqual(planShards(S, nodes, a), a);
    }),
  );
});

test('property: a leave moves exactly the leaver\'s shards', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 48 }), nodesArb.filter((n) => n.length >= 2), fc.nat(), (S, nodes, k) => {
      const before = assignShards(S, nodes);
      const gone = nodes[k % nodes.length]!;
      const rest = nodes.filter((n) => n !== gone);
      const after = planShards(S, rest, before);
      assertBalanced(after, rest, S);
      assert.equal(moved(before, after), loads(before).get(gone) ?? 0);
      before.forEach((o, s) => o !== gone && assert.equal(after[s], o, 'survivors keep their shards'));
    }),
  );
});

test('property: a join moves only what the joiner gets, ⌊S/N⌋ shards (N counts the joiner)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 48 }), nodesArb.filter((n) => n.length >= 2), fc.nat(), (S, nodes, k) => {
      const joiner = nodes[k % nodes.length]!;
      const old = nodes.filter((n) => n !== joiner);
      const before = assignShards(S, old);
      const after = planShards(S, nodes, before);
      assertBalanced(after, nodes, S);
      const m = moved(before, after);
      assert.equal(m, loads(after).get(joiner) ?? 0, 'every moved shard went to the joiner');
      assert.equal(m, Math.floor(S / nodes.length));
    }),
  );
});

test('property: after a leave and the same node\'s return the cluster is balanced again; repeated churn stays balanced', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 30 }), nodesArb.filter((n) => n.length >= 2), fc.array(fc.nat(), { maxLength: 12 }), (S, nodes, ops) => {
      let live = [...nodes];
      let cur = assignShards(S, live);
      for (const op of ops) {
        const n = nodes[op % nodes.length]!;
        const next = live.includes(n) ? (live.length > 1 ? live.filter((x) => x !== n) : live) : [...live, n];
        const after = planShards(S, next, cur);
        assertBalanced(after, next, S);
        const joined = next.filter((x) => !live.includes(x));
        const left = live.filter((x) => !next.includes(x));
        const bound = left.length ? (loads(cur).get(left[0]!) ?? 0) : joined.length ? Math.floor(S / next.length) : 0;
        assert.equal(moved(cur, after), bound);
        live = next;
        cur = after;
      }
    }),
  );
});

test('table: quorum rule, including the two-node tie-breaker', () => {
  const rows = [
    { desc: 'one member alone', live: 1, members: 1, tb: false, want: true },
    { desc: '3 of 3', live: 3, members: 3, tb: true, want: true },
    { desc: '2 of 3', live: 2, members: 3, tb: false, want: true },
    { desc: '1 of 3 (partitioned node)', live: 1, members: 3, tb: true, want: false },
    { desc: '2 of 2', live: 2, members: 2, tb: true, want: true },
    { desc: '1 of 2 holding the tie-breaker', live: 1, members: 2, tb: true, want: true },
    { desc: '1 of 2 without the tie-breaker', live: 1, members: 2, tb: false, want: false },
    { desc: '2 of 4 with the tie-breaker', live: 2, members: 4, tb: true, want: true },
    { desc: '2 of 4 without', live: 2, members: 4, tb: false, want: false },
    { desc: '3 of 5', live: 3, members: 5, tb: false, want: true },
    { desc: '2 of 5', live: 2, members: 5, tb: true, want: false },
  ];
  for (const r of rows) assert.equal(hasQuorum(r.live, r.members, r.tb), r.want, r.desc);
});
