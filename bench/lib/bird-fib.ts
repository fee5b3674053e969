// A lab whose BIRD router's kernel FIB is the benchmark's clock, for the benchmarks that time a
// change until the router's FIB shows it (bgp-latency: an announcement or withdrawal; bfd-powercut:
// a power cut). withBirdFib makes the lab, starts BIRD in its router namespace (the lab library's
// BirdRouter: config, control socket, cleanup), watches that namespace's route events
// (`ip monitor route`, each stamped when its line arrives), runs the benchmark, prints the lab's
// logs if it failed, and stops and tears everything down in every case.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Lab, BirdRouter, type BirdOptions, type LabSpec } from '../../test/lab/lib/index.js';

/** A line of `ip monitor route` that adds a route to `prefix` (a bare address means its /32). */
export const routeAdded = (vip: string) => (l: string) => l.startsWith(`${vip} `) || l.startsWith(`${vip}/32 `);
/** A line of `ip monitor route` that deletes the route to `vip`. */
export const routeDeleted = (vip: string) => (l: string) => l.startsWith(`Deleted ${vip} `) || l.startsWith(`Deleted ${vip}/32 `);

export class FibMonitor {
  private waiters: Array<{ test: (l: string) => boolean; resolve: (t: number) => void }> = [];
  private readonly child: ChildProcess;

  /** `clock`: what an event is stamped with (default performance.now; bfd-powercut: wall-clock ms, as `date +%s%N` in the namespaces). */
  constructor(netns: string, private readonly clock: () => number = () => performance.now()) {
    this.child = spawn('ip', ['-n', netns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const t = this.clock();
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(line)) return true;
        w.resolve(t);
        return false;
      });
    });
  }

  /** Resolves with the stamp of the first event line matching `test` (register before acting). */
  next(test: (l: string) => boolean, timeoutMs = 20_000, what = 'FIB event'): Promise<number> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${what} in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        test,
        resolve: (v) => {
          clearTimeout(t);
          resolve(v);
        },
      });
    });
  }

  stop(): void {
    this.child.kill();
  }
}

export interface BirdFib {
  lab: Lab;
  bird: BirdRouter;
  fib: FibMonitor;
}

/**
 * Runs `fn` on a fresh lab (`spec`) with BIRD started on its node `router` (`bird`) and the FIB
 * monitor of that namespace (stamped with `clock`) listening. Everything is stopped after.
 */
export async function withBirdFib<T>(spec: LabSpec, bird: BirdOptions, o: { clock?: () => number }, fn: (l: BirdFib) => Promise<T>): Promise<T> {
  const lab = await Lab.create(spec);
  let fib: FibMonitor | undefined;
  try {
    const router = await BirdRouter.start(lab, 'router', bird);
    fib = new FibMonitor(lab.netns('router'), o.clock);
    await new Promise((r) => setTimeout(r, 500)); // `ip monitor` subscribed before the first change
    return await fn({ lab, bird: router, fib });
  } catch (e) {
    console.error(lab.logs(15));
    throw e;
  } finally {
    fib?.stop();
    await lab.teardown();
  }
}
