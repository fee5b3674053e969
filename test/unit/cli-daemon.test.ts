// startDaemon in-process: the StateConsumer contract the node agent plugs into (apply on start
// and on each good reload, its views served first, a failed apply keeps the previous state,
// stop(mode) on stop), plus the CLI's tables, API client errors and optional command modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type StateConsumer } from '../../src/daemon/daemon.js';
import { renderTable, servicesTable, vipsTable, bgpTable, haTable, cell } from '../../src/cli/tables.js';
import { apiRequest, getView } from '../../src/cli/client.js';
import { importOptional } from '../../src/cli/optional.js';
import { EdgelbError, ConfigError } from '../../src/lib/errors.js';
import { createLogger, silentLogger } from '../../src/lib/logger.js';
import { Agent } from '../../src/agent/agent.js';
import { Writable } from 'node:stream';
import type { DesiredState } from '../../src/model/desired-state.js';
import type { VipRow } from '../../src/model/views.js';

const cfg = (services: string) => `
node: { name: cfg-n1, routerId: 127.0.0.1, interface: lo }
api: { listen: 127.0.0.1:0 }
pools: [{ name: p, cidrs: [127.0.90.0/24], announce: l2 }]
services: ${services}
`;

const AGENT_VIP: VipRow = {
  vip: 'from-agent', services: [], pool: 'p', shard: 0, master: null, interface: 'eth0', announce: 'bgp', bgpMode: 'ecmp',
  bgp: { announced: false, reason: 'drained' }, l2: { announced: false, reason: 'not-in-pool-mode' },
};

class RecordingConsumer implements StateConsumer {
  applied: DesiredState[] = [];
  stopped: string[] = [];
  failNext = false;
  async apply(state: DesiredState): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('engine refused');
    }
    this.applied.push(state);
  }
  views() {
    return { vips: () => [{ ...AGENT_VIP }], readiness: () => ({ ready: false, reasons: ['data path not attached'] }) };
  }
  async stop(mode: 'restart' | 'shutdown'): Promise<void> {
    this.stopped.push(mode);
  }
}

test('daemon: StateConsumer gets the first state and each good reload; its views come first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-d-'));
  const file = join(dir, 'edge.yaml');
  writeFileSync(file, cfg('[{ name: a, vip: 127.0.90.1, ports: [80], endpoints: [127.0.0.1] }]'));
  const consumer = new RecordingConsumer();
  let seenCtx: { initial: DesiredState; kubernetes: boolean } | undefined;
  const d = await startDaemon({
    watch: false, // reload() only: a late file event must not consume failNext
    config: file,
    logger: silentLogger(),
    createConsumer: (ctx) => {
      seenCtx = ctx;
      return consumer;
    },
  });
  try {
    assert.equal(seenCtx!.initial.node.name, 'cfg-n1');
    assert.equal(seenCtx!.kubernetes, false);
    assert.equal(consumer.applied.length, 1);
    // consumer views override, the rest falls back to the desired state
    assert.deepEqual(await (await fetch(`${d.api.url}/v1/vips`)).json(), [AGENT_VIP]);
    const ready = await fetch(`${d.api.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { ready: false, reasons: ['data path not attached'] });
    assert.deepEqual(((await (await fetch(`${d.api.url}/v1/services`)).json()) as Array<{ name: string }>).map((s) => s.name), ['a']);

    // a good reload reaches the consumer
    writeFileSync(file, cfg('[{ name: b, vip: 127.0.90.2, ports: [80], endpoints: [127.0.0.1] }]'));
    assert.equal(await d.reload('test'), true);
    assert.equal(consumer.applied.length, 2);
    assert.equal(d.current().services[0]!.name, 'b');

    // a bad file never reaches it
    writeFileSync(file, cfg('[{ name: c, vip: 10.0.0.1, ports: [80] }]'));
    assert.equal(await d.reload('test'), false);
    assert.equal(consumer.applied.length, 2);
    assert.equal(d.current().services[0]!.name, 'b');

    // a consumer that fails to apply: the daemon keeps the previous state
    consumer.failNext = true;
    writeFileSync(file, cfg('[{ name: d, vip: 127.0.90.4, ports: [80], endpoints: [127.0.0.1] }]'));
    assert.equal(await d.reload('test'), false);
    assert.equal(d.current().services[0]!.name, 'b');
    const m = await (await fetch(`${d.api.url}/metrics`)).text();
    assert.match(m, /^edgelb_config_reloads_total\{result="applied"\} 1$/m);
    assert.match(m, /^edgelb_config_reloads_total\{result="invalid"\} 1$/m);
    assert.match(m, /^edgelb_config_reloads_total\{result="failed"\} 1$/m);
  } finally {
    await d.stop('restart');
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(consumer.stopped, ['restart']);
  await d.stop('shutdown'); // idempotent
  assert.deepEqual(consumer.stopped, ['restart']);
});

test('daemon: a bad first config throws the ConfigError; --kubernetes without a source is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-d-'));
  const file = join(dir, 'edge.yaml');
  try {
    writeFileSync(file, cfg('[{ name: c, vip: 10.0.0.1, ports: [80] }]'));
    await assert.rejects(startDaemon({ config: file, logger: silentLogger() }), (e: unknown) => e instanceof ConfigError && e.issues[0]!.path === 'services[0].vip');
    writeFileSync(file, 'node: { name: n, routerId: 127.0.0.1, interface: lo }\napi: { listen: 127.0.0.1:0 }\n');
    await assert.rejects(startDaemon({ config: file, kubernetes: true, logger: silentLogger() }), (e: unknown) => e instanceof EdgelbError && e.code === 'EDGELB_ERR_K8S');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('daemon: Kubernetes mode takes its states from the injected source', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-d-'));
  const file = join(dir, 'edge.yaml');
  writeFileSync(file, 'node: { name: n, interface: lo }\napi: { listen: 127.0.0.1:0 }\n');
  const listeners: Array<(s: DesiredState) => void> = [];
  let closed = false;
  const consumer = new RecordingConsumer();
  const d = await startDaemon({
    config: file,
    kubernetes: true,
    logger: silentLogger(),
    createConsumer: () => consumer,
    createKubernetesSource: ({ base }) => ({
      start: async () => ({ ...base, node: { ...base.node, routerId: '127.0.0.9' } }),
      on: (_e, fn) => listeners.push(fn),
      close: () => void (closed = true),
    }),
  });
  try {
    assert.equal(consumer.applied[0]!.node.routerId, '127.0.0.9');
    const next = { ...d.current(), services: [] };
    listeners[0]!(next);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(d.current(), next);
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(closed);
  assert.deepEqual(consumer.stopped, ['shutdown']);
});

// issue 14: the ConfigMap was never reloaded in Kubernetes mode (the file was not watched and a
// reload did nothing); now a good file reaches the source as settings, a bad one is reported to it
test('daemon: Kubernetes mode reloads the settings file into the source; a bad file is refused and reported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-d-'));
  const file = join(dir, 'edge.yaml');
  writeFileSync(file, 'node: { name: n, interface: lo }\napi: { listen: 127.0.0.1:0 }\nbgp: { asn: 64513 }\n');
  const settings: DesiredState[] = [];
  const rejected: string[] = [];
  let configPath = '';
  const d = await startDaemon({
    config: file,
    kubernetes: true,
    watch: false,
    logger: silentLogger(),
    createConsumer: () => new RecordingConsumer(),
    createKubernetesSource: (ctx) => {
      configPath = ctx.configPath ?? '';
      return {
        start: async () => ctx.base,
        on: () => undefined,
        close: () => undefined,
        updateSettings: (s) => void settings.push(s),
        settingsRejected: (m) => void rejected.push(m),
      };
    },
  });
  try {
    assert.equal(configPath, file, 'the source knows where the file is (the default key lives beside it)');
    writeFileSync(file, 'node: { name: n, interface: lo }\napi: { listen: 127.0.0.1:0 }\nbgp: { asn: 64999 }\n');
    assert.equal(await d.reload('SIGHUP'), true);
    assert.equal(settings.at(-1)!.bgp!.asn, 64999);
    writeFileSync(file, 'node: { name: n, interface: lo }\napi: { listen: 127.0.0.1:0 }\nbgp: { asn: 0 }\n');
    assert.equal(await d.reload('SIGHUP'), false);
    assert.match(rejected.at(-1)!, /bgp\.asn/);
    assert.equal(settings.length, 1, 'the bad file never reached the source');
  } finally {
    await d.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tables: aligned columns, no trailing spaces', () => {
  const t = renderTable(['A', 'LONGER', 'C'], [['xxxx', 'y', 'z'], ['1', '22', '']]);
  assert.equal(t, 'A     LONGER  C\nxxxx  y       z\n1     22\n');
  assert.equal(cell(undefined), '-');
  assert.equal(cell([]), '-');
  assert.equal(cell(['a', 'b']), 'a,b');
  assert.equal(cell(false), 'no');
});

test('tables: rows shaped like the agent views (health, decisions, shards)', () => {
  const s = servicesTable([
    {
      name: 'web', vips: ['192.168.80.241'], pool: 'default', shard: 1, mode: 'onearm',
      ports: [{ port: 80, protocol: 'tcp', targetPort: 8080 }],
      endpoints: [{ address: '10.0.1.2', ready: true, healthy: true }, { address: '10.0.1.3', ready: true, healthy: false }],
      healthyEndpoints: 1,
    },
  ]);
  assert.match(s, /^web +192\.168\.80\.241 +80\/tcp->8080 +onearm +default +1 +10\.0\.1\.2,10\.0\.1\.3\(down\) +1\/2$/m);
  const v = vipsTable([
    { vip: '192.168.80.241', services: ['web'], pool: 'default', shard: 1, master: 'edge-2', interface: 'eth0', announce: 'bgp', bgpMode: 'activeBackup', bgp: { announced: true, reason: 'master', med: 10 }, l2: { announced: false, reason: 'pool-not-l2' } },
  ]);
  assert.match(v, /^192\.168\.80\.241 +web +default +1 +edge-2 +bgp\/activeBackup +yes med 10 +no \(pool-not-l2\)$/m);
  const b = bgpTable([
    { address: '10.0.0.1', port: 179, asn: 64512, state: 'Established', uptime: 3725, prefixesSent: 3, prefixesReceived: 0, lastError: null },
    { address: '10.0.0.2', port: 179, asn: 64512, state: 'Idle', uptime: 0, prefixesSent: 0, prefixesReceived: 0, lastError: { at: 'T', class: 'rx', reason: 'hold-timer-expired', code: 4, message: 'x' } },
  ]);
  assert.match(b, /^10\.0\.0\.1 +64512 +Established +1h2m +3 +0 +-$/m, 'uptime is read from the speaker\'s field (it was read from a field no daemon sends)');
  assert.match(b, /^10\.0\.0\.2 +64512 +Idle +0s +0 +0 +hold-timer-expired \(NOTIFICATION 4\/0\)$/m);
  const h = haTable({ node: 'edge-1', drained: false, shards: [{ shard: 0, state: 'MASTER', master: 'edge-1', epoch: 4 }] });
  assert.match(h, /^edge-1 +no$/m);
  assert.match(h, /^0 +MASTER +edge-1 +4$/m);
});

test('client: error statuses and bodies map to stable codes', async () => {
  const { createServer } = await import('node:http');
  const srv = createServer((req, res) => {
    if (req.url === '/ok') return res.end('[1,2]');
    if (req.url === '/401') return res.writeHead(401).end('{"code":"EDGELB_ERR_API_UNAUTHORIZED"}');
    if (req.url === '/500') return res.writeHead(500).end('{"code":"EDGELB_ERR_BGP_SESSION","message":"down"}');
    if (req.url === '/slow') return void setTimeout(() => res.end('[]'), 2000);
    res.end('<html>');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  try {
    assert.deepEqual(await apiRequest(base, '/ok'), [1, 2]);
    const code = async (p: string, timeoutMs?: number) => {
      try {
        await apiRequest(base, p, timeoutMs ? { timeoutMs } : {});
        return 'none';
      } catch (e) {
        return `${(e as EdgelbError).code}: ${(e as Error).message}`;
      }
    };
    assert.match(await code('/401'), /^EDGELB_ERR_API_UNAUTHORIZED/);
    assert.match(await code('/500'), /^EDGELB_ERR_API_RESPONSE: .* answered 500 EDGELB_ERR_BGP_SESSION: down$/);
    assert.match(await code('/html'), /^EDGELB_ERR_API_RESPONSE: .*not JSON/);
    assert.match(await code('/slow', 200), /^EDGELB_ERR_API_UNREACHABLE: .*no answer within 0.2 s/);
  } finally {
    srv.closeAllConnections();
    srv.close();
  }
});

test('optional modules: a missing module or export is a clear EDGELB error', async () => {
  await assert.rejects(importOptional('../nothing/here.js', 'run', 'nothing here'), (e: unknown) => {
    return e instanceof EdgelbError && e.code === 'EDGELB_ERR_INVALID_ARGUMENT' && e.message === '`edgelb nothing here` is not available in this build (module ../nothing/here.js is missing)';
  });
  await assert.rejects(importOptional('./tables.js', 'noSuchExport', 'x'), /does not export noSuchExport/);
  const fn = await importOptional<typeof renderTable>('./tables.js', 'renderTable', 'x');
  assert.equal(fn(['A'], [['b']]), 'A\nb\n');
});

test('client: views are checked against the REST contract; a body of another shape names the field', async () => {
  const { createServer } = await import('node:http');
  const bodies: Record<string, unknown> = {
    '/v1/services': [{ name: 'web', vips: ['192.0.2.1'], pool: 'p', shard: 0, mode: 'onearm', ports: [], endpoints: [] }],
    '/v1/ha': { node: 'n1', drained: false, shards: [{ shard: 0, state: 'MASTER', master: 'n1', epoch: 3 }] },
    '/v1/bgp/neighbors': [{ address: '10.0.0.1', asn: 1, state: 'Idle', uptimeSec: 3 }], // an old shape
    '/v1/vips': { not: 'a list' },
  };
  const srv = createServer((req, res) => res.end(JSON.stringify(bodies[req.url ?? ''] ?? null)));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  try {
    const services = await getView(base, '/v1/services');
    assert.equal(services[0]!.name, 'web');
    assert.equal((await getView(base, '/v1/ha')).shards[0]!.epoch, 3);
    await assert.rejects(getView(base, '/v1/bgp/neighbors'), { code: 'EDGELB_ERR_API_RESPONSE', message: /\[0\]\.port should be number, got nothing/ });
    await assert.rejects(getView(base, '/v1/vips'), { code: 'EDGELB_ERR_API_RESPONSE', message: /expected a list/ });
    bodies['/v1/ha'] = { node: 'n1', drained: false, shards: [{ shard: 0, state: 'MASTER', master: 7, epoch: 1 }] };
    await assert.rejects(getView(base, '/v1/ha'), { message: /shards\[0\]\.master should be string\|null, got 7/ });
    bodies['/v1/services'] = [null];
    await assert.rejects(getView(base, '/v1/services'), { message: /\[0\] is not an object/ });
  } finally {
    srv.close();
  }
});

test('daemon: an engine that fails makes the apply fail truthfully (log, success gauge), with the real agent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-p-'));
  const file = join(dir, 'edge.yaml');
  writeFileSync(file, cfg('[{ name: a, vip: 127.0.90.1, ports: [80], endpoints: [127.0.0.1] }]'));
  const lines: Array<{ msg: string; lagging?: string[] }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as { msg: string });
      cb();
    },
  });
  let fail = true;
  let agent: Agent | undefined;
  const d = await startDaemon({
    config: file,
    logger: createLogger({ level: 'info', destination: sink }),
    createConsumer: (ctx) => {
      const a = new Agent({
        nodeName: 'cfg-n1',
        logger: ctx.logger,
        registry: ctx.registry,
        dataplaneHealthIntervalMs: 0,
        engines: {
          dataplane: {
            setServices: async () => {
              if (fail) throw new Error('map update failed: E2BIG');
            },
            health: () => ({ ok: true }),
          },
        },
      });
      agent = a;
      return { apply: (s) => a.apply(s), views: () => ({}), stop: async () => a.stop() };
    },
  });
  const gauge = async () => /^edgelb_config_last_reload_successful (\d)$/m.exec(await (await fetch(`${d.api.url}/metrics`)).text())?.[1];
  try {
    // the old agent never rejected: the first apply set the gauge to 1 and a reload logged "config applied"
    assert.equal(await gauge(), '0');
    writeFileSync(file, cfg('[{ name: b, vip: 127.0.90.2, ports: [80], endpoints: [127.0.0.1] }]'));
    assert.equal(await d.reload('test'), false);
    assert.equal(await gauge(), '0');
    assert.ok(!lines.some((l) => l.msg === 'config applied'), 'never says applied');
    const partial = lines.find((l) => /applied only in part/.test(l.msg));
    assert.deepEqual(partial?.lagging, ['dataplane']);
    fail = false;
    writeFileSync(file, cfg('[{ name: c, vip: 127.0.90.3, ports: [80], endpoints: [127.0.0.1] }]'));
    assert.equal(await d.reload('test'), true);
    assert.equal(await gauge(), '1');
    assert.ok(lines.some((l) => l.msg === 'config applied'));
  } finally {
    await d.stop('restart');
    agent?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
