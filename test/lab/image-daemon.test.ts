// The edgelb image, run by podman exactly as the DaemonSet runs it (manifests/daemonset.yaml:
// securityContext, host network = node1's namespace, the host's /sys/fs/bpf, the config folder),
// in the edge lab with BIRD as the router: the privileged init step turns forwarding on (the
// daemon's container cannot), the daemon peers with BIRD and forwards through XDP, serves metrics
// on the node's address (and nothing else there), reports how its heartbeat thread is scheduled,
// is restarted (a rolling update) without dropping an established connection, keeps a drain across
// a restart, and an uninstall (edgelb cleanup from the same image) detaches XDP and removes pins.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Lab, edgeTopology, edgePlan, BirdRouter, run, waitUntil, type LabProcess } from './lib/index.js';
import { ROOT, IMAGE, daemonSetPod, podman, containerFlags, initContainer } from './image-lib.js';

const TSX = ['node', '--import', 'tsx'];
const here = (f: string) => join(ROOT, 'test/lab', f);
const VIP = '10.201.0.1';
const NODE4 = edgePlan.node(1).v4;
const pod = daemonSetPod();
const daemonCtr = pod.containers[0]!;

let lab: Lab | undefined;
let bird: BirdRouter;
let nodeName = '';
let pinDir = '';
let configDir = '';
let seq = 0;
let current = '';
let rtCgroup = '';

function config(): string {
  return `node: { name: ${nodeName}, routerId: ${NODE4}, interface: eth0 }
api: { listen: 127.0.0.1:11111, metricsListen: ${NODE4}:11113 }
cluster: { listen: ${NODE4}:11112, members: [${NODE4}, ${edgePlan.node(2).v4}], keyFile: /etc/edgelb/cluster.key, shards: 1, holdDown: 0s }
bgp:
  asn: 64513
  listenPort: 0
  peers: [{ address: ${edgePlan.router.lan4}, asn: 64512, holdTime: 9, connectRetry: 1 }]
pools: [{ name: p, cidrs: [10.201.0.0/24], announce: bgp }]
services:
  - { name: web, vip: ${VIP}, mode: onearm, ports: [{ port: 80, targetPort: 8080 }, { port: 9000 }], endpoints: [${edgePlan.backend(1).v4}, ${edgePlan.backend(2).v4}] }
`;
}

/** Start the daemon's container (a new pod of the DaemonSet); resolves when its API answers. */
async function startDaemon(extra: string[] = []): Promise<string> {
  const name = `${lab!.tag}-edgelb-${++seq}`;
  const flags = containerFlags(pod, daemonCtr, { netns: lab!.netns('node1'), configDir });
  await podman(['run', '-d', '--name', name, ...flags, ...extra, '-e', `NODE_NAME=${nodeName}`, IMAGE, 'daemon', '--config', '/etc/edgelb/config.yaml']);
  current = name;
  await waitUntil(
    async () => {
      const st = await podman(['inspect', '-f', '{{.State.Running}}', name], { check: false });
      if (st.stdout.trim() !== 'true') throw new Error(`container ${name} stopped:\n${(await podman(['logs', name], { check: false })).stdout}`);
      return (await podman(['exec', name, 'edgelb', 'get', 'ha', '-o', 'json'], { check: false })).code === 0;
    },
    (ok) => ok,
    { timeoutMs: 60_000, intervalMs: 300, what: `${name} API` },
  );
  return name;
}

/** A rolling update's end for one pod: SIGTERM (podman stop), the container removed. */
async function stopDaemon(name: string): Promise<string> {
  await podman(['stop', '-t', '30', name]);
  const logs = (await podman(['logs', name], { check: false })).stdout;
  await podman(['rm', '-f', name], { check: false });
  return logs;
}

async function logsOf(name: string): Promise<string> {
  return (await podman(['logs', name], { check: false })).stdout;
}

async function xdpProg(): Promise<string> {
  const r = await lab!.exec('node1', ['ip', '-j', '-d', 'link', 'show', 'dev', 'eth0']);
  const link = (JSON.parse(r.stdout) as Array<{ xdp?: { prog?: { name?: string }; attached?: Array<{ prog?: { name?: string } }> } }>)[0]!;
  return link.xdp?.prog?.name ?? link.xdp?.attached?.[0]?.prog?.name ?? '';
}

async function curl(url: string): Promise<string> {
  return (await lab!.exec('client', ['curl', '-s', '--max-time', '3', url], { check: false })).stdout.trim();
}

async function metrics(): Promise<string> {
  const r = await lab!.exec('router', ['curl', '-s', '--max-time', '3', `http://${NODE4}:11113/metrics`], { check: false });
  return r.stdout;
}

/** Remove a cgroup (v1) folder from every hierarchy, children first (cgroupfs allows only rmdir). */
function removeCgroup(name: string): void {
  const rm = (dir: string) => {
    for (const e of readdirSync(dir)) if (statSync(join(dir, e)).isDirectory()) rm(join(dir, e));
    rmdirSync(dir);
  };
  for (const ctl of readdirSync('/sys/fs/cgroup')) {
    const dir = join('/sys/fs/cgroup', ctl, name);
    try {
      if (existsSync(dir)) rm(dir);
    } catch {
      // still in use, or not a cgroup hierarchy
    }
  }
}

/** A cpu cgroup (v1) with a real-time budget for the container, as a node's runtime would give. */
async function rtParent(): Promise<string | undefined> {
  const base = '/sys/fs/cgroup/cpu';
  if (!existsSync(join(base, 'cpu.rt_runtime_us'))) return undefined;
  const dir = join(base, `edgelb-${lab!.tag}`);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, 'cpu.rt_runtime_us'), '50000');
    rtCgroup = `edgelb-${lab!.tag}`;
    return `/edgelb-${lab!.tag}`;
  } catch {
    removeCgroup(`edgelb-${lab!.tag}`);
    return undefined;
  }
}

describe('edgelb image in a DaemonSet-like container', { timeout: 600_000 }, () => {
  before(async () => {
    // `make test` builds the image first; a direct run builds it here (cached by its inputs' hash)
    await run([join(ROOT, 'scripts/image.sh')], { timeoutMs: 1_200_000 });
    lab = await Lab.create(edgeTopology({ prefix: 'img', nodes: 1, backends: 2, client: true }));
    nodeName = `img-${lab.tag}`;
    pinDir = `/sys/fs/bpf/edgelb/${nodeName}`;
    lab.own({ name: 'edgelb containers', stop: async () => void (await run(['sh', '-c', `podman ps -aq --filter name=^${lab!.tag}- | xargs -r podman rm -f`], { env: { CONTAINERS_CONF: join(ROOT, 'image/containers.conf') }, check: false })) });
    configDir = join(lab.dir, 'etc');
    mkdirSync(configDir);
    writeFileSync(join(configDir, 'config.yaml'), config());
    writeFileSync(join(configDir, 'cluster.key'), 'image-test-cluster-key-0123456789abcdef\n', { mode: 0o600 });
    bird = await BirdRouter.start(lab, 'router', { asn: 64512, routerId: edgePlan.router.lan4, neighbors: [{ address: NODE4, asn: 64513, holdTime: 9, connectRetry: 1 }] });
    for (const j of [1, 2]) {
      const p: LabProcess = await lab.spawn(`be${j}`, [...TSX, here('dataplane-backend.ts'), `be${j}`], { name: `be${j}`, cwd: ROOT });
      await waitUntil(() => p.output().includes('LISTENING'), (x) => x, { timeoutMs: 20_000, what: `backend ${j}` });
    }
  });

  after(async () => {
    try {
      if (lab) {
        await run(['sh', '-c', `podman ps -aq --filter name=^${lab.tag}- | xargs -r podman rm -f`], { env: { CONTAINERS_CONF: join(ROOT, 'image/containers.conf') }, check: false });
        await lab.exec('node1', ['ip', 'link', 'set', 'dev', 'eth0', 'xdpgeneric', 'off'], { check: false });
      }
    } finally {
      await lab?.teardown();
      if (pinDir && existsSync(pinDir)) rmSync(pinDir, { recursive: true, force: true });
      if (rtCgroup) removeCgroup(rtCgroup);
    }
  });

  test('forwarding: the daemon\'s container cannot set it, the privileged init step does', async () => {
    const sysctl = async () => (await lab!.exec('node1', ['sysctl', '-n', 'net.ipv4.conf.eth0.forwarding', 'net.ipv6.conf.eth0.forwarding'])).stdout.trim().split('\n');
    assert.deepEqual(await sysctl(), ['0', '0'], 'a fresh node does not forward');
    const { init, args } = initContainer(pod);
    const env = ['-e', `NODE_NAME=${nodeName}`];
    // with the daemon's own securityContext, /proc/sys is read-only
    const denied = await podman(['run', '--rm', ...containerFlags(pod, daemonCtr, { netns: lab!.netns('node1'), configDir }), ...env, IMAGE, ...args], { check: false });
    assert.notEqual(denied.code, 0, 'the daemon container wrote /proc/sys');
    assert.match(denied.stderr + denied.stdout, /could not enable ipv4 forwarding on eth0: .*(read-only|permission denied)/i);
    assert.deepEqual(await sysctl(), ['0', '0']);
    // the init container as the DaemonSet declares it (privileged, `edgelb forwarding`)
    await podman(['run', '--rm', ...containerFlags(pod, init, { netns: lab!.netns('node1'), configDir }), ...env, IMAGE, ...args]);
    assert.deepEqual(await sysctl(), ['1', '1'], 'forwarding on for the uplink');
    assert.equal((await lab!.exec('node1', ['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim(), '0', 'and only for the uplink');
  });

  test('daemon: peers with BIRD, forwards through XDP, metrics only on the node address, heartbeat scheduling reported', async (t) => {
    const parent = await rtParent();
    const rt = parent ? ['--cgroup-parent', parent, '--cpu-rt-runtime', '20000', '--cpu-rt-period', '1000000'] : [];
    const name = await startDaemon(rt);
    await bird.waitEstablished(undefined, { timeoutMs: 30_000 });
    await bird.waitRoute(`${VIP}/32`, () => true, { timeoutMs: 30_000 });
    await lab!.waitForFibRoute('router', `${VIP}/32`, (r) => r.nexthops.includes(NODE4), { timeoutMs: 15_000 });
    const logs = await logsOf(name);
    assert.doesNotMatch(logs, /could not enable ipv[46] forwarding/, 'the daemon found forwarding on');
    assert.equal(await xdpProg(), 'edgelb_xdp');

    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const body = await curl(`http://${VIP}/`);
      assert.match(body, /^be[12] 10\.0\.0\.11$/, `onearm answer through the VIP: "${body}"`);
      seen.add(body.split(' ')[0]!);
    }
    const text = await metrics();
    const pkts = /^edgelb_dataplane_packets_total\{service="web\/[^"]*",vip="10\.201\.0\.1",port="80",protocol="tcp"\} (\d+)/m.exec(text);
    assert.ok(pkts && Number(pkts[1]) > 0, `XDP counted the requests:\n${text.split('\n').filter((l) => l.includes('packets_total')).join('\n')}`);
    t.diagnostic(`backends answering: ${[...seen].sort().join(', ')}; XDP packets for web/80: ${pkts![1]}`);
    // the metrics listener serves nothing else; /v1 is on loopback only
    const v1 = await lab!.exec('router', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${NODE4}:11113/v1/ha`], { check: false });
    assert.equal(v1.stdout, '404');
    const lo = await lab!.exec('router', ['curl', '-s', '--max-time', '2', `http://${NODE4}:11111/v1/ha`], { check: false });
    assert.notEqual(lo.code, 0, 'the /v1 API is not reachable from the router');

    // real-time priority: with an RT budget SCHED_FIFO, else the fallback is in the metric and the log
    const sched = /^edgelb_cluster_heartbeat_scheduling\{policy="([^"]+)",realtime="(true|false)"\} 1$/m.exec(text);
    assert.ok(sched, 'the heartbeat scheduling metric is exported');
    t.diagnostic(`heartbeat thread: ${sched![1]} (RT budget given: ${parent ? 'yes' : 'no'})`);
    if (sched![2] === 'false') assert.match(logs, /heartbeat thread without real-time priority/);
    if (parent) assert.equal(sched![1], 'SCHED_FIFO 10', 'SYS_NICE plus an RT budget give SCHED_FIFO');

    // the Grafana dashboard queries only metrics this daemon exports
    const dash = readFileSync(join(ROOT, 'charts/edgelb/dashboards/edgelb.json'), 'utf8');
    const wanted = [...new Set([...dash.matchAll(/\b(edgelb_[a-z0-9_]+?)(?:_bucket|_sum|_count)?\b/g)].map((m) => m[1]!))];
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    assert.ok(wanted.length >= 10, `the dashboard queries ${wanted.length} metrics`);
    assert.deepEqual(wanted.filter((m) => !exported.has(m)), [], 'dashboard metrics missing from /metrics');

    // memory: idle RSS below the DaemonSet's request
    const pid = (await podman(['inspect', '-f', '{{.State.Pid}}', name])).stdout.trim();
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    const values = parseYaml(readFileSync(join(ROOT, 'charts/edgelb/values.yaml'), 'utf8')) as { resources: { requests: { memory: string } } };
    const requestMi = Number(values.resources.requests.memory.replace('Mi', ''));
    t.diagnostic(`daemon RSS ${Math.round(rssKb / 1024)} MiB; memory request ${requestMi} MiB`);
    assert.ok(rssKb / 1024 < requestMi, `RSS ${Math.round(rssKb / 1024)} MiB is above the request ${requestMi} MiB`);
  });

  test('rolling update: a new container (without RT budget: fallback reported) takes the data path over, the established connection lives on', async (t) => {
    const conn = await lab!.spawn('client', [...TSX, here('dataplane-longconn.ts'), VIP, '9000', '14'], { name: `longconn-${seq}`, cwd: ROOT });
    await new Promise((r) => setTimeout(r, 2_500)); // lines flowing before the update
    assert.ok(conn.running, `the connection failed early:\n${conn.output()}`);
    const oldLogs = await stopDaemon(current);
    assert.match(oldLogs, /keeping routes and data path for a restart/);
    assert.equal(await xdpProg(), 'edgelb_xdp', 'XDP stays attached between the two pods');
    assert.ok(existsSync(pinDir), 'pins stay');
    const name = await startDaemon();
    await waitUntil(async () => /taken over from the previous daemon/.test(await logsOf(name)), (x) => x, { timeoutMs: 20_000, what: 'takeover logged' });
    // taken over from the program's pin: the DaemonSet's capabilities hold no SYS_ADMIN
    assert.ok(!daemonSetPod().containers[0]!.securityContext!.capabilities!.add!.includes('SYS_ADMIN'));
    assert.doesNotMatch(await logsOf(name), /needs CAP_SYS_ADMIN|Operation not permitted/);
    // this pod got no RT budget: the fallback is reported in the metric and the log
    assert.match(await metrics(), /^edgelb_cluster_heartbeat_scheduling\{policy="(nice -10|normal)",realtime="false"\} 1$/m);
    assert.match(await logsOf(name), /heartbeat thread without real-time priority/);
    const line = await waitUntil(() => conn.output().split('\n').find((l) => l.startsWith('RESULT ')), (l) => l !== undefined, { timeoutMs: 40_000, what: 'connection result' });
    const r = JSON.parse(line!.slice(7)) as { sent: number; echoed: number; maxRttMs: number; errors: string[]; closed: boolean };
    t.diagnostic(`across the restart: ${r.echoed}/${r.sent} lines echoed, max RTT ${r.maxRttMs} ms`);
    assert.deepEqual(r.errors, []);
    assert.equal(r.closed, false, 'the connection was not closed');
    assert.equal(r.echoed, r.sent, 'every line came back');
    assert.match(await curl(`http://${VIP}/`), /^be[12] /, 'new connections work through the new pod');
  });

  test('drain: kept beside the pins, a restarted container stays drained until undrain', async () => {
    const drained = await podman(['exec', current, 'edgelb', 'drain']);
    assert.equal(drained.code, 0);
    await bird.waitNoRoute(`${VIP}/32`, { timeoutMs: 20_000 });
    assert.ok(existsSync(join(pinDir, 'drained')), 'the drain marker is beside the pins');
    await stopDaemon(current);
    const name = await startDaemon();
    await bird.waitEstablished(undefined, { timeoutMs: 30_000 });
    const bgp = await waitUntil(
      async () => JSON.parse((await podman(['exec', name, 'edgelb', 'get', 'bgp', '-o', 'json'])).stdout) as Array<{ state: string; prefixesSent: number }>,
      (rows) => rows[0]?.state === 'Established',
      { timeoutMs: 30_000, what: 'session up after the restart' },
    );
    assert.equal(bgp[0]!.prefixesSent, 0, 'nothing announced by a drained node');
    const ha = JSON.parse((await podman(['exec', name, 'edgelb', 'get', 'ha', '-o', 'json'])).stdout) as { drained: boolean };
    assert.equal(ha.drained, true);
    assert.equal((await bird.routes(`${VIP}/32`)).length, 0);
    await podman(['exec', name, 'edgelb', 'drain', '--undo']);
    await bird.waitRoute(`${VIP}/32`, () => true, { timeoutMs: 20_000 });
    assert.ok(!existsSync(join(pinDir, 'drained')));
  });

  test('uninstall: edgelb cleanup from the image (same securityContext) detaches XDP and removes the pins', async () => {
    await stopDaemon(current);
    assert.equal(await xdpProg(), 'edgelb_xdp', 'a stopped pod leaves XDP for its successor');
    assert.ok(existsSync(pinDir));
    const r = await podman(['run', '--rm', ...containerFlags(pod, daemonCtr, { netns: lab!.netns('node1'), configDir }), IMAGE, 'cleanup', '--config', '/etc/edgelb/config.yaml']);
    const block = /^\{\n\s+"detached"[\s\S]*?^\}$/m.exec(r.stdout); // the result, after the log lines
    assert.ok(block, `cleanup printed no result:\n${r.stdout}`);
    const out = JSON.parse(block[0]) as { detached: boolean; pinsRemoved: number };
    assert.equal(out.detached, true);
    assert.ok(out.pinsRemoved > 0);
    assert.equal(await xdpProg(), '', 'no XDP program left on the uplink');
    assert.ok(!existsSync(pinDir), 'no pins left');
  });
});
