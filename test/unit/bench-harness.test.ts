// The benchmark harness's pure parts (bench/lib/harness.ts) and the parsers and generators the
// benchmarks rely on: statistics, run order, the results table, the data-path output parser, the
// BIRD control-socket client, the VRRP advert choice and the MRT file GoBGP loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alternate, markdownTable, percentile, ratio, rotate, summarize, type Row } from '../../bench/lib/harness.js';
import { parseTestrun } from '../../bench/dataplane-testrun-rows.js';
import { parseWrk } from '../../bench/dataplane-wrk-rows.js';
import { BirdControl } from '../../bench/lib/birdc.js';
import { advertFor } from '../../bench/failover-l2.js';
import { benchPrefix, DAEMON_NODE_FLAGS, mrtFile, prefixes, shebangFlags } from '../../bench/lib/senders.js';
import { churn, katranRing } from '../../bench/maglev.js';
import { connectedAt, eventAt, pausesMs } from '../../bench/bgp-transfer.js';
import { maglevTable } from '../../src/dataplane/maglev.js';

test('percentile interpolates, ignores non-finite values, and is NaN for none', () => {
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
  assert.equal(percentile([5], 99), 5);
  assert.equal(percentile([3, 1, 2], 0), 1);
  assert.equal(percentile([3, 1, 2], 100), 3);
  assert.equal(percentile([1, NaN, Infinity, 3], 50), 2);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.ok(Number.isNaN(percentile([NaN], 50)));
});

test('summarize gives median, min, max and count of the finite values', () => {
  assert.deepEqual(summarize([4, 1, 3, NaN]), { median: 3, min: 1, max: 4, p25: 2, p75: 3.5, n: 3 });
  const empty = summarize([]);
  assert.equal(empty.n, 0);
  assert.ok(Number.isNaN(empty.median) && Number.isNaN(empty.min));
});

test('alternate runs A, B, A, B …, and swaps who goes first every other run when asked', async () => {
  const order: string[] = [];
  const side = (s: string) => async (i: number) => (order.push(`${s}${i}`), i);
  const r = await alternate(3, side('A'), side('B'));
  assert.deepEqual(order, ['A0', 'B0', 'A1', 'B1', 'A2', 'B2']);
  assert.deepEqual(r, { a: [0, 1, 2], b: [0, 1, 2] });
  order.length = 0;
  await alternate(3, side('A'), side('B'), true);
  assert.deepEqual(order, ['A0', 'B0', 'B1', 'A1', 'A2', 'B2']);
});

test('rotate starts each run with the next side, and keeps each side’s results apart', async () => {
  const order: string[] = [];
  const side = (s: string) => async (i: number) => (order.push(s), `${s}${i}`);
  const r = await rotate(3, [side('a'), side('b'), side('c')]);
  assert.deepEqual(order, ['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']);
  assert.deepEqual(r, [['a0', 'a1', 'a2'], ['b0', 'b1', 'b2'], ['c0', 'c1', 'c2']]);
});

test('ratio is A median over B median, NaN without an anchor or with a zero one', () => {
  const row: Row = { bench: 'x', figure: 'f', unit: 'ms', better: 'lower', ours: [2, 4, 6], anchor: 'b', theirs: [1, 2, 3] };
  assert.equal(ratio(row), 2);
  assert.ok(Number.isNaN(ratio({ ...row, theirs: [] })));
  assert.ok(Number.isNaN(ratio({ ...row, theirs: [0] })));
});

test('the markdown table has one line per row, escapes pipes, and shows goal, spread and runs', () => {
  const rows: Row[] = [
    { bench: 'b', figure: 'a | b', unit: 'ms', better: 'lower', ours: [1, 2, 3], anchor: 'x|y', theirs: [2, 4], goal: '≤ 1', met: false },
    { bench: 'b', figure: 'no anchor', unit: '%', better: 'lower', ours: [5], anchor: '', theirs: [] },
  ];
  const lines = markdownTable(rows).split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[2]!, /a \\\| b/);
  assert.match(lines[2]!, /x\\\|y/);
  assert.match(lines[2]!, /\| 2\.00 ms \| 1\.00–3\.00 \|/);
  assert.match(lines[2]!, /\| 3\/2 \| ≤ 1: not met \|/);
  assert.match(lines[3]!, /\| – \| 1\/0 \|/);
});

const TESTRUN_OUT = `edgelb_xdp vs bare XDP_TX under BPF_PROG_TEST_RUN (mean of 20000 single runs)
case                                                       edgelb ns anchor ns ratio
new-flow SYN, dnat (Maglev, 2 conntrack inserts, FIB)         2006.3     125.0 16.05
non-VIP packet, 2000000 repeats in one call                    131.0      25.0  5.24
counters: ct_new 1, ct_hit 2, tx 3, conntrack entries 4`;

test('parseTestrun reads the case rows and stops at the first other line', () => {
  assert.deepEqual(parseTestrun(TESTRUN_OUT), [
    { name: 'new-flow SYN, dnat (Maglev, 2 conntrack inserts, FIB)', ours: 2006.3, anchor: 125 },
    { name: 'non-VIP packet, 2000000 repeats in one call', ours: 131, anchor: 25 },
  ]);
});

test('parseTestrun reads the net column of single-run rows without taking a number into the name', () => {
  const out = `edgelb_xdp vs bare XDP_TX under BPF_PROG_TEST_RUN; conntrack pre-filled with 1000000 flows
case                                                     edgelb ns anchor ns ratio   net ns
established dsr, 1000000 repeats                              74.0      24.0  3.08
new flow, dnat SYN                                          1755.3     110.0 15.96   1645.3
ICMP echo to a VIP (reply from XDP after this change)        183.9     110.0  1.67     73.9
counters: ct_new 1`;
  assert.deepEqual(parseTestrun(out), [
    { name: 'established dsr, 1000000 repeats', ours: 74, anchor: 24 },
    { name: 'new flow, dnat SYN', ours: 1755.3, anchor: 110 },
    { name: 'ICMP echo to a VIP (reply from XDP after this change)', ours: 183.9, anchor: 110 },
  ]);
});

test('parseTestrun keeps digits inside a name (bound rows) and names longer than the column', () => {
  const out = `case                                                     edgelb ns anchor ns ratio   net ns
bound: XDP_TX + 1 conntrack lookup, 1000000 repeats           53.0      24.0  2.21
established onearm reply, 1000000 repeats (restore wrapper)      84.0      31.0  2.71
bound: XDP_TX + 1 conntrack lookup (miss)                    511.2     114.0  4.49    397.2
counters: ct_new 1`;
  assert.deepEqual(parseTestrun(out), [
    { name: 'bound: XDP_TX + 1 conntrack lookup, 1000000 repeats', ours: 53, anchor: 24 },
    { name: 'established onearm reply, 1000000 repeats (restore wrapper)', ours: 84, anchor: 31 },
    { name: 'bound: XDP_TX + 1 conntrack lookup (miss)', ours: 511.2, anchor: 114 },
  ]);
});

test('parseTestrun refuses output without the table or with an empty one', () => {
  assert.throws(() => parseTestrun('Error: something broke\n'), /no result table/);
  assert.throws(() => parseTestrun('case  edgelb ns anchor ns ratio\ncounters: none\n'), /empty result table/);
  assert.throws(() => parseTestrun(''), /no result table/);
});

test('BirdControl: greeting, multi-line replies, and error codes thrown', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'birdc-'));
  const path = join(dir, 'bird.ctl');
  const server = createServer((s) => {
    s.write('0001 BIRD 2.0.12 ready.\n');
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      for (let i; (i = buf.indexOf('\n')) >= 0; ) {
        const cmd = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (cmd === 'show protocols all p1') {
          // split across writes, continuation lines with and without a code
          s.write('2002-Name       Proto\n1002-p1  BGP  up\n  Routes:         1234 imp');
          setTimeout(() => s.write('orted, 0 exported\n0000 \n'), 5);
        } else if (cmd === 'enable nope') s.write('9001 syntax error\n');
        else s.write('0013 ok\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  try {
    const c = await BirdControl.open(path);
    assert.equal(await c.imported('p1'), 1234);
    await assert.rejects(c.cmd('enable nope'), /9001 syntax error/);
    assert.equal(await c.cmd('disable p1'), 'ok');
    await assert.rejects(c.cmd('two\nlines'), /one command per line/);
    c.close();
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('advertFor picks the centisecond advert whose VRRPv3 master-down is nearest the budget', () => {
  assert.deepEqual(advertFor(150), { advertCs: 5, masterDownMs: 150 + (16 * 50) / 256 });
  assert.equal(advertFor(60).advertCs, 2);
  assert.equal(advertFor(1).advertCs, 1); // never below 10 ms
});

test('bench prefixes are distinct host routes of each family', () => {
  assert.equal(benchPrefix(4, 0), '10.64.0.0/32');
  assert.equal(benchPrefix(4, 65536 + 257), '10.65.1.1/32');
  assert.equal(benchPrefix(6, 65537), '2001:db8:64::1:1/128');
  assert.equal(new Set(prefixes(4, 100_000)).size, 100_000);
  assert.equal(new Set(prefixes(6, 100_000)).size, 100_000);
});

test('mrtFile writes a PEER_INDEX_TABLE and the prefix list twice, RIB records of the right family', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mrt-'));
  try {
    for (const family of [4, 6] as const) {
      const path = join(dir, `f${family}.mrt`);
      mrtFile(path, family, prefixes(family, 3), family === 4 ? '10.0.0.13' : 'fd00::13', 64603, '10.0.0.13');
      const b = readFileSync(path);
      const subtypes: number[] = [];
      for (let o = 0; o < b.length; ) {
        assert.equal(b.readUInt16BE(o + 4), 13); // TABLE_DUMP_V2
        subtypes.push(b.readUInt16BE(o + 6));
        o += 12 + b.readUInt32BE(o + 8);
      }
      assert.deepEqual(subtypes, [1, ...Array(6).fill(family === 4 ? 2 : 4)]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Katran anchor fills every slot and balances like ours; churn reports one share per change', () => {
  const b = Array.from({ length: 10 }, (_, i) => `10.0.0.${i}:80`);
  const k = katranRing(b, 4099);
  assert.ok(k.every((x) => x >= 0 && x < 10));
  const ours = maglevTable(b, 4099);
  const count = (t: Int32Array) => Array.from({ length: 10 }, (_, i) => t.filter((x) => x === i).length);
  for (const c of [...count(k), ...count(ours)]) assert.ok(c >= 380 && c <= 440, `slots ${c}`);
  const { remapped, ideal } = churn(6, 1, 4099);
  assert.equal(remapped.length, 6);
  for (const [i, r] of remapped.entries()) assert.ok(r >= ideal[i]! && r < 0.5);
});

test('connectedAt reads the TCP connect time of one protocol from a BIRD log, and refuses a log without it', () => {
  const log = [
    '2026-12-07 02:28:42.932 <TRACE> from_edgelb: Connect delayed by 1 seconds',
    '2026-12-07 02:28:43.100 <TRACE> from_edgelbx: Connected',
    '2026-12-07 02:28:43.847 <TRACE> from_edgelb: Connected',
    '2026-12-07 02:28:43.863 <TRACE> from_edgelb: BGP session established',
  ].join('\n');
  assert.equal(connectedAt(log, 'from_edgelb'), new Date('2026-12-07T02:28:43.847').getTime());
  assert.equal(eventAt(log, 'from_edgelb', 'BGP session established'), new Date('2026-12-07T02:28:43.863').getTime());
  assert.throws(() => eventAt(log, 'from_edgelbx', 'BGP session established'), /no "BGP session established"/);
  assert.throws(() => connectedAt('2026-12-07 02:28:43.847 <TRACE> from_bird: Connected\n', 'from_edgelb'), /no "Connected"/);
  assert.throws(() => connectedAt('02:28:43.847 <TRACE> from_edgelb: Connected\n', 'from_edgelb'), /no "Connected"/);
  assert.throws(() => connectedAt('2026-12-07 02:28:43.847 <TRACE> from_edgelb: Connected\n', 'from.edgelb'), /no "Connected"/);
});

test('parseWrk reads req/s and CPU per 1k requests of both paths, and refuses output missing one', () => {
  const out = [
    'iptables runs: 5000 and 5100 req/s',
    'path                                     req/s  CPU ms/1k req  errors',
    'iptables DNAT+MASQUERADE (anchor)         5050          312.5 ',
    'edgelb XDP onearm (generic)               6100          250.1 Socket errors: connect 0',
  ].join('\n');
  assert.deepEqual(parseWrk(out), { iptables: { rps: 5050, cpuMsPerKReq: 312.5 }, xdp: { rps: 6100, cpuMsPerKReq: 250.1 } });
  assert.throws(() => parseWrk(out.split('\n').slice(0, 3).join('\n')), /no "edgelb XDP onearm/);
  assert.throws(() => parseWrk('iptables DNAT+MASQUERADE (anchor)  n/a\nedgelb XDP onearm (generic) 1 2'), /no "iptables/);
});

test('pausesMs sums the intervals of a second or more in which the receiver got nothing, from the session up on', () => {
  // BIRD 2.0.12 sending 1,000 routes: 768 at once, the last 232 three seconds later
  const bird: Array<[number, number]> = [
    [900, 0],
    [1000, 0], // connect at 1000: the wait for the connect is not a pause
    [1005, 768],
    [1010, 768],
    [2500, 768],
    [4010, 1000],
  ];
  assert.equal(pausesMs(bird, 1000), 3005);
  assert.equal(pausesMs(bird, 1000, 5000), 0);
  // a steady sender has no pause; nothing polled, no pause
  assert.equal(pausesMs([[1000, 0], [1200, 500], [1900, 1000]], 1000), 0);
  assert.equal(pausesMs([], 1000), 0);
  // nothing at all for 1.5 s after the connect, then everything: one pause from the connect, or
  // from the session's establishment when known (the OPEN/KEEPALIVE exchange is the sender's time)
  assert.equal(pausesMs([[1000, 0], [2500, 0], [2505, 1000]], 1000), 1505);
  assert.equal(pausesMs([[1000, 0], [2500, 0], [2505, 1000]], 1000, 1000, 1004), 1501);
  // established after a change was seen: the pause starts at the establishment
  assert.equal(pausesMs([[1000, 0], [1002, 5], [1003, 5], [3000, 5], [3005, 9]], 1000, 1000, 1010), 1995);
  // established late enough that what is left is under a second: no pause
  assert.equal(pausesMs([[1000, 0], [2500, 0], [2505, 1000]], 1000, 1000, 1600), 0);
  // samples before the connect never count, even when they change
  assert.equal(pausesMs([[0, 5], [10, 0], [1000, 0], [1010, 10]], 1000), 0);
});

test('benchmarks run the daemon with its production node flags: the shebang of src/cli/main.ts, the same as the image', () => {
  assert.ok(DAEMON_NODE_FLAGS.includes('--no-concurrent-recompilation') && DAEMON_NODE_FLAGS.includes('--max-semi-space-size=2'), DAEMON_NODE_FLAGS.join(' '));
  const entry = readFileSync(new URL('../../image/entrypoint.sh', import.meta.url), 'utf8');
  const exec = entry.split('\n').find((l) => l.startsWith('exec ') && l.includes('dist/cli/main.js'));
  assert.ok(exec, 'image/entrypoint.sh execs node on dist/cli/main.js');
  assert.deepEqual(exec.split(/\s+/).filter((a) => a.startsWith('--')), DAEMON_NODE_FLAGS, 'the image runs the same flags');
  assert.deepEqual(shebangFlags('#!/usr/bin/env -S node --a --b=2\n// x'), ['--a', '--b=2']);
  assert.throws(() => shebangFlags('#!/usr/bin/node\n'), /no "#!\/usr\/bin\/env -S node --flags" first line/);
});
