// `edgelb migrate` against input that tries to break it (not YAML, huge, alias bombs, NUL bytes,
// lists at the top, names that try to break out of a comment), the documentation examples as
// golden files (UPDATE=1 rewrites them), and the real command line: exit codes 0, 1, 2 and 3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { migrateTexts } from '../../src/migrate/index.js';
import { MAX_DOCUMENTS, MAX_FILE_BYTES, flowDepth } from '../../src/migrate/input.js';
import { main } from '../../src/cli/program.js';
import { checkOutput, hasNote, run } from './migrate-lib.js';

const FIX = join(import.meta.dirname, 'fixtures/migrate');

function refused(text: string, want: RegExp): void {
  assert.throws(() => migrateTexts('metallb', [{ name: 'bad.yaml', text }]), (e: Error & { code?: string }) => e.code === 'EDGELB_ERR_MIGRATE_INPUT' && want.test(e.message));
}

test('migrate input: not YAML is refused with the document and the reason', () => refused('apiVersion: v1\nkind: [unclosed\n', /bad.yaml: not YAML/));
test('migrate input: a tab-indented mess is refused', () => refused('a:\n\t- b\n  c: : :\n', /not YAML/));
test('migrate input: a duplicate key is refused', () => refused('apiVersion: v1\napiVersion: v2\nkind: X\n', /not YAML/));
test('migrate input: the second document of three names itself', () => refused('a: 1\n---\nb: [\n---\nc: 3\n', /bad.yaml#2: not YAML/));
// regression: 200,000 [ made the YAML parser recurse to the stack limit, where V8 aborted the
// whole process (FATAL "RegExpCompiler Allocation failed") depending on timing
test('migrate input: nesting 200,000 deep is refused before parsing, not a crash', () => refused('['.repeat(200_000), /nested more than 512 levels deep/));
test('migrate input: nesting depth ignores brackets in quotes and comments', () => {
  assert.equal(flowDepth(`a: "${'['.repeat(900)}"\nb: '${'{'.repeat(900)}'\nc: 1 # ${'['.repeat(900)}\nd: [[1], {e: [2]}]\n`), 3);
  const r = run('metallb', `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: { name: p, annotations: { note: "${'['.repeat(900)}" } }\nspec: { addresses: [10.0.0.0/30] }\n`);
  assert.equal(r.migration.objects.length, 1);
});
test('migrate input: NUL bytes (a binary file) are refused', () => refused('apiVersion: v1\u0000\u0001', /not a text file/));
test('migrate input: a file over the size limit is refused', () => refused('#'.repeat(MAX_FILE_BYTES + 1), /larger than 16 MiB/));
test('migrate input: too many documents are refused', () => refused('---\na: 1\n'.repeat(MAX_DOCUMENTS + 1), /more than 20000 YAML documents/));
test('migrate input: an alias bomb is refused', () => {
  let y = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < 12; i++) y += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
  refused(`apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\ndata:\n${y.replace(/^/gm, '  ')}`, /alias/i);
});

test('migrate input: an empty file converts to nothing, exit 0', () => {
  const r = run('metallb', '');
  assert.equal(r.migration.objects.length, 0);
  assert.equal(r.lost, 0);
  assert.match(r.stdout, /Nothing in the input converts/);
});

test('migrate input: a list, a scalar, and objects without kind or apiVersion are skipped with notes', () => {
  const r = run('metallb', '- 1\n- 2\n---\n42\n---\nkind: IPAddressPool\n---\napiVersion: metallb.io/v1beta1\n');
  hasNote(r, ['lost', '', /a list at the top/]);
  hasNote(r, ['lost', '', /a number at the top/]);
  hasNote(r, ['lost', '', /no apiVersion/]);
  hasNote(r, ['lost', '', /no kind/]);
  assert.equal(r.lost, 4);
});

test('migrate input: kind List items are read, nested Lists too, items of the wrong shape noted', () => {
  const r = run('metallb', 'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: List\n    items:\n      - { apiVersion: metallb.io/v1beta1, kind: IPAddressPool, metadata: { name: deep }, spec: { addresses: [10.0.0.0/30] } }\n  - just-a-string\n');
  assert.ok(r.migration.objects.some((c) => c.obj.metadata.name === 'deep'));
  hasNote(r, ['lost', '', /a string at the top/]);
});

test('migrate input: a name or value that tries to break out of a comment stays a comment', () => {
  const evil = 'x\\n---\\napiVersion: v1\\nkind: Secret\\nmetadata: { name: pwned }';
  const r = run('metallb', `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: { name: "${evil}", namespace: "a\\rb" }\nspec: { addresses: ["10.0.0.0/30", "${evil}"], bogus: 1 }\n---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: { name: l }\nspec: { interfaces: ["eth0\\n---\\nkind: Secret"] }\n`);
  const docs = parseAllDocuments(r.stdout);
  const objs = (Array.isArray(docs) ? docs : [docs]).map((d) => d.toJS()).filter(Boolean);
  assert.deepEqual(objs.map((o: { kind: string }) => o.kind), ['IPPool'], 'only the converted pool, no injected object');
  for (const line of r.stdout.split('\n')) assert.ok(!/^kind: Secret/.test(line), 'no injected line');
  assert.ok(r.stderr.split('\n').every((l) => l === '' || l.startsWith('edgelb migrate: ')), 'every stderr line is one note');
});

test('migrate output: strings YAML 1.1 would read as booleans or numbers are quoted (kubectl reads YAML 1.1)', () => {
  const r = run('metallb', 'apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: { name: p }\nspec: { myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, nodeSelectors: [{ matchLabels: { edge: "on", rack: "10:20", row: "y", zone: "yes" } }] }\n');
  assert.match(r.stdout, /zone: "yes"/);
  assert.match(r.stdout, /edge: "on"/);
  assert.match(r.stdout, /rack: "10:20"/);
  assert.match(r.stdout, /row: "y"/);
});

test('migrate input: wrong types everywhere do not crash', () => {
  const r = run('metallb', 'apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: { name: [1], labels: 7 }\nspec: { myASN: "x", peerASN: {a: 1}, peerAddress: [1], nodeSelectors: 5, holdTime: [] }\n');
  assert.ok(r.lost >= 3);
});

test('migrate input: a very long string is cut in comments', () => {
  const r = run('metallb', `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: { name: p }\nspec: { addresses: ["${'9'.repeat(5000)}"] }\n`);
  assert.ok(r.stdout.split('\n').every((l) => l.length < 1200));
});

// ---- golden files: the documentation examples (fixtures/migrate/*.yaml → *.out)
const GOLDEN = readdirSync(FIX).filter((f) => f.endsWith('.yaml'));
for (const f of GOLDEN) {
  test(`migrate golden: ${f}`, () => {
    const tool = f.startsWith('metallb') ? 'metallb' : 'kube-loxilb';
    const r = migrateTexts(tool, [{ name: f, text: readFileSync(join(FIX, f), 'utf8') }]);
    checkOutput(r);
    const got = `${r.stdout}# --- stderr (exit ${r.lost ? 3 : 0})\n${r.stderr.replace(/^/gm, '# ')}`;
    const file = join(FIX, f.replace(/\.yaml$/, '.out'));
    if (process.env.UPDATE === '1') writeFileSync(file, got);
    assert.equal(got, readFileSync(file, 'utf8'), `${f}: output changed (UPDATE=1 to accept)`);
  });
}

// ---- the command line
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'edgelb', ...args], { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

test('migrate cli: exit 0 when everything is carried over, objects on stdout, nothing on stderr', async () => {
  const r = await cli(['migrate', 'metallb', join(FIX, 'metallb-list.yaml')]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /kind: IPPool/);
  assert.doesNotMatch(r.err, /not carried over/);
});

test('migrate cli: exit 3 with what could not be carried over on stderr', async () => {
  const r = await cli(['migrate', 'kube-loxilb', join(FIX, 'loxilb-deployment.yaml'), join(FIX, 'loxilb-services.yaml')]);
  assert.equal(r.code, 3);
  assert.match(r.err, /^edgelb migrate: not carried over: .*--gatewayAPI: edgelb does not implement the Gateway API$/m);
  assert.match(r.out, /name: defaultpool/);
});

test('migrate cli: exit 1 for a missing file or one that is not YAML, nothing on stdout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-migrate-'));
  try {
    writeFileSync(join(dir, 'bad.yaml'), 'kind: [\n');
    for (const f of [join(dir, 'missing.yaml'), join(dir, 'bad.yaml'), dir]) {
      const r = await cli(['migrate', 'metallb', join(FIX, 'metallb-l2.yaml'), f]);
      assert.equal(r.code, 1, f);
      assert.equal(r.out, '');
      assert.match(r.err, /edgelb: EDGELB_ERR_MIGRATE_INPUT: /);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('migrate cli: usage errors exit 2 (unknown source, no file)', async () => {
  assert.equal((await cli(['migrate', 'cilium', 'x.yaml'])).code, 2);
  assert.equal((await cli(['migrate', 'metallb'])).code, 2);
});

test('daemon cli: --default-class without --kubernetes is refused', async () => {
  const r = await cli(['daemon', '--config', '/nonexistent.yaml', '--default-class']);
  assert.equal(r.code, 1);
  assert.match(r.err, /--default-class needs --kubernetes/);
});

// regression: commander names the value `defaultLbmode`; it was read as defaultLbMode and dropped
test('daemon cli: --default-lbmode reaches the config check', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-lbmode-'));
  try {
    const cfg = join(dir, 'c.yaml');
    writeFileSync(cfg, 'node: { name: n, routerId: 10.0.0.1, interface: lo }\nbgp: { asn: 64512 }\npools: [{ name: p, cidrs: [10.9.0.0/28] }]\nservices: [{ name: s, pool: p, ports: [80], endpoints: [10.0.1.1] }]\n');
    const plain = await cli(['daemon', '--config', cfg, '--check']);
    assert.equal(plain.code, 0, plain.err);
    assert.doesNotMatch(plain.err, /services\[0\]\.mode/);
    const dnat = await cli(['daemon', '--config', cfg, '--check', '--default-lbmode', 'dnat']);
    assert.equal(dnat.code, 0, dnat.err);
    assert.match(dnat.err, /warning: services\[0\]\.mode: dnat replies must come back/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
