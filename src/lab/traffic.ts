// Lab client traffic: bursts of new HTTP connections, and long-held connections that send a
// request every interval and record whether their TCP connection survived. Runs inside the
// client namespace; prints JSON on stdout.
//   node traffic.js burst URL COUNT [CONCURRENCY]
//       → {"ok":N,"failed":N,"byBackend":{"be1":N,…},"errors":{"ECONNRESET":N,…}}
//   node traffic.js hold HOST PORT CONNS INTERVAL_MS STATUS_FILE
//       writes {"conns":[{"id","backend","sent","answered","closed","error"}]} to STATUS_FILE
//       every 200 ms and on SIGTERM (then exits)
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { writeFileSync, renameSync } from 'node:fs';

async function one(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: 2000, headers: { connection: 'close' } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(data.trim()) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

async function burst(url: string, count: number, concurrency: number): Promise<void> {
  const byBackend: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        const who = await one(url);
        byBackend[who] = (byBackend[who] ?? 0) + 1;
        ok++;
      } catch (e) {
        failed++;
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        errors[code] = (errors[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  process.stdout.write(JSON.stringify({ ok, failed, byBackend, errors }) + '\n');
}

interface Held {
  id: number;
  backend: string;
  sent: number;
  answered: number;
  closed: boolean;
  error: string;
  sock: Socket;
  buf: string;
}

function hold(host: string, port: number, conns: number, intervalMs: number, statusFile: string): void {
  const held: Held[] = [];
  const req = `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`;
  for (let id = 0; id < conns; id++) {
    const sock = connect({ host, port });
    const h: Held = { id, backend: '', sent: 0, answered: 0, closed: false, error: '', sock, buf: '' };
    held.push(h);
    sock.setEncoding('utf8');
    sock.setNoDelay(true);
    sock.on('data', (d: string) => {
      h.buf += d;
      // each response ends with the backend's name and a newline after the blank line
      for (;;) {
        const m = /HTTP\/1\.1 200[^]*?\r\n\r\n([^\n]*)\n/.exec(h.buf);
        if (!m) break;
        h.answered++;
        h.backend ||= m[1]!;
        if (h.backend !== m[1]) h.error ||= `backend changed from ${h.backend} to ${m[1]}`;
        h.buf = h.buf.slice(m.index + m[0].length);
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => (h.error ||= e.code ?? e.message));
    sock.on('close', () => (h.closed = true));
  }
  const tick = setInterval(() => {
    for (const h of held) {
      // one request in flight at a time; a stalled connection just waits (TCP retransmits)
      if (!h.closed && h.sock.readyState === 'open' && h.sent === h.answered) {
        h.sock.write(req);
        h.sent++;
      }
    }
  }, intervalMs);
  const dump = () => {
    const tmp = statusFile + '.tmp';
    writeFileSync(tmp, JSON.stringify({ at: Date.now(), conns: held.map(({ sock: _s, buf: _b, ...rest }) => rest) }));
    renameSync(tmp, statusFile);
  };
  const dumper = setInterval(dump, 200);
  process.on('SIGTERM', () => {
    clearInterval(tick);
    clearInterval(dumper);
    dump();
    for (const h of held) h.sock.destroy();
    process.exit(0);
  });
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'burst') {
  await burst(args[0]!, Number(args[1] ?? 20), Number(args[2] ?? 4));
} else if (cmd === 'hold') {
  hold(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]), args[4]!);
} else {
  process.stderr.write('usage: traffic.js burst URL COUNT [CONC] | hold HOST PORT CONNS INTERVAL_MS STATUS_FILE\n');
  process.exit(2);
}
