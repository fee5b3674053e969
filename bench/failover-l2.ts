// Benchmark: L2 failover time, owner killed (SIGKILL) → the client's UDP probe stream flows again,
// over 20 runs, split into detection (kill → first gratuitous ARP from the new owner seen at the
// client) and neighbour-cache update (that → first reply). Anchor, in the same lab and the same
// run, measured the same way: keepalived (Debian) with VRRPv3 and advert_int 0.1 for one VIP,
// its master node's keepalived and responder killed with SIGKILL.
//   npx tsx bench/failover-l2.ts [runs]
import { L2Lab, CLIENT, NODES, PORT, RUNNER, REPO, analyseOutage, type ProbeResult } from './l2-lab.js';
import type { LabProcess } from '../test/lab/lib/index.js';
import { waitUntil } from '../test/lab/lib/index.js';

const RUNS = Number(process.argv[2] ?? 20);
const VIP_EDGE = '10.0.0.201'; // shard 1
const VIP_KA = '10.0.0.210';
const TIMING = { intervalMs: 30, deadAfterMs: 150, holdDownMs: 500, garpCount: 3, garpIntervalMs: 50 };

type Sample = { outageMs: number; detectionMs: number; cacheMs: number };
const pct = (xs: number[], p: number) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function keepalivedConf(node: string, prio: number): string {
  return `global_defs {
  router_id ${node}
  vrrp_garp_master_delay 0
}
vrrp_instance VI_BENCH {
  state BACKUP
  interface eth0
  virtual_router_id 51
  version 3
  priority ${prio}
  advert_int 0.1
  virtual_ipaddress {
    ${VIP_KA}/32 dev eth0
  }
}
`;
}

async function main() {
  const l = await L2Lab.create('l2hb', TIMING);
  const edge: Sample[] = [];
  const ka: Sample[] = [];
  const invalid = { edge: 0, ka: 0 };
  try {
    // ---- edgelb ----
    for (const n of NODES) await l.startNode(n);
    for (let i = 0; i < RUNS; i++) {
      for (const n of NODES) if (!l.runners.get(n)?.running) await l.startNode(n);
      await l.waitBalanced([...NODES], 30_000);
      await sleep(TIMING.holdDownMs + 700); // hand-overs after a return have settled
      const masters = await l.waitBalanced([...NODES], 30_000);
      const victim = masters[1]!;
      await l.lab.ip(CLIENT.name, ['neigh', 'flush', 'to', VIP_EDGE], { check: false }); // each run starts resolved afresh
      let killT = 0;
      const r = await l.client<ProbeResult>('probe', { vip: VIP_EDGE, port: PORT, everyMs: 5, durationMs: 2000 }, async () => {
        await sleep(600);
        killT = await l.kill(victim);
      });
      const a = analyseOutage(r, killT, victim, VIP_EDGE, l.macs);
      if (!a) {
        invalid.edge++;
        console.log(`edgelb    run ${String(i + 1).padStart(2)}: not counted (${victim} was not serving the client at the kill, or no recovery)`);
        if (invalid.edge > RUNS) throw new Error('too many invalid runs');
        i--;
        continue;
      }
      edge.push(a);
      console.log(`edgelb    run ${String(i + 1).padStart(2)}: outage ${a.outageMs} ms (detection ${a.detectionMs}, cache ${a.cacheMs}) ${victim} → ${a.newOwner}`);
    }
    for (const p of l.runners.values()) p.signal('SIGTERM');
    await Promise.all([...l.runners.values()].map((p) => p.exited));

    // ---- keepalived VRRPv3, advert_int 0.1 ----
    const prios = [150, 100, 50];
    const kas = new Map<string, LabProcess>();
    const resp = new Map<string, LabProcess>();
    const startKa = async (n: string, i: number) => {
      const conf = l.lab.writeFile(`ka-${n}.conf`, keepalivedConf(n, prios[i]!), 0o644);
      const dir = l.lab.path('');
      kas.set(n, await l.lab.spawn(n, ['keepalived', '-n', '-l', '-D', '-P', '-f', conf, '-p', `${dir}/ka-${n}.pid`, '-r', `${dir}/ka-${n}-vrrp.pid`, '-c', `${dir}/ka-${n}-chk.pid`], { name: `ka-${n}` }));
      const p = await l.lab.spawn(n, ['node', '--import', 'tsx', RUNNER, 'respond', JSON.stringify({ name: n, vips: [VIP_KA], port: PORT })], { name: `resp-${n}`, cwd: REPO });
      await waitUntil(() => p.output().includes('"started"') || !p.running, { timeoutMs: 20_000, what: `responder ${n}` });
      resp.set(n, p);
    };
    const kaMaster = async () => {
      for (const n of NODES) {
        const j = JSON.parse((await l.lab.ip(n, ['-j', 'addr', 'show', 'dev', 'eth0'])).stdout) as Array<{ addr_info: Array<{ local: string }> }>;
        if (j[0]!.addr_info.some((a) => a.local === VIP_KA)) return n;
      }
      return undefined;
    };
    for (const [i, n] of NODES.entries()) await startKa(n, i);
    for (let i = 0; i < RUNS; i++) {
      for (const [k, n] of NODES.entries()) if (!kas.get(n)?.running) await startKa(n, k);
      await sleep(1500); // preemption back to the highest priority, gratuitous ARPs done
      const victim = (await waitUntil(() => kaMaster(), { timeoutMs: 10_000, what: 'a keepalived master' }))!;
      await l.lab.ip(CLIENT.name, ['neigh', 'flush', 'to', VIP_KA], { check: false });
      let killT = 0;
      const r = await l.client<ProbeResult>('probe', { vip: VIP_KA, port: PORT, everyMs: 5, durationMs: 2000 }, async () => {
        await sleep(600);
        killT = Date.now();
        // the whole node's service dies at once: keepalived (parent and VRRP child) and the responder
        const pids = (await l.lab.exec(victim, ['sh', '-c', `cat ${l.lab.path(`ka-${victim}-vrrp.pid`)}; true`])).stdout.trim();
        await l.lab.exec(victim, ['kill', '-KILL', ...(pids ? [pids] : []), String(kas.get(victim)!.pid), String(resp.get(victim)!.pid)], { check: false });
      });
      await kas.get(victim)!.exited;
      await resp.get(victim)!.exited;
      await l.lab.ip(victim, ['addr', 'del', `${VIP_KA}/32`, 'dev', 'eth0'], { check: false });
      const a = analyseOutage(r, killT, victim, VIP_KA, l.macs);
      if (!a) {
        invalid.ka++;
        console.log(`keepalived run ${String(i + 1).padStart(2)}: not counted (${victim} was not serving the client at the kill, or no recovery)`);
        if (invalid.ka > RUNS) throw new Error(`too many invalid runs\n${l.lab.logs(10)}`);
        i--;
        continue;
      }
      ka.push(a);
      console.log(`keepalived run ${String(i + 1).padStart(2)}: outage ${a.outageMs} ms (detection ${a.detectionMs}, cache ${a.cacheMs}) ${victim} → ${a.newOwner}`);
    }
    for (const p of [...kas.values(), ...resp.values()]) p.signal('SIGKILL');
  } catch (e) {
    console.error(l.lab.logs(20));
    throw e;
  } finally {
    await l.teardown();
  }

  const row = (name: string, key: keyof Sample) => {
    const e50 = pct(edge.map((s) => s[key]), 50);
    const e99 = pct(edge.map((s) => s[key]), 99);
    const k50 = pct(ka.map((s) => s[key]), 50);
    const k99 = pct(ka.map((s) => s[key]), 99);
    return `${name.padEnd(22)} edgelb p50 ${String(e50).padStart(4)} ms  p99 ${String(e99).padStart(4)} ms | keepalived p50 ${String(k50).padStart(4)} ms  p99 ${String(k99).padStart(4)} ms | ratio p50 ${(e50 / k50).toFixed(2)}  p99 ${(e99 / k99).toFixed(2)}`;
  };
  console.log(`\nL2 failover, owner killed (SIGKILL), ${RUNS} runs each, same lab, same run (client ${CLIENT.v4}, UDP probe every 5 ms)`);
  console.log(`edgelb: heartbeat ${TIMING.intervalMs} ms, dead after ${TIMING.deadAfterMs} ms; keepalived: VRRPv3 advert_int 0.1; runs not counted (victim not serving at the kill): edgelb ${invalid.edge}, keepalived ${invalid.ka}`);
  console.log(row('total outage', 'outageMs'));
  console.log(row('detection+announce', 'detectionMs'));
  console.log(row('neighbour cache', 'cacheMs'));
}

await main();
