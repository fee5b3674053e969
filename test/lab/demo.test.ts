// End to end: `edgelb lab demo` as `make demo` runs it (headless, from the built CLI). Its exit
// code says whether every step worked; the summary lines are checked one by one, so a step that
// stops asserting would show here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = `${root}dist/cli/main.js`;

test('edgelb lab demo: ECMP, spread, reload, hitless restart, power cut, recovery', { timeout: 240_000 }, () => {
  assert.ok(existsSync(cli), 'run `make build` first');
  const started = Date.now();
  const r = spawnSync(process.execPath, [cli, 'lab', 'demo'], { encoding: 'utf8', timeout: 200_000 });
  const out = r.stdout + r.stderr;
  process.stdout.write(out.split('\n').filter((l) => /^(PASS|FAIL|All|\d+ of)/.test(l)).map((l) => `# ${l}\n`).join(''));
  assert.equal(r.status, 0, out);
  const line = (name: string) => {
    const l = out.split('\n').find((x) => x.startsWith(`PASS  ${name}`));
    assert.ok(l, `no PASS line for "${name}":\n${out}`);
    return l;
  };
  assert.match(line('ECMP route 192.168.80.241/32'), /ECMP over 3 next hops: 10\.0\.0\.11, 10\.0\.0\.12, 10\.0\.0\.13/);
  assert.match(line('ECMP route 192.168.80.242/32'), /ECMP over 3 next hops/);
  assert.match(line('requests to onearm VIP'), /80 ok, 0 failed; be1=\d+ be2=\d+ be3=\d+ be4=\d+/);
  assert.match(line('requests to dsr VIP'), /80 ok, 0 failed; be1=\d+ be2=\d+ be3=\d+ be4=\d+/);
  assert.match(line('reload adds a service'), /20\/20 requests ok, 0 BGP session resets/);
  assert.match(line('kill -9 and restart of edge-1'), /^PASS .* 0 of 16 open connections dropped .*fewest next hops seen 3/);
  // BFD, not the hold timer, took edge-2 down at the router (the time is printed, not asserted)
  assert.match(line('router flushed edge-2'), /after \d+ ms \(BFD detection 300 ms = 3 × 100 ms, hold time 3 s; router: (?:Error: )?BFD session down\)/);
  assert.match(line('new requests after the flush'), /120 ok, 0 failed/);
  assert.match(line('established dsr connections'), /8 of 8 live on/);
  assert.match(line('established onearm connections'), /0 of 8 onearm connections lost .*answered by edge-[13]/);
  assert.match(line('edge-2 back'), /3 next hops again/);
  assert.match(out, /All 13 steps worked\./);
  assert.ok(Date.now() - started < 120_000, 'the demo finishes in under two minutes');
  // nothing of the demo remains
  const left = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith('demo-')) : [];
  assert.deepEqual(left, []);
});
