// Key rotation through the node runtime (daemon/runtime.ts) on loopback, without a data path: two
// runtimes whose key files are rewritten live, step by step, keep each other alive with the same
// shard masters the whole time; a config reload re-reads the file; a bad key file at start stops
// the runtime with the file and the line at fault. The namespace version with real daemons and
// sync is test/lab/cluster-key-rotation.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createNodeRuntime } from '../../src/daemon/runtime.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { sleep, waitFor } from '../../src/lib/backoff.js';
import type { StateConsumer } from '../../src/daemon/daemon.js';

const OLD = 'runtime-old-key-0123456789abcdef';
const NEW = 'runtime-new-key-fedcba9876543210';

async function value(r: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await r.getSingleMetric(name)!.get();
  return m.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}

test('runtime: two nodes rotate the cluster key by rewriting their key files live, with no death and no shard move', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-keyrt-'));
  const base = 34000 + (process.pid % 1500) * 10;
  const ports = [base + 1, base + 2];
  const runtimes: StateConsumer[] = [];
  try {
    const keyFile = (i: number) => join(dir, `key-${i}`);
    const writeKey = (i: number, text: string) => {
      writeFileSync(`${keyFile(i)}.tmp`, text, { mode: 0o600 });
      renameSync(`${keyFile(i)}.tmp`, keyFile(i));
    };
    const state = (i: number) =>
      parseConfig(`
node: { name: rt-${i}, routerId: 127.0.0.1, interface: lo }
api: { listen: 127.0.0.1:1 }
cluster: { listen: 127.0.0.1:${ports[i]}, members: [127.0.0.1:${ports[0]}, 127.0.0.1:${ports[1]}], keyFile: ${keyFile(i)}, shards: 4, holdDown: 0s, deadAfter: 300ms, realtimePriority: 0 }
dataplane: { enabled: false, pinRoot: ${join(dir, `pins-${i}`)} }
`).state;
    const registries = [new Registry(), new Registry()];
    for (const i of [0, 1]) writeKey(i, `${OLD}\n`);
    for (const i of [0, 1]) {
      const rt = await createNodeRuntime({ logger: silentLogger(), registry: registries[i]!, initial: state(i) });
      runtimes.push(rt);
      await rt.apply(state(i));
    }
    type Ha = { shards: Array<{ shard: number; master: string | null; epoch: number }> };
    const table = (i: number) => JSON.stringify((runtimes[i]!.views().ha!() as Ha).shards.map((s) => [s.shard, s.master, s.epoch]));
    await waitFor(() => table(0) === table(1) && !table(0).includes('null') && table(0).includes('rt-0') && table(0).includes('rt-1'), { timeoutMs: 10_000, what: 'one shard table over both' });
    const before = table(0);
    const loads = (i: number) => value(registries[i]!, 'edgelb_cluster_keyfile_loads_total');
    for (const step of [`${OLD}\n${NEW}\n`, `${NEW}\n${OLD}\n`, `${NEW}\n`]) {
      for (const i of [0, 1]) {
        const n = await loads(i);
        writeKey(i, step);
        if (i === 1) await runtimes[1]!.apply(state(1)); // a config reload (SIGHUP) re-reads it too
        await waitFor(async () => (await loads(i)) > n, { timeoutMs: 10_000, what: `rt-${i} takes ${JSON.stringify(step)}` });
        await sleep(400); // > deadAfter: a split would show
        assert.equal(table(0), before, `rt-0's shard table unchanged at ${JSON.stringify(step)}`);
        assert.equal(table(1), before, `rt-1's shard table unchanged at ${JSON.stringify(step)}`);
      }
    }
    for (const r of registries) {
      assert.equal(await value(r, 'edgelb_cluster_member_deaths_total'), 0);
      assert.equal(await value(r, 'edgelb_cluster_heartbeats_dropped_total', { reason: 'unauthenticated' }), 0);
      assert.ok((await value(r, 'edgelb_cluster_heartbeats_nonprimary_key_total')) > 0, 'heartbeats under the other node\'s key counted');
      assert.equal(await value(r, 'edgelb_cluster_keys'), 1);
    }
    // a bad key file now: refused, the keys in use stay, nothing moves
    writeKey(0, `${NEW}\n${NEW}\n`);
    await waitFor(async () => (await value(registries[0]!, 'edgelb_cluster_keyfile_rejected_total')) === 1, { timeoutMs: 10_000, what: 'the bad file refused' });
    await sleep(400);
    assert.equal(table(0), before);
    // and a bad file at start stops the runtime, naming the line
    await assert.rejects(createNodeRuntime({ logger: silentLogger(), registry: new Registry(), initial: state(0) }), /cluster key file .*key-0: line 2: the same key as line 1/);
  } finally {
    for (const rt of runtimes) await rt.stop('restart');
    rmSync(dir, { recursive: true, force: true });
  }
});
