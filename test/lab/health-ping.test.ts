// Ping probes through the native addon's ICMP sockets: loopback (IPv4 and IPv6), and a
// HealthChecker inside a namespace that sees a neighbour namespace go away and come back
// (ping and tcp probes, both families).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { Lab, waitUntil, type LabProcess } from './lib/index.js';
import { Pinger, echoRequest, parseEchoReply, HealthChecker } from '../../src/health/index.js';
import { loadNative, packageRoot, type NativeBinding } from '../../src/native/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { waitFor } from '../../src/lib/backoff.js';
import type { ProbeSpec } from '../../src/model/desired-state.js';

const root = packageRoot();
let lab: Lab;

function spec(over: Partial<ProbeSpec> = {}): ProbeSpec {
  return { type: 'ping', intervalMs: 200, timeoutMs: 500, retries: 2, ...over };
}

before(async () => {
  lab = await Lab.create({
    prefix: 'nathc',
    nodes: [{ name: 'a' }, { name: 'b' }],
    links: [
      {
        a: { node: 'a', ifname: 'eth0', addrs: ['10.78.0.1/24', 'fd78::1/64'] },
        b: { node: 'b', ifname: 'eth0', addrs: ['10.78.0.2/24', 'fd78::2/64'] },
      },
    ],
  });
});

after(async () => {
  await lab?.teardown();
});

test('echo request/reply codec', () => {
  const token = Buffer.from('0123456789abcdef');
  const req4 = echoRequest(4, 0x1234, 0x0102, token);
  assert.deepEqual([...req4.subarray(0, 8)], [8, 0, 0, 0, 0x12, 0x34, 0x01, 0x02]);
  const req6 = echoRequest(6, 1, 2, token);
  assert.equal(req6[0], 128);
  const reply = Buffer.from(req4);
  reply[0] = 0;
  assert.deepEqual(parseEchoReply(4, reply), { seq: 0x0102, payload: token });
  assert.equal(parseEchoReply(4, req4), null); // a request is not a reply
  assert.equal(parseEchoReply(6, reply), null); // v4 reply type on the v6 parser
  assert.equal(parseEchoReply(4, Buffer.alloc(4)), null); // truncated
});

test('ping 127.0.0.1 and ::1 through the addon', async () => {
  const pinger = new Pinger(loadNative);
  try {
    for (const address of ['127.0.0.1', '::1']) {
      const out = await pinger.probe({ address, port: undefined, spec: spec() });
      assert.equal(out.ok, true, `${address}: ${JSON.stringify(out)}`);
      assert.ok(out.rttMs < 500);
    }
    // many in flight at once are matched to the right replies
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => pinger.probe({ address: i % 2 ? '::1' : '127.0.0.1', port: undefined, spec: spec() })));
    assert.ok(many.every((o) => o.ok));
  } finally {
    pinger.close();
  }
  assert.equal(loadNative().trackedResources(), 0);
});

test('ping without the addon reports unavailable', async () => {
  const broken = {
    openIcmpSocket: () => {
      throw new Error('no ICMP here');
    },
  } as unknown as NativeBinding;
  const hc = new HealthChecker({ logger: silentLogger(), registry: new Registry(), native: broken, firstProbeJitterMs: 0 });
  try {
    hc.setTargets([{ service: 'p', endpoints: ['127.0.0.1'], probe: spec({ retries: 1, intervalMs: 50 }) }]);
    await waitFor(() => !hc.isHealthy('p', '127.0.0.1'), { timeoutMs: 3000 });
    assert.equal(hc.status('p')[0]!.lastOutcome?.failure, 'unavailable');
  } finally {
    hc.stop();
  }
});

test('a checker in namespace a sees namespace b go down and come back (ping and tcp, IPv4 and IPv6)', async () => {
  // a TCP listener in b for the tcp probe
  const listener = await lab.spawn('b', ['socat', 'TCP6-LISTEN:7070,reuseaddr,fork,ipv6only=0', 'SYSTEM:true'], { name: 'b-listen' });
  await waitUntil(async () => (await lab.exec('b', ['ss', '-ltn'])).stdout.includes(':7070'), (v) => v, { timeoutMs: 10_000, what: 'listener' });
  const targets = [
    { service: 'ping4', endpoints: ['10.78.0.2'], probe: spec() },
    { service: 'ping6', endpoints: ['fd78::2'], probe: spec() },
    { service: 'tcp', endpoints: ['10.78.0.2', 'fd78::2'], probe: spec({ type: 'tcp', port: 7070 }) },
  ];
  const hc: LabProcess = await lab.spawn('a', ['node', '--import', 'tsx', join(root, 'test/lab/health-child.ts'), JSON.stringify(targets)], {
    name: 'a-health',
    cwd: root,
  });
  const lines = () =>
    hc
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { service: string; endpoint: string; healthy: boolean; failure: string | null });
  try {
    await waitUntil(() => hc.output().includes('ready'), (v) => v, { timeoutMs: 20_000, what: 'first probes' });
    assert.deepEqual(lines(), [], 'all healthy at first: no change');

    await lab.linkDown('b', 'eth0');
    await waitUntil(() => lines().length >= 4, (v) => v, { timeoutMs: 10_000, what: 'four endpoints down' });
    const down = lines();
    assert.deepEqual(
      down.map((l) => `${l.service} ${l.endpoint} ${l.healthy}`).sort(),
      ['ping4 10.78.0.2 false', 'ping6 fd78::2 false', 'tcp 10.78.0.2 false', 'tcp fd78::2 false'],
    );
    for (const l of down) assert.ok(['timeout', 'unreachable'].includes(l.failure ?? ''), JSON.stringify(l));

    await lab.linkUp('b', 'eth0');
    await waitUntil(() => lines().length >= 8, (v) => v, { timeoutMs: 15_000, what: 'four endpoints back' });
    assert.deepEqual(
      lines().slice(4).map((l) => `${l.service} ${l.endpoint} ${l.healthy}`).sort(),
      ['ping4 10.78.0.2 true', 'ping6 fd78::2 true', 'tcp 10.78.0.2 true', 'tcp fd78::2 true'],
    );
  } catch (e) {
    console.error(lab.logs());
    throw e;
  } finally {
    await hc.stop();
    await listener.stop();
  }
});
