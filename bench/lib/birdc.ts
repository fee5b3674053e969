// A persistent client of BIRD's control socket (what birdc speaks): one connection for the whole
// benchmark, so polling a receiver costs a socket round trip, not a process start. Replies are
// lines "NNNN-text" / " text" ending with "NNNN text"; codes 8xxx and 9xxx are errors.
import { connect, type Socket } from 'node:net';

export class BirdControl {
  private buf = '';
  private lines: string[] = [];
  private waiter: ((r: { code: number; lines: string[] }) => void) | undefined;
  private failed: Error | undefined;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('error', (e) => (this.failed = e));
  }

  /** Connect and read the greeting ("0001 BIRD x.y ready."). */
  static async open(path: string): Promise<BirdControl> {
    const sock = connect(path);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const c = new BirdControl(sock);
    await c.reply();
    return c;
  }

  private onData(d: string): void {
    this.buf += d;
    let i: number;
    while ((i = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 1);
      this.lines.push(line);
      const m = /^(\d{4}) /.exec(line);
      if (m && this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        const lines = this.lines;
        this.lines = [];
        w({ code: Number(m[1]), lines });
      }
    }
  }

  private reply(): Promise<{ code: number; lines: string[] }> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Send one command and return its reply text (throws on an error code). */
  async cmd(command: string): Promise<string> {
    if (/[\r\n]/.test(command)) throw new Error('one command per line');
    const r = this.reply();
    this.sock.write(command + '\n');
    const { code, lines } = await r;
    const text = lines.map((l) => l.replace(/^\d{4}[- ]/, '').replace(/^ /, '')).join('\n');
    if (code >= 8000) throw new Error(`birdc ${command}: ${code} ${text}`);
    return text;
  }

  /** Routes a protocol has imported (`show protocols all NAME`, "Routes: N imported"). */
  async imported(proto: string): Promise<number> {
    const out = await this.cmd(`show protocols all ${proto}`);
    return Number(/Routes:\s+(\d+) imported/.exec(out)?.[1] ?? 0);
  }

  close(): void {
    this.sock.destroy();
  }
}
