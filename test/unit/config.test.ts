// Config: table coverage, error format, YAML read errors, secrets kept out of messages, shard
// hashing, and the example file and docs kept in step with the schema. The valid-file and
// invalid-file tables are in config-valid.test.ts and config-invalid.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError, EdgelbError } from '../../src/lib/errors.js';
import { parseConfig, validateConfig } from '../../src/config/index.js';
import { defaultShard, fnv1a32 } from '../../src/config/hash.js';
import { KNOWN_KEYS } from '../../src/config/schema.js';
import { base, opts } from './config-fixtures.js';
import { VALID_ROWS } from './config-valid-rows.js';
import { INVALID_ROWS } from './config-invalid-rows.js';

const rows = [...VALID_ROWS, ...INVALID_ROWS];

test('config: rows cover at least 40 valid and invalid files', () => {
  assert.ok(rows.length >= 40);
  assert.ok(rows.filter((r) => r.errors).length >= 40);
  assert.ok(rows.filter((r) => !r.errors).length >= 20);
});

test('config: the message of an error uses the DESIGN format', () => {
  const c = base();
  c.bgp.peers.push({ address: '10.0.0.2', asn: 0 });
  assert.throws(
    () => validateConfig(c, opts()),
    (e: unknown) => e instanceof ConfigError && e.message.includes('bgp.peers[1].asn: must be 1..4294967295'),
  );
});

test('config: YAML syntax errors and duplicate keys are read errors with a line', () => {
  for (const text of ['node: { name: a\n', 'node: {}\nnode: {}\n']) {
    assert.throws(
      () => parseConfig(text, opts()),
      (e: unknown) => e instanceof EdgelbError && !(e instanceof ConfigError) && e.code === 'EDGELB_ERR_CONFIG_READ' && /line \d+/.test(e.message),
    );
  }
});

test('config: a password never appears in the ConfigError message', () => {
  const c = base();
  c.bgp.peers[0].passwordFile = 'peer.key';
  c.bgp.peers[0].asn = 0;
  try {
    validateConfig(c, opts());
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(!(e as Error).message.includes('s3cret'));
  }
});

test('config: fnv1a32 matches the reference vectors and spreads names over shards', () => {
  assert.equal(fnv1a32(''), 0x811c9dc5);
  assert.equal(fnv1a32('a'), 0xe40c292c);
  assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[defaultShard(`svc-${i}`, 4)]!++;
  for (const n of counts) assert.ok(n > 800 && n < 1200, `unbalanced: ${counts}`);
  assert.equal(defaultShard('anything', 1), 0);
});

test('config: examples/edge.yaml (the DESIGN example) is valid', async () => {
  const { loadConfig } = await import('../../src/config/index.js');
  const r = await loadConfig(new URL('../../examples/edge.yaml', import.meta.url).pathname);
  assert.equal(r.state.node.name, 'edge-1');
  assert.equal(r.state.cluster!.shards, 3);
  assert.deepEqual(r.state.services[0]!.vips, ['192.168.80.241']);
  assert.equal(r.state.services[0]!.shard, 1);
  assert.equal(r.state.bgp!.peers[0]!.password, readFileSync(new URL('../../examples/peer.key', import.meta.url), 'utf8').trim());
  // only a possible key-mode warning (git checks files out 0644)
  assert.ok(r.warnings.every((w) => w.path === 'cluster.keyFile'), JSON.stringify(r.warnings));
});

test('config: every key of the schema is documented in docs/config.md', () => {
  const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
  const missing = KNOWN_KEYS.filter((k) => !new RegExp(`\\b${k}\\b`).test(doc));
  assert.deepEqual(missing, []);
});
