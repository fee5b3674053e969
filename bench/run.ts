// Runs edgelb's benchmarks through the harness (bench/lib/harness.ts) and prints one table:
// figure, anchor, ratio, runs, spread. A full run writes it as markdown and JSON under
// bench/results/ (dated, and latest.*) with the machine; QUICK (one run each, small N) checks that
// every benchmark still works and writes to .cache/bench/ instead. Exit 1 when any benchmark fails.
//   node --import tsx bench/run.ts [--quick] [--runs N] [name…]     (root: most build namespaces)
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { machine, markdownTable, textTable, summarize, ratio, type BenchContext, type Row } from './lib/harness.js';

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
  'k8s-ingress': () => import('./k8s-ingress.js'),
  'dataplane-testrun': () => import('./dataplane-testrun-rows.js'),
  'dataplane-wrk': () => import('./dataplane-wrk-rows.js'),
  'syn-burst': () => import('./syn-burst.js'),
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

  const json = {
    machine: m,
    quick,
    runsPerSide: runs,
    totalSeconds: totalS,
    seconds: timings,
    failures,
    rows: rows.map((r) => ({ ...r, oursSummary: summarize(r.ours), theirsSummary: summarize(r.theirs), ratio: ratio(r) })),
  };
  const md = [
    `# edgelb benchmark results${quick ? ' (QUICK: not results)' : ''}`,
    '',
    `${m.date} · ${m.host} · ${m.nproc} CPUs (${m.cpu}) · kernel ${m.kernel} · ${m.memGiB} GiB · node ${m.node} · load average at start ${m.loadavg.join(', ')} · ${totalS} s in all`,
    '',
    `Each figure: median of ${runs} alternating run(s) per side (A = edgelb, B = anchor), spread = min–max, ratio = edgelb median / anchor median. Written by \`make bench\` (bench/run.ts); how each benchmark works: bench/README.md.`,
    '',
    markdownTable(rows),
    '',
    ...(failures.length ? ['## Failed', '', ...failures.map((f) => `- ${f.bench}: ${f.error.split('\n')[0]}`), ''] : []),
  ].join('\n');
  const dir = quick ? join(ROOT, '.cache/bench') : join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const stem = quick ? 'quick' : `${m.date.slice(0, 10)}-${m.host.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  for (const s of quick ? [stem] : [stem, 'latest']) {
    writeFileSync(join(dir, `${s}.json`), JSON.stringify(json, null, 2) + '\n');
    writeFileSync(join(dir, `${s}.md`), md);
  }
  console.log(`written: ${join(dir, stem)}.{md,json}${quick ? '' : ' and latest.{md,json}'}`);
  return failures.length ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = await main();
