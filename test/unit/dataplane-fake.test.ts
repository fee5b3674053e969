// FakeDataplane: the in-memory Dataplane records calls, keeps services, reports health/stats,
// and fails on demand — what control-plane tests rely on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDataplane } from '../../src/dataplane/fake.js';
import type { DataplaneService } from '../../src/dataplane/types.js';

const web: DataplaneService = {
  name: 'web',
  vip: '192.168.80.241',
  port: 80,
  protocol: 'tcp',
  mode: 'onearm',
  backends: [{ address: '10.0.1.2', port: 8080 }],
  epSelect: 'maglev',
  timeoutSec: 300,
};

test('records calls and keeps the last service list', async () => {
  const dp = new FakeDataplane();
  assert.deepEqual(dp.health(), { ok: false, reason: 'data path not open' });
  assert.deepEqual(await dp.open(), { takenOver: false, attachMode: 'generic' });
  await dp.setServices([web]);
  await dp.setServices([{ ...web, backends: [] }]);
  assert.equal(dp.setServicesCalls.length, 2);
  assert.deepEqual(dp.services.get('web')!.backends, []);
  assert.deepEqual(dp.health(), { ok: true });
  await dp.close({ detach: false });
  assert.deepEqual(dp.calls.map((c) => c.method), ['open', 'setServices', 'setServices', 'close']);
  assert.equal(dp.services.size, 1, 'close without detach keeps the programmed state');
});

test('the recorded list is a copy (later caller mutations do not leak in)', async () => {
  const dp = new FakeDataplane();
  await dp.open();
  const list = [structuredClone(web)];
  await dp.setServices(list);
  list[0]!.port = 81;
  assert.equal(dp.services.get('web')!.port, 80);
});

test('fails on demand, once, and rejects duplicate VIP/port/protocol', async () => {
  const dp = new FakeDataplane();
  dp.failNext.open = new Error('boom');
  await assert.rejects(dp.open(), /boom/);
  await dp.open();
  await assert.rejects(dp.setServices([web, { ...web, name: 'web2' }]), (e: Error & { code?: string }) => e.code === 'EDGELB_ERR_INVALID_ARGUMENT');
  dp.unhealthyReason = 'detached';
  assert.deepEqual(dp.health(), { ok: false, reason: 'detached' });
});

test('stats list services with the traffic a test sets', async () => {
  const dp = new FakeDataplane();
  dp.openResult = { takenOver: true, attachMode: 'native' };
  await dp.open();
  await dp.setServices([web]);
  dp.traffic.set('web', { packets: 10, bytes: 1500 });
  const st = dp.stats();
  assert.equal(st.attachMode, 'native');
  assert.deepEqual(st.services.map((s) => [s.name, s.packets, s.bytes]), [['web', 10, 1500]]);
  await dp.close({ detach: true });
  assert.equal(dp.services.size, 0);
});
