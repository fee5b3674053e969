// Wires bench/dataplane-testrun.ts (the data path's own benchmark, not edited here) into the
// harness table: it is run as a process once per run and its result lines are read back
// ("case  edgelb-ns  anchor-ns  ratio"). Inside each process both programs run the same packets
// under BPF_PROG_TEST_RUN, one after the other per case (its own order, not alternated here).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { BenchContext, Row } from './lib/harness.js';
import type { Benchmark } from './run.js';

const SCRIPT = fileURLToPath(new URL('./dataplane-testrun.ts', import.meta.url));
const REPO = fileURLToPath(new URL('..', import.meta.url));

/** The case rows of dataplane-testrun's output: name, edgelb ns, anchor ns. */
export function parseTestrun(out: string): Array<{ name: string; ours: number; anchor: number }> {
  const lines = out.split('\n');
  const start = lines.findIndex((l) => /^case\s+edgelb ns\s+anchor ns\s+ratio/.test(l));
  if (start < 0) throw new Error(`dataplane-testrun printed no result table:\n${out.slice(-1500)}`);
  const rows: Array<{ name: string; ours: number; anchor: number }> = [];
  for (const l of lines.slice(start + 1)) {
    // "case  edgelb  anchor  ratio" and, for single runs, a fifth "net" column (edgelb - anchor)
    const m = /^(.+?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)(?:\s+-?\d+(?:\.\d+)?)?$/.exec(l.trimEnd());
    if (!m) break;
    rows.push({ name: m[1]!.trim(), ours: Number(m[2]), anchor: Number(m[3]) });
  }
  if (!rows.length) throw new Error('dataplane-testrun: empty result table');
  return rows;
}

const bench: Benchmark = {
  name: 'dataplane-testrun',
  title: 'XDP program ns/packet under BPF_PROG_TEST_RUN vs a bare XDP_TX program (bench/dataplane-testrun.ts)',
  async run(ctx: BenchContext): Promise<Row[]> {
    const byCase = new Map<string, { ours: number[]; theirs: number[] }>();
    for (let i = 0; i < ctx.runs; i++) {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', SCRIPT], { cwd: REPO, maxBuffer: 16 << 20, timeout: 600_000 });
      for (const r of parseTestrun(stdout)) {
        const c = byCase.get(r.name) ?? { ours: [], theirs: [] };
        c.ours.push(r.ours);
        c.theirs.push(r.anchor);
        byCase.set(r.name, c);
      }
    }
    return [...byCase].map(([name, c]) => ({ bench: 'dataplane-testrun', figure: name, unit: 'ns/pkt', better: 'lower' as const, ours: c.ours, anchor: 'bare XDP_TX program', theirs: c.theirs }));
  },
};
export default bench;
