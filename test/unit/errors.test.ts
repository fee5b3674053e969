// Every stable error code is documented in docs/errors.md, codes are well-formed, and the error
// classes keep their codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, ConfigError, EdgelbError, NativeError, isEdgelbError } from '../../src/lib/errors.js';

const DOC = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

test('errors: every EDGELB_ERR_* code is documented in docs/errors.md', () => {
  const missing = Object.keys(ERROR_CODES).filter((c) => !DOC.includes(`\`${c}\``));
  assert.deepEqual(missing, [], `undocumented codes: ${missing.join(', ')}`);
});

test('errors: docs/errors.md documents no code that does not exist', () => {
  const documented = [...DOC.matchAll(/`(EDGELB_ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]!);
  const unknown = documented.filter((c) => !(c in ERROR_CODES));
  assert.deepEqual(unknown, []);
});

test('errors: codes are upper-case EDGELB_ERR_ names with a description', () => {
  for (const [code, what] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^EDGELB_ERR_[A-Z0-9_]+$/);
    assert.ok(what.length > 10, code);
  }
});

test('errors: classes carry their codes', () => {
  const c = new ConfigError([{ path: 'a.b', message: 'bad' }, { path: '', message: 'worse' }], 'f.yaml');
  assert.equal(c.code, 'EDGELB_ERR_CONFIG_INVALID');
  assert.equal(c.message, 'f.yaml is invalid (2 errors):\n  a.b: bad\n  (root): worse');
  assert.ok(isEdgelbError(c));
  assert.equal(new NativeError('x', 13).code, 'EDGELB_ERR_NATIVE_CALL');
  assert.equal(new EdgelbError('EDGELB_ERR_LAB', 'y').code, 'EDGELB_ERR_LAB');
  assert.ok(!isEdgelbError(new Error('z')));
});
