// Containment: connection sync that cannot start (here: no data path pins) is logged and left
// out; the node runs on without it instead of failing its start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/lib/logger.js';
import { startSync } from '../../src/daemon/sync-wiring.js';
import { singleKeyRing } from '../../src/lib/cluster-keys.js';
import type { DesiredState } from '../../src/model/desired-state.js';
import type { Membership } from '../../src/cluster/membership.js';
import type { XdpDataplane } from '../../src/dataplane/xdp.js';

test('sync-wiring: a sync thread that cannot start is logged, and the node goes on without sync', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-syncw-'));
  try {
    const keyFile = join(dir, 'cluster.key');
    writeFileSync(keyFile, 'sync-wiring-test-key-0123456789ab');
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
    const port = 32000 + (process.pid % 2000);
    const initial = {
      node: { name: 'edge-1', routerId: '127.0.0.1', interface: 'lo' },
      cluster: { listen: `127.0.0.1:${port}`, members: ['127.0.0.1', '127.0.0.2'], keyFile, shards: 1, heartbeatIntervalMs: 30, deadAfterMs: 150, holdDownMs: 0, sync: { port: port + 1, snatAddresses: {}, refreshMs: 1000, queueLimit: 100 } },
    } as unknown as DesiredState;
    const membership = Object.assign(new EventEmitter(), { live: () => ['edge-1'] }) as unknown as Membership;
    const dataplane = { pinDir: join(dir, 'no-pins') } as unknown as XdpDataplane;
    const keys = singleKeyRing(Buffer.from('sync-wiring-test-key-0123456789ab'));
    const h = await startSync({ initial, dataplane, membership, logger, registry: new Registry(), keys });
    assert.equal(h, undefined);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(lines.some((l) => l.includes('connection sync could not start')), lines.join(''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
