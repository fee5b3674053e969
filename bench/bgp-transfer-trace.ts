// Diagnostic, not a benchmark: where the time of one initial transfer goes (bench/results/
// bgp-transfer.md's edgelb and BIRD senders, the same receiver, the same N). The edgelb sender runs
// under bench/lib/bgp-trace-preload.mjs (its socket events, wall-clock µs) and, with CPUPROF=dir,
// `--cpu-prof`; tcpdump on the router's bridge gives every BGP message on the wire.
//   node --import tsx bench/bgp-transfer-trace.ts [N] [family] [runs]   (root, under the lab lock)
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Lab, edgeTopology, edgePlan, waitUntil } from '../test/lab/lib/index.js';
import { BirdControl } from './lib/birdc.js';
import { DAEMON_NODE_FLAGS, REPO, SPEAKER_CHILD, prefixes, startBird, type Family } from './lib/senders.js';
import { connectedAt } from './bgp-transfer.js';

const N = Number(process.argv[2] ?? 10_000);
const FAM = Number(process.argv[3] ?? 4) as Family;
const RUNS = Number(process.argv[4] ?? 3);
const PRELOAD = fileURLToPath(new URL('./lib/bgp-trace-preload.mjs', import.meta.url));
const R = edgePlan.router;
const fmt = (us: number, t0: number) => ((us - t0) / 1000).toFixed(2).padStart(8);

const lab = await Lab.create(edgeTopology({ prefix: 'btt', nodes: 2, client: false, ipv6: FAM === 6 }));
try {
  const f = `ipv${FAM}`;
  const names = ['edgelb', 'bird'];
  const conf = ['router id 10.0.0.1;', 'log stderr all;', 'timeformat log "%F %T.%3f";', 'debug protocols { states, events };', 'protocol device {}'];
  names.forEach((name, k) => {
    const n = edgePlan.node(k + 1);
    conf.push(`protocol bgp from_${name} {\n  disabled yes;\n  local ${FAM === 4 ? R.lan4 : R.lan6} as 64512;\n  neighbor ${FAM === 4 ? n.v4 : n.v6} as ${64601 + k};\n  hold time 90;\n  connect delay time 0;\n  connect retry time 1;\n  graceful restart off;\n  ${f} { import all; export none; };\n}`);
  });
  const sock = lab.path('receiver.ctl');
  const receiver = await lab.spawn('router', ['bird', '-f', '-c', lab.writeFile('receiver.conf', conf.join('\n') + '\n', 0o644), '-s', sock, '-P', lab.path('receiver.pid')], { name: 'receiver' });
  await waitUntil(async () => receiver.running && (await lab.exec('router', ['birdc', '-s', sock, 'show', 'status'], { check: false })).code === 0, (x) => x, { timeoutMs: 15_000, what: 'receiver' });
  const ctl = await BirdControl.open(sock);
  const list = prefixes(FAM, N);
  const n1 = edgePlan.node(1);
  const prefixFile = lab.writeFile('p.txt', list.join('\n') + '\n', 0o644);
  const peer = { address: FAM === 4 ? R.lan4 : R.lan6, asn: 64512, port: 179, holdTime: 90, passive: true, connectRetry: 1, idleHold: 1, gracefulRestart: false, restartTime: 30, families: [FAM === 4 ? 'ipv4' : 'ipv6'], exportPolicies: [], maxPrefixes: 0, localAddress: FAM === 4 ? n1.v4 : n1.v6 };
  const cfg = lab.writeFile('edgelb.json', JSON.stringify({ asn: 64601, routerId: n1.v4, listenPort: 179, peers: [peer], prefixFile }));
  const prof = process.env.CPUPROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CPUPROF}`, '--cpu-prof-interval=100'] : [];
  const edgelb = await lab.spawn('node1', [process.execPath, ...DAEMON_NODE_FLAGS, ...prof, '--import', PRELOAD, SPEAKER_CHILD, cfg], { name: 'edgelb', cwd: REPO });
  await waitUntil(() => edgelb.output().includes('READY'), (x) => x, { timeoutMs: 60_000, what: 'edgelb ready' });
  const readyUs = Date.now() * 1000;
  const n2 = edgePlan.node(2);
  const bird = await startBird(lab, 'node2', { family: FAM, asn: 64602, address: FAM === 4 ? n2.v4 : n2.v6, routerId: n2.v4, peer: FAM === 4 ? R.lan4 : R.lan6, peerAsn: 64512, prefixes: list }, 'bird');
  const pcap = lab.path('t.pcap');
  const dump = await lab.spawn('router', ['tcpdump', '-i', 'br0', '-U', '-w', pcap, '-s', '200', 'tcp port 179'], { name: 'tcpdump' });
  await new Promise((r) => setTimeout(r, 1000));
  const results: string[] = [];
  for (let run = 0; run < RUNS; run++) {
    for (const name of run % 2 ? [...names].reverse() : names) {
      const proto = `from_${name}`;
      const logFrom = receiver.output().length;
      const samples: Array<[number, number]> = [];
      await ctl.cmd(`enable ${proto}`);
      for (;;) {
        const got = await ctl.imported(proto);
        samples.push([Date.now(), got]);
        if (got >= N) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      const tAll = Date.now();
      await ctl.cmd(`disable ${proto}`);
      await waitUntil(() => ctl.imported(proto), (x) => x === 0, { timeoutMs: 60_000, intervalMs: 50, what: 'gone' });
      const c = connectedAt(receiver.output().slice(logFrom), proto);
      const firstSome = samples.find(([, n]) => n > 0)?.[0] ?? NaN;
      results.push(`run ${run} ${name}: connected ${new Date(c).toISOString()} → first routes +${firstSome - c} ms, all +${tAll - c} ms; samples ${samples.map(([t, n]) => `${t - c}:${n}`).join(' ')}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await dump.stop();
  console.log(results.join('\n'));
  // the wire: every BGP message with its time (tcpdump -tt: wall-clock µs)
  const wire = execFileSync('tcpdump', ['-r', pcap, '-tt', '-nn', '-v'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  console.log('--- wire (µs since edgelb READY)');
  const t0 = readyUs;
  for (const line of wire.split('\n')) {
    const m = /^(\d+)\.(\d{6}) IP6? .*?$/.exec(line);
    if (m) { const us = Number(m[1]) * 1e6 + Number(m[2]); const short = line.replace(/^\S+ /, '').replace(/\(tos.*?\)\s*/, ''); console.log(`${fmt(us, t0)} ${short.slice(0, 150)}`); continue; }
    const k = /(Open|Keepalive|Update|Notification) Message \(\d\), length: (\d+)/.exec(line);
    if (k) console.log(`           ${k[1]} ${k[2]}`);
  }
  console.log('--- edgelb socket trace');
  for (const line of edgelb.output().split('\n')) {
    const m = /^TRACE (\d+) (\S+) (\d+)/.exec(line);
    if (m) console.log(`${fmt(Number(m[1]), t0)} ${m[2]} ${m[3]}`);
  }
  await edgelb.stop();
  await bird.stop();
  ctl.close();
} finally {
  await lab.teardown();
}
