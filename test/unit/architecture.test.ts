// The import rules of docs/architecture.md (.dependency-cruiser.cjs): the real tree passes them,
// and a tree with a planted back-edge or a load-order cycle fails them, so the check can fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

async function cruise(cwd: string): Promise<Violation[]> {
  // depcruise exits non-zero when it finds violations; the JSON report is on stdout either way
  const r = await promisify(execFile)(DEPCRUISE, ['src', '--config', CONFIG, '--output-type', 'json'], { cwd, maxBuffer: 64 << 20 }).catch(
    (e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }),
  );
  const report = JSON.parse(r.stdout) as { summary: { violations: Violation[] } };
  return report.summary.violations;
}

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-arch-'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

test('architecture: src/ follows the import rules', async () => {
  const v = await cruise(ROOT);
  assert.deepEqual(v.map((x) => `${x.rule.name}: ${x.from} → ${x.to}`), []);
});

test('architecture: a planted back-edge (model → agent) and an engine importing the agent fail the check', async () => {
  const dir = tree({
    'src/agent/agent.ts': "export const agent = 1;\n",
    'src/model/desired-state.ts': "import { agent } from '../agent/agent.js';\nexport const state = agent;\n",
    'src/bgp/speaker.ts': "import { agent } from '../agent/agent.js';\nexport const s = agent;\n",
    'src/bgp/wire/codec.ts': "import { s } from '../speaker.js';\nexport const c = s;\n",
    'src/lib/ok.ts': "export const ok = 1;\n",
    'src/config/load.ts': "import { ok } from '../lib/ok.js';\nimport { state } from '../model/desired-state.js';\nexport const l = [ok, state];\n",
  });
  try {
    const v = await cruise(dir);
    const got = v.map((x) => `${x.rule.name}: ${x.from} → ${x.to}`).sort();
    assert.deepEqual(got, [
      'layer-bgp-wire: src/bgp/wire/codec.ts → src/bgp/speaker.ts',
      'layer-bgp: src/bgp/speaker.ts → src/agent/agent.ts',
      'layer-model: src/model/desired-state.ts → src/agent/agent.ts',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('architecture: a load-order cycle fails the check; a cycle of type-only imports does not', async () => {
  const dir = tree({
    'src/agent/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
    'src/agent/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    'src/api/t1.ts': "import type { T2 } from './t2.js';\nexport interface T1 { x?: T2 }\n",
    'src/api/t2.ts': "import type { T1 } from './t1.js';\nexport interface T2 { y?: T1 }\n",
  });
  try {
    const v = await cruise(dir);
    // depcruise names the cycle once, from one of its modules
    assert.deepEqual([...new Set(v.map((x) => `${x.rule.name}: ${dirname(x.from)}`))], ['no-circular: src/agent']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
