// Runs edgelb's benchmarks through the harness (bench/lib/harness.ts) and prints one table:
// figure, anchor, ratio, runs, spread. A full run writes each benchmark's rows with the date and
// machine to bench/results/<bench>.{md,json} and regenerates latest.{md,json} from all of those
// present (bench/lib/results.ts); QUICK (one run each, small N) checks that every benchmark still
// works and writes to .cache/bench/quick.* instead. Exit 1 when any benchmark fails.
//   node --import tsx bench/run.ts [--quick] [--runs N] [name…]     (root: most build namespaces)
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { machine, markdownTable, textTable, summarize, ratio, type BenchContext, type Row } from './lib/harness.js';
import { writeBenchResult, writeLatest } from './lib/results.js';

export interface Benchmark {
  name: string;
  /** one line: what is measured and what the anchor does */
  title: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

/** Every benchmark in the order `make bench` runs them (cheap ones first). */
export const BENCHMARKS: Record<string, () => Promise<{ default: Benchmark }>> = {
  maglev: () => import('./maglev.js'),
  'bgp-codec': () => import('./bgp-codec.js'),
  'config-load': () => import('./config-load.js'),
  'native-calls': () => import('./native-calls.js'),
  memory: () => import('./memory.js'),
  'bgp-transfer': () => import('./bgp-transfer.js'),
  'bgp-latency': () => import('./bgp-latency.js'),
  'failover-l2': () => import('./failover-l2.js'),
  'failover-l2-tight': () => import('./failover-l2.js').then((m) => ({ default: m.tight })),
  'failover-l2-sweep': () => import('./failover-l2.js').then((m) => ({ default: m.sweep })),
  'k8s-ingress': () => import('./k8s-ingress.js'),
  'dataplane-testrun': () => import('./dataplane-testrun-rows.js'),
  'dataplane-wrk': () => import('./dataplane-wrk-rows.js'),
  'syn-burst': () => import('./syn-burst.js'),
  'bfd-powercut': () => import('./bfd-powercut.js'),
  sync: () => import('./sync.js'),
};

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function parseArgs(argv: string[]): { quick: boolean; runs: number; names: string[] } {
  let quick = process.env.QUICK === '1';
  let runs = NaN;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--runs') runs = Number(argv[++i]);
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else if (!(a in BENCHMARKS)) throw new Error(`unknown benchmark ${a}; known: ${Object.keys(BENCHMARKS).join(' ')}`);
    else names.push(a);
  }
  if (Number.isNaN(runs)) runs = quick ? 1 : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs wants a positive integer');
  return { quick, runs, names: names.length ? names : Object.keys(BENCHMARKS) };
}

async function main(): Promise<number> {
  const { quick, runs, names } = parseArgs(process.argv.slice(2));
  const m = machine();
  const rows: Row[] = [];
  const failures: Array<{ bench: string; error: string }> = [];
  const timings: Record<string, number> = {};
  const done = new Map<string, Row[]>();
  const titles: Record<string, string> = {};
  const t0 = Date.now();
  for (const name of names) {
    const start = Date.now();
    const log = (line: string) => console.log(`  [${name}] ${line}`);
    console.log(`== bench ${name}${quick ? ' (quick)' : ''}`);
    try {
      const b = (await BENCHMARKS[name]!()).default;
      log(b.title);
      const got = await b.run({ quick, runs, log });
      if (!got.length) throw new Error('no rows');
      for (const r of got) {
        if (!r.ours.length || r.ours.some((x) => !Number.isFinite(x))) throw new Error(`${r.figure}: side A has no finite value`);
        if (r.theirs.some((x) => !Number.isFinite(x))) throw new Error(`${r.figure}: anchor has a non-finite value`);
      }
      rows.push(...got);
      done.set(name, got);
      titles[name] = b.title;
    } catch (e) {
      const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
      failures.push({ bench: name, error: error.split('\n').slice(0, 6).join('\n') });
      console.error(`== bench ${name}: FAILED\n${error}`);
    }
    timings[name] = Math.round((Date.now() - start) / 1000);
    console.log(`== bench ${name}: ${timings[name]} s`);
  }
  const totalS = Math.round((Date.now() - t0) / 1000);
  const header = `${quick ? 'QUICK run (one run each, small N: a check, not results)' : 'edgelb benchmarks'} — ${m.date}, ${m.nproc} × ${m.cpu}, kernel ${m.kernel}, ${m.memGiB} GiB, node ${m.node}, load ${m.loadavg.join(' ')} at start, ${totalS} s`;
  console.log(`\n${header}\n${textTable(rows)}`);
  for (const f of failures) console.log(`FAILED ${f.bench}: ${f.error.split('\n')[0]}`);

  if (quick) {
    // a check, not results: one file in .cache/bench/ (test/bench/quick.test.ts reads it)
    const dir = join(ROOT, '.cache/bench');
    mkdirSync(dir, { recursive: true });
    const json = { machine: m, quick, runsPerSide: runs, totalSeconds: totalS, seconds: timings, failures, rows: rows.map((r) => ({ ...r, oursSummary: summarize(r.ours), theirsSummary: summarize(r.theirs), ratio: ratio(r) })) };
    writeFileSync(join(dir, 'quick.json'), JSON.stringify(json, null, 2) + '\n');
    writeFileSync(join(dir, 'quick.md'), `# QUICK run (not results)\n\n${header}\n\n${markdownTable(rows)}\n`);
    console.log(`written: ${join(dir, 'quick')}.{md,json}`);
  } else {
    // results: bench/results/<bench>.{md,json} for each benchmark that ran to the end (a failed
    // one keeps its previous files), then latest.{md,json} from every per-benchmark file present
    const dir = join(ROOT, 'bench/results');
    for (const [bench, got] of done) writeBenchResult(dir, { bench, title: titles[bench] ?? '', machine: m, quick, runsPerSide: runs, seconds: timings[bench] ?? NaN, rows: got });
    const latest = writeLatest(dir, Object.keys(BENCHMARKS));
    for (const s of latest.skipped) console.log(`latest: skipped ${s}`);
    console.log(`written: ${[...done.keys()].map((b) => `bench/results/${b}.{md,json}`).join(' ')}; bench/results/latest.{md,json} from ${latest.results.length} benchmark(s)`);
  }
  return failures.length ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = await main();
