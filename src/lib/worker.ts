// Start a worker thread from a module next to the caller, the same way from source and from dist:
// under tsx (tests, `make demo` from source) the caller's URL ends in .ts and the worker registers
// the TypeScript loader itself; compiled, the sibling .js file runs directly.
import { Worker } from 'node:worker_threads';

/** A Worker running `<base>.ts` or `<base>.js` beside the module whose import.meta.url is `here`. */
export function startWorker(here: string, base: string, workerData: unknown): Worker {
  if (here.endsWith('.ts')) {
    const url = new URL(`./${base}.ts`, here).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    return new Worker(`import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url)}); })`, { eval: true, workerData });
  }
  return new Worker(new URL(`./${base}.js`, here), { workerData });
}
