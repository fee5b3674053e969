// Benchmark: HTTP requests per second through a VIP (wrk in the client namespace, 3 backends,
// the lab's edge topology) with the XDP data path in onearm mode, beside iptables DNAT+MASQUERADE
// (the same translation done by netfilter) configured on the same node in the same topology, and
// the CPU time the whole machine spent per request in each run. Root.
//   npx tsx bench/dataplane-wrk.ts [seconds] [connections]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Lab, edgeTopology, edgePlan, run, waitUntil, type LabProcess } from '../test/lab/lib/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = ['node', '--import', 'tsx'];
const SECONDS = Number(process.argv[2] ?? '8');
const CONNS = Number(process.argv[3] ?? '32');
const VIP = '10.200.0.2';
const NODE4 = edgePlan.node(1).v4;
const nodeName = `xdpw-${process.pid}`;

function cpuTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
  return line.reduce((a, b) => a + b, 0) - line[3]! - line[4]!;
}

async function wrk(lab: Lab, seconds = SECONDS): Promise<{ rps: number; requests: number; cpuMsPerKReq: number; errors: string }> {
  const t0 = cpuTicks();
  const r = await lab.exec('client', ['wrk', '-t1', `-c${CONNS}`, `-d${seconds}s`, `http://${VIP}/`], { timeoutMs: (seconds + 30) * 1000 });
  const ticks = cpuTicks() - t0;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0);
  const errors = /Socket errors:.*|Non-2xx.*/.exec(r.stdout)?.[0] ?? '';
  return { rps, requests, cpuMsPerKReq: requests ? (ticks * 10 * 1000) / requests : 0, errors };
}

const lab = await Lab.create(edgeTopology({ prefix: 'xdpw', nodes: 1, backends: 3, client: true }));
let owner: LabProcess | undefined;
try {
  await run(['make', '-s', '-C', ROOT, 'build/bpf/edgelb_xdp.bpf.o']);
  await lab.sysctl('node1', { 'net.ipv4.ip_forward': 1 });
  await lab.addRoute('router', { to: '10.200.0.0/24', via: NODE4 });
  const backends = [1, 2, 3].map((j) => edgePlan.backend(j).v4);
  for (let j = 1; j <= 3; j++) {
    await lab.txOffloadOff(`be${j}`, 'eth0');
    const srv = await lab.spawn(`be${j}`, [...TSX, `${ROOT}/test/lab/dataplane-backend.ts`, `be${j}`], { name: `srv${j}`, cwd: ROOT, env: { ...process.env, KEEPALIVE: '1' } });
    await waitUntil(() => srv.output().includes('LISTENING'), (x) => x, { timeoutMs: 20_000, what: 'backend' });
  }
  await lab.exec('node1', ['ping', '-c1', '-W2', edgePlan.router.lan4]);
  for (const b of backends) await lab.exec('node1', ['ping', '-c1', '-W2', b]);

  // 1. iptables: DNAT spread over the 3 backends + MASQUERADE (what onearm does)
  const ipt = (...a: string[]) => lab.exec('node1', ['iptables', ...a]);
  const rules = [
    ['-t', 'nat', '-A', 'PREROUTING', '-d', VIP, '-p', 'tcp', '--dport', '80', '-m', 'statistic', '--mode', 'nth', '--every', '3', '--packet', '0', '-j', 'DNAT', '--to-destination', `${backends[0]}:8080`],
    ['-t', 'nat', '-A', 'PREROUTING', '-d', VIP, '-p', 'tcp', '--dport', '80', '-m', 'statistic', '--mode', 'nth', '--every', '2', '--packet', '0', '-j', 'DNAT', '--to-destination', `${backends[1]}:8080`],
    ['-t', 'nat', '-A', 'PREROUTING', '-d', VIP, '-p', 'tcp', '--dport', '80', '-j', 'DNAT', '--to-destination', `${backends[2]}:8080`],
    ['-t', 'nat', '-A', 'POSTROUTING', '-d', '10.0.0.0/24', '-o', 'eth0', '-j', 'MASQUERADE'],
  ];
  for (const rule of rules) await ipt(...rule);
  const check = await lab.exec('client', ['curl', '-s', '--max-time', '3', `http://${VIP}/`], { check: false });
  if (!/^be\d/.test(check.stdout)) throw new Error(`iptables path does not answer: ${check.stdout}`);
  await wrk(lab, 3); // warm the backends (JIT) before anything is measured
  const iptables1 = await wrk(lab);
  await ipt('-t', 'nat', '-F');

  // 2. edgelb XDP, onearm, generic mode (veth)
  const services = [{ name: 'web', vip: VIP, port: 80, protocol: 'tcp', mode: 'onearm', backends: backends.map((address) => ({ address, port: 8080 })), epSelect: 'maglev', timeoutSec: 300 }];
  owner = await lab.spawn('node1', [...TSX, `${ROOT}/test/lab/dataplane-owner.ts`, 'run', JSON.stringify({ nodeName, iface: 'eth0', routerId: NODE4, attachMode: 'generic', services })], { name: 'owner', cwd: ROOT });
  await waitUntil(() => owner!.output().includes('READY '), (x) => x, { timeoutMs: 30_000, what: 'owner' });
  const check2 = await lab.exec('client', ['curl', '-s', '--max-time', '3', `http://${VIP}/`], { check: false });
  if (!/^be\d/.test(check2.stdout)) throw new Error(`XDP path does not answer: ${check2.stdout}`);
  const xdp = await wrk(lab);
  // iptables once more after the XDP run (order effects): detach XDP, same rules again
  owner.signal('SIGTERM');
  await owner.exited;
  await lab.exec('node1', [...TSX, `${ROOT}/test/lab/dataplane-owner.ts`, 'cleanup', JSON.stringify({ nodeName, iface: 'eth0' })], { cwd: ROOT });
  owner = undefined;
  for (const rule of rules) await ipt(...rule);
  const iptables2 = await wrk(lab);
  const iptables = {
    rps: (iptables1.rps + iptables2.rps) / 2,
    cpuMsPerKReq: (iptables1.cpuMsPerKReq + iptables2.cpuMsPerKReq) / 2,
    errors: [iptables1.errors, iptables2.errors].filter(Boolean).join('; '),
  };
  console.log(`iptables runs: ${iptables1.rps.toFixed(0)} and ${iptables2.rps.toFixed(0)} req/s`);

  console.log(`wrk -t1 -c${CONNS} -d${SECONDS}s through the VIP, 3 node.js backends (keep-alive), lab topology, ${(await run(['nproc'])).stdout.trim()} CPUs shared by everything`);
  console.log('path'.padEnd(36), 'req/s'.padStart(9), 'CPU ms/1k req'.padStart(14), ' errors');
  console.log('iptables DNAT+MASQUERADE (anchor)'.padEnd(36), iptables.rps.toFixed(0).padStart(9), iptables.cpuMsPerKReq.toFixed(1).padStart(14), iptables.errors);
  console.log('edgelb XDP onearm (generic)'.padEnd(36), xdp.rps.toFixed(0).padStart(9), xdp.cpuMsPerKReq.toFixed(1).padStart(14), xdp.errors);
  console.log(`ratio edgelb/iptables: ${(xdp.rps / iptables.rps).toFixed(2)} (req/s), ${(xdp.cpuMsPerKReq / iptables.cpuMsPerKReq).toFixed(2)} (CPU per request)`);
} finally {
  owner?.signal('SIGTERM');
  await lab.exec('node1', [...TSX, `${ROOT}/test/lab/dataplane-owner.ts`, 'cleanup', JSON.stringify({ nodeName, iface: 'eth0' })], { check: false, cwd: ROOT }).catch(() => undefined);
  await lab.teardown();
}
