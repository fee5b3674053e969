// Cluster heartbeats between real processes in a network namespace: a node restarted with its
// clock one hour behind (Debian's faketime, not the host clock) is accepted at once (the old
// replay rule compared boot wall-clock times and refused it until every peer restarted), and a
// flood of 20,000+ junk datagrams a second for 10 s from another namespace at the heartbeat ports
// causes no false failover. Three runners (test/lab/cluster-runner.ts) with the default timing:
// a heartbeat every 30 ms, death after 150 ms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Lab, waitUntil, type LabProcess } from './lib/index.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const RUNNER = fileURLToPath(new URL('./cluster-runner.ts', import.meta.url));
const JUNK = fileURLToPath(new URL('./junk-sender.py', import.meta.url));
const ADDR = '10.231.0.1';
const PORTS = [11112, 11113, 11114];
const MEMBERS = PORTS.map((p) => `${ADDR}:${p}`);

interface Ev {
  ev: string;
  live?: string[];
  wall?: number;
  peer?: string;
  mastered?: number;
  dropped?: Record<string, number>;
  deaths?: number;
  sent?: number;
  rate?: number;
}

const events = (p: LabProcess): Ev[] =>
  p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Ev);
const lastStats = (p: LabProcess) => events(p).filter((e) => e.ev === 'stats').at(-1);

test('heartbeats: a restart with the clock 1 h behind is accepted at once; 20k junk datagrams/s for 10 s fail nothing over', { timeout: 150_000 }, async () => {
  const lab = await Lab.create({
    prefix: 'hbt',
    nodes: [{ name: 'mem' }, { name: 'junk' }],
    links: [{ a: { node: 'mem', ifname: 'eth0', addrs: [`${ADDR}/24`] }, b: { node: 'junk', ifname: 'eth0', addrs: ['10.231.0.2/24'] } }],
  });
  try {
    const keyFile = lab.writeFile('cluster.key', 'cluster-heartbeat-lab-key-0123456789\n');
    const start = async (i: number, prefix: string[] = []) => {
      const o = { name: `n${i}`, listen: MEMBERS[i], members: MEMBERS, keyFile, shards: 6, holdDownMs: 1000 };
      const p = await lab.spawn('mem', [...prefix, 'node', '--single-threaded-gc', '--import', 'tsx', RUNNER, 'node', JSON.stringify(o)], {
        name: `n${i}`,
        cwd: REPO,
        env: prefix.length ? { FAKETIME_DONT_FAKE_MONOTONIC: '1' } : {},
      });
      await waitUntil(() => events(p).some((e) => e.ev === 'started') || !p.running, { timeoutMs: 20_000, what: `n${i} started` });
      assert.ok(p.running, p.output());
      return p;
    };
    const nodes = [await start(0), await start(1), await start(2)];
    const settled = () => nodes.every((p) => lastStats(p)?.live?.length === 3 && lastStats(p)?.mastered === 2);
    await waitUntil(settled, { timeoutMs: 30_000, what: 'three nodes live, two shards each' });

    // ---- restart n2 with its clock one hour behind
    nodes[2]!.signal('SIGKILL');
    await nodes[2]!.exited;
    await waitUntil(() => [0, 1].every((i) => lastStats(nodes[i]!)?.live?.length === 2), { timeoutMs: 10_000, what: 'n2 seen dead' });
    const staleBefore = [0, 1].map((i) => lastStats(nodes[i]!)?.dropped?.stale ?? 0);
    nodes[2] = await start(2, ['faketime', '-f', '-1h']);
    const t0 = Date.now();
    const wall = events(nodes[2]!).find((e) => e.ev === 'started')!.wall!;
    assert.ok(t0 - wall > 3_500_000, `n2's clock is ${Math.round((t0 - wall) / 60000)} min behind`);
    await waitUntil(() => [0, 1].every((i) => events(nodes[i]!).filter((e) => e.ev === 'live').at(-1)?.live?.length === 3), {
      timeoutMs: 10_000,
      intervalMs: 5,
      what: 'the others accept n2 (the old rule refused it until they restarted)',
    });
    const acceptedMs = Date.now() - t0;
    // the heartbeats refused before acceptance: only what n2 sent before it heard a challenge
    await new Promise((r) => setTimeout(r, 600)); // counters arrive every 250 ms
    const refused = [0, 1].map((i) => (lastStats(nodes[i]!)?.dropped?.stale ?? 0) - staleBefore[i]!);
    console.log(`clock -1 h: accepted ${acceptedMs} ms after its 'started' line was read; heartbeats refused first: ${refused.join(', ')}`);
    // refused: what n2 sent before it heard a challenge (the first round, the first claims, at
    // most one more round): the third interval's heartbeat is accepted whatever its clock says
    assert.ok(refused.every((n) => n <= 3), `at most two intervals' heartbeats refused, got ${refused.join(', ')}`);
    await waitUntil(settled, { timeoutMs: 30_000, what: 'balanced again' });

    // ---- junk flood from the other namespace
    const deathsBefore = nodes.map((p) => lastStats(p)?.deaths ?? 0);
    const eventsBefore = nodes.map((p) => events(p).length);
    const unknownBefore = nodes.map((p) => lastStats(p)?.dropped?.['unknown-sender'] ?? 0);
    const junk = await lab.spawn('junk', ['python3', JUNK, '30000', '10', ...MEMBERS], { name: 'junk', cwd: REPO });
    await waitUntil(() => events(junk).some((e) => e.ev === 'junk-done') || !junk.running, { timeoutMs: 60_000, what: 'junk sent' });
    const done = events(junk).find((e) => e.ev === 'junk-done');
    assert.ok(done, junk.output());
    await new Promise((r) => setTimeout(r, 1000));
    const during = nodes.map((p, i) => events(p).slice(eventsBefore[i]));
    const unknown = nodes.reduce((n, p, i) => n + (lastStats(p)?.dropped?.['unknown-sender'] ?? 0) - unknownBefore[i]!, 0);
    console.log(`junk: ${done.sent} datagrams at ${done.rate}/s; ${unknown} reached the heartbeat sockets and were dropped as unknown-sender`);
    assert.ok(done.rate! >= 20_000, `junk rate ${done.rate}/s`);
    assert.ok(unknown > done.sent! / 2, 'the flood reached the heartbeat sockets');
    for (const [i, evs] of during.entries()) {
      assert.deepEqual(evs.filter((e) => e.ev === 'dead' || e.ev === 'shards'), [], `n${i}: no death, no shard moved`);
      assert.equal(lastStats(nodes[i]!)?.deaths, deathsBefore[i], `n${i} deaths`);
      assert.equal(lastStats(nodes[i]!)?.live?.length, 3);
    }
  } catch (e) {
    console.log(lab.logs(30));
    throw e;
  } finally {
    await lab.teardown();
  }
});
