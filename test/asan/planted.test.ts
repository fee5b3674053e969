// The sanitizer build's self-check (run by scripts/test-asan.sh after it builds build/asan): a
// planted heap overflow (native/planted.cc, compiled only with -DEDGELB_PLANTED_OVERFLOW, which only
// the sanitized build sets) makes the preloaded AddressSanitizer abort node with
// "heap-buffer-overflow" in the addon's function, while an in-bounds call runs clean and the normal
// build has no such function. So a sanitized test run that reports nothing is a run that could have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/native/index.js';

const sanitized = process.env.EDGELB_ASAN_ADDON;
const libasan = process.env.EDGELB_ASAN_LIB;
if (!sanitized || !libasan) throw new Error('run through scripts/test-asan.sh (EDGELB_ASAN_ADDON, EDGELB_ASAN_LIB)');

function runNode(addon: string, code: string, preload = true) {
  const env: NodeJS.ProcessEnv = { ...process.env, ASAN_OPTIONS: 'detect_leaks=0:halt_on_error=1', UBSAN_OPTIONS: 'halt_on_error=1' };
  if (preload) env.LD_PRELOAD = libasan;
  return spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(addon)}); ${code}`], { encoding: 'utf8', timeout: 60_000, env });
}

test('ASan reports the planted heap overflow in the addon and the process fails', () => {
  const r = runNode(sanitized, 'a.plantedOverflow(16); console.log("survived")');
  assert.notEqual(r.status, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /survived/);
  assert.match(r.stderr, /ERROR: AddressSanitizer: heap-buffer-overflow/);
  assert.match(r.stderr, /WRITE of size 1/);
  assert.match(r.stderr, /PlantedOverflow/, 'the report names the addon function');
});

test('in bounds the same function runs clean; the normal build has no such function', () => {
  const ok = runNode(sanitized, 'console.log("value", a.plantedOverflow(15))');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /value 1/);
  assert.doesNotMatch(ok.stderr, /AddressSanitizer/);
  const normal = runNode(join(packageRoot(), 'build/Release/edgelb.node'), 'console.log(typeof a.plantedOverflow, a.version().modules.includes("planted"))', false);
  assert.equal(normal.status, 0, normal.stderr);
  assert.equal(normal.stdout.trim(), 'undefined false');
});

test('the test suites run against the sanitized addon: loadNative() follows EDGELB_NATIVE_PATH', () => {
  const root = packageRoot();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', `import('${join(root, 'src/native/index.ts')}').then((m) => console.log(typeof m.loadNative().extra.plantedOverflow))`], {
    encoding: 'utf8',
    timeout: 60_000,
    cwd: root,
    env: { ...process.env, EDGELB_NATIVE_PATH: sanitized, LD_PRELOAD: libasan, ASAN_OPTIONS: 'detect_leaks=0' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'function');
});
