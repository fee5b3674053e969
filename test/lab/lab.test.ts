// Lab library: the edge topology is built, works (ping over v4/v6, spawn, link down), and leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Lab, edgeTopology, edgePlan, run, isRunning, waitUntil, BirdRouter } from './lib/index.js';

async function netnsList(): Promise<string[]> {
  const r = await run(['ip', '-j', 'netns', 'list']);
  const rows = r.stdout.trim() ? (JSON.parse(r.stdout) as { name: string }[]) : [];
  return rows.map((x) => x.name);
}

test('edge topology: addresses, routes, ping v4/v6 through the router, spawn, linkDown, teardown', async () => {
  const lab = await Lab.create(edgeTopology({ prefix: 'labt', nodes: 2, backends: 1 }));
  const names = lab.nodes.map((n) => n.netns);
  let pid = 0;
  let logPath = '';
  try {
    assert.deepEqual(lab.nodes.map((n) => n.name).sort(), ['be1', 'client', 'node1', 'node2', 'router']);
    for (const n of names) assert.ok(n.startsWith(`${lab.tag}-`), n);
    const listed = await netnsList();
    for (const n of names) assert.ok(listed.includes(n), `${n} listed`);
    assert.equal(lab.addr('node1'), '10.0.0.11');
    assert.equal(lab.addr('node2', 6), 'fd00::12');

    // client -> node1 crosses the router (forwarding), both families
    await lab.exec('client', ['ping', '-c1', '-W2', edgePlan.node(1).v4]);
    await lab.exec('client', ['ping', '-6', '-c1', '-W2', edgePlan.node(1).v6]);
    await lab.exec('node2', ['ping', '-c1', '-W2', edgePlan.backend(1).v4]);

    const sysctl = await lab.exec('router', ['sysctl', '-n', 'net.ipv4.ip_forward', 'net.ipv4.fib_multipath_hash_policy', 'net.ipv6.conf.all.forwarding']);
    assert.deepEqual(sysctl.stdout.trim().split('\n'), ['1', '1', '1']);
    const fwdNode = await lab.exec('node1', ['sysctl', '-n', 'net.ipv4.ip_forward']);
    assert.equal(fwdNode.stdout.trim(), '0');

    const eth = await lab.exec('client', ['ethtool', '-k', 'eth0']);
    assert.match(eth.stdout, /tx-checksumming: off/);

    const def = await lab.fibRoutes('client', 'default');
    assert.deepEqual(def.map((r) => [r.prefix, r.nexthops]).sort(), [['0.0.0.0/0', ['10.100.0.1']]]);
    const def6 = await lab.fibRoutes('client', '::/0');
    assert.deepEqual(def6.map((r) => r.nexthops), [['fd00:100::1']]);

    // a spawned process runs in the node's namespace and is logged
    const p = await lab.spawn('node1', ['sh', '-c', 'echo "x=$LAB_X"; ip -br addr show eth0; exec sleep 600'], { name: 'sleeper', env: { LAB_X: 'y' } });
    pid = p.pid;
    logPath = p.logPath;
    await waitUntil(() => p.output().includes('10.0.0.11/24'), { timeoutMs: 10_000, what: 'sleeper output' });
    assert.match(p.output(), /10\.0\.0\.11\/24/);
    assert.match(p.output(), /^x=y$/m, 'env is added to the inherited one');
    const cat = await lab.exec('node1', ['sh', '-c', 'cat; echo "$LAB_Z"; exit 3'], { input: 'in\n', env: { LAB_Z: 'z' }, check: false });
    assert.deepEqual(cat, { stdout: 'in\nz\n', stderr: '', code: 3 });
    assert.ok(p.running);
    const inNs = await run(['ip', 'netns', 'pids', lab.netns('node1')]);
    assert.ok(inNs.stdout.split(/\s+/).includes(String(pid)));
    assert.match(lab.logs(), /sleeper/);

    await lab.linkDown('node1', 'eth0');
    assert.equal(await lab.ping('client', edgePlan.node(1).v4, { timeoutS: 1 }), false);
    assert.equal(await lab.ping('client', edgePlan.node(2).v6), true);
    await lab.linkUp('node1', 'eth0');
    await lab.exec('client', ['ping', '-c1', '-W2', edgePlan.node(1).v4]);
  } finally {
    await lab.teardown();
    await lab.teardown(); // idempotent
  }
  const after = await netnsList();
  for (const n of names) assert.ok(!after.includes(n), `${n} removed`);
  assert.ok(!isRunning(pid), 'spawned process killed');
  assert.ok(!existsSync(logPath), 'scratch dir removed');
  assert.ok(!existsSync(lab.dir));
});

test('interface names longer than 15 chars and bad prefixes are refused, and nothing is left', async () => {
  await assert.rejects(Lab.create({ prefix: 'Bad_Prefix', nodes: [] }), /prefix must match/);
  let tag = '';
  await assert.rejects(async () => {
    const p = Lab.create({
      prefix: 'labt',
      nodes: [{ name: 'a' }, { name: 'b' }],
      links: [{ a: { node: 'a', ifname: 'averyveryverylongname' }, b: { node: 'b', ifname: 'eth0' } }],
    });
    await p;
  }, /interface name must be 1\.\.15/);
  const after = await netnsList();
  assert.ok(!after.some((n) => n.startsWith(`labt-${process.pid.toString(36)}`) && n.endsWith('-a')), `no leftover ${tag}`);
});

test('two labs with the same prefix run side by side, each with its own BIRD, and tear down independently', async () => {
  const [a, b] = await Promise.all([
    Lab.create(edgeTopology({ prefix: 'labt', nodes: 1, client: false })),
    Lab.create(edgeTopology({ prefix: 'labt', nodes: 1, client: false })),
  ]);
  try {
    assert.notEqual(a.tag, b.tag);
    const opts = { asn: 64512, routerId: edgePlan.router.lan4, neighbors: [{ address: edgePlan.node(1).v4, asn: 64513 }] };
    const [ba, bb] = await Promise.all([BirdRouter.start(a, 'router', opts), BirdRouter.start(b, 'router', opts)]);
    assert.notEqual(ba.socketPath, bb.socketPath);
    assert.equal((await ba.neighbors()).length, 1);
    assert.equal((await bb.neighbors()).length, 1);
    // same addresses in both labs, no clash: each lab's namespaces are its own
    await a.exec('node1', ['ping', '-c1', '-W2', edgePlan.router.lan4]);
    await b.exec('node1', ['ping', '-c1', '-W2', edgePlan.router.lan4]);
    await a.teardown();
    assert.equal((await bb.neighbors()).length, 1, 'b still runs after a is gone');
    await b.exec('node1', ['ping', '-c1', '-W2', edgePlan.router.lan4]);
  } finally {
    await a.teardown();
    await b.teardown();
  }
  const left = await run(['ip', 'netns', 'list']);
  assert.ok(!left.stdout.includes(a.tag) && !left.stdout.includes(b.tag));
});
