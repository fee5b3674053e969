// Lab: a long-running process started inside a namespace, its output kept in a log file.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';

export interface SpawnOptions {
  /** short name for the log file and messages (default: the command's base name) */
  name?: string;
  /** added to (and overriding) this process' environment */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class LabProcess {
  readonly pid: number;
  /** resolves with the exit code (or -1 with the signal) once the process has exited */
  readonly exited: Promise<{ code: number; signal: NodeJS.Signals | null }>;
  private done = false;
  private result: { code: number; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    readonly name: string,
    readonly netns: string | undefined,
    readonly argv: readonly string[],
    readonly logPath: string,
    private readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')}`);
    this.pid = child.pid;
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.done = true;
        this.result = { code: code ?? -1, signal };
        resolve(this.result);
      });
    });
  }

  /** Start `argv` with stdout and stderr appended to `logPath`. */
  static async start(name: string, netns: string | undefined, argv: readonly string[], logPath: string, opts: SpawnOptions = {}): Promise<LabProcess> {
    const [file, ...args] = argv;
    if (!file) throw new Error('empty command');
    const fd = openSync(logPath, 'a');
    try {
      const child = spawn(file, args, { stdio: ['ignore', fd, fd], env: opts.env ? { ...process.env, ...opts.env } : process.env, cwd: opts.cwd });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', () => resolve());
        child.once('error', reject);
      });
      return new LabProcess(name, netns, argv, logPath, child);
    } finally {
      closeSync(fd);
    }
  }

  get running(): boolean {
    return !this.done;
  }
  get exitCode(): number | undefined {
    return this.result?.code;
  }

  /** Everything the process wrote so far (stdout and stderr interleaved). */
  output(): string {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  signal(sig: NodeJS.Signals = 'SIGTERM'): void {
    if (this.done) return;
    try {
      this.child.kill(sig);
    } catch {
      /* already gone */
    }
  }

  /** SIGTERM (or `sig`), then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(sig: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
    if (this.done) return;
    this.signal(sig);
    const t = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(t);
    }
  }
}
