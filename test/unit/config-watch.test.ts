// ConfigSource: reload on request and on folder changes (file replaced by rename, ConfigMap
// symlink swap), `invalid` on a bad file while the last good state stays current.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, renameSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigSource } from '../../src/config/index.js';
import { ConfigError, EdgelbError } from '../../src/lib/errors.js';
import type { DesiredState } from '../../src/model/desired-state.js';

const cfg = (vip: string, extra = '') => `
node: { name: edge-1, routerId: 127.0.0.1, interface: lo }
pools: [{ name: p, cidrs: [192.168.80.0/24] }]
services:
  - { name: web, vip: ${vip}, ports: [80], endpoints: [10.0.1.2] }
${extra}`;

/** Replace `file` the way editors do: write a temp file, rename it over. */
function replace(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

function nextEvent(src: ConfigSource, timeoutMs = 5000): Promise<['state', DesiredState] | ['invalid', EdgelbError]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      cleanup();
      reject(new Error('no config event'));
    }, timeoutMs);
    const onState = (s: DesiredState) => {
      cleanup();
      resolve(['state', s]);
    };
    const onInvalid = (e: EdgelbError) => {
      cleanup();
      resolve(['invalid', e]);
    };
    const cleanup = () => {
      clearTimeout(t);
      src.off('state', onState);
      src.off('invalid', onInvalid);
    };
    src.on('state', onState);
    src.on('invalid', onInvalid);
  });
}

test('ConfigSource: file replaced by rename → state; bad file → invalid and the old state stays', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-watch-'));
  const file = join(dir, 'edge.yaml');
  const src = new ConfigSource(file, { debounceMs: 50 });
  try {
    writeFileSync(file, cfg('192.168.80.1'));
    const first = await src.start();
    assert.deepEqual(first.state.services[0]!.vips, ['192.168.80.1']);

    let ev = nextEvent(src);
    replace(file, cfg('192.168.80.2'));
    let got = await ev;
    assert.equal(got[0], 'state');
    assert.deepEqual((got[1] as DesiredState).services[0]!.vips, ['192.168.80.2']);

    ev = nextEvent(src);
    replace(file, cfg('10.99.0.1', 'bogus: 1'));
    got = await ev;
    assert.equal(got[0], 'invalid');
    const err = got[1] as ConfigError;
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.issues.map((i) => i.path).sort(), ['bogus', 'services[0].vip']);
    assert.deepEqual(src.current()!.state.services[0]!.vips, ['192.168.80.2'], 'last good state kept');

    // a broken YAML is a read error, and also keeps the old state
    ev = nextEvent(src);
    replace(file, 'node: {');
    got = await ev;
    assert.equal(got[0], 'invalid');
    assert.equal((got[1] as EdgelbError).code, 'EDGELB_ERR_CONFIG_READ');
    assert.deepEqual(src.current()!.state.services[0]!.vips, ['192.168.80.2']);
  } finally {
    src.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ConfigSource: reload() (SIGHUP) re-reads even an unchanged file and reports a bad one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-watch-'));
  const file = join(dir, 'edge.yaml');
  const src = new ConfigSource(file, { watch: false });
  try {
    writeFileSync(file, cfg('192.168.80.1'));
    await src.start();
    const states: DesiredState[] = [];
    const invalid: EdgelbError[] = [];
    src.on('state', (s) => states.push(s));
    src.on('invalid', (e) => invalid.push(e));
    assert.ok(await src.reload());
    assert.equal(states.length, 1);
    writeFileSync(file, cfg('192.168.80.3'));
    const r = await src.reload('test');
    assert.deepEqual(r!.state.services[0]!.vips, ['192.168.80.3']);
    writeFileSync(file, cfg('192.168.80.4', 'services: []'));
    assert.equal(await src.reload(), undefined);
    assert.equal(invalid.length, 1);
    assert.equal(invalid[0]!.code, 'EDGELB_ERR_CONFIG_READ'); // duplicate key "services"
    rmSync(file);
    assert.equal(await src.reload(), undefined);
    assert.match(invalid[1]!.message, /cannot read .*ENOENT/);
    assert.deepEqual(src.current()!.state.services[0]!.vips, ['192.168.80.3']);
  } finally {
    src.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ConfigSource: a Kubernetes ConfigMap update (..data symlink swap) is picked up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-watch-'));
  const src = new ConfigSource(join(dir, 'edge.yaml'), { debounceMs: 50 });
  try {
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'edge.yaml'), cfg('192.168.80.1'));
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync('..data/edge.yaml', join(dir, 'edge.yaml'));
    await src.start();
    mkdirSync(join(dir, '..v2'));
    writeFileSync(join(dir, '..v2', 'edge.yaml'), cfg('192.168.80.9'));
    const ev = nextEvent(src);
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    const got = await ev;
    assert.equal(got[0], 'state');
    assert.deepEqual((got[1] as DesiredState).services[0]!.vips, ['192.168.80.9']);
  } finally {
    src.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ConfigSource: a burst of writes gives one reload (debounced)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-watch-'));
  const file = join(dir, 'edge.yaml');
  const src = new ConfigSource(file, { debounceMs: 150 });
  try {
    writeFileSync(file, cfg('192.168.80.1'));
    await src.start();
    let n = 0;
    src.on('state', () => n++);
    const ev = nextEvent(src);
    for (let i = 2; i < 7; i++) replace(file, cfg(`192.168.80.${i}`));
    const [kind, s] = await ev;
    assert.equal(kind, 'state');
    assert.deepEqual((s as DesiredState).services[0]!.vips, ['192.168.80.6']);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(n, 1);
  } finally {
    src.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ConfigSource: start() throws the ConfigError of a bad first file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-watch-'));
  const file = join(dir, 'edge.yaml');
  const src = new ConfigSource(file);
  try {
    writeFileSync(file, cfg('10.99.0.1'));
    await assert.rejects(src.start(), (e: unknown) => e instanceof ConfigError && e.issues[0]!.path === 'services[0].vip');
    assert.equal(src.current(), undefined);
  } finally {
    src.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
