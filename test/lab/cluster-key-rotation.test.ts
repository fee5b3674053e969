// Cluster key rotation with real daemons: three edgelb nodes (XDP data path, connection sync on,
// heartbeats every 30 ms, death after 150 ms) go through a full rotation by rewriting their key
// files live, node by node, as an operator (or a Secret update) would: the new key as a second
// line, then first, then alone. Throughout: no member death, no shard (VIP owner) change, no
// heartbeat or sync datagram refused; the datagrams signed with the other node's newer or older
// key are counted (edgelb_cluster_heartbeats_nonprimary_key_total, edgelb_sync_nonprimary_key_total)
// and stop once the rotation is over. A bad key file written mid-way is refused and changes
// nothing. Last, a node left with only the old key and the others with only the new one never
// accept each other, and say so in edgelb_cluster_heartbeats_dropped_total{reason="unauthenticated"}.
// Before key lists, the first rewrite split the cluster: every node refused the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Lab, edgeTopology, edgePlan, waitUntil, type LabProcess } from './lib/index.js';
import { sleep } from '../../src/lib/backoff.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = [process.execPath, '--single-threaded-gc', '--no-concurrent-recompilation', `${root}dist/cli/main.js`];
const NODES = 3;
const OLD = 'rotation-lab-old-key-0123456789abcdef';
const NEW = 'rotation-lab-new-key-fedcba9876543210';

function config(i: number, keyFile: string, pinRoot: string): string {
  const n = edgePlan.node(i);
  const members = Array.from({ length: NODES }, (_, k) => edgePlan.node(k + 1).v4);
  return `node: { name: edge-${i}, routerId: ${n.v4}, interface: eth0 }
api: { listen: 127.0.0.1:11111 }
cluster:
  listen: ${n.v4}:11112
  members: [${members.join(', ')}]
  keyFile: ${keyFile}
  shards: 3
  holdDown: 1s
  sync: {}
dataplane: { attachMode: generic, pinRoot: ${pinRoot} }
`;
}

async function get(lab: Lab, i: number, path: string): Promise<string | undefined> {
  const r = await lab.exec(`node${i}`, ['curl', '-s', '-f', `http://127.0.0.1:11111${path}`], { check: false });
  return r.code === 0 ? r.stdout : undefined;
}

/** Every sample of a metric family: `name{labels}` → value. */
async function metrics(lab: Lab, i: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const l of ((await get(lab, i, '/metrics')) ?? '').split('\n')) {
    const m = /^(edgelb_(?:cluster|sync)_[a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(l);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}
const UNAUTH_HB = 'edgelb_cluster_heartbeats_dropped_total{reason="unauthenticated"}';
const UNAUTH_SYNC = 'edgelb_sync_dropped_total{reason="unauthenticated"}';

/** The shard table (master and epoch of each shard) as this node sees it. */
async function shards(lab: Lab, i: number): Promise<string | undefined> {
  const t = await get(lab, i, '/v1/ha');
  if (!t) return undefined;
  const ha = JSON.parse(t) as { shards: Array<{ shard: number; master: string | null; epoch: number }> };
  return JSON.stringify(ha.shards.map((s) => [s.shard, s.master, s.epoch]));
}

test('cluster key rotation: three daemons rewrite their key files live, with no failover and nothing refused', { timeout: 240_000 }, async () => {
  const lab = await Lab.create(edgeTopology({ prefix: 'keyrot', nodes: NODES, backends: 0 }));
  const daemons: LabProcess[] = [];
  try {
    const keyFile = (i: number) => lab.path(`key-${i}`);
    // as editors and Secret volumes do: a new file renamed over the old one
    const writeKey = (i: number, text: string) => {
      writeFileSync(`${keyFile(i)}.tmp`, text, { mode: 0o600 });
      renameSync(`${keyFile(i)}.tmp`, keyFile(i));
    };
    for (let i = 1; i <= NODES; i++) {
      writeKey(i, `${OLD}\n`); // the single-key file of before
      const pins = `/sys/fs/bpf/edgelb/${lab.tag}-edge-${i}`;
      lab.ownPath(pins);
      daemons.push(await lab.spawn(`node${i}`, [...cli, 'daemon', '--config', lab.writeFile(`e${i}.yaml`, config(i, keyFile(i), pins))], { name: `edgelb-${i}` }));
    }
    const all = [1, 2, 3];
    const m = () => Promise.all(all.map((i) => metrics(lab, i)));
    await waitUntil(async () => {
      const ms = await m();
      return ms.every((x) => x.get('edgelb_cluster_members_live') === NODES && x.get('edgelb_sync_peers_known') === NODES - 1);
    }, { timeoutMs: 60_000, what: 'three live members, sync peers known' });
    await waitUntil(async () => {
      const t = await Promise.all(all.map((i) => shards(lab, i)));
      return t[0] && !t[0].includes('null') && t.every((x) => x === t[0]);
    }, { timeoutMs: 20_000, what: 'one shard table' });
    const table = await shards(lab, 1);
    const start = await m();
    const loads = async (i: number) => (await metrics(lab, i)).get('edgelb_cluster_keyfile_loads_total') ?? 0;

    // ---- the rotation, one node at a time, each change seen by the daemon before the next
    const steps = [`${OLD}\n${NEW}\n`, `# new first once every node lists it\n${NEW}\n${OLD}\n`, `${NEW}\n`];
    let midway: Map<string, number>[] | undefined;
    for (const [s, text] of steps.entries()) {
      for (const i of all) {
        const before = await loads(i);
        writeKey(i, text);
        await waitUntil(async () => (await loads(i)) > before, { timeoutMs: 15_000, what: `edge-${i} takes step ${s + 1}` });
        await sleep(500); // > 3 × deadAfter: a split would have shown
        if (s === 1 && i === 2) {
          // a bad file mid-way (a key too short): refused, the node keeps signing with what it had
          writeKey(3, `${NEW}\nshort\n`);
          await waitUntil(async () => ((await metrics(lab, 3)).get('edgelb_cluster_keyfile_rejected_total') ?? 0) >= 1, { timeoutMs: 15_000, what: 'the bad file refused' });
          writeKey(3, `${OLD}\n${NEW}\n`); // back to what it holds (the same bytes: not a load)
          await sleep(500);
          midway = await m();
        }
      }
    }
    await sleep(1500); // sync hellos go out every second
    const end = await m();
    await sleep(1500);
    const after = await m();
    for (const [k, i] of all.entries()) {
      const [s0, s1] = [start[k]!, end[k]!];
      const d = (name: string) => (s1.get(name) ?? 0) - (s0.get(name) ?? 0);
      assert.equal(d('edgelb_cluster_member_deaths_total'), 0, `edge-${i}: no member died`);
      assert.equal(d(UNAUTH_HB), 0, `edge-${i}: no heartbeat refused`);
      assert.equal(d(UNAUTH_SYNC), 0, `edge-${i}: no sync datagram refused`);
      assert.equal(s1.get('edgelb_cluster_members_live'), NODES);
      assert.equal(s1.get('edgelb_sync_peers_known'), NODES - 1);
      assert.equal(s1.get('edgelb_cluster_keys'), 1, 'one key left');
      assert.ok((midway![k]!.get('edgelb_cluster_heartbeats_nonprimary_key_total') ?? 0) > 0, `edge-${i}: heartbeats under the other key counted while the nodes were a step apart`);
      assert.equal(after[k]!.get('edgelb_cluster_heartbeats_nonprimary_key_total'), s1.get('edgelb_cluster_heartbeats_nonprimary_key_total'), `edge-${i}: none once the rotation is over`);
    }
    assert.ok(all.some((_, k) => (end[k]!.get('edgelb_sync_nonprimary_key_total') ?? 0) > 0), 'sync datagrams under the other key counted');
    const tables = await Promise.all(all.map((i) => shards(lab, i)));
    assert.deepEqual(tables, all.map(() => table), 'no shard changed master or epoch: no VIP owner change');
    console.log(`rotation: 3 steps × 3 nodes, 0 deaths, 0 refused; secondary-key heartbeats counted: ${end.map((x) => x.get('edgelb_cluster_heartbeats_nonprimary_key_total')).join(', ')}; sync: ${end.map((x) => x.get('edgelb_sync_nonprimary_key_total')).join(', ')}`);

    // ---- a node with only the old key among nodes with only the new key: refused both ways
    const before = await m();
    writeKey(1, `${OLD}\n`);
    await waitUntil(async () => {
      const ms = await m();
      return ms.every((x, k) => (x.get(UNAUTH_HB) ?? 0) > (before[k]!.get(UNAUTH_HB) ?? 0) + 10) && ms[0]!.get('edgelb_cluster_members_live') === 1 && ms[1]!.get('edgelb_cluster_members_live') === 2;
    }, { timeoutMs: 20_000, what: 'old-only and new-only refuse each other, counted' });
  } catch (e) {
    console.log(lab.logs(40));
    throw e;
  } finally {
    for (const d of daemons) d.signal('SIGTERM');
    await Promise.all(daemons.map((d) => Promise.race([d.exited, sleep(5000)])));
    await lab.teardown();
  }
});
