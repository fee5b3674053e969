// BGP activeBackup with real daemons and BIRD: per shard, the router's best path (and so its
// kernel FIB) follows the shard master; after the master's power cut the new master's route wins
// at once (its MED is lower than the stale one of its dead predecessor), without waiting for the
// router's hold timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Lab, edgeTopology, edgePlan, BirdRouter, waitUntil, type LabProcess } from './lib/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = [process.execPath, '--single-threaded-gc', `${root}dist/cli/main.js`];
const NODES = 3;
const VIPS = ['192.168.81.10', '192.168.81.11', '192.168.81.12']; // shards 0, 1, 2
const HOLD = 9;

function config(i: number, keyFile: string): string {
  const n = edgePlan.node(i);
  const members = Array.from({ length: NODES }, (_, k) => edgePlan.node(k + 1).v4);
  return `node: { name: edge-${i}, routerId: ${n.v4}, interface: eth0 }
api: { listen: 127.0.0.1:11111 }
cluster: { listen: ${n.v4}:11112, members: [${members.join(', ')}], keyFile: ${keyFile}, shards: 3, holdDown: 2s }
bgp:
  asn: 64513
  listenPort: 0
  peers: [{ address: ${edgePlan.router.lan4}, asn: 64512, holdTime: ${HOLD}, connectRetry: 1 }]
dataplane: { enabled: false }
pools: [{ name: ab, cidrs: [192.168.81.0/24], announce: bgp, bgpMode: activeBackup }]
services:
${VIPS.map((v, s) => `  - { name: svc${s}, vip: ${v}, shard: ${s}, ports: [{ port: 80 }], endpoints: [10.0.0.200] }`).join('\n')}
`;
}

interface VipJson {
  vip: string;
  master: string | null;
  bgp: { announced: boolean; med?: number };
}

async function vipsOf(lab: Lab, i: number): Promise<VipJson[]> {
  const r = await lab.exec(`node${i}`, [...cli, 'get', 'vips', '-o', 'json'], { check: false });
  return r.code === 0 ? (JSON.parse(r.stdout) as VipJson[]) : [];
}

const addrOf = (master: string) => edgePlan.node(Number(master.replace('edge-', ''))).v4;

test('activeBackup: the router follows each shard master, and the new master after a power cut', { timeout: 180_000 }, async () => {
  const lab = await Lab.create(edgeTopology({ prefix: 'hab', nodes: NODES, backends: 0, client: false }));
  const daemons: LabProcess[] = [];
  try {
    const bird = await BirdRouter.start(lab, 'router', {
      asn: 64512,
      routerId: edgePlan.router.lan4,
      neighbors: Array.from({ length: NODES }, (_, k) => ({ address: edgePlan.node(k + 1).v4, asn: 64513, holdTime: HOLD, connectRetry: 1 })),
    });
    const key = lab.writeFile('cluster.key', 'ha-bgp-test-cluster-key-0123456789\n');
    for (let i = 1; i <= NODES; i++) daemons.push(await lab.spawn(`node${i}`, [...cli, 'daemon', '--config', lab.writeFile(`e${i}.yaml`, config(i, key))], { name: `edgelb-${i}` }));
    await bird.waitEstablished(undefined, { timeoutMs: 30_000 });

    // every node agrees on the masters; each node masters exactly one of the three shards
    const masters = await waitUntil(
      async () => {
        const views = await Promise.all([1, 2, 3].map((i) => vipsOf(lab, i)));
        const m = VIPS.map((v) => views[0]!.find((x) => x.vip === v)?.master ?? null);
        const agree = views.every((vw) => VIPS.every((v, k) => vw.find((x) => x.vip === v)?.master === m[k]));
        return agree && m.every(Boolean) && new Set(m).size === NODES ? (m as string[]) : null;
      },
      (x) => x !== null,
      { what: 'agreed shard masters', timeoutMs: 30_000, intervalMs: 200 },
    );
    for (const [k, vip] of VIPS.entries()) {
      const want = addrOf(masters![k]!);
      const r = await lab.waitForFibRoute('router', `${vip}/32`, (x) => x.nexthops.length === 1 && x.nexthops[0] === want, { timeoutMs: 20_000 });
      assert.deepEqual(r.nexthops, [want], `${vip}: the FIB follows master ${masters![k]}`);
      const rib = await bird.waitRoute(`${vip}/32`, (x) => x.paths.length === NODES, { timeoutMs: 20_000 });
      const best = rib.paths.find((p) => p.best)!;
      assert.equal(best.nexthop, want);
      assert.ok(rib.paths.filter((p) => !p.best).every((p) => (p.med ?? 0) > (best.med ?? 0)), 'standbys advertise a higher MED');
    }

    // power cut of shard 0's master: link down and processes killed, no FIN reaches BIRD
    const dead = Number(masters![0]!.replace('edge-', ''));
    const cutAt = Date.now();
    await lab.linkDown(`node${dead}`, 'eth0');
    daemons[dead - 1]!.signal('SIGKILL');
    const survivor = [1, 2, 3].find((i) => i !== dead)!;
    const newMaster = await waitUntil(
      async () => (await vipsOf(lab, survivor)).find((x) => x.vip === VIPS[0])?.master ?? null,
      (m) => m !== null && m !== `edge-${dead}`,
      { what: 'a new master for shard 0', timeoutMs: 10_000, intervalMs: 50 },
    );
    const want = addrOf(newMaster!);
    await lab.waitForFibRoute('router', `${VIPS[0]}/32`, (x) => x.nexthops.length === 1 && x.nexthops[0] === want, { timeoutMs: 15_000 });
    const switchedMs = Date.now() - cutAt;
    // the dead node's session is still up at BIRD (hold timer running), yet the route moved
    const stillUp = (await bird.neighbors()).find((n) => n.address === edgePlan.node(dead).v4)?.state;
    process.stdout.write(`# shard 0 moved from edge-${dead} to ${newMaster}; router FIB switched after ${switchedMs} ms (hold time ${HOLD} s; dead peer at BIRD: ${stillUp})\n`);
    assert.ok(switchedMs < HOLD * 1000, `the router switched before its hold timer (${switchedMs} ms)`);
  } catch (e) {
    process.stdout.write(lab.logs(20) + '\n');
    throw e;
  } finally {
    await lab.teardown();
  }
});
