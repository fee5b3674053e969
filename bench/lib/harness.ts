// The benchmark harness: one rule for every benchmark. Side A (edgelb) and side B (an anchor) do
// the same work the same way, in alternating runs (A, B, A, B …); each figure is the median of its
// runs with the spread (min–max), and the ratio A/B of the medians. Results are rows of one table
// that bench/run.ts prints and writes as markdown and JSON with the date and the machine.
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Options every benchmark receives from the runner. */
export interface BenchContext {
  /** QUICK=1: one run each, small N — checks the benchmark works, figures are not results */
  quick: boolean;
  /** alternating runs per side (≥ 5 unless quick) */
  runs: number;
  log: (line: string) => void;
}

/** One row of the results table. */
export interface Row {
  bench: string;
  /** what is measured, e.g. "BGP initial transfer, IPv4 10k /32, time to all" */
  figure: string;
  unit: string;
  better: 'lower' | 'higher';
  /** side A (edgelb): one value per run */
  ours: number[];
  /** name of side B and what it does differently, if anything */
  anchor: string;
  /** side B: one value per run (empty when the row has no anchor, e.g. an ideal value) */
  theirs: number[];
  /** the goal from the issue, in words, and whether the median meets it */
  goal?: string;
  met?: boolean;
  note?: string;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  p25: number;
  p75: number;
  n: number;
}

/** Linear-interpolated percentile (0–100) of finite values; NaN when there are none. */
export function percentile(xs: readonly number[], p: number): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  if (p <= 0) return s[0]!;
  if (p >= 100) return s[s.length - 1]!;
  const pos = (p / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function summarize(xs: readonly number[]): Summary {
  const f = xs.filter((x) => Number.isFinite(x));
  return {
    median: percentile(f, 50),
    min: f.length ? Math.min(...f) : NaN,
    max: f.length ? Math.max(...f) : NaN,
    p25: percentile(f, 25),
    p75: percentile(f, 75),
    n: f.length,
  };
}

/**
 * Run `a` and `b` alternately `runs` times each (A, B, A, B …; the first side alternates too when
 * `swapFirst`, so neither always follows the other) and return their results in run order.
 */
export async function alternate<T>(runs: number, a: (i: number) => Promise<T>, b: (i: number) => Promise<T>, swapFirst = false): Promise<{ a: T[]; b: T[] }> {
  const out = { a: [] as T[], b: [] as T[] };
  for (let i = 0; i < runs; i++) {
    if (swapFirst && i % 2 === 1) {
      out.b.push(await b(i));
      out.a.push(await a(i));
    } else {
      out.a.push(await a(i));
      out.b.push(await b(i));
    }
  }
  return out;
}

/** Rotate through several sides in turn: run i starts with side (i mod k), so none always goes first. */
export async function rotate<T>(runs: number, sides: ReadonlyArray<(i: number) => Promise<T>>): Promise<T[][]> {
  const out = sides.map(() => [] as T[]);
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < sides.length; k++) {
      const s = (i + k) % sides.length;
      out[s]!.push(await sides[s]!(i));
    }
  }
  return out;
}

export function ratio(r: Row): number {
  const a = summarize(r.ours).median;
  const b = summarize(r.theirs).median;
  return r.theirs.length && b !== 0 ? a / b : NaN;
}

export interface Machine {
  date: string;
  host: string;
  nproc: number;
  cpu: string;
  kernel: string;
  memGiB: number;
  node: string;
  loadavg: number[];
}

export function machine(): Machine {
  let kernel = '';
  try {
    kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  } catch {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  }
  return {
    date: new Date().toISOString(),
    host: hostname(),
    nproc: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    kernel,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** A number for a table cell: 3 significant digits, no exponent. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

const spread = (s: Summary) => (s.n > 1 ? `${fmt(s.min)}–${fmt(s.max)}` : '');

/** The table as markdown: one line per row. */
export function markdownTable(rows: readonly Row[]): string {
  const head = '| benchmark | figure | edgelb (median) | spread | anchor | anchor (median) | spread | ratio | runs | goal |';
  const lines = [head, '|---|---|---:|---:|---|---:|---:|---:|---:|---|'];
  for (const r of rows) {
    const a = summarize(r.ours);
    const b = summarize(r.theirs);
    const goal = r.goal ? `${r.goal}: ${r.met === undefined ? '?' : r.met ? 'met' : 'not met'}` : '';
    const cell = (s: string) => s.replace(/\|/g, '\\|');
    lines.push(
      `| ${r.bench} | ${cell(r.figure)} | ${fmt(a.median)} ${r.unit} | ${spread(a)} | ${cell(r.anchor)} | ${r.theirs.length ? `${fmt(b.median)} ${r.unit}` : ''} | ${spread(b)} | ${fmt(ratio(r))} | ${a.n}/${b.n} | ${cell(goal)}${r.note ? ` ${cell(r.note)}` : ''} |`,
    );
  }
  return lines.join('\n');
}

/** The table for a terminal: fixed-width columns. */
export function textTable(rows: readonly Row[]): string {
  const cols = rows.map((r) => {
    const a = summarize(r.ours);
    const b = summarize(r.theirs);
    return [
      `${r.bench}: ${r.figure}`,
      `${fmt(a.median)} ${r.unit}`,
      spread(a),
      r.anchor,
      r.theirs.length ? `${fmt(b.median)} ${r.unit}` : '',
      spread(b),
      fmt(ratio(r)),
      `${a.n}/${b.n}`,
      r.goal ? `${r.met === undefined ? '?' : r.met ? 'met' : 'NOT met'} (${r.goal})` : '',
    ];
  });
  const head = ['figure', 'edgelb', 'spread', 'anchor', 'anchor value', 'spread', 'ratio', 'runs', 'goal'];
  const w = head.map((h, i) => Math.min(i === 0 || i === 3 ? 60 : 24, Math.max(h.length, ...cols.map((c) => c[i]!.length))));
  const line = (c: string[]) => c.map((x, i) => (i === 0 || i === 3 || i === 8 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ');
  return [line(head), ...cols.map(line)].join('\n');
}
