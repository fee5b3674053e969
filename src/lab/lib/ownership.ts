// Lab: ownership records (/run/edgelb-lab/<prefix>-<pid>-<seq>.json) so a later run removes only what a dead run left.
import { readFileSync, writeFileSync, renameSync, mkdirSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { runSync } from './exec.js';

export const RECORD_DIR = process.env.EDGELB_LAB_RECORD_DIR ?? '/run/edgelb-lab';

export interface OwnedPid {
  pid: number;
  /** /proc/<pid>/stat start time, so a reused pid is never mistaken for ours */
  startTime: string;
}

export interface OwnershipData {
  version: 1;
  prefix: string;
  tag: string;
  owner: OwnedPid;
  createdAt: string;
  netns: string[];
  pids: OwnedPid[];
  dirs: string[];
}

/** Start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), or undefined if no such process. */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); start time is field 22
    return rest[19];
  } catch {
    return undefined;
  }
}

/** True when the process recorded in `p` is still the same live process. */
export function isAlive(p: OwnedPid): boolean {
  const st = procStartTime(p.pid);
  return st !== undefined && st === p.startTime;
}

export function ownedPid(pid: number): OwnedPid {
  return { pid, startTime: procStartTime(pid) ?? '?' };
}

/** One lab's record of every object it created; saved after each change (atomically). */
export class OwnershipRecord {
  readonly path: string;
  readonly data: OwnershipData;

  constructor(prefix: string, tag: string, seq: number) {
    this.path = join(RECORD_DIR, `${prefix}-${process.pid}-${seq}.json`);
    this.data = {
      version: 1,
      prefix,
      tag,
      owner: ownedPid(process.pid),
      createdAt: new Date().toISOString(),
      netns: [],
      pids: [],
      dirs: [],
    };
  }

  addNetns(name: string): void {
    if (!this.data.netns.includes(name)) this.data.netns.push(name);
    this.save();
  }
  addPid(pid: number): void {
    this.data.pids.push(ownedPid(pid));
    this.save();
  }
  addDir(dir: string): void {
    this.data.dirs.push(dir);
    this.save();
  }
  save(): void {
    mkdirSync(RECORD_DIR, { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data, null, 1));
    renameSync(tmp, this.path);
  }
  remove(): void {
    rmSync(this.path, { force: true });
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Pids of the processes whose network namespace is `netns` (ip netns pids). */
export function netnsPidsSync(netns: string): number[] {
  const r = runSync(['ip', 'netns', 'pids', netns]);
  if (r.code !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);
}

/** Kill `pids` (TERM, then KILL after `graceMs`). Synchronous; for cleanup paths. */
export function killPidsSync(pids: number[], graceMs = 1000): void {
  const live = pids.filter((p) => procStartTime(p) !== undefined);
  for (const p of live) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  const deadline = Date.now() + graceMs;
  let left = live;
  while (left.length && Date.now() < deadline) {
    sleepSync(20);
    left = left.filter((p) => procStartTime(p) !== undefined && !isZombie(p));
  }
  for (const p of left) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** True when `pid` exists and is not a zombie (an orphan's zombie may linger when PID 1 does not reap). */
export function isRunning(pid: number): boolean {
  return procStartTime(pid) !== undefined && !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Remove a namespace and everything in it: its processes first, then the namespace (its links go with it). */
export function destroyNetnsSync(netns: string): void {
  if (!existsSync(`/run/netns/${netns}`)) return;
  killPidsSync(netnsPidsSync(netns));
  runSync(['ip', 'netns', 'del', netns]);
}

/** Undo everything recorded in `data` (processes, namespaces, directories). */
export function destroyRecordedSync(data: Pick<OwnershipData, 'netns' | 'pids' | 'dirs'>): void {
  killPidsSync(data.pids.filter(isAlive).map((p) => p.pid));
  for (const ns of data.netns) destroyNetnsSync(ns);
  for (const d of data.dirs) rmSync(d, { recursive: true, force: true });
}

export interface StaleCleanup {
  records: string[];
  netns: string[];
}

/**
 * Remove what earlier runs left behind, but only runs whose owning process is dead
 * (a live run's namespaces are never touched, whatever its prefix).
 */
export function cleanupStale(): StaleCleanup {
  const out: StaleCleanup = { records: [], netns: [] };
  let files: string[];
  try {
    files = readdirSync(RECORD_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return out;
  }
  for (const f of files) {
    const path = join(RECORD_DIR, f);
    let data: OwnershipData;
    try {
      data = JSON.parse(readFileSync(path, 'utf8')) as OwnershipData;
    } catch {
      // half-written by a crashed process: the .tmp rename is atomic, so an unreadable .json is foreign
      continue;
    }
    if (!data.owner || isAlive(data.owner)) continue;
    destroyRecordedSync(data);
    rmSync(path, { force: true });
    out.records.push(f);
    out.netns.push(...data.netns);
  }
  return out;
}
