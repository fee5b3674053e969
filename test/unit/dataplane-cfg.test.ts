// The data path's node-wide settings computed in TypeScript (src/dataplane/xdp-cfg.ts): the SNAT
// port ranges around ip_local_port_range and the daemon's ports (and what a broken procfs line
// gives), the fair share, the flow-hash key derivation, and the address filter's bit function
// (the BPF program's addrf_test computes the same; dataplane-packets*.test.ts run it end to end).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { addrfBit, addrfWords, flowHashKey, localPortRange, portCount, snatPortRanges, snatShare } from '../../src/dataplane/xdp-cfg.js';

test('ip_local_port_range: parsed, and anything malformed gives Linux\'s default', () => {
  assert.deepEqual(localPortRange(() => '32768\t60999\n'), [32768, 60999]);
  assert.deepEqual(localPortRange(() => '1024 65000'), [1024, 65000]);
  for (const bad of ['', 'x y', '60999 32768', '0 100', '1 70000', '1024', '1024 2048 4096', '-1 5', '1e3 2e3']) {
    assert.deepEqual(localPortRange(() => bad), [32768, 60999], JSON.stringify(bad));
  }
  assert.deepEqual(
    localPortRange(() => {
      throw new Error('ENOENT');
    }),
    [32768, 60999],
  );
});

test('SNAT ranges: 1024..65535 minus the ephemeral range and the daemon\'s ports, the four largest', () => {
  assert.deepEqual(snatPortRanges([32768, 60999], [11111, 11112, 179]), [[1024, 11110], [11113, 32767], [61000, 65535]]);
  assert.equal(portCount(snatPortRanges([32768, 60999], [11111, 11112])), 36278);
  // reserved ports inside the ephemeral range or below 1024 change nothing
  assert.deepEqual(snatPortRanges([32768, 60999], [40000, 80, 22]), [[1024, 32767], [61000, 65535]]);
  // an ephemeral range reaching 65535 or starting at 1024
  assert.deepEqual(snatPortRanges([1024, 65535], []), []);
  assert.deepEqual(snatPortRanges([10000, 65535], []), [[1024, 9999]]);
  assert.deepEqual(snatPortRanges([1024, 50000], [65535]), [[50001, 65534]]);
  // many reserved ports: only the four largest ranges are kept, in order
  const r = snatPortRanges([32768, 60999], [2000, 4000, 6000, 8000, 10000, 62000]);
  assert.equal(r.length, 4);
  assert.deepEqual(r, [...r].sort((a, b) => a[0] - b[0]));
  for (const [lo, hi] of r) assert.ok(lo >= 1024 && hi <= 65535 && lo <= hi && (hi < 32768 || lo > 60999));
  // nonsense reserved values are ignored
  assert.deepEqual(snatPortRanges([32768, 60999], [NaN, -1, 0, 70000, 1.5]), [[1024, 32767], [61000, 65535]]);
});

test('fair share: a percentage of the ports, at least one', () => {
  assert.equal(snatShare([[1024, 11110], [11113, 32767], [61000, 65535]], 10), 3627);
  assert.equal(snatShare([[61000, 61019]], 25), 5);
  assert.equal(snatShare([[61000, 61000]], 1), 1);
});

test('flow-hash key: from dataplane.flowHashKey, else the cluster key file; the same input gives the same 16 bytes', () => {
  const a = flowHashKey({ flowHashKey: 'a cluster-wide secret' });
  assert.equal(a?.length, 16);
  assert.deepEqual(flowHashKey({ flowHashKey: 'a cluster-wide secret' }), a);
  assert.notDeepEqual(flowHashKey({ flowHashKey: 'another cluster secret' }), a);
  const fromFile = flowHashKey({}, '/etc/edgelb/cluster.key', () => Buffer.from('a cluster-wide secret'));
  assert.deepEqual(fromFile, a, 'the file and the setting with the same secret agree');
  assert.equal(flowHashKey({}), undefined);
  assert.equal(flowHashKey({}, '/k', () => Buffer.alloc(0)), undefined, 'an empty key file keys nothing');
  assert.throws(() =>
    flowHashKey({}, '/missing', () => {
      throw new Error('ENOENT');
    }),
  );
});

test('flow-hash key and the cluster key rotation: a one-key file keys it as before (its bytes); a copy as flowHashKeyFile keeps it through every step', () => {
  const OLD = 'old-cluster-key-0123456789abcdef';
  const NEW = 'new-cluster-key-fedcba9876543210';
  // what edgelb derived before key lists: SHA-256 over the file's bytes, line end included
  const before = createHash('sha256').update('edgelb flow hash key\0').update(`${OLD}\n`).digest().subarray(0, 16);
  assert.deepEqual(flowHashKey({}, '/k', () => Buffer.from(`${OLD}\n`)), before, 'a one-key file: the hash of before (an upgrade moves no flow)');
  const pinned = (file: string) => flowHashKey({ flowHashKeyFile: '/etc/edgelb/flow-hash.key' }, '/k', (p) => Buffer.from(p === '/k' ? file : `${OLD}\n`));
  for (const step of [`${OLD}\n`, `${OLD}\n${NEW}\n`, `${NEW}\n${OLD}\n`, `${NEW}\n`]) assert.deepEqual(pinned(step), before, `pinned through ${JSON.stringify(step)}`);
  // derived from the key file, the second step's file keys it like the first (its primary is
  // still the old key) but the last one does not: why the docs ask for flowHashKeyFile
  assert.notDeepEqual(flowHashKey({}, '/k', () => Buffer.from(`${NEW}\n`)), before);
});

test('address filter: VIPs in the first half, backends in the second, one bit each', () => {
  const words = 2048;
  const w = addrfWords(['192.168.80.1', '2001:db8:80::1'], ['10.0.0.2'], words);
  assert.equal(w.length, 2 * words);
  const has = (half: number, a: string) => {
    const b = addrfBit(a);
    return (w[half * words + (b >>> 5)]! & (1 << (b & 31))) !== 0;
  };
  assert.ok(has(0, '192.168.80.1') && has(0, '2001:db8:80::1') && has(1, '10.0.0.2'));
  const bits = [...w].reduce((n, x) => n + x.toString(2).split('1').length - 1, 0);
  assert.ok(bits >= 2 && bits <= 3);
  for (const a of ['0.0.0.0', '255.255.255.255', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']) {
    const b = addrfBit(a);
    assert.ok(Number.isInteger(b) && b >= 0 && b < 65536, `${a}: ${b}`);
  }
  assert.throws(() => addrfBit('not an address'));
});
