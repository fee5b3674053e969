// Reflector (src/k8s/client.ts): an optional resource that is absent (404) or that this identity
// may not read (403: a speaker without list on nodereports) is an empty, synced list, so the node
// still programs its state; a required one stays unsynced (never act on a partial picture).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiException } from '@kubernetes/client-node';
import { KubeClient, Reflector } from '../../src/k8s/client.js';
import { createLogger } from '../../src/lib/logger.js';

const kc = () => KubeClient.forServer('http://127.0.0.1:1');

for (const [code, optional, synced] of [[403, true, true], [404, true, true], [403, false, false], [500, true, false]] as const) {
  test(`reflector: list answering ${code} on ${optional ? 'an optional' : 'a required'} resource → synced ${synced}`, async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', destination: { write: (s: string) => void lines.push(s) } as never });
    let changes = 0;
    const r = new Reflector('nodereports', kc(), '/apis/edgelb.io/v1alpha1/nodereports', async () => {
      throw new ApiException(code, 'refused', {}, {});
    }, () => changes++, log, undefined, optional);
    await r.start();
    await r.stop();
    assert.equal(r.synced, synced);
    assert.deepEqual(r.list(), []);
    if (code === 403 && optional) assert.equal(lines.filter((l) => l.includes('not allowed to read')).length, 1);
    assert.equal(changes, 0);
  });
}
