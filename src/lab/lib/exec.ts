// Lab: run a command (optionally inside a network namespace) and collect its output as data.
import { spawn, spawnSync } from 'node:child_process';

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** exit code; -1 when killed by a signal or on timeout */
  code: number;
}

export interface ExecOptions {
  /** throw when the exit code is not 0 (default true) */
  check?: boolean;
  /** kill the command after this many ms (default 30000) */
  timeoutMs?: number;
  /** text written to stdin */
  input?: string;
  /** added to (and overriding) this process' environment */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class LabExecError extends Error {
  constructor(
    readonly cmd: readonly string[],
    readonly result: ExecResult,
  ) {
    super(`command failed (code ${result.code}): ${cmd.join(' ')}\n${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'LabExecError';
  }
}

/** The argv that runs `cmd` in network namespace `netns` (through nsenter, so bpffs and sysfs stay the host's). */
export function inNetns(netns: string | undefined, cmd: readonly string[]): string[] {
  if (!netns) return [...cmd];
  return ['nsenter', `--net=/run/netns/${netns}`, '--', ...cmd];
}

/** Run `cmd` (argv, no shell) and resolve with its output; rejects with LabExecError on a non-zero exit unless check=false. */
export function run(cmd: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = cmd;
  if (!file) return Promise.reject(new Error('empty command'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      cwd: opts.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result: ExecResult = {
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString() + (timedOut ? `\n[timed out after ${opts.timeoutMs ?? 30_000} ms]` : ''),
        code: code ?? -1,
      };
      if ((opts.check ?? true) && result.code !== 0) reject(new LabExecError(cmd, result));
      else resolve(result);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Synchronous run, for exit handlers only (never throws). */
export function runSync(cmd: readonly string[], timeoutMs = 10_000): ExecResult {
  const [file, ...args] = cmd;
  if (!file) return { stdout: '', stderr: 'empty command', code: -1 };
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? ''), code: r.status ?? -1 };
}
