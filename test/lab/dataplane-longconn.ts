// One long-lived TCP connection: sends a numbered line every 100 ms and waits for its echo; after
// `seconds` prints JSON {sent, echoed, maxRttMs, errors, closed} and exits.
import { connect } from 'node:net';

const [host, portText, secondsText] = process.argv.slice(2);
const seconds = Number(secondsText ?? '8');
const sock = connect({ host: host!, port: Number(portText) });
let sent = 0;
let echoed = 0;
let maxRttMs = 0;
const errors: string[] = [];
let closed = false;
const sentAt = new Map<number, number>();
let buf = '';

sock.setNoDelay(true);
sock.on('connect', () => {
  const timer = setInterval(() => {
    sent++;
    sentAt.set(sent, Date.now());
    sock.write(`${sent}\n`);
  }, 100);
  setTimeout(() => {
    clearInterval(timer);
    setTimeout(() => {
      process.stdout.write(`RESULT ${JSON.stringify({ sent, echoed, maxRttMs, errors, closed })}\n`);
      sock.destroy();
      process.exit(0);
    }, 1500);
  }, seconds * 1000);
});
sock.on('data', (d) => {
  buf += d.toString();
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const n = Number(buf.slice(0, i));
    buf = buf.slice(i + 1);
    const t = sentAt.get(n);
    if (t !== undefined) {
      maxRttMs = Math.max(maxRttMs, Date.now() - t);
      sentAt.delete(n);
      echoed++;
    }
  }
});
sock.on('error', (e) => errors.push(e.message));
sock.on('close', () => (closed = true));
