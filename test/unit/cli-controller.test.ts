// The command line of the split (issue 14): `edgelb controller` and `edgelb daemon --controller`
// refuse what cannot work before they touch the API server, naming the option; the controller's
// settings file is validated like the daemon's. (The controller against a real API server:
// test/k8s/controller-failover.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/program.js';

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const code = await main(['node', 'edgelb', ...args], { out: (s) => (out += s), err: (s) => (err += s) });
    return { code, out, err };
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

test('daemon cli: --controller without --kubernetes is refused', async () => {
  const r = await cli(['daemon', '--config', '/nonexistent.yaml', '--controller']);
  assert.equal(r.code, 1);
  assert.match(r.err, /--controller needs --kubernetes/);
});

test('controller cli: --lease-duration must be a whole number of seconds in 2..300', async () => {
  for (const bad of ['0', '1', '301', '2.5', 'abc', '-5', '']) {
    const r = await cli(['controller', '--lease-duration', bad]);
    assert.equal(r.code, 1, bad);
    assert.match(r.err, /--lease-duration must be an integer 2\.\.300/, bad);
  }
});

test('controller cli: a bad settings file is refused with its path (exit 78) before any API call', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-ctl-'));
  try {
    const cfg = join(dir, 'c.yaml');
    writeFileSync(cfg, 'node: { interface: eth0 }\ncluster: { shards: 0 }\n');
    const r = await cli(['controller', '--config', cfg, '--listen', '127.0.0.1:0', '--log-level', 'silent'], { KUBECONFIG: join(dir, 'none') });
    assert.equal(r.code, 78, r.err);
    assert.match(r.err, /cluster\.shards/);
    writeFileSync(cfg, 'node: [unclosed\n');
    const y = await cli(['controller', '--config', cfg, '--listen', '127.0.0.1:0', '--log-level', 'silent'], { KUBECONFIG: join(dir, 'none') });
    assert.equal(y.code, 78, y.err);
    assert.match(y.err, /not valid YAML/);
    // the nodes' ConfigMap with a cluster section: its key file is the nodes' (not mounted in the
    // controller's pod), so the controller goes on to the API (here: no cluster in the kubeconfig)
    writeFileSync(cfg, 'node: { interface: eth0 }\ncluster: { listen: 0.0.0.0:11112, keyFile: /etc/edgelb/cluster/key, shards: 3 }\n');
    writeFileSync(join(dir, 'kc'), 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
    const k = await cli(['controller', '--config', cfg, '--listen', '127.0.0.1:0', '--log-level', 'silent'], { KUBECONFIG: join(dir, 'kc') });
    assert.equal(k.code, 1, k.err);
    assert.match(k.err, /No active cluster/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('controller cli: no API server to reach is an error (exit 1) naming the Kubernetes API, not a hang', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelb-ctl-'));
  try {
    const kc = join(dir, 'kubeconfig');
    writeFileSync(kc, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
    const r = await cli(['controller', '--listen', '127.0.0.1:0', '--log-level', 'silent'], { KUBECONFIG: kc });
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /EDGELB_ERR_K8S: controller could not start: No active cluster/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
