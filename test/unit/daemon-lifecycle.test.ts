// Clean exit paths of the daemon: a drain kept beside the pins survives a restart (a new runtime
// starts drained; undrain forgets it), and a stop signal asks the source whether it is an uninstall
// (the DaemonSet is deleted: stop('uninstall')) or a restart (everything else, and any doubt).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createNodeRuntime } from '../../src/daemon/runtime.js';
import { DrainState, DRAIN_MARKER } from '../../src/daemon/drain-state.js';
import { startDaemon, type StateConsumer, type StateSource, type StopMode } from '../../src/daemon/daemon.js';
import { daemonSetStopMode } from '../../src/daemon/kubernetes.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { DesiredState } from '../../src/model/desired-state.js';

function stateWithPins(pinRoot: string): DesiredState {
  return parseConfig(`
node: { name: drain-n1, routerId: 127.0.0.1, interface: lo }
dataplane: { enabled: false, pinRoot: ${pinRoot} }
pools: [{ name: p, cidrs: [127.0.91.0/24], announce: l2 }]
services: [{ name: web, vip: 127.0.91.1, ports: [{ port: 80 }], endpoints: [127.0.0.1] }]
`).state;
}

test('drain: kept beside the pins, a new runtime starts drained; undrain forgets it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-drain-'));
  try {
    const state = { ...stateWithPins(dir), pools: [] as DesiredState['pools'], services: [] as DesiredState['services'] };
    const rt1 = await createNodeRuntime({ logger: silentLogger(), registry: new Registry(), initial: state });
    await rt1.apply(state);
    assert.deepEqual(await rt1.views().drain!(), { drained: true, persisted: true });
    assert.ok(existsSync(join(dir, DRAIN_MARKER)), 'the drain marker is beside the pins');
    await rt1.stop('restart');

    const rt2 = await createNodeRuntime({ logger: silentLogger(), registry: new Registry(), initial: state });
    await rt2.apply(state);
    assert.equal((rt2.views().ha!() as { drained: boolean }).drained, true, 'the restarted daemon is still drained');
    assert.deepEqual(await rt2.views().undrain!(), { drained: false, persisted: true });
    assert.ok(!existsSync(join(dir, DRAIN_MARKER)));
    await rt2.stop('restart');

    const rt3 = await createNodeRuntime({ logger: silentLogger(), registry: new Registry(), initial: state });
    assert.equal((rt3.views().ha!() as { drained: boolean }).drained, false, 'an undrain also survives the restart');
    await rt3.stop('restart');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('drain: a pin folder that cannot be written keeps the drain in memory and says it is not persisted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-drain-'));
  try {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    const d = new DrainState(file, silentLogger()); // the marker would go below a regular file
    assert.equal(d.persisted(), false);
    assert.equal(d.save(true), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

class Recorder implements StateConsumer {
  stops: StopMode[] = [];
  async apply(): Promise<void> {}
  views() {
    return {};
  }
  async stop(mode: StopMode): Promise<void> {
    this.stops.push(mode);
  }
}

function source(base: DesiredState, mode: () => Promise<'restart' | 'uninstall'>): StateSource {
  return { start: async () => base, on: () => undefined, close: () => undefined, stopMode: mode };
}

for (const row of [
  { desc: 'the DaemonSet is deleted', mode: async () => 'uninstall' as const, want: 'uninstall' },
  { desc: 'a rolling update', mode: async () => 'restart' as const, want: 'restart' },
  { desc: 'the API server cannot be asked', mode: async (): Promise<'restart'> => Promise.reject(new Error('ECONNREFUSED')), want: 'restart' },
]) {
  test(`stop signal: ${row.desc} → ${row.want}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelb-stop-'));
    try {
      const file = join(dir, 'c.yaml');
      writeFileSync(file, 'node: { interface: lo }\napi: { listen: 127.0.0.1:0 }\n');
      const rec = new Recorder();
      process.env.NODE_NAME = 'stop-n1';
      const d = await startDaemon({
        config: file,
        kubernetes: true,
        logger: silentLogger(),
        createConsumer: () => rec,
        createKubernetesSource: ({ base }) => source(base, row.mode),
      });
      const mode = await d.signalStopMode();
      assert.equal(mode, row.want);
      await d.stop(mode);
      assert.deepEqual(rec.stops, [row.want]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('stop signal: without EDGELB_DAEMONSET or POD_NAMESPACE the daemon never uninstalls', async () => {
  assert.equal(await daemonSetStopMode({}), 'restart');
  assert.equal(await daemonSetStopMode({ EDGELB_DAEMONSET: 'edgelb' }), 'restart');
  assert.equal(await daemonSetStopMode({ POD_NAMESPACE: 'edgelb-system' }), 'restart');
});
