// Containment in the BGP speaker (issue 11.2, 11.3): setPeers validates every peer and policy
// first and then applies; one bad peer (an MD5 key over 80 bytes) or one bad policy (a community
// 70000:1, a large community where a community goes, a prefix 999.0.0.0/8) is refused on its own,
// shown on its neighbour, and never throws, neither in setPeers nor when a session comes up.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BgpState } from '../../src/bgp/fsm.js';
import { validatePolicy } from '../../src/bgp/policy.js';
import { loadNative } from '../../src/native/index.js';
import { waitFor, sleep } from '../../src/lib/backoff.js';
import type { BgpSpeaker } from '../../src/bgp/speaker.js';
import type { PolicySpec } from '../../src/model/desired-state.js';
import { establish, freePort, newSpeaker, peerSpec, rawListener } from './fixtures/bgp/loopback.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const view = (s: BgpSpeaker, addr: string) => s.neighbors().find((n) => n.address === addr);

test('setPeers regression (issue 11.3): an 81-byte MD5 password refuses that peer only; setPeers does not throw; the others run', async () => {
  // before the fix: tcpSetMd5 threw (RangeError) at the end of setPeers, after the peer map had changed
  const raw = await rawListener('127.0.0.3', (c) => void establish(c));
  cleanups.push(() => raw.close());
  const port = await freePort('127.0.0.1');
  const s = newSpeaker({ asn: 65000, routerId: '10.0.0.1', listenPort: port, listenAddress: '127.0.0.1', native: loadNative() });
  cleanups.push(() => s.stop('graceful'));
  await s.start();
  const long = 'k'.repeat(81);
  const refusals = s.setPeers(
    [
      peerSpec('127.0.0.3', 65010, { port: raw.port, localAddress: '127.0.0.1' }),
      peerSpec('127.0.0.4', 65011, { password: long, passive: true }),
      peerSpec('127.0.0.5', 65012, { password: 'k'.repeat(80), passive: true }),
    ],
    [],
  );
  assert.deepEqual(
    refusals.map((r) => r.address),
    ['127.0.0.4'],
  );
  assert.match(refusals[0]!.issues[0]!, /^password: must be 1\.\.80 bytes/);
  const bad = view(s, '127.0.0.4')!;
  assert.equal(bad.state, BgpState.Idle);
  assert.equal(bad.lastError?.reason, 'config-refused');
  assert.match(bad.configError!, /password/);
  assert.ok(!JSON.stringify(s.neighbors()).includes(long), 'the password is never shown');
  assert.equal(view(s, '127.0.0.5')!.configError, null);
  await waitFor(() => view(s, '127.0.0.3')?.state === BgpState.Established, { timeoutMs: 5000, what: 'the good peer Established' });
  await sleep(1200);
  assert.equal(view(s, '127.0.0.4')!.state, BgpState.Idle, 'a refused new peer is never started');
  // fixing the password configures it; the running session is untouched
  const again = s.setPeers(
    [
      peerSpec('127.0.0.3', 65010, { port: raw.port, localAddress: '127.0.0.1' }),
      peerSpec('127.0.0.4', 65011, { password: 'k'.repeat(20), passive: true }),
      peerSpec('127.0.0.5', 65012, { password: 'k'.repeat(80), passive: true }),
    ],
    [],
  );
  assert.deepEqual(again, []);
  await waitFor(() => view(s, '127.0.0.4')?.state === BgpState.Active, { timeoutMs: 3000, what: 'the fixed peer waiting for its connection' });
  assert.equal(view(s, '127.0.0.4')!.configError, null);
  assert.equal(view(s, '127.0.0.3')!.state, BgpState.Established);
  // a running peer given a bad spec keeps its session and shows why
  s.setPeers(
    [
      peerSpec('127.0.0.3', 65010, { port: raw.port, localAddress: '127.0.0.1', holdTime: 2 }),
      peerSpec('127.0.0.4', 65011, { password: 'k'.repeat(20), passive: true }),
    ],
    [],
  );
  assert.equal(view(s, '127.0.0.3')!.state, BgpState.Established);
  assert.match(view(s, '127.0.0.3')!.configError!, /holdTime/);
  assert.equal(view(s, '127.0.0.5'), undefined, 'the removed peer is gone');
});

const policy = (name: string, over: Partial<PolicySpec>): PolicySpec => ({
  name,
  prefixSets: {},
  communitySets: {},
  statements: [{ name: 's1', match: {}, actions: { addCommunities: ['65000:7'] } }],
  defaultResult: 'accept',
  ...over,
});

const BAD: Array<{ desc: string; pol: PolicySpec; field: RegExp }> = [
  { desc: 'community 70000:1', pol: policy('p', { statements: [{ name: 's1', match: {}, actions: { addCommunities: ['70000:1'] } }] }), field: /statements\[0\]\.actions\.addCommunities/ },
  { desc: 'community 1:2:3', pol: policy('p', { statements: [{ name: 's1', match: {}, actions: { addCommunities: ['1:2:3'] } }] }), field: /statements\[0\]\.actions\.addCommunities/ },
  {
    desc: 'prefix 999.0.0.0/8',
    pol: policy('p', { prefixSets: { vips: [{ prefix: '999.0.0.0/8' }] }, statements: [{ name: 's1', match: { prefixSet: 'vips' }, actions: { result: 'accept' } }] }),
    field: /prefixSets\.vips\[0\]\.prefix/,
  },
];

for (const b of BAD) {
  test(`policy regression (issue 11.2): ${b.desc} is refused up front; the peer using it is marked; nothing throws when sessions come up`, async () => {
    // before the fix: the session reached Established and evaluateExport threw inside the socket handler
    assert.match(validatePolicy(b.pol).join('\n'), b.field);
    const rawA = await rawListener('127.0.0.3', (c) => void establish(c));
    const rawB = await rawListener('127.0.0.6', (c) => void establish(c, { asn: 65011, bgpId: '10.0.0.6' }));
    cleanups.push(() => rawA.close(), () => rawB.close());
    const s = newSpeaker({ asn: 65000, routerId: '10.0.0.1' });
    cleanups.push(() => s.stop('graceful'));
    const refusals = s.setPeers(
      [
        peerSpec('127.0.0.3', 65010, { port: rawA.port, localAddress: '127.0.0.1', exportPolicies: ['p'] }),
        peerSpec('127.0.0.6', 65011, { port: rawB.port, localAddress: '127.0.0.1' }),
      ],
      [b.pol],
    );
    assert.deepEqual(refusals.map((r) => r.address).sort(), ['127.0.0.3', 'policy/p']);
    s.setAdvertisements([{ prefix: '192.0.2.10/32' }]);
    await s.start();
    await waitFor(() => view(s, '127.0.0.6')?.state === BgpState.Established, { timeoutMs: 5000, what: 'the other peer Established' });
    await waitFor(() => rawB.conns[0]!.got.some((m) => m.type === 'update'), { timeoutMs: 3000, what: 'UPDATE to the other peer' });
    await sleep(300);
    const a = view(s, '127.0.0.3')!;
    assert.equal(a.state, BgpState.Idle);
    assert.match(a.configError!, b.field);
  });
}

test('policy: a policy that turns bad keeps its last good version; the session is not reset and keeps exporting', async () => {
  const raw = await rawListener('127.0.0.3', (c) => void establish(c));
  cleanups.push(() => raw.close());
  const s = newSpeaker({ asn: 65000, routerId: '10.0.0.1' });
  cleanups.push(() => s.stop('graceful'));
  const peers = [peerSpec('127.0.0.3', 65010, { port: raw.port, localAddress: '127.0.0.1', exportPolicies: ['p'] })];
  assert.deepEqual(s.setPeers(peers, [policy('p', {})]), []);
  s.setAdvertisements([{ prefix: '192.0.2.10/32' }]);
  await s.start();
  await waitFor(() => view(s, '127.0.0.3')?.state === BgpState.Established, { timeoutMs: 5000, what: 'Established' });
  const refusals = s.setPeers(peers, [BAD[0]!.pol]);
  assert.deepEqual(refusals.map((r) => r.address), ['policy/p']);
  s.setAdvertisements([{ prefix: '192.0.2.10/32' }, { prefix: '192.0.2.11/32' }]);
  const c = raw.conns[0]!;
  await waitFor(() => c.got.some((m) => m.type === 'update' && m.nlri.includes('192.0.2.11/32')), { timeoutMs: 3000, what: 'the new VIP exported' });
  const u = c.got.find((m) => m.type === 'update' && m.nlri.includes('192.0.2.11/32'));
  assert.ok(u && u.type === 'update');
  assert.deepEqual(u.attributes.communities, ['65000:7'], 'the last good policy still applies');
  assert.equal(view(s, '127.0.0.3')!.state, BgpState.Established);
  assert.equal(raw.conns.length, 1, 'no reset');
});

test('validatePolicy never throws, whatever the shape', () => {
  const shapes: unknown[] = [{}, { name: 'x' }, { name: 'x', statements: [{}] }, { name: 'x', statements: [], prefixSets: null }, { name: 'x', statements: [{ match: null }], prefixSets: {}, communitySets: {} }];
  for (const sh of shapes) {
    const issues = validatePolicy(sh as PolicySpec);
    assert.ok(issues.length > 0, JSON.stringify(sh));
  }
});
