// Progress display for `edgelb lab demo`: a spinner line per running step on a terminal, plain
// lines otherwise (CI), and a summary table at the end.

const isTty = (out: NodeJS.WritableStream): boolean => Boolean((out as NodeJS.WriteStream).isTTY);
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private current = '';
  private started = 0;
  private frame = 0;

  constructor(private readonly out: NodeJS.WritableStream) {}

  start(what: string): void {
    this.stopSpinner();
    this.current = what;
    this.started = Date.now();
    if (isTty(this.out)) {
      this.timer = setInterval(() => {
        const secs = ((Date.now() - this.started) / 1000).toFixed(1);
        this.out.write(`\r\x1b[2K${FRAMES[this.frame++ % FRAMES.length]} ${this.current} (${secs} s)`);
      }, 100);
      this.timer.unref();
    } else {
      this.out.write(`… ${what}\n`);
    }
  }

  done(name: string, ok: boolean, detail: string, kind: 'check' | 'info' = 'check'): void {
    this.stopSpinner();
    const mark = kind === 'info' ? 'ℹ' : ok ? '✔' : '✘';
    this.out.write(`${mark} ${name}: ${detail}\n`);
  }

  summary(steps: Array<{ name: string; ok: boolean; detail: string }>, ms: number): void {
    this.stopSpinner();
    const w = Math.max(...steps.map((s) => s.name.length), 4);
    const failed = steps.filter((s) => !s.ok).length;
    this.out.write(`\n${'='.repeat(72)}\nedgelb lab demo — summary (${(ms / 1000).toFixed(1)} s)\n${'='.repeat(72)}\n`);
    for (const s of steps) this.out.write(`${s.ok ? 'PASS' : 'FAIL'}  ${s.name.padEnd(w)}  ${s.detail}\n`);
    this.out.write(failed === 0 ? `\nAll ${steps.length} steps worked.\n` : `\n${failed} of ${steps.length} steps FAILED.\n`);
  }

  private stopSpinner(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.out.write('\r\x1b[2K');
    }
  }
}
