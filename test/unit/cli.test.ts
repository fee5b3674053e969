// The real `edgelb` CLI in child processes: bad configs print every path and exit 78, `get` with no
// daemon exits 69 with EDGELB_ERR_API_UNREACHABLE, and a daemon on a free loopback port serves
// /metrics and /v1/services, keeps its state on a bad SIGHUP reload, picks up a good file change,
// answers `edgelb get`/`drain`, and exits 0 on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../src/lib/backoff.js';
import { main } from '../../src/cli/program.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The same program in this process (fast): for the many `get` calls against a running daemon. */
async function inproc(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'edgelb', ...args], { out: (s) => (stdout += s), err: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

/** A loopback port nothing listens on (bound then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('cli: every invalid example exits 78 and prints each expected path', async () => {
  const dir = join(ROOT, 'examples/invalid');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 4);
  const runs = await Promise.all(files.map((f) => cli(['daemon', '--config', join(dir, f)])));
  for (const [k, f] of files.entries()) {
    const text = readFileSync(join(dir, f), 'utf8');
    const expect = /^# expect: (.*)$/m.exec(text)?.[1]?.split(',').map((s) => s.trim());
    assert.ok(expect, `${f} has an "# expect:" line`);
    const r = runs[k]!;
    assert.equal(r.code, 78, `${f}: ${r.stderr}`);
    if (expect[0] === '(read)') {
      assert.match(r.stderr, /edgelb: EDGELB_ERR_CONFIG_READ: .* is not valid YAML/);
      assert.match(r.stderr, /line \d+, column \d+/);
      continue;
    }
    assert.match(r.stderr, /edgelb: EDGELB_ERR_CONFIG_INVALID: .* is invalid/);
    const printed = [...r.stderr.matchAll(/^ {2}(\S+): /gm)].map((m) => m[1]);
    assert.deepEqual(printed.sort(), [...expect].sort(), `${f}:\n${r.stderr}`);
  }
});

test('cli: a config with three errors prints all three with their paths', async () => {
  const r = await cli(['daemon', '--config', 'examples/invalid/three-errors.yaml']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /is invalid \(3 errors\)/);
  assert.match(r.stderr, /^ {2}bgp\.peers\[1\]\.asn: must be 1\.\.4294967295$/m);
  assert.match(r.stderr, /^ {2}services\[0\]\.vip: 192\.168\.99\.1 is inside no pool/m);
  assert.match(r.stderr, /^ {2}services\[1\]\.shard: must be 0\.\.2 \(cluster\.shards is 3\)$/m);
});

test('cli: --check validates without starting', async () => {
  let r = await cli(['daemon', '--config', 'examples/edge.yaml', '--check']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /edge\.yaml: valid \(1 services, 1 pools, 1 peers\)/);
  r = await inproc(['daemon', '--config', 'examples/standalone.yaml', '--check']);
  assert.equal(r.code, 0, r.stderr);
  r = await inproc(['daemon', '--config', 'examples/nope.yaml', '--check']);
  assert.equal(r.code, 78);
  assert.match(r.stderr, /EDGELB_ERR_CONFIG_READ: cannot read .*nope\.yaml: ENOENT/);
});

test('cli: get with no daemon answering exits 69 with EDGELB_ERR_API_UNREACHABLE', async () => {
  const port = await freePort();
  const whats = ['services', 'vips', 'bgp', 'ha', 'bfd'];
  // the binary once (exit code), the program in-process for the rest
  const runs = await Promise.all(whats.map((what, i) => (i === 0 ? cli : inproc)(['get', what, '--api', `http://127.0.0.1:${port}`])));
  for (const r of runs) {
    assert.equal(r.code, 69, r.stderr);
    assert.equal(r.stderr, `edgelb: EDGELB_ERR_API_UNREACHABLE: no edgelb daemon answered at http://127.0.0.1:${port} (ECONNREFUSED)\n`);
    assert.equal(r.stdout, '');
  }
  process.env.EDGELB_API = `http://127.0.0.1:${port}`;
  const d = await inproc(['drain']).finally(() => delete process.env.EDGELB_API);
  assert.equal(d.code, 69);
  assert.match(d.stderr, /EDGELB_ERR_API_UNREACHABLE/);
});

test('cli: usage errors exit 2; help and version exit 0', async () => {
  const [pods, daemon, version, help, cleanup] = await Promise.all([
    cli(['get', 'pods']),
    inproc(['daemon']),
    cli(['--version']),
    inproc(['--help']),
    inproc(['cleanup']),
  ]);
  let r = pods;
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Allowed choices are services, vips, bgp, ha/);
  r = daemon;
  assert.equal(r.code, 1);
  assert.match(r.stderr, /EDGELB_ERR_INVALID_ARGUMENT: edgelb daemon needs --config FILE/);
  r = version;
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  r = help;
  assert.equal(r.code, 0);
  for (const c of ['daemon', 'get', 'drain', 'cleanup', 'lab']) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, 'm'));
  r = cleanup;
  assert.equal(r.code, 1);
  assert.match(r.stderr, /needs --node NAME or --config FILE/);
});

// ------------------------------------------------------------------ the daemon, end to end

const CONFIG = (services: string) => `
node: { name: cfg-node, routerId: 127.0.0.1, interface: lo }
api: { listen: 127.0.0.1:0 }
dataplane: { enabled: false }
bgp:
  asn: 64513
  listenPort: 0
  peers: [{ address: 127.0.0.2, asn: 64512, passwordFile: peer.key }]
pools: [{ name: local, cidrs: [127.0.80.0/28], announce: l2 }]
services:
${services}
`;
const WEB = `  - { name: web, pool: local, ports: [{ port: 80, targetPort: 8080 }], endpoints: [127.0.0.1, 127.0.0.2] }`;
const DNS = `  - { name: dns, vip: 127.0.80.5, mode: dsr, ports: [{ port: 53, protocol: udp }], endpoints: [127.0.0.1] }`;

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

class DaemonProc {
  readonly logs: LogLine[] = [];
  stdoutRaw = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      this.stdoutRaw += d;
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          /* not a log line */
        }
      }
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d));
    this.exited = new Promise((r) => child.on('exit', (code) => r(code)));
  }
  waitLog(pred: (l: LogLine) => boolean, what: string): Promise<LogLine> {
    return waitFor(() => this.logs.find(pred), { timeoutMs: 30_000, intervalMs: 50, what: `${what}; logs so far: ${this.stdoutRaw.slice(-2000)}` });
  }
}

test('cli: the daemon serves metrics and services, survives a bad reload, applies a good one, exits 0 on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-daemon-'));
  const file = join(dir, 'edge.yaml');
  writeFileSync(join(dir, 'peer.key'), 'super-secret-md5\n', { mode: 0o600 });
  writeFileSync(file, CONFIG(`${WEB}\n${DNS}`));
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'daemon', '--config', file, '--log-level', 'debug'], { cwd: ROOT });
  const d = new DaemonProc(child);
  try {
    const listening = await d.waitLog((l) => typeof l.url === 'string' && l.msg.startsWith('API listening'), 'API listening');
    const url = listening.url as string;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(url, 'http://127.0.0.1:0', 'the real port is logged');

    // /healthz, /readyz, /metrics, /v1/services
    assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: 'ok' });
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^process_resident_memory_bytes \d+/m);
    assert.match(metrics, /^nodejs_eventloop_lag_seconds /m);
    assert.match(metrics, /^edgelb_config_last_reload_successful 1$/m);
    const services = (await (await fetch(`${url}/v1/services`)).json()) as Array<{ name: string; vips: string[] }>;
    assert.deepEqual(services.map((s) => [s.name, s.vips]), [['web', ['127.0.80.1']], ['dns', ['127.0.80.5']]]);

    // the CLI against it: aligned table, JSON, every view, drain
    const [table, json, vips, bgp, bgpJson, ha] = await Promise.all([
      inproc(['get', 'services', '--api', url]),
      inproc(['get', 'services', '-o', 'json', '--api', url]),
      inproc(['get', 'vips', '--api', url]),
      inproc(['get', 'bgp', '--api', url]),
      inproc(['get', 'bgp', '-o', 'json', '--api', url]),
      inproc(['get', 'ha', '--api', url]),
    ]);
    let r = table;
    const spawned = await cli(['get', 'services', '--api', url]);
    assert.equal(spawned.code, 0, spawned.stderr);
    assert.equal(spawned.stdout, table.stdout, 'the binary prints what the program prints');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^NAME +VIPS +PORTS +MODE +POOL +SHARD +ENDPOINTS +HEALTHY$/);
    assert.match(lines[1]!, /^web +127\.0\.80\.1 +80\/tcp->8080 +onearm +local +0 +127\.0\.0\.1,127\.0\.0\.2 +2\/2$/);
    assert.match(lines[2]!, /^dns +127\.0\.80\.5 +53\/udp +dsr +local +0 +127\.0\.0\.1 +1\/1$/);
    // columns line up: every row's VIPS column starts where the header's does
    const col = lines[0]!.indexOf('VIPS');
    for (const l of lines.slice(1)) assert.match(l.slice(col), /^127\./);
    r = json;
    assert.equal(r.code, 0);
    assert.deepEqual((JSON.parse(r.stdout) as Array<{ name: string }>).map((s) => s.name), ['web', 'dns']);
    r = vips;
    assert.match(r.stdout, /^VIP +SERVICES +POOL +SHARD +MASTER +ANNOUNCE +BGP +L2$/m);
    // the node agent runs: this single node masters every shard and answers ARP for its l2 VIPs
    assert.match(r.stdout, /^127\.0\.80\.1 +web +local +0 +cfg-node +l2 +no \(not-in-pool-mode\) +yes$/m);
    r = bgp;
    assert.match(r.stdout, /^127\.0\.0\.2 +64512 +(Idle|Connect|Active) /m); // nothing listens there: the session keeps trying
    assert.ok(!r.stdout.includes('super-secret'));
    r = bgpJson;
    assert.ok(!r.stdout.includes('super-secret'), 'the password never leaves the daemon');
    r = ha;
    assert.match(r.stdout, /^cfg-node +no$/m);
    // no peer asks for BFD: no session (and no BFD socket bound)
    r = await inproc(['get', 'bfd', '--api', url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'PEER  HOP  STATE  REMOTE  TX  DETECT  MULT  AUTH  UPTIME  FLAPS  DIAG');
    r = await inproc(['drain', '--api', url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^drained/);
    assert.match((await inproc(['get', 'ha', '--api', url])).stdout, /^cfg-node +yes$/m);
    r = await inproc(['drain', '--undo', '--api', url]);
    assert.match(r.stdout, /^undrained/);
    // this daemon runs without a data path: the drain marker's folder leaves nothing behind
    assert.ok(!existsSync('/sys/fs/bpf/edgelb/cfg-node'), 'undrain removes the node folder the marker made');

    // a bad file + SIGHUP: rejected with its paths in the log, old state kept
    writeFileSync(file, CONFIG(`${WEB}\n  - { name: web, vip: 10.99.0.1, ports: [80] }`));
    child.kill('SIGHUP');
    const rejected = await d.waitLog((l) => l.reason === 'SIGHUP' && l.msg.startsWith('config rejected'), 'the SIGHUP rejection');
    assert.equal(rejected.code, 'EDGELB_ERR_CONFIG_INVALID');
    const issues = rejected.issues as string[];
    assert.ok(issues.some((i) => i.startsWith('services[1].name: duplicate of services[0]')), issues.join('; '));
    assert.ok(issues.some((i) => i.startsWith('services[1].vip: 10.99.0.1 is inside no pool')), issues.join('; '));
    const kept = (await (await fetch(`${url}/v1/services`)).json()) as Array<{ name: string }>;
    assert.deepEqual(kept.map((s) => s.name), ['web', 'dns'], 'the last good state is kept');
    assert.match(await (await fetch(`${url}/metrics`)).text(), /^edgelb_config_last_reload_successful 0$/m);

    // a good file, replaced the way editors do it: picked up without a signal
    writeFileSync(`${file}.tmp`, CONFIG(`${DNS}\n  - { name: api, pool: local, ports: [443], endpoints: [127.0.0.3] }`));
    renameSync(`${file}.tmp`, file);
    await d.waitLog((l) => l.msg === 'config applied' && l.reason === 'file changed', 'the file-change apply');
    const now = (await (await fetch(`${url}/v1/services`)).json()) as Array<{ name: string; vips: string[] }>;
    assert.deepEqual(now.map((s) => [s.name, s.vips]), [['dns', ['127.0.80.5']], ['api', ['127.0.80.1']]]);

    // the password was never logged
    assert.ok(!d.stdoutRaw.includes('super-secret'));

    child.kill('SIGTERM');
    const code = await d.exited;
    assert.equal(code, 0, d.stderr);
    assert.ok(d.logs.some((l) => l.msg === 'stopped'));
    // the port is closed
    await assert.rejects(fetch(`${url}/healthz`));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await d.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cli: SIGINT also stops the daemon with exit 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-daemon-'));
  const file = join(dir, 'edge.yaml');
  writeFileSync(file, 'node: { name: n, routerId: 127.0.0.1, interface: lo }\napi: { listen: 127.0.0.1:0 }\ndataplane: { enabled: false }\n');
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'daemon', '--config', file], { cwd: ROOT });
  const d = new DaemonProc(child);
  try {
    const l = await d.waitLog((x) => typeof x.url === 'string', 'API listening');
    assert.deepEqual(await (await fetch(`${l.url as string}/v1/services`)).json(), []);
    child.kill('SIGINT');
    assert.equal(await d.exited, 0, d.stderr);
    // the test touched nothing of the host: no XDP program on its loopback
    assert.ok(!execFileSync('ip', ['-d', 'link', 'show', 'lo'], { encoding: 'utf8' }).includes('edgelb_xdp'));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await d.exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
