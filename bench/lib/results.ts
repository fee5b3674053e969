// Results files, one pair per benchmark: bench/results/<bench>.{md,json} each hold one benchmark's
// rows with its own date, machine and runs, so branches that run different benchmarks commit
// different files, and `make bench BENCH=x` replaces only x's. bench/results/latest.{md,json} are
// regenerated from every per-benchmark JSON file present: one table, each benchmark's date and
// machine beside it. Files that are not a benchmark's results (latest.json, a torn or foreign file)
// are skipped and named, never trusted.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownTable, ratio, summarize, type Machine, type Row } from './harness.js';

/** One benchmark's results: what bench/results/<bench>.json holds. */
export interface BenchResult {
  bench: string;
  title: string;
  machine: Machine;
  quick: boolean;
  runsPerSide: number;
  seconds: number;
  rows: Row[];
}

/** The one-line machine description quoted beside a figure (README/docs use the same words). */
export function machineLine(m: Machine): string {
  return `${m.date.slice(0, 10)} · ${m.host} · ${m.nproc} CPUs (${m.cpu}) · kernel ${m.kernel} · ${m.memGiB} GiB · node ${m.node} · load ${m.loadavg.join(', ')} at start`;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** The file stem for a benchmark name; throws on a name that could leave the directory. */
export function resultStem(bench: string): string {
  if (!NAME.test(bench) || bench === 'latest' || bench === 'quick') throw new Error(`bad benchmark name for a results file: ${JSON.stringify(bench)}`);
  return bench;
}

function withSummaries(r: BenchResult): unknown {
  return { ...r, rows: r.rows.map((x) => ({ ...x, oursSummary: summarize(x.ours), theirsSummary: summarize(x.theirs), ratio: ratio(x) })) };
}

/** One benchmark's markdown: its machine line, how to read it, its table. */
export function benchMarkdown(r: BenchResult): string {
  return [
    `# ${r.bench}${r.quick ? ' (QUICK: not results)' : ''}`,
    '',
    r.title,
    '',
    `${machineLine(r.machine)} · ${r.runsPerSide} alternating run(s) per side · ${r.seconds} s`,
    '',
    `Each figure: median of the runs per side (A = edgelb, B = anchor), spread = min–max, ratio = edgelb median / anchor median. Written by \`make bench BENCH=${r.bench}\` (bench/run.ts); how it works: bench/README.md.`,
    '',
    markdownTable(r.rows),
    '',
  ].join('\n');
}

/** Write path atomically (a reader never sees half a file, a crash never leaves one). */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Write <dir>/<bench>.json and .md. */
export function writeBenchResult(dir: string, r: BenchResult): void {
  const stem = resultStem(r.bench);
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, `${stem}.json`), JSON.stringify(withSummaries(r), null, 2) + '\n');
  writeAtomic(join(dir, `${stem}.md`), benchMarkdown(r));
}

const isNumArray = (x: unknown): x is number[] => Array.isArray(x) && x.every((v) => typeof v === 'number' || v === null);

/** Parse one per-benchmark JSON text; throws with the reason when it is not one. */
export function parseBenchResult(text: string, expectBench?: string): BenchResult {
  const j = JSON.parse(text) as Record<string, unknown>;
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error('not an object');
  if (typeof j.bench !== 'string' || !NAME.test(j.bench)) throw new Error('no benchmark name');
  if (expectBench !== undefined && j.bench !== expectBench) throw new Error(`file names ${expectBench} but holds ${j.bench}`);
  const m = j.machine as Record<string, unknown> | undefined;
  if (!m || typeof m.date !== 'string' || Number.isNaN(Date.parse(m.date)) || typeof m.host !== 'string' || typeof m.nproc !== 'number') throw new Error('no machine');
  if (!Array.isArray(j.rows) || !j.rows.length) throw new Error('no rows');
  const rows: Row[] = [];
  for (const x of j.rows as Array<Record<string, unknown>>) {
    if (!x || typeof x.figure !== 'string' || typeof x.unit !== 'string' || typeof x.anchor !== 'string') throw new Error('a row without figure/unit/anchor');
    // JSON has no NaN: a non-finite value was written as null; read it back as NaN
    if (!isNumArray(x.ours) || !isNumArray(x.theirs)) throw new Error(`${x.figure}: values are not numbers`);
    const nums = (a: Array<number | null>) => a.map((v) => (v === null ? NaN : v));
    rows.push({
      bench: j.bench,
      figure: x.figure,
      unit: x.unit,
      better: x.better === 'higher' ? 'higher' : 'lower',
      ours: nums(x.ours),
      anchor: x.anchor,
      theirs: nums(x.theirs),
      ...(typeof x.goal === 'string' ? { goal: x.goal } : {}),
      ...(typeof x.met === 'boolean' ? { met: x.met } : {}),
      ...(typeof x.note === 'string' ? { note: x.note } : {}),
    });
  }
  return {
    bench: j.bench,
    title: typeof j.title === 'string' ? j.title : '',
    machine: {
      date: m.date,
      host: m.host,
      nproc: m.nproc,
      cpu: String(m.cpu ?? ''),
      kernel: String(m.kernel ?? ''),
      memGiB: Number(m.memGiB ?? NaN),
      node: String(m.node ?? ''),
      loadavg: isNumArray(m.loadavg) ? (m.loadavg as number[]) : [],
    },
    quick: j.quick === true,
    runsPerSide: Number(j.runsPerSide ?? NaN),
    seconds: Number(j.seconds ?? NaN),
    rows,
  };
}

/** Every per-benchmark result in dir, in `order` (names not in it after, alphabetically); the files skipped and why. */
export function readBenchResults(dir: string, order: readonly string[] = []): { results: BenchResult[]; skipped: string[] } {
  const results: BenchResult[] = [];
  const skipped: string[] = [];
  if (!existsSync(dir)) return { results, skipped };
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.json')) continue;
    const stem = f.slice(0, -5);
    if (stem === 'latest' || stem === 'quick') continue;
    try {
      const r = parseBenchResult(readFileSync(join(dir, f), 'utf8'), stem);
      if (r.quick) throw new Error('a QUICK run');
      results.push(r);
    } catch (e) {
      skipped.push(`${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const rank = (b: string) => (order.includes(b) ? order.indexOf(b) : order.length);
  results.sort((a, b) => rank(a.bench) - rank(b.bench) || a.bench.localeCompare(b.bench));
  return { results, skipped };
}

/** latest.md: one table of every benchmark's rows, with each benchmark's date, machine and runs above it. */
export function latestMarkdown(results: readonly BenchResult[]): string {
  return [
    '# edgelb benchmark results',
    '',
    'Regenerated by `make bench` from the per-benchmark files in this folder (`<bench>.json`); each benchmark was run on its own date and machine:',
    '',
    ...results.map((r) => `- \`${r.bench}\`: ${machineLine(r.machine)} · ${r.runsPerSide} run(s) per side · ${r.seconds} s`),
    '',
    'Each figure: median of the alternating runs per side (A = edgelb, B = anchor), spread = min–max, ratio = edgelb median / anchor median. How each benchmark works: bench/README.md.',
    '',
    markdownTable(results.flatMap((r) => r.rows)),
    '',
  ].join('\n');
}

/** Regenerate dir/latest.{md,json} from the per-benchmark files in dir; returns what was read. */
export function writeLatest(dir: string, order: readonly string[] = []): { results: BenchResult[]; skipped: string[] } {
  const got = readBenchResults(dir, order);
  mkdirSync(dir, { recursive: true });
  const json = { benches: got.results.map((r) => ({ bench: r.bench, machine: r.machine, runsPerSide: r.runsPerSide, seconds: r.seconds })), rows: got.results.flatMap((r) => (withSummaries(r) as { rows: unknown[] }).rows) };
  writeAtomic(join(dir, 'latest.json'), JSON.stringify(json, null, 2) + '\n');
  writeAtomic(join(dir, 'latest.md'), latestMarkdown(got.results));
  return got;
}
