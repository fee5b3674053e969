// Lab library: the generated configs are accepted by the real daemons' config checks (bird -p, bgpd/zebra -C, gobgpd -d).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, birdConfig, frrBgpdConfig, frrZebraConfig, gobgpConfig, FRR_DAEMON_DIR, FRR_TMP_DIR, type NeighborConfig } from './lib/index.js';

const neighbors: NeighborConfig[] = [
  { address: '10.0.0.11', asn: 64513, password: 'pw-1', holdTime: 9 },
  { address: '10.0.0.12', asn: 64514, passive: true, holdTime: 30, gracefulRestart: false, localAddress: '10.0.0.1' },
  { address: 'fd00::11', asn: 64513, localAsn: 65000, name: 'node1v6', connectRetry: 2 },
  { address: 'fd00::12', asn: 64514, families: [4, 6] },
];
const base = { asn: 64512, routerId: '10.0.0.1', neighbors };

// FRR's -C exits 0 even when lines fail, so its output is checked too
const FRR_ERRORS = /Config Failed|No such command|Unknown command|Invalid|% /;
// FRR 8.4 quirk: `neighbor X graceful-restart-disable` with several peers prints "% Invalid value" and
// "Config Failed" although it is applied (a running bgpd shows localGrMode "Disable" for that peer)
function withoutGrDisableQuirk(out: string): string {
  return out
    .split('\n')
    .filter((l) => !/graceful-restart-disable$/.test(l.trim()) && l.trim() !== '% Invalid value')
    .join('\n');
}

/** Run a config check; FRR daemons leave /var/tmp/frr/<daemon>.<pid>/ behind, so remove it by pid. */
async function runAndClean(argv: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number>((resolve) => child.once('close', (c) => resolve(c ?? -1)));
  const daemon = argv[0]!.split('/').pop()!;
  rmSync(join(FRR_TMP_DIR, `${daemon}.${child.pid}`), { recursive: true, force: true });
  return { stdout, stderr, code };
}

test('generated configs pass each daemon\'s own config check', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-labcfg-'));
  try {
    const rows: { desc: string; file: string; text: string; cmd: (f: string) => string[]; bad?: RegExp }[] = [
      { desc: 'bird -p (merge paths)', file: 'bird.conf', text: birdConfig(base), cmd: (f) => ['bird', '-p', '-c', f] },
      { desc: 'bird -p (no merge)', file: 'bird2.conf', text: birdConfig({ ...base, mergePaths: 0, kernelExport: false }), cmd: (f) => ['bird', '-p', '-c', f] },
      {
        desc: 'bgpd -C',
        file: 'bgpd.conf',
        text: frrBgpdConfig({ ...base, maximumPaths: 8 }),
        cmd: (f) => [join(FRR_DAEMON_DIR, 'bgpd'), '-C', '-f', f, '-u', 'root', '-g', 'frrvty', '--vty_socket', dir, '-z', join(dir, 'zs'), '-P', '0', '-p', '0', '-Z'],
        bad: FRR_ERRORS,
      },
      {
        desc: 'zebra -C',
        file: 'zebra.conf',
        text: frrZebraConfig({}),
        cmd: (f) => [join(FRR_DAEMON_DIR, 'zebra'), '-C', '-f', f, '-u', 'root', '-g', 'frrvty', '--vty_socket', dir, '-z', join(dir, 'zs'), '-P', '0'],
        bad: /Config Failed|No such command|Unknown command|Invalid/,
      },
      { desc: 'gobgpd -d (speaker)', file: 'gobgp1.toml', text: gobgpConfig(base), cmd: (f) => ['gobgpd', '-d', '-t', 'toml', '-f', f] },
      { desc: 'gobgpd -d (router, no listen)', file: 'gobgp2.toml', text: gobgpConfig({ ...base, role: 'router', listenPort: -1, listenAddresses: ['127.0.0.1'] }), cmd: (f) => ['gobgpd', '-d', '-t', 'toml', '-f', f] },
    ];
    for (const r of rows) {
      const f = join(dir, r.file);
      writeFileSync(f, r.text);
      const res = await runAndClean(r.cmd(f));
      const out = res.stdout + res.stderr;
      t.diagnostic(`${r.desc}: code ${res.code}`);
      assert.equal(res.code, 0, `${r.desc}: ${out}`);
      if (r.bad) assert.doesNotMatch(withoutGrDisableQuirk(out), r.bad, `${r.desc}: ${out}`);
    }
    // and the checks do catch a broken config (so the passes above mean something)
    writeFileSync(join(dir, 'broken.conf'), birdConfig(base).replace('merge paths on', 'merge pathz on'));
    assert.notEqual((await run(['bird', '-p', '-c', join(dir, 'broken.conf')], { check: false })).code, 0);
    writeFileSync(join(dir, 'broken-bgpd.conf'), frrBgpdConfig(base).replace('maximum-paths 16', 'maximum-pathz 16'));
    const frrBad = await runAndClean(rows[2]!.cmd(join(dir, 'broken-bgpd.conf')));
    assert.match(frrBad.stdout + frrBad.stderr, FRR_ERRORS);
    writeFileSync(join(dir, 'broken.toml'), gobgpConfig(base).replace('peer-as = 64513', 'peer-as = "x"'));
    assert.notEqual((await run(['gobgpd', '-d', '-t', 'toml', '-f', join(dir, 'broken.toml')], { check: false })).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
