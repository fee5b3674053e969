// Diagnostic (not part of `make bench`): where edgelb's heartbeat gaps come from under CPU stress.
// Starts one three-node L2 lab per node-flag variant at a detection budget (all at once, so every
// variant sees the same load), traces the scheduling of every real-time thread with the kernel's
// tracefs (sched_switch / sched_wakeup, and with USTACK=1 the user stacks of the heartbeat
// threads' futex calls: which lock a long sleep waited on), runs `stress-ng --cpu 0` and prints
// each variant's peer deaths and each node's heartbeat statistics. The trace is left in
// /tmp/l2gaps-<budget>.trace. Usage (root, under the lab lock):
//   node --import tsx bench/l2-gaps.ts <budgetMs> <stressS> '<node flags>' ['<node flags>' …]
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, rmdirSync, existsSync } from 'node:fs';
import { L2Lab, NODES } from './l2-lab.js';

const budget = Number(process.argv[2] ?? 30);
const stressS = Number(process.argv[3] ?? 30);
const variants = process.argv.length > 4 ? process.argv.slice(4) : ['--single-threaded-gc'];
const T = '/sys/kernel/tracing/instances/edgelb-l2gaps';
const w = (f: string, v: string) => writeFileSync(`${T}/${f}`, v);
const timing = { intervalMs: Math.max(5, Math.round(budget / 5)), deadAfterMs: budget, holdDownMs: 500, garpCount: 3, garpIntervalMs: 50 };

const labs: L2Lab[] = [];
try {
  for (const [i, flags] of variants.entries()) {
    const l = await L2Lab.create(`l2g${i}`, timing);
    labs.push(l);
    process.env.L2_NODE_FLAGS = flags;
    for (const n of NODES) await l.startNode(n);
    await l.waitBalanced([...NODES], 30_000);
  }
  await new Promise((r) => setTimeout(r, 1500));
  const workers = new Map<string, string>(); // heartbeat thread id → variant/node
  for (const [i, l] of labs.entries()) {
    for (const n of NODES) {
      const pid = l.runners.get(n)!.pid;
      const threads = execFileSync('ps', ['-L', '-o', 'tid=,rtprio=', '-p', String(pid)]).toString().trim().split('\n').map((s) => s.trim().split(/\s+/));
      for (const [tid, rt] of threads) if (rt !== '-') workers.set(tid!, `v${i}/${n}`);
      console.log(`v${i}/${n} pid ${pid}: ${threads.length} threads, real-time: ${threads.filter((t) => t[1] !== '-').map((t) => t[0]).join(',')}`);
    }
  }
  const trace = existsSync('/sys/kernel/tracing/instances');
  if (trace) {
    mkdirSync(T, { recursive: true });
    w('buffer_size_kb', '32768');
    w('trace_clock', 'mono');
    w('events/sched/sched_switch/filter', 'prev_prio < 100 || next_prio < 100');
    w('events/sched/sched_wakeup/filter', 'prio < 100');
    w('events/sched/sched_switch/enable', '1');
    w('events/sched/sched_wakeup/enable', '1');
    if (process.env.USTACK) {
      writeFileSync(`${T}/events/syscalls/sys_enter_futex/filter`, [...workers.keys()].map((t) => `common_pid == ${t}`).join(' || '));
      writeFileSync(`${T}/events/syscalls/sys_enter_futex/enable`, '1');
      w('options/userstacktrace', '1');
      w('options/sym-userobj', '1');
    }
    w('trace', '');
    w('tracing_on', '1');
  }
  const before = labs.map((l) => NODES.map((n) => l.events(n).filter((e) => e.ev === 'dead').length));
  const stat0 = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  await new Promise<void>((res, rej) => spawn('stress-ng', ['--cpu', '0', '--timeout', `${stressS}s`, '--quiet'], { stdio: 'ignore' }).once('exit', () => res()).once('error', rej));
  const stat1 = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  if (trace) {
    w('tracing_on', '0');
    writeFileSync(`/tmp/l2gaps-${budget}.trace`, readFileSync(`${T}/trace`));
    w('events/sched/sched_switch/enable', '0');
    w('events/sched/sched_wakeup/enable', '0');
    if (process.env.USTACK) {
      writeFileSync(`${T}/events/syscalls/sys_enter_futex/enable`, '0');
      w('options/userstacktrace', '0');
    }
    rmdirSync(T);
  }
  console.log(`heartbeat threads: ${[...workers].map(([t, v]) => `${t}=${v}`).join(' ')}`);
  console.log('cpu before', stat0, '\ncpu after ', stat1);
  for (const [i, l] of labs.entries()) {
    let total = 0;
    for (const [k, n] of NODES.entries()) total += l.events(n).filter((e) => e.ev === 'dead').length - before[i]![k]!;
    for (const n of NODES) l.runners.get(n)!.signal('SIGTERM');
    for (const n of NODES) await l.runners.get(n)!.exited;
    const st = NODES.map((n) => l.events(n).find((e) => e.ev === 'stopped') as { maxSendGapMs?: number; maxGcMs?: number } | undefined);
    console.log(`v${i} [${variants[i]}]: ${total} peer deaths in ${stressS} s; max send gap per node ${st.map((s) => s?.maxSendGapMs).join('/')} ms, max GC ${st.map((s) => s?.maxGcMs).join('/')} ms`);
  }
} finally {
  for (const l of labs) await l.teardown();
}
